-- Full game rounds: wager, then result (gamestatus=completed) on the same round id, on the
-- same connection, alternating.  Run it with ONE CONNECTION PER wrk THREAD (run.py uses
-- -t64 -c64): wrk has no per-connection hook, but a thread's Lua state with a single
-- connection sees exactly that connection's requests and replies, and wrk asks for the next
-- request only after the previous reply, i.e. after the wager was committed.  (Pipelining
-- the pair on -t1 would also keep the order, but wrk 4.1's coordinated-omission correction
-- then corrupts the latency histogram.)
--
-- The result is sent only after the wager's REPLY was seen (not by call parity): wrk calls
-- request() once on thread 0 to inspect it and never sends that one.
--
-- Latency is per request (wagers and results mixed); rounds/s = requests/s / 2.
-- Every other round wins 0.02, the others 0.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local c = require "common"

local n, i, id = 0, 0, ""
local sent_wager, wager_answered = false, false

function request()
  if wager_answered then
    wager_answered, sent_wager = false, false
    local win = (n % 2 == 0) and "0.02" or "0"
    return wrk.format("GET", c.groove("result", i) .. "&gameid=" .. c.game
      .. "&roundid=r" .. id .. "&transactionid=x" .. id .. "&result=" .. win .. "&gamestatus=completed")
  end
  n = n + 1
  id = c.uid(n)
  i = c.random_index()
  sent_wager = true
  return wrk.format("GET", c.groove("wager", i) .. "&gameid=" .. c.game
    .. "&roundid=r" .. id .. "&transactionid=w" .. id .. "&betamount=" .. c.bet)
end

function response(status, headers, body)
  c.check(status, headers, body)
  wager_answered = sent_wager
end
