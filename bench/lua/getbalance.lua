-- getbalance of a random account among BENCH_ACCOUNTS (its own live session).
-- Also the request stream of the bare baseline (which ignores the query string), so both
-- servers parse the same requests.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local c = require "common"

function request()
  return wrk.format("GET", c.groove("getbalance", c.random_index()) .. "&nogsgameid=" .. c.game)
end
