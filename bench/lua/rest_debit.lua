-- REST debit: POST /api/player-balances/debit of BENCH_BET (0.01 EUR) from a random account
-- (by player_id), authenticated with the bench game's key (X-Game-Secret-Key, BENCH_GAME_KEY).
-- idempotency_key = BENCH_TAG + wrk thread id + counter, so every request is a new debit,
-- never a replay.  A reply counts as good only if it is HTTP 200 with "new_balance" in the
-- body.  Durable like the wager: the service acknowledges after the group commit that holds it.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local c = require "common"

local headers = { ["X-Game-Secret-Key"] = c.game_key(), ["Content-Type"] = "application/json" }
local n = 0

function request()
  n = n + 1
  local body = '{"player_id":"' .. c.account(c.random_index()) .. '","currency":"EUR","amount":"' .. c.bet
    .. '","idempotency_key":"d' .. c.uid(n) .. '"}'
  return wrk.format("POST", "/api/player-balances/debit", headers, body)
end

function response(status, hdrs, body)
  c.check_http(status, body, '"new_balance"')
end
