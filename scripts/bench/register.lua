-- wrk scenario `register`: every request is `POST /v1/orders` registering a new order (platform
-- token), 201 expected. Run by scripts/http-bench.sh; see scripts/bench/README.md.
--
-- Environment: BENCH_PLATFORM_TOKEN (required), BENCH_BUYER_ID (buyer-1), BENCH_SELLER_ID
-- (seller-1).
--
-- Prints one machine-readable line at the end:
--   RESULT scenario=register requests=.. errors=.. ... rps=.. p50_ms=.. p95_ms=.. p99_ms=..
-- errors = responses other than 201 + socket errors (connect, read, write, timeout).

-- The shared helpers, from this script's own folder.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

-- Globals shared with the main Lua state through thread:set / thread:get.
tid = 0         -- set by setup()
errors = 0      -- responses other than 201, this thread
created = 0     -- 201 responses, this thread

local counter = 0
local shown = 0
local SHOW_MAX = 5
local tag, headers, buyer, seller, placed_at, delivered_at

setup = common.setup

function init(args)
  buyer = os.getenv("BENCH_BUYER_ID") or "buyer-1"
  seller = os.getenv("BENCH_SELLER_ID") or "seller-1"
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = common.bearer("BENCH_PLATFORM_TOKEN"),
  }
  tag = common.random_tag(tid)
  placed_at, delivered_at = common.order_dates()
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
  common.report("register", "created", summary, latency)
end
