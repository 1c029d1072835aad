-- wrk scenario `mix`: whole return lives, one after another on each connection. Run by
-- scripts/http-bench.sh with -t N -c N (one connection per thread), so each thread's Lua state
-- drives one connection in sequence and holds that connection's place in the sequence below.
--
--   register order (platform, 201) -> GET order (buyer) -> open return (buyer, 201)
--   -> GET return (buyer) -> accept (seller) -> ship (buyer) -> carrier-update in_transit
--   (platform) -> GET return (seller) -> arrival -> inspect (seller) -> refund (platform)
--   -> GET events (buyer) -> next order
--
-- The arrival alternates between returns: odd ones arrive by carrier-update `delivered`
-- (platform), even ones by `receive` (seller). Not both: `receive` is only possible while the
-- return is authorized or in_transit, so after a carrier's `delivered` it would be a 409.
--
-- Any answer other than 2xx counts as an error; the first few bodies are printed to stderr with
-- the step's name, and the connection starts over with a new order.
--
-- Environment: BENCH_PLATFORM_TOKEN, BENCH_SELLER_TOKEN, BENCH_BUYER_TOKEN (required; the buyer
-- token's sub must be BENCH_BUYER_ID, a buyer may only open returns on its own orders),
-- BENCH_BUYER_ID (buyer-1), BENCH_SELLER_ID (seller-1).
--
-- Prints one machine-readable line at the end:
--   RESULT scenario=mix requests=.. errors=.. ... rps=.. p50_ms=.. p95_ms=.. p99_ms=..

-- The shared helpers, from this script's own folder.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

-- Globals shared with the main Lua state through thread:set / thread:get.
tid = 0         -- set by setup()
errors = 0      -- answers other than 2xx, this thread
returns = 0     -- returns taken all the way to refunded and their events read, this thread

local shown = 0
local SHOW_MAX = 5
local tag, buyer, seller, placed_at, delivered_at
local as = {}   -- role -> headers

-- This connection's place in a return's life.
local seq = 0        -- sequences started on this thread
local step = 1
local order_id, return_id

-- A carrier's time: not in the future (the service allows 5 minutes of clock skew) and not
-- before the return was opened. os.time() is the current second rounded down, which may lie
-- before the return's created_at (sub-second); one second later is after it and well within
-- the tolerance.
local function carrier_time()
  return common.iso(os.time() + 1)
end

local function new_sequence()
  seq = seq + 1
  step = 1
  order_id = string.format("ORD-%d-%d-%s", tid, seq, tag)
  return_id = nil
end

local ORDER = '{"order_id":"%s","buyer_id":"%s","seller_id":"%s","currency":"EUR",'
  .. '"jurisdiction":"DE","placed_at":"%s","delivered_at":"%s","lines":[{"line_id":"L1",'
  .. '"sku":"SKU-1","title":"Headphones","category":"electronics","quantity":2,'
  .. '"unit_price_minor":4999}]}'

local OPEN = '{"order_id":"%s","items":[{"line_id":"L1","quantity":1}],"reason":"defective",'
  .. '"resolution":"refund","description":"stopped working"}'

local function action(name) return "/v1/returns/" .. return_id .. "/" .. name end
local function the_return() return "/v1/returns/" .. return_id end

-- Each step: name, role, method, path(), body() (nil for GET), and capture(body) -> ok for the
-- one step whose answer carries something later steps need.
local STEPS = {
  { name = "register-order", role = "platform", method = "POST",
    path = function() return "/v1/orders" end,
    body = function()
      return string.format(ORDER, order_id, buyer, seller, placed_at, delivered_at)
    end },
  { name = "get-order", role = "buyer", method = "GET",
    path = function() return "/v1/orders/" .. order_id end },
  { name = "open-return", role = "buyer", method = "POST",
    path = function() return "/v1/returns" end,
    body = function() return string.format(OPEN, order_id) end,
    capture = function(body)
      -- The view's first field is the return's id.
      return_id = body and body:match('"id"%s*:%s*"([%x%-]+)"')
      return return_id ~= nil
    end },
  { name = "get-return-buyer", role = "buyer", method = "GET", path = the_return },
  { name = "accept", role = "seller", method = "POST",
    path = function() return action("accept") end,
    body = function() return '{"label":{"carrier":"DHL","tracking_number":"JD0001"}}' end },
  { name = "ship", role = "buyer", method = "POST",
    path = function() return action("ship") end,
    body = function() return '{"carrier":"DHL","tracking_number":"JD0001"}' end },
  { name = "carrier-in-transit", role = "platform", method = "POST",
    path = function() return action("carrier-update") end,
    body = function()
      return string.format('{"status":"in_transit","at":"%s"}', carrier_time())
    end },
  { name = "get-return-seller", role = "seller", method = "GET", path = the_return },
  { name = "arrival", role = function() return seq % 2 == 1 and "platform" or "seller" end,
    method = "POST",
    path = function()
      return seq % 2 == 1 and action("carrier-update") or action("receive")
    end,
    body = function()
      if seq % 2 == 1 then
        return string.format('{"status":"delivered","at":"%s"}', carrier_time())
      end
      return "{}"
    end,
    label = function() return seq % 2 == 1 and "carrier-delivered" or "receive" end },
  { name = "inspect", role = "seller", method = "POST",
    path = function() return action("inspect") end,
    body = function() return '{"grade":"as_new","refund_amount_minor":4999}' end },
  { name = "refund", role = "platform", method = "POST",
    path = function() return action("refund") end,
    body = function()
      return string.format(
        '{"amount_minor":4999,"method":"original_payment","reference":"PAY-%d-%d-%s"}',
        tid, seq, tag)
    end },
  { name = "get-events", role = "buyer", method = "GET",
    path = function() return action("events") end },
}

local function step_name(s)
  return s.label and s.label() or s.name
end

setup = common.setup

function init(args)
  local tokens = {
    platform = common.bearer("BENCH_PLATFORM_TOKEN"),
    seller = common.bearer("BENCH_SELLER_TOKEN"),
    buyer = common.bearer("BENCH_BUYER_TOKEN"),
  }
  for role, value in pairs(tokens) do
    as[role] = { ["Content-Type"] = "application/json", ["Authorization"] = value }
  end
  buyer = os.getenv("BENCH_BUYER_ID") or "buyer-1"
  seller = os.getenv("BENCH_SELLER_ID") or "seller-1"
  tag = common.random_tag(tid)
  placed_at, delivered_at = common.order_dates()
  new_sequence()
end

-- Builds the current step's request; the step only moves on in response(), so a request sent
-- again after a reconnect is the same step.
function request()
  local s = STEPS[step]
  local role = type(s.role) == "function" and s.role() or s.role
  -- wrk.format adds Host and Content-Length to the table it is given: a copy per request.
  local h = {}
  for k, v in pairs(as[role]) do h[k] = v end
  return wrk.format(s.method, s.path(), h, s.body and s.body() or nil)
end

local function fail(s, status, body, why)
  errors = errors + 1
  if shown < SHOW_MAX then
    shown = shown + 1
    io.stderr:write(string.format("mix.lua thread %d step %s (order %s, return %s): HTTP %d%s %s\n",
      tid, step_name(s), order_id, return_id or "-", status, why and (" " .. why) or "",
      (body or ""):sub(1, 600)))
  end
  new_sequence()
end

function response(status, hdrs, body)
  local s = STEPS[step]
  if status < 200 or status > 299 then
    return fail(s, status, body)
  end
  if s.capture and not s.capture(body) then
    return fail(s, status, body, "(no return id in the body)")
  end
  if step == #STEPS then
    returns = returns + 1
    new_sequence()
  else
    step = step + 1
  end
end

function done(summary, latency, requests)
  common.report("mix", "returns", summary, latency)
end
