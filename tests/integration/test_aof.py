"""What of a walk reaches Redis's disk (issue 17; gateway/session.c,
"What reaches the disk"; deploy/README.md, "appendfsync always"), against
real redis-servers on loopback with the AOF on and `appendfsync always`,
as shipped:

- a USSD screen that only moves a walk on adds nothing to the AOF (so it
  waits on no fsync; the funnel's flush, once a second, is its own), yet a replica receives the session and the saved
  place; an SMS step still writes its session to the AOF;
- the filing step writes the help request and the end of the walk (the
  DEL of the session and of the saved place) to the AOF before the caller
  reads the reference;
- Redis killed and restarted from its AOF: the help request is there once,
  the walk that filed is not offered back even when an AOF rewrite had
  caught it mid-walk, and an Africa's Talking walk in progress goes on
  from its history.
"""
import glob
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, at_ussd, eq, contains,  # noqa: E402
                     get, run, wait_for)
from test_callers import setup  # noqa: E402
from test_resume import phone_key  # noqa: E402

HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF_RE = re.compile(r"reference is ([0-9A-Z]{6})")
LANGUAGE = "CON Chon ngon ngu / Choose language / Pilih bahasa"


def aof(redis):
    """The AOF's incremental parts, in order, as one bytes string."""
    d = os.path.join(redis.tmp, "redis-%d" % redis.port, "appendonlydir")
    parts = sorted(glob.glob(os.path.join(d, "*.incr.aof")),
                   key=lambda p: int(p.rsplit(".", 3)[-3]))
    out = b""
    for p in parts:
        with open(p, "rb") as f:
            out += f.read()
    return out


def commands(data):
    """The commands in AOF bytes (arrays of bulk strings), as lists."""
    out, i = [], 0
    while i < len(data):
        assert data[i:i + 1] == b"*", data[i:i + 40]
        j = data.index(b"\r\n", i)
        n, i, cmd = int(data[i + 1:j]), j + 2, []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            ln = int(data[i + 1:j])
            cmd.append(data[j + 2:j + 2 + ln])
            i = j + 2 + ln + 2
        out.append(cmd)
    return out


def of_the_walk(data):
    """The commands of AOF bytes less the transaction markers and the
    funnel's once-a-second flush (its batch token and the menu's funnel
    hash: gateway/fcount.c), which may fall between any two screens."""
    return [c for c in commands(data)
            if c[0].upper() not in (b"MULTI", b"EXEC", b"SELECT") and
            not (len(c) > 1 and (b":fc:" in c[1] or b":f:" in c[1]))]


def middle_steps(hl, session, phone):
    """Walks a session to its middle screens; returns the session key and
    the number's saved-place key."""
    at_ussd(hl, session, HELP[0], phone=phone)
    at_ussd(hl, session, HELP[1], phone=phone)
    return "hl:s:{at-ussd:%s}" % session, "hl:r:" + phone_key(phone)


def two_middle_screens(hl, session, phone):
    st, body = at_ussd(hl, session, HELP[2], phone=phone)
    contains(body, "Where are you", "the middle screen")
    st, body = at_ussd(hl, session, HELP[3], phone=phone)
    contains(body, "Are you in danger", "the next middle screen")


def test_middle_screen_adds_nothing_to_the_aof(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000501"
    skey, rkey = middle_steps(hl, "aof-1", phone)
    before = len(aof(redis))
    two_middle_screens(hl, "aof-1", phone)
    added = aof(redis)[before:]
    eq(of_the_walk(added), [], "what the two middle screens added to the AOF")
    contains(r("HGET", skey, "st"), "Hanoi", "the session in Redis")
    contains(r("HGET", rkey, "st"), "Hanoi", "the saved place in Redis")

    at_ussd(hl, "aof-1", HELP[4], phone=phone)
    mark = len(aof(redis))
    st, body = at_ussd(hl, "aof-1", HELP[5], phone=phone)
    ref = REF_RE.search(body).group(1)
    tail = aof(redis)[mark:]
    for what, needle in (("the stream entry", b"XADD"),
                         ("the case", b"hl:case:" + ref.encode()),
                         ("the filing step's session", skey.encode()),
                         ("the saved place's end", rkey.encode())):
        assert needle in tail, "%s is not in the AOF after the filing " \
            "step: %r" % (what, tail[:400])
    eq(r("EXISTS", rkey), 0, "the saved place after the filing")


def test_sms_walk_stays_on_disk(tmp):
    """A texted walk has no history to replay and may last minutes: its
    session is written to the AOF at every step, as before."""
    redis, hl, r = setup(tmp)
    frm = "+84933000505"
    for i, text in enumerate(["HELP", "2"]):
        q = urllib.parse.urlencode({"from": frm, "to": "1234", "text": text,
                                    "id": "aof-sms-%d" % i, "smsc": "fake",
                                    "coding": "0", "charset": "UTF-8"})
        before = len(aof(redis))
        st, body, _ = get(hl.url("/sms/kannel?" + q))
        eq(st, 200, "kannel status")
        added = aof(redis)[before:]
        assert b"HSET" in added and b"hl:s:{" in added, \
            "SMS step %r wrote no session to the AOF: %r" % (text, added[:300])


def test_middle_screen_reaches_a_replica(tmp):
    redis, hl, r = setup(tmp)
    r("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    replica = RedisServer(tmp, extra_args=[
        "--replicaof", "127.0.0.1", str(redis.port)])
    rr = replica.client()
    wait_for(lambda: "master_link_status:up" in rr("INFO", "replication"),
             10, what="the replica in sync")
    phone = "+84901000504"
    skey, rkey = middle_steps(hl, "aof-4", phone)
    before = len(aof(redis))
    two_middle_screens(hl, "aof-4", phone)
    added = aof(redis)[before:]
    # Redis 7.0 wraps a script's effects for replicas in a MULTI/EXEC that
    # it writes to the AOF too: nothing else may be there
    eq(of_the_walk(added), [],
       "what the middle screens wrote to the AOF besides MULTI/EXEC")
    wait_for(lambda: "Hanoi" in (rr("HGET", skey, "st") or ""), 10,
             what="the session's latest step on the replica")
    contains(rr("HGET", rkey, "st") or "", "Hanoi",
             "the saved place on the replica")
    assert rr("TTL", skey) > 0 and rr("TTL", rkey) > 0, \
        "the replica's copies expire"


def rewrite_aof(r):
    """BGREWRITEAOF, waited for: the AOF's base then holds the dataset."""
    done = r("INFO", "persistence")
    n0 = int(re.search(r"aof_rewrites:(\d+)", done).group(1)) \
        if "aof_rewrites:" in done else None
    r("BGREWRITEAOF")

    def finished():
        s = r("INFO", "persistence")
        if "aof_rewrite_in_progress:0" not in s or \
                "aof_rewrite_scheduled:0" not in s:
            return False
        if n0 is not None:
            return int(re.search(r"aof_rewrites:(\d+)", s).group(1)) > n0
        return True
    time.sleep(0.2)
    wait_for(finished, 20, what="the AOF rewrite")
    assert "aof_last_bgrewrite_status:ok" in r("INFO", "persistence")


def test_redis_restart_keeps_the_request_and_forgets_the_ended_walk(tmp):
    redis, hl, r = setup(tmp)
    phone, other = "+84901000502", "+84901000503"
    for t in HELP[:4]:
        at_ussd(hl, "aof-2", t, phone=phone)
    for t in HELP[:3]:
        at_ussd(hl, "aof-3", t, phone=other)
    assert r("EXISTS", "hl:r:" + phone_key(phone)) == 1
    rewrite_aof(r)           # the base now holds both walks mid-way
    for t in HELP[4:]:
        st, body = at_ussd(hl, "aof-2", t, phone=phone)
    ref = REF_RE.search(body).group(1)
    # aof-3 moves on after the rewrite: that step is on no disk
    contains(at_ussd(hl, "aof-3", HELP[3], phone=other)[1],
             "Are you in danger", "aof-3 before the restart")

    redis.kill()
    redis.start()
    r = redis.client()
    wait_for(lambda: hl_ready(hl), 15, what="hotlined back on Redis")
    q = r.xrange("hl:q:urgent")
    eq([e[1]["ref"] for e in q], [ref], "the help request, once")
    eq(r.hgetall("hl:case:" + ref).get("status"), "new", "its case")
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 0,
       "the saved place of the walk that filed")
    eq(r("HGET", "hl:s:{at-ussd:aof-2}", "r"), ref,
       "the session of the filing step, as it was written")
    st, body = at_ussd(hl, "aof-2", HELP[5], phone=phone)
    eq(REF_RE.search(body).group(1), ref,
       "the aggregator retrying the filing step: the same reference")
    st, body = at_ussd(hl, "aof-2b", "", phone=phone)
    eq(body.split("\n")[0], LANGUAGE,
       "the number's next call opens on the first screen, not on the "
       "question offering the filed walk back")
    # aof-3's session came back at its step before the rewrite, or not at
    # all; its history takes it on to the screen its caller expects
    st, body = at_ussd(hl, "aof-3", HELP[4], phone=other)
    contains(body, "call you back", "aof-3 after the restart")
    st, body = at_ussd(hl, "aof-3", HELP[5], phone=other)
    assert REF_RE.search(body), body
    eq(len(r.xrange("hl:q:urgent")), 2, "aof-2 and aof-3 filed once each")


def hl_ready(hl):
    try:
        return get(hl.url("/readyz"))[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    run([(name, fn) for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)])
