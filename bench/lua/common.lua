-- Shared by the bench/lua/*.lua wrk scripts (wrk 4.x, LuaJIT).
--
-- Parameters come from the environment (read when each Lua state loads the script, so they
-- are known to wrk's main state too, which decides whether delay() exists):
--   BENCH_ACCOUNTS  number of generated accounts (ids bench0000000000 .. ; see gen_dataset.py)
--   BENCH_TAG       unique per wrk run: prefix of every transaction/round id it sends
--   BENCH_BET       betamount of a wager (default 0.01, so 1000 of real money lasts 100k bets)
--   BENCH_DELAY_MS  >0: paced mode; each connection waits an exponential think time with this
--                   mean after every response (offered rate ~ connections / mean delay)
--   BENCH_GAME_KEY  the REST scripts' X-Game-Secret-Key
--
-- Every /groove reply's body is checked for "code":200 (the protocol always answers HTTP 200
-- and puts the outcome in the body), every REST reply for HTTP 200 and its success field;
-- done() prints one line "BENCH_JSON {...}" that run.py parses.

local M = {}

M.accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "10000") or 10000
M.tag = os.getenv("BENCH_TAG") or tostring(os.time())
M.bet = os.getenv("BENCH_BET") or "0.01"
M.game = "80102"

function M.account(i)
  return string.format("bench%010d", i) -- gen_dataset.ACCOUNT_FMT
end

function M.email(i)
  return string.format("bench%010d@example.com", i) -- gen_dataset.EMAIL_FMT
end

function M.random_index()
  return math.random(0, M.accounts - 1)
end

-- "/groove?request=NAME&accountid=..&gamesessionid=11_..&device=desktop&apiversion=1.2"
function M.groove(name, i)
  local a = M.account(i)
  return "/groove?request=" .. name .. "&accountid=" .. a .. "&gamesessionid=11_" .. a
    .. "&device=desktop&apiversion=1.2"
end

-- A transaction/round id unique across runs (tag), threads (tid) and requests (n).
function M.uid(n)
  return M.tag .. "t" .. (tid or 0) .. "n" .. n
end

local delay_mean = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
if delay_mean > 0 then
  function delay()
    return math.floor(-delay_mean * math.log(1 - math.random()) + 0.5)
  end
end

-- wrk hooks --------------------------------------------------------------------------

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

n_ok, n_bad, bad_summary, bad_sample, ok_sample = 0, 0, "", "", ""
local bad_codes = {}

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function M.check(status, headers, body)
  local code = body:match('"code":%s*(%-?%d+)')
  if status == 200 and code == "200" then
    n_ok = n_ok + 1
    if ok_sample == "" then ok_sample = body:sub(1, 400) end
  else
    n_bad = n_bad + 1
    local key = tostring(status) .. "/" .. tostring(code)
    bad_codes[key] = (bad_codes[key] or 0) + 1
    local parts = {}
    for k, v in pairs(bad_codes) do parts[#parts + 1] = k .. "=" .. v end
    bad_summary = table.concat(parts, ",")
    if bad_sample == "" then bad_sample = body:sub(1, 400) end
  end
end

response = M.check

-- REST faces: the reply must be HTTP 200 and its body must contain `needle` (a field of the
-- success shape); anything else counts as bad, keyed by the HTTP status.
function M.check_http(status, body, needle)
  if status == 200 and body:find(needle, 1, true) then
    n_ok = n_ok + 1
    if ok_sample == "" then ok_sample = body:sub(1, 400) end
  else
    n_bad = n_bad + 1
    local key = "http" .. tostring(status)
    bad_codes[key] = (bad_codes[key] or 0) + 1
    local parts = {}
    for k, v in pairs(bad_codes) do parts[#parts + 1] = k .. "=" .. v end
    bad_summary = table.concat(parts, ",")
    if bad_sample == "" then bad_sample = body:sub(1, 400) end
  end
end

-- The REST game key (X-Game-Secret-Key): run.py registers a game through the admin API when
-- the server starts and passes its secret key here.
function M.game_key()
  local k = os.getenv("BENCH_GAME_KEY")
  if k == nil or k == "" then error("BENCH_GAME_KEY is not set (bench/run.py registers a game and sets it)") end
  return k
end

local function jstr(s)
  s = tostring(s or "")
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local ok, bad, summ, bsample, osample = 0, 0, {}, "", ""
  for _, t in ipairs(threads) do
    ok = ok + (t:get("n_ok") or 0)
    bad = bad + (t:get("n_bad") or 0)
    local s = t:get("bad_summary") or ""
    if s ~= "" then summ[#summ + 1] = s end
    if bsample == "" then bsample = t:get("bad_sample") or "" end
    if osample == "" then osample = t:get("ok_sample") or "" end
  end
  local e = summary.errors
  local out = {
    '"requests":' .. summary.requests,
    '"duration_us":' .. summary.duration,
    '"bytes":' .. summary.bytes,
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
      e.connect, e.read, e.write, e.status, e.timeout),
    '"paced_mean_delay_ms":' .. delay_mean,
    string.format('"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,'
      .. '"p99":%d,"p999":%d,"p9999":%d}',
      latency.min, latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(75),
      latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency:percentile(99.99)),
    '"ok":' .. ok,
    '"bad":' .. bad,
    '"bad_codes":' .. jstr(table.concat(summ, ",")),
    '"bad_sample":' .. jstr(bsample),
    '"ok_sample":' .. jstr(osample),
  }
  io.write("BENCH_JSON {" .. table.concat(out, ",") .. "}\n")
end

return M
