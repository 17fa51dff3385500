"""One Redis round trip a screen (README, "One round trip a screen"): each
hotlined keeps recent USSD session states (gateway/scache.h) and saves a
step computed from one with a compare-and-set STEP script. Run for real on
loopback, against real redis-server:

- a live walk's middle steps cost one EVALSHA each (Redis's own
  commandstats), on Hubtel (latest input only: the state comes from the
  cache);
- two hotlined on one Redis alternating steps of one session (each sees
  the session change behind its cache) give the screens of a walk on one
  gateway and file one help request, on Hubtel and Africa's Talking; a
  step from a stale copy costs two EVALSHAs, no LOAD;
- hotlined restarted mid-walk continues it;
- the session changed behind the gateway's back — an older copy of the
  session restored, its state edited (version unchanged), deleted,
  FLUSHALL — gives exactly the screens, filings and session hash that a
  hotlined without the cache (session_cache = 0) gives for the same steps;
- with session_cache = 8, 40 sessions leave at most 8 entries, evictions
  are counted, and evicted sessions continue correctly;
- a copy is not kept past its session's timeout.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, post_json, get,  # noqa: E402
                     eq, contains, run, ROOT)
from test_gateway import REF_RE  # noqa: E402

STEPS = ["2", "1", "Hanoi", "1", "2"]
EXPECT = ["Choose language", "What do you need?", "Where are you now?",
          "Are you in danger right now?", "Is it safe for us to call you back?",
          "Sent. Your reference is "]


def config_with_cache(tmp, n, hubtel_timeout=None):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, k = re.subn(r"session_cache = \d+;", "session_cache = %d;" % n, text)
    assert k == 1, "redis.session_cache not found in config/hotlined.cfg"
    if hubtel_timeout:
        text, k = re.subn(r'(path = "/ussd/hubtel";\s*menu = "hotline"; )'
                          r'timeout = \d+;',
                          r"\1timeout = %d;" % hubtel_timeout, text)
        assert k == 1, "the hubtel channel not found"
    path = os.path.join(tmp, "cache-%d.cfg" % n)
    with open(path, "w") as f:
        f.write(text)
    return path


def metric(hl, name):
    text = get(hl.url("/metrics"))[1]
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def evalsha_calls(r):
    info = r("INFO", "commandstats")
    m = re.search(r"cmdstat_evalsha:calls=(\d+)", info)
    return int(m.group(1)) if m else 0


def hub(hl, session, seq, msg, phone="233200000123"):
    st, body, _ = post_json(hl.url("/ussd/hubtel"), {
        "SessionId": session, "Mobile": phone, "ServiceCode": "714",
        "Type": "Initiation" if seq == 1 else "Response", "Message": msg,
        "Operator": "mtn", "ClientState": "", "Sequence": seq})
    eq(st, 200, "hubtel step %d" % seq)
    out = json.loads(body)
    return out["Type"] + " " + out["Message"]


def test_middle_steps_cost_one_round_trip(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    r = redis.client()
    contains(hub(hl, "rt-1", 1, "*714#"), EXPECT[0])
    contains(hub(hl, "rt-1", 2, STEPS[0]), EXPECT[1])
    before = evalsha_calls(r)
    for i in (1, 2, 3):
        contains(hub(hl, "rt-1", i + 2, STEPS[i]), EXPECT[i + 1])
    eq(evalsha_calls(r) - before, 3, "three middle steps, one EVALSHA each")
    out = hub(hl, "rt-1", 6, STEPS[4])
    contains(out, EXPECT[5])
    ref = REF_RE.search(out).group(1)
    eq([e[1]["ref"] for e in r.xrange("hl:q:urgent")], [ref], "one request")
    assert metric(hl, "hotline_session_cache_hits_total") >= 3


def test_a_stale_copy_costs_two_round_trips(tmp):
    """A step decided from a copy another gateway made stale costs two
    EVALSHAs (the refused compare-and-set returns the session, the step is
    taken again from it), as a step without the cache did: no LOAD."""
    redis = RedisServer(tmp)
    a = Hotlined(tmp, redis.port, name="gw-a")
    b = Hotlined(tmp, redis.port, name="gw-b")
    a.wait_ready()
    b.wait_ready()
    r = redis.client()
    contains(hub(a, "st-1", 1, "*714#"), EXPECT[0])
    contains(hub(a, "st-1", 2, STEPS[0]), EXPECT[1])
    contains(hub(b, "st-1", 3, STEPS[1]), EXPECT[2])
    before = evalsha_calls(r)
    contains(hub(a, "st-1", 4, STEPS[2]), EXPECT[3], "from A's stale copy")
    eq(evalsha_calls(r) - before, 2, "the refused STEP, then the STEP")
    eq(metric(a, "hotline_session_cache_conflicts_total"), 1.0)
    contains(hub(a, "st-1", 5, STEPS[3]), EXPECT[4])
    out = hub(b, "st-1", 6, STEPS[4])
    contains(out, EXPECT[5])
    eq([e[1]["ref"] for e in r.xrange("hl:q:urgent")],
       [REF_RE.search(out).group(1)], "one help request")


def alternate_hubtel(gws, session):
    out = []
    for i, msg in enumerate(["*714#"] + STEPS):
        out.append(hub(gws[i % len(gws)], session, i + 1, msg))
    return out


def alternate_at(gws, session):
    out, hist = [], []
    for i in range(len(STEPS) + 1):
        if i:
            hist.append(STEPS[i - 1])
        st, body = at_ussd(gws[i % len(gws)], session, "*".join(hist))
        eq(st, 200)
        out.append(body)
    return out


def test_two_gateways_alternating_one_session(tmp):
    redis = RedisServer(tmp)
    a = Hotlined(tmp, redis.port, name="gw-a")
    b = Hotlined(tmp, redis.port, name="gw-b")
    c = Hotlined(tmp, redis.port, name="gw-one")
    for hl in (a, b, c):
        hl.wait_ready()
    r = redis.client()
    # A and B each step twice in a row, then hand over: each finds the
    # session changed behind its cache (steps 4 and 6).
    pairs = [a, b, b, a, a, b, a]
    two = alternate_hubtel(pairs, "alt-hub")
    one = alternate_hubtel([c], "one-hub")
    eq([REF_RE.sub("REF", x) for x in two], [REF_RE.sub("REF", x) for x in one],
       "Hubtel: the same screens as on one gateway")
    for i, want in enumerate(EXPECT):
        contains(two[i], want, "step %d" % i)
    two = alternate_at(pairs, "alt-at")
    one = alternate_at([c], "one-at")
    eq([REF_RE.sub("REF", x) for x in two], [REF_RE.sub("REF", x) for x in one],
       "Africa's Talking: the same screens as on one gateway")
    refs = sorted(e[1]["ref"] for e in r.xrange("hl:q:urgent"))
    eq(len(refs), 4, "one help request per walk")
    eq(len(set(refs)), 4)
    assert metric(a, "hotline_session_cache_conflicts_total") >= 1, \
        "gateway A's cache went stale and the compare-and-set saw it"
    assert metric(b, "hotline_session_cache_conflicts_total") >= 1


def test_restart_mid_walk(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    r = redis.client()
    for i, msg in enumerate(["*714#"] + STEPS[:3]):
        contains(hub(hl, "rs-1", i + 1, msg), EXPECT[i])
    hl.stop()
    hl.start()
    hl.wait_ready()
    contains(hub(hl, "rs-1", 5, STEPS[3]), EXPECT[4], "after the restart")
    eq(metric(hl, "hotline_session_cache_hits_total"), 0.0,
       "the restarted process's cache started empty")
    out = hub(hl, "rs-1", 6, STEPS[4])
    contains(out, EXPECT[5])
    eq([e[1]["ref"] for e in r.xrange("hl:q:urgent")],
       [REF_RE.search(out).group(1)], "one help request")


def behind_the_back(hl, r, session, mutate):
    """A Hubtel walk whose session is changed in Redis by mutate(key,
    snapshots) after its 4th step. Returns the screens, the help requests'
    channels and the session hash at the end (times blanked)."""
    key = "hl:s:{hubtel:%s}" % session
    snaps, out = [], []
    for i, msg in enumerate(["*714#"] + STEPS):
        if i == 4:
            mutate(key, snaps)
        out.append(REF_RE.sub("REF", hub(hl, session, i + 1, msg)))
        snaps.append(r.hgetall(key))
    h = r.hgetall(key)
    h.pop("t", None)
    h.pop("r", None)
    h.pop("w", None)
    return out, h


def restore(r, key, h):
    r("DEL", key)
    if h:
        args = []
        for k, v in h.items():
            args += [k, v]
        r("HSET", key, *args)
        r("EXPIRE", key, 120)


def test_session_changed_behind_the_gateways_back(tmp):
    redis = RedisServer(tmp)
    cached = Hotlined(tmp, redis.port, name="cached")
    plain = Hotlined(tmp, redis.port, name="plain",
                     config=config_with_cache(tmp, 0))
    cached.wait_ready()
    plain.wait_ready()
    r = redis.client()
    cases = [
        ("an older copy restored", lambda k, s: restore(r, k, s[1])),
        ("its state edited, version unchanged",
         lambda k, s: r("HSET", k, "st", s[1]["st"])),
        ("deleted", lambda k, s: r("DEL", k)),
        ("FLUSHALL", lambda k, s: r("FLUSHALL")),
    ]
    for name, mutate in cases:
        r("FLUSHALL")
        got = behind_the_back(cached, r, "bb-c", mutate)
        filed_cached = [e[1]["channel"] for e in r.xrange("hl:q:urgent")]
        r("FLUSHALL")
        want = behind_the_back(plain, r, "bb-p", mutate)
        filed_plain = [e[1]["channel"] for e in r.xrange("hl:q:urgent")]
        eq(got, want, "%s: screens and session as without a cache" % name)
        eq(filed_cached, filed_plain, "%s: the same filings" % name)
    assert metric(cached, "hotline_session_cache_conflicts_total") >= 3
    eq(metric(plain, "hotline_session_cache_capacity"), 0.0,
       "session_cache = 0: no cache")


def test_cache_bound_with_many_sessions(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, config=config_with_cache(tmp, 8))
    hl.wait_ready()
    r = redis.client()
    n = 40
    def phone(k):
        return "2332000%05d" % k
    for k in range(n):
        contains(hub(hl, "many-%d" % k, 1, "*714#", phone(k)), EXPECT[0])
        contains(hub(hl, "many-%d" % k, 2, STEPS[0], phone(k)), EXPECT[1])
    eq(metric(hl, "hotline_session_cache_capacity"), 8.0)
    assert metric(hl, "hotline_session_cache_entries") <= 8
    assert metric(hl, "hotline_session_cache_evictions_total") >= n - 8
    # Evicted sessions (the first ones) continue from Redis.
    for k in range(n):
        contains(hub(hl, "many-%d" % k, 3, STEPS[1], phone(k)), EXPECT[2],
                 "session %d after evictions" % k)
    assert metric(hl, "hotline_session_cache_entries") <= 8
    eq(len(r.xrange("hl:q:urgent")), 0)


def test_entries_expire_with_their_session(tmp):
    """A copy of a session is not kept past the session's own timeout in
    Redis (the channel's `timeout`): swept as requests arrive."""
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port,
                  config=config_with_cache(tmp, 8, hubtel_timeout=10))
    hl.wait_ready()
    for k in range(4):
        phone = "23320100%04d" % k
        contains(hub(hl, "exp-%d" % k, 1, "*714#", phone), EXPECT[0])
        contains(hub(hl, "exp-%d" % k, 2, STEPS[0], phone), EXPECT[1])
    eq(metric(hl, "hotline_session_cache_entries"), 4.0)
    time.sleep(11.5)
    contains(hub(hl, "exp-new", 1, "*714#", "233201009999"), EXPECT[0])
    eq(metric(hl, "hotline_session_cache_entries"), 1.0,
       "the four expired copies swept, the new session's kept")


if __name__ == "__main__":
    run([(name, fn) for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)])
