"""Redis's own work per USSD screen (issue 17; README, "Redis work per
screen"), run for real on loopback against real redis-server, counted with
Redis's INFO commandstats:

- the first screen of a new session is one EVALSHA (no LOAD), on Africa's
  Talking and Hubtel, and leaves the session hash a LOAD-then-STEP leaves
  (st h t v w mv pk, v = 1); the sessions metric counts it once;
- a middle step writes the session with one HSET (no HSETNX of pk, no HDEL
  of an absent b, one TIME), and the hash stays what it was (pk fixed, v
  one more each step, w and mv kept);
- a resumed session keeps its replay base b across steps without writing
  it again;
- when the first screen is not one after all, the STEP writes nothing and
  the gateway decides again from what LOAD would have returned, in one
  more EVALSHA: a number with a saved place gets the resume question; a
  session id begun by another number is refused; a number over the
  sessions limit after its first help request gets the limit screen; the
  per-address limit counts such a request once;
- the filing step of a walk the cache holds is one EVALSHA (Africa's
  Talking and Hubtel), files once and shows the case's reference; a
  number that filed today is checked against the daily limit from what
  LOAD reads (the limit screen, nothing filed); with redis.wait_replicas
  the filing still loads first (its WAIT goes with the STEP, as before);
- a cached filing whose STEP reply never comes (Redis paused past the
  command deadline) tells the caller "sent" only with the request filed or
  spooled, and it is filed once, under the reference the caller was told.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (at_ussd, get, eq, contains, run, wait_for,  # noqa: E402
                     ROOT)
from test_abuse import limited_config, LIMIT_MSG  # noqa: E402
from test_resume import phone_key  # noqa: E402
from test_session_cache import hub  # noqa: E402
from test_callers import setup  # noqa: E402

HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
LANGUAGE = "CON Chon ngon ngu"
QUESTION_EN = "1. Continue where you were\n2. Start again"


def stats(r):
    """{command: calls} of INFO commandstats."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r"cmdstat_([\w|]+):calls=(\d+)", r("INFO", "commandstats"))}


def counting(r, fn):
    """Calls fn() between two commandstats readings: (fn's result, the
    calls of each command it caused, INFO and RESETSTAT left out)."""
    r("CONFIG", "RESETSTAT")
    out = fn()
    s = stats(r)
    for k in ("info", "config|resetstat"):
        s.pop(k, None)
    return out, s


def filing_counted(hl, r, session, phone):
    """Walks HELP up to its filing step, then takes that step counting the
    Redis commands it causes: ((status, body), {command: calls})."""
    for t in HELP[:-1]:
        at_ussd(hl, session, t, phone=phone)
    return counting(r, lambda: at_ussd(hl, session, HELP[-1], phone=phone))


def metric(hl, name, label=""):
    text = get(hl.url("/metrics"))[1]
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(label)),
                  text, re.M)
    return float(m.group(1)) if m else None


def test_first_screen_is_one_round_trip(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000401"
    (st, body), s = counting(r, lambda: at_ussd(hl, "fs-at", "", phone=phone))
    eq(st, 200)
    contains(body, LANGUAGE, "the first screen")
    eq(s.get("evalsha"), 1, "Africa's Talking: one EVALSHA, no LOAD")
    h = r.hgetall("hl:s:{at-ussd:fs-at}")
    eq(sorted(h), ["h", "mv", "pk", "st", "t", "v", "w"], "the session hash")
    eq(h["v"], "1", "its first version")
    eq(h["pk"], phone_key(phone), "the number's HMAC")
    eq(h["mv"], "0", "pinned to the menu file")
    assert 0 < r("TTL", "hl:s:{at-ussd:fs-at}") <= 180
    eq(metric(hl, "hotline_sessions_total", '{channel="at-ussd"}'), 1.0,
       "counted once")
    # The walk goes on from it and files once.
    for t in HELP[1:]:
        body = at_ussd(hl, "fs-at", t, phone=phone)[1]
    assert body.startswith("END Sent. Your reference is "), body
    eq(len(r.xrange("hl:q:urgent")), 1, "filed once")
    # Hubtel: the Initiation.
    out, s = counting(r, lambda: hub(hl, "fs-hub", 1, "*714#"))
    contains(out, "Chon ngon ngu")
    eq(s.get("evalsha"), 1, "Hubtel: one EVALSHA, no LOAD")
    contains(hub(hl, "fs-hub", 2, "2"), "What do you need?")


def test_middle_step_writes_only_what_changes(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000402"
    key = "hl:s:{at-ussd:mid}"
    for t in HELP[:3]:
        at_ussd(hl, "mid", t, phone=phone)
    before = r.hgetall(key)
    funnel = "hl:menu:hotline:f:0"
    time.sleep(1.5)             # the funnel of the steps so far written
    f0 = sum(int(v) for v in r.hgetall(funnel).values())
    (st, body), s = counting(r, lambda: at_ussd(hl, "mid", HELP[3],
                                                  phone=phone))
    contains(body, "Are you in danger right now?")
    eq(s.get("evalsha"), 1, "one EVALSHA (the cached session)")
    eq(s.get("hincrby", 0), 0, "no HINCRBY: the gateway counts the funnel")
    # ... and writes it within ~1 s, in one EVAL (fcount.h)
    wait_for(lambda: sum(int(v) for v in r.hgetall(funnel).values()) - f0
             == 2, 3, what="the step's funnel written")
    counted = sum(int(v) for v in r.hgetall(funnel).values()) - f0
    eq(s.get("hsetnx", 0), 0, "pk is not written again")
    eq(s.get("hdel", 0), 0, "no b to delete")
    eq(s.get("time", 0), 1, "one TIME")
    eq(s.get("hset", 0), 2, "one HSET of the session, one of the saved place")
    eq(counted, 2, "left the node, visited the next")
    after = r.hgetall(key)
    eq(int(after["v"]), int(before["v"]) + 1, "one version more")
    for k in ("pk", "w", "mv"):
        eq(after[k], before[k], "%s kept" % k)
    eq(after["h"], HELP[3], "the history")
    assert "b" not in after, after


def test_resumed_session_keeps_its_base(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000403"
    for t in HELP[:4]:
        at_ussd(hl, "rb-a", t, phone=phone)
    (st, body), s = counting(r, lambda: at_ussd(hl, "rb-b", "", phone=phone))
    eq(body, "CON " + QUESTION_EN, "the dropped walk offered back")
    eq(s.get("evalsha"), 2, "the STEP found the saved place: one more")
    base = r.hgetall("hl:s:{at-ussd:rb-b}").get("b")
    assert base, "the resume question is the session's replay base"
    (st, body), s = counting(r, lambda: at_ussd(hl, "rb-b", "1",
                                                  phone=phone))
    contains(body, "Are you in danger right now?", "continued")
    eq(r.hgetall("hl:s:{at-ussd:rb-b}").get("b"), base, "b kept")
    eq(s.get("hdel", 0), 0)
    body = at_ussd(hl, "rb-b", "1*1", phone=phone)[1]
    body = at_ussd(hl, "rb-b", "1*1*2", phone=phone)[1]
    assert body.startswith("END Sent. Your reference is "), body
    eq(len(r.xrange("hl:q:urgent")), 1, "filed once")
    eq(metric(hl, "hotline_sessions_total", '{channel="at-ussd"}'), 2.0,
       "two sessions, each counted once")


def test_first_screen_of_a_session_begun_by_another_number(tmp):
    """A Hubtel Initiation reusing a session id another number began: the
    STEP finds the session, writes nothing, and the gateway refuses the
    step as it would after a LOAD."""
    redis, hl, r = setup(tmp)
    contains(hub(hl, "bound", 1, "*714#", phone="233200000501"),
             "Chon ngon ngu")
    contains(hub(hl, "bound", 2, "2", phone="233200000501"),
             "What do you need?")
    before = r.hgetall("hl:s:{hubtel:bound}")
    out, s = counting(r, lambda: hub(hl, "bound", 1, "*714#",
                                     phone="233200000502"))
    eq(out, "Release Thank you. Goodbye.", "another number: a neutral end")
    eq(s.get("evalsha"), 1, "refused from what the STEP returned")
    eq(r.hgetall("hl:s:{hubtel:bound}"), before, "nothing written")
    eq(metric(hl, "hotline_session_phone_mismatch_total",
              '{channel="hubtel"}'), 1.0)


def test_limits_on_a_first_screen(tmp):
    """With the sessions limit on, a number that filed today is checked
    by LOAD's rules (the STEP returns what LOAD reads); the per-address
    limit counts a request whose STEP was refused once."""
    redis, hl, r = setup(tmp, config=limited_config(tmp, sessions=2,
                                                    per_address=8))
    phone = "+84901000404"
    body = None
    for t in HELP:                                      # 6 requests
        body = at_ussd(hl, "lim-0", t, phone=phone)[1]
    assert body.startswith("END Sent."), body
    contains(at_ussd(hl, "lim-1", "", phone=phone)[1], LANGUAGE)   # 7
    (st, body), s = counting(r, lambda: at_ussd(hl, "lim-2", "",
                                                  phone=phone))   # 8
    eq(body, "END " + LIMIT_MSG, "over the sessions limit after a filing")
    eq(s.get("evalsha"), 1, "decided from what the STEP returned")
    eq(r("EXISTS", "hl:s:{at-ussd:lim-2}"), 0, "nothing saved")
    eq(at_ussd(hl, "lim-3", "", phone="+84901000405")[0], 429,
       "the 9th request from this address")


REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")


def test_cached_filing_is_one_round_trip(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000406"
    (st, body), s = filing_counted(hl, r, "cf-at", phone)
    assert body.startswith("END Sent. Your reference is "), body
    eq(s.get("evalsha"), 1, "Africa's Talking: the filing in one EVALSHA")
    ref = REF_RE.search(body).group(1)
    entries = r.xrange("hl:q:urgent")
    eq([f["ref"] for _, f in entries], [ref], "filed once, the told ref")
    eq(entries[0][1]["phone"], phone)
    eq(entries[0][1]["f:location"], "Hanoi")
    eq(r.hgetall("hl:s:{at-ussd:cf-at}").get("r"), ref, "the session's r")
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 0, "the place goes")
    eq(r("GET", "hl:rl:f:" + phone_key(phone)), "1", "counted for the limit")
    # A retry of the filing step: the same screen, nothing filed again.
    eq(at_ussd(hl, "cf-at", HELP[-1], phone=phone)[1], body, "the retry")
    eq(len(r.xrange("hl:q:urgent")), 1, "still once")
    # Hubtel.
    for i, m in enumerate(["*714#", "2", "1", "Hanoi", "1"]):
        hub(hl, "cf-hub", i + 1, m, phone="233200000406")
    out, s = counting(r, lambda: hub(hl, "cf-hub", 6, "2",
                                     phone="233200000406"))
    contains(out, "Release Sent. Your reference is ")
    eq(s.get("evalsha"), 1, "Hubtel: the filing in one EVALSHA")
    eq([f["ref"] for _, f in r.xrange("hl:q:urgent")][1:],
       [REF_RE.search(out).group(1)], "filed once, the told ref")


def test_second_filing_today_meets_the_daily_limit(tmp):
    redis, hl, r = setup(tmp, config=limited_config(tmp, requests=1))
    phone = "+84901000407"
    for t in HELP:
        body = at_ussd(hl, "dl-1", t, phone=phone)[1]
    assert body.startswith("END Sent."), body
    (st, body), s = filing_counted(hl, r, "dl-2", phone)
    eq(body, "END " + LIMIT_MSG, "over the daily limit: the hotline's number")
    eq(s.get("evalsha"), 1, "decided again from what the STEP returned")
    eq(len(r.xrange("hl:q:urgent")), 1, "no second request filed")
    contains(get(hl.url("/metrics"))[1],
             'hotline_limited_total{limit="requests"} 1')


def test_with_wait_replicas_a_filing_loads_first(tmp):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text = text.replace("# wait_replicas = 1;", "wait_replicas = 1;")
    text = text.replace("# wait_ms = 100;", "wait_ms = 100;")
    path = os.path.join(tmp, "wait.cfg")
    with open(path, "w") as f:
        f.write(text)
    redis, hl, r = setup(tmp, config=path)
    phone = "+84901000408"
    (st, body), s = filing_counted(hl, r, "wr", phone)
    assert body.startswith("END Sent."), body
    eq(s.get("evalsha"), 2, "LOAD, then the STEP")
    eq(s.get("wait"), 1, "the WAIT with it")


def test_cached_filing_whose_reply_never_comes(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000409"
    for t in HELP[:-1]:
        at_ussd(hl, "lost", t, phone=phone)
    r("CLIENT", "PAUSE", "1500", "ALL")   # past timeout_ms (250) twice
    t0 = time.time()
    st, body = at_ussd(hl, "lost", HELP[-1], phone=phone)
    eq(st, 200)
    assert body.startswith("END Sent. Your reference is "), body
    assert time.time() - t0 < 1.4, "answered before Redis came back"
    ref = REF_RE.search(body).group(1)
    spooled = os.path.join(tmp, "var", "spool.jsonl")
    wait_for(lambda: len(r.xrange("hl:q:urgent")) >= 1, 20,
             what="the request in Redis once it answers again")
    # The paused STEP may itself have filed it when Redis came back; the
    # spool's copy is replayed on the drain timer and finds it filed.
    wait_for(lambda: not os.path.exists(spooled) or
             open(spooled).read().strip() == "", 20, what="the spool drained")
    time.sleep(0.5)
    entries = r.xrange("hl:q:urgent")
    eq([f["ref"] for _, f in entries], [ref],
       "filed once, under the reference the caller was told")
    contains(hl.log(), "spooled", "told once it was spooled")


if __name__ == "__main__":
    run([(name, fn) for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)])
