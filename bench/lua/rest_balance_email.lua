-- REST balance by e-mail: GET /api/player-balances/player/by-email/bench%010d@example.com of a
-- random account among BENCH_ACCOUNTS, authenticated with the bench game's key
-- (X-Game-Secret-Key, BENCH_GAME_KEY).  A reply counts as good only if it is HTTP 200 with
-- "available_balance" in the body.  The servers run with GW_RATE_LIMIT_ENABLED=false: the
-- e-mail class is limited to 1500/min per game by default, so with limits on every figure
-- would measure the 429 path.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local c = require "common"

local headers = { ["X-Game-Secret-Key"] = c.game_key() }

function request()
  return wrk.format("GET", "/api/player-balances/player/by-email/" .. c.email(c.random_index()), headers)
end

function response(status, hdrs, body)
  c.check_http(status, body, '"available_balance"')
end
