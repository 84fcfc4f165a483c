-- wager of BENCH_BET (0.01) by a random account; a new transactionid and roundid per request
-- (BENCH_TAG + thread id + counter), so every request is a real debit, never a replay.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local c = require "common"

local n = 0

function request()
  n = n + 1
  local id = c.uid(n)
  return wrk.format("GET", c.groove("wager", c.random_index()) .. "&gameid=" .. c.game
    .. "&roundid=r" .. id .. "&transactionid=w" .. id .. "&betamount=" .. c.bet)
end
