-- walk.lua — wrk script: realistic Africa's Talking USSD sessions on the
-- shipped menu's help path (new session, language, menu, free-text location,
-- danger, consent, forward). Each request advances one of a thread's
-- sessions by one step; sessions are round-robined so that a session's next
-- step is sent only after every other session of the thread took one (by
-- then its previous step was answered). Every session ends in a forward,
-- so the benchmark files real help requests.
--
-- Phone numbers are synthetic (+99...): the test range, never a real one.

local steps = { "", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2" }
local sessions = {}
local nsessions = 64
local cursor = 0
local serial = 0
local counter = 0
-- tid: a global, set in each thread's state by setup() (thread:set); a
-- local of that name here would hide it, and every thread would then walk
-- the same session ids and numbers (the same seed) at once.

function setup(thread)
   counter = counter + 1
   thread:set("tid", counter)
end

local offset = 0   -- numbers differ from one run to the next (init)

local function new_session(i)
   serial = serial + 1
   sessions[i] = { id = string.format("bench-%d-%d-%d", tid, serial, math.random(1e9)),
                   phone = string.format("%%2B99%03d%07d", tid, (offset + serial) % 10000000),
                   step = 1 }
end

function init(args)
   math.randomseed(os.time() + tid)
   -- Each run walks numbers of its own: a number's help requests today
   -- (the daily limit's counter) or its saved place left by an earlier
   -- run would change what the walk costs.
   offset = math.random(0, 9999999)
   for i = 1, nsessions do new_session(i) end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
   cursor = cursor % nsessions + 1
   local s = sessions[cursor]
   local text = steps[s.step]
   local body = "sessionId=" .. s.id .. "&serviceCode=%2A384%2A123%23&phoneNumber="
      .. s.phone .. "&networkCode=45204&text=" .. text:gsub("%*", "%%2A")
   s.step = s.step + 1
   if s.step > #steps then new_session(cursor) end
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d non2xx=%d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99), summary.requests,
      summary.errors.connect + summary.errors.read + summary.errors.write
         + summary.errors.timeout, summary.errors.status))
end
