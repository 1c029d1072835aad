-- wrk scenario `register`: every request is `POST /v1/orders` registering a new order (platform
-- token), 201 expected. Run by scripts/http-bench.sh; see scripts/bench/README.md.
--
-- Environment: BENCH_PLATFORM_TOKEN (required), BENCH_BUYER_ID (buyer-1), BENCH_SELLER_ID
-- (seller-1).
--
-- Prints one machine-readable line at the end:
--   RESULT scenario=register requests=.. errors=.. ... rps=.. p50_ms=.. p95_ms=.. p99_ms=..
-- errors = responses other than 201 + socket errors (connect, read, write, timeout).

-- Globals shared with the main Lua state through thread:set / thread:get.
tid = 0         -- set by setup()
errors = 0      -- responses other than 201, this thread
created = 0     -- 201 responses, this thread

local counter = 0
local shown = 0
local SHOW_MAX = 5
local tag, headers, buyer, seller, placed_at, delivered_at

local function random_tag()
  local f = io.open("/dev/urandom", "rb")
  if f then
    local b = f:read(4)
    f:close()
    if b and #b == 4 then
      return string.format("%02x%02x%02x%02x", b:byte(1, 4))
    end
  end
  math.randomseed(os.time() + tid * 7919)
  return string.format("%08x", math.random(0, 0x7fffffff))
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

-- Main state: one entry per thread, read back in done().
threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

function init(args)
  local token = os.getenv("BENCH_PLATFORM_TOKEN")
  if not token or token == "" then
    error("BENCH_PLATFORM_TOKEN is not set")
  end
  buyer = os.getenv("BENCH_BUYER_ID") or "buyer-1"
  seller = os.getenv("BENCH_SELLER_ID") or "seller-1"
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  tag = random_tag()
  -- Delivered three days ago: inside every return window, like a real return.
  local now = os.time()
  placed_at = iso(now - 6 * 86400)
  delivered_at = iso(now - 3 * 86400)
end

local ORDER = '{"order_id":"%s","buyer_id":"%s","seller_id":"%s","currency":"EUR",'
  .. '"jurisdiction":"DE","placed_at":"%s","delivered_at":"%s","lines":[{"line_id":"L1",'
  .. '"sku":"SKU-1","title":"Headphones","category":"electronics","quantity":2,'
  .. '"unit_price_minor":4999}]}'

function request()
  counter = counter + 1
  local order_id = string.format("ORD-%d-%d-%s", tid, counter, tag)
  local body = string.format(ORDER, order_id, buyer, seller, placed_at, delivered_at)
  return wrk.format("POST", "/v1/orders", headers, body)
end

function response(status, hdrs, body)
  if status == 201 then
    created = created + 1
    return
  end
  errors = errors + 1
  if shown < SHOW_MAX then
    shown = shown + 1
    io.stderr:write(string.format("register.lua thread %d step register: HTTP %d %s\n",
      tid, status, (body or ""):sub(1, 600)))
  end
end

function done(summary, latency, requests)
  local http_errors, ok = 0, 0
  for _, t in ipairs(threads) do
    http_errors = http_errors + (tonumber(t:get("errors")) or 0)
    ok = ok + (tonumber(t:get("created")) or 0)
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "RESULT scenario=register requests=%d errors=%d http_errors=%d socket_errors=%d "
      .. "status_errors=%d ok=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p95_ms=%.3f "
      .. "p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, http_errors + socket_errors, http_errors, socket_errors, e.status, ok,
    seconds, summary.requests / seconds, ms(50), ms(90), ms(95), ms(99), latency.max / 1000))
end
