-- wrk script: POST /api/pours for users 1..USERS (bottle id = user id),
-- each at its own random time, so pours spread over many sessions.
local users = tonumber(os.getenv("POURD_BENCH_USERS") or "200")
local token = os.getenv("POURD_BENCH_TOKEN") or ""
local base = 1767225600 -- 2026-01-01T00:00:00Z

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

request = function()
  local user = math.random(1, users)
  local t = base + math.random(0, 300 * 86400)
  local body = string.format(
    '{"user_id":%d,"bottle_id":%d,"amount_oz":1.5,"rating":7.5,' ..
    '"poured_at":"%s","tags":["bench"]}',
    user, user, os.date("!%Y-%m-%dT%H:%M:%SZ", t))
  return wrk.format(nil, "/api/pours", nil, body)
end
