-- What the wrk scenarios share: ids, times, tokens, the per-thread registry and the RESULT line
-- that scripts/http-bench.sh reads. Loaded by each scenario with dofile (see its first lines).

local M = {}

-- Main state: one entry per thread, read back in done().
M.threads = {}
local next_tid = 0

-- wrk's setup(): numbers the threads (the global `tid` of each thread's state).
function M.setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(M.threads, thread)
end

-- Eight hex digits, different per run and thread, so that order ids never collide.
function M.random_tag(tid)
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

function M.iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

-- Placed six days ago and delivered three days ago: inside every return window, like a real
-- return.
function M.order_dates()
  local now = os.time()
  return M.iso(now - 6 * 86400), M.iso(now - 3 * 86400)
end

-- `Bearer <token>` from the environment variable `var`, which must be set.
function M.bearer(var)
  local token = os.getenv(var)
  if not token or token == "" then
    error(var .. " is not set")
  end
  return "Bearer " .. token
end

-- Prints the RESULT line: requests, errors (the threads' `errors` plus socket errors), the
-- threads' `done` counter (as `<done>=` and `<done>_per_s=`), rate and latency percentiles.
function M.report(scenario, done, summary, latency)
  local http_errors, completed = 0, 0
  for _, t in ipairs(M.threads) do
    http_errors = http_errors + (tonumber(t:get("errors")) or 0)
    completed = completed + (tonumber(t:get(done)) or 0)
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "RESULT scenario=%s requests=%d errors=%d http_errors=%d socket_errors=%d "
      .. "status_errors=%d %s=%d seconds=%.3f rps=%.1f %s_per_s=%.1f p50_ms=%.3f "
      .. "p90_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    scenario, summary.requests, http_errors + socket_errors, http_errors, socket_errors,
    e.status, done, completed, seconds, summary.requests / seconds, done, completed / seconds,
    ms(50), ms(90), ms(95), ms(99), latency.max / 1000))
end

return M
