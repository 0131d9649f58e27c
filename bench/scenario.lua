-- One reading scenario for wrk: every request carries the same headers (a cookie, or none),
-- and each answer is checked against the status the scenario expects. The count of others is
-- printed at the end, so a benchmark never hides an error behind a fast number.
--
-- Set by the driver through environment variables:
--   BENCH_PATH     the path to ask for
--   BENCH_COOKIE   the Cookie header ("" for none)
--   BENCH_STATUS   the status every answer must have

local path = os.getenv("BENCH_PATH") or "/"
local cookie = os.getenv("BENCH_COOKIE") or ""
local expected = tonumber(os.getenv("BENCH_STATUS") or "200")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  local headers = {}
  if cookie ~= "" then
    headers["Cookie"] = cookie
  end
  prepared = wrk.format("GET", path, headers)
end

function request()
  return prepared
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("unexpected_statuses %d\n", total))
end
