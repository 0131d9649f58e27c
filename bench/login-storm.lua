-- A steady stream of log-ins beside a reading scenario: each connection fetches the log-in
-- form (for its cookie and CSRF token), then posts the right password for one of the bench's
-- accounts or a wrong one, half and half, from a random address, pausing between requests.
-- Answers other than the form (200), a log-in (303), a failure (401) or a refusal by the
-- throttle (429) are counted as errors.
--
--   BENCH_ACCOUNTS   how many accounts storm-N@example.com exist
--   BENCH_PASSWORD   their password (form-encoded)
--   BENCH_PAUSE_MS   the pause before each request

local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "20")
local password = os.getenv("BENCH_PASSWORD") or ""
local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "100")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  logins = 0
  token = nil
  cookie = nil
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

local function address()
  return string.format("10.%d.%d.%d", math.random(0, 250), math.random(0, 250), math.random(1, 250))
end

function delay()
  return pause
end

function request()
  if token == nil then
    return wrk.format("GET", "/login", { ["X-Forwarded-For"] = address() })
  end
  local secret = password
  if math.random() < 0.5 then
    secret = "not+the+password+at+all"
  end
  local body = "email=storm-" .. math.random(1, accounts) .. "%40example.com&password=" .. secret
    .. "&csrf_token=" .. token
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = address(),
  }
  -- A successful log-in rotates the token: fetch a fresh form before the next attempt.
  token = nil
  logins = logins + 1
  return wrk.format("POST", "/login", headers, body)
end

function response(status, headers, body)
  if status ~= 200 and status ~= 303 and status ~= 401 and status ~= 429 then
    unexpected = unexpected + 1
  end
  if status == 200 then
    token = string.match(body, 'name="csrf_token" value="([^"]+)"')
    for name, value in pairs(headers) do
      if string.lower(name) == "set-cookie" then
        local pair = string.match(value, "^([^;]+)")
        if pair ~= nil then
          cookie = pair
        end
      end
    end
  end
end

function done(summary, latency, requests)
  local total, attempts = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
    attempts = attempts + thread:get("logins")
  end
  io.write(string.format("unexpected_statuses %d\nlogin_attempts %d\n", total, attempts))
end
