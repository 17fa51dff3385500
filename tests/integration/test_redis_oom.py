"""Redis out of memory (issue 11, item 3): maxmemory reached with the
noeviction policy, so Redis refuses every write with -OOM.

A real redis-server is filled to its maxmemory while a Hubtel and a Kannel
caller are mid-walk. Their last step ("Sent") must be spooled, since Redis
cannot file it; new callers get the fallback screen (not a menu that cannot
be saved — Hubtel callers walked in circles, Kannel callers got empty
replies); the log says why, a metric counts it and /readyz is not ready.
Once memory is freed, /readyz is ready again and each request is filed in
Redis exactly once.
"""
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, post_json, get, eq, contains,  # noqa: E402
                     run, wait_for, ROOT)
from test_callers import setup  # noqa: E402

REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
HUB_PHONE = "233200000555"
QUIT_PHONE = "233200000556"     # another caller: the same number redialling
                                # would be offered HUB_PHONE's walk back
SMS_PHONE = "+84933000555"


def fill(r):
    """Sets maxmemory a little above what Redis uses and fills it with
    filler keys until a write is refused; then lowers maxmemory a little
    below the memory used, so that no write slips in as buffers shrink.
    Returns the filler keys' names."""
    r("CONFIG", "SET", "maxmemory-policy", "noeviction")
    r("CONFIG", "SET", "maxmemory", str(used_memory(r) + 512 * 1024))
    names = []
    for i in range(400):
        try:
            r("SET", "filler:%d" % i, "x" * 16384)
        except RuntimeError as e:
            contains(str(e), "OOM", "the write Redis refused")
            r("CONFIG", "SET", "maxmemory", str(used_memory(r) - 256 * 1024))
            return names
        names.append("filler:%d" % i)
    raise AssertionError("Redis never filled up")


def used_memory(r):
    return int(re.search(r"used_memory:(\d+)", r("INFO", "memory")).group(1))


def free(r, names):
    r("DEL", *names)
    r("CONFIG", "SET", "maxmemory", "0")


def hub(hl, session, typ, msg, seq, phone=HUB_PHONE):
    st, body, _ = post_json(hl.url("/ussd/hubtel"), {
        "SessionId": session, "Mobile": phone, "ServiceCode": "714",
        "Type": typ, "Message": msg, "Operator": "mtn", "ClientState": "",
        "Sequence": seq})
    eq(st, 200, "hubtel status")
    return json.loads(body)


def sms(hl, text, mid, frm=SMS_PHONE):
    q = urllib.parse.urlencode({"from": frm, "to": "1234", "text": text,
                                "id": mid, "smsc": "fake", "coding": "0",
                                "charset": "UTF-8"})
    st, body, _ = get(hl.url("/sms/kannel?" + q))
    eq(st, 200, "kannel status")
    return body


def spool_records(tmp):
    path = os.path.join(tmp, "var", "spool.jsonl")
    recs = []
    for p in (path, path + ".draining"):
        if os.path.exists(p):
            with open(p) as f:
                recs += [json.loads(line) for line in f if line.strip()]
    return recs


def address_limited_config(tmp):
    """The shipped config with limits.per_address_per_minute on: the LOAD
    script then writes too (the address counter)."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, n = re.subn(r"per_address_per_minute = 0;",
                      "per_address_per_minute = 1000;", text)
    eq(n, 1, "limits.per_address_per_minute in config/hotlined.cfg")
    path = os.path.join(tmp, "limited.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_full_redis_spools_and_says_not_ready(tmp):
    full_redis_walks(tmp, None)


def test_full_redis_with_the_address_limit_on(tmp):
    # The address counter cannot be counted: the caller's session is still
    # read, and their request spooled, rather than the fallback screen.
    full_redis_walks(tmp, address_limited_config(tmp))


def full_redis_walks(tmp, config):
    redis = RedisServer(tmp, appendonly=False)
    hl = Hotlined(tmp, redis.port, config=config)
    hl.wait_ready()
    r = redis.client()

    # Two callers walk up to the last step while Redis has room.
    contains(hub(hl, "hub-oom", "Initiation", "*714#", 1)["Message"],
             "Choose language")
    for i, s in enumerate(["2", "1", "Hanoi", "1"]):
        eq(hub(hl, "hub-oom", "Response", s, i + 2)["Type"], "Response")
    contains(sms(hl, "HELP", "m0"), "Choose language")
    for i, s in enumerate(["2", "1", "Hanoi", "1"]):
        assert sms(hl, s, "m%d" % (i + 1)), "a screen for %r" % s
    hub(hl, "hub-quit", "Initiation", "*714#", 1, QUIT_PHONE)
    hub(hl, "hub-quit", "Response", "2", 2, QUIT_PHONE)

    fillers = fill(r)

    # The duress exit keeps its neutral screen: the fallback names the
    # hotline, which a watcher must not see.
    out = hub(hl, "hub-quit", "Response", "99", 3, QUIT_PHONE)
    eq((out["Type"], out["Message"]), ("Release", "Thank you. Goodbye."),
       "the duress exit while Redis is full")

    # Their last step is spooled, and they are told so.
    out = hub(hl, "hub-oom", "Response", "2", 6)
    eq(out["Type"], "Release", "the forward ends the session")
    hub_ref = REF_RE.search(out["Message"]).group(1)
    body = sms(hl, "2", "m5")
    sms_ref = REF_RE.search(body).group(1)
    recs = spool_records(tmp)
    spooled = [x for x in recs if hub_ref in x or sms_ref in x]
    eq(len(recs), 2, "two records in the spool")
    eq(len(spooled), 2, "each with the reference its caller was told")
    assert HUB_PHONE in json.dumps(recs) and SMS_PHONE in json.dumps(recs)

    # New callers: the fallback screen, not a menu that cannot be saved.
    out = hub(hl, "hub-oom-new", "Initiation", "*714#", 1)
    eq(out["Type"], "Release", "Hubtel: the session ends")
    contains(out["Message"], "busy", "Hubtel: the fallback screen")
    contains(sms(hl, "HELP", "n0", frm="+84933000556"), "busy",
             "Kannel: the fallback text, not an empty reply")

    st, text, _ = get(hl.url("/readyz"))
    eq(st, 503, "/readyz while Redis refuses writes")
    contains(text, "out of memory", "/readyz says why")
    metrics = get(hl.url("/metrics"))[1]
    contains(metrics, "hotline_redis_oom 1", "the gauge")
    contains(metrics, "hotline_redis_oom_total", "the counter")
    log = hl.log()
    contains(log, "out of memory", "a log line")
    eq(log.count("refuses writes"), 1, "logged once, not per caller")
    for number in ("233200000555", "84933000555", "84933000556"):
        assert number not in log, "a phone number in the log"
    eq(r("EXISTS", "hl:case:" + hub_ref), 0, "not in Redis yet")

    free(r, fillers)
    wait_for(lambda: get(hl.url("/readyz"))[0] == 200, 15,
             what="/readyz ready once writes succeed")
    wait_for(lambda: len(r.xrange("hl:q:urgent")) == 2, 15,
             what="both requests filed")
    time.sleep(1.0)
    entries = r.xrange("hl:q:urgent")
    eq(sorted(f["ref"] for _, f in entries), sorted([hub_ref, sms_ref]),
       "each filed exactly once, under the reference its caller was told")
    eq(r.hgetall("hl:case:" + hub_ref)["phone"], "+" + HUB_PHONE
       if r.hgetall("hl:case:" + hub_ref)["phone"].startswith("+")
       else HUB_PHONE, "the Hubtel caller's case")
    eq(r.hgetall("hl:case:" + sms_ref)["phone"], SMS_PHONE,
       "the SMS caller's case")
    contains(get(hl.url("/metrics"))[1], "hotline_redis_oom 0")
    wait_for(lambda: spool_records(tmp) == [], 10, what="the spool emptied")


def test_duress_flag_waits_in_the_spool_while_redis_is_full(tmp):
    """The duress exit after a filing (T2: the phone taken after the
    victim asked for help) while Redis refuses writes: the flag on the
    filed request is spooled and set once memory is freed. (It was lost:
    only filings were spooled.)"""
    redis, hl, r = setup(tmp)
    body = None
    for i, s in enumerate(["HELP", "2", "1", "Hanoi", "1", "2"]):
        body = sms(hl, s, "dw-%d" % i)
    ref = REF_RE.search(body).group(1)
    names = fill(r)
    never = sms(hl, "99", "ds-0", frm="+84933000999")
    eq(sms(hl, "99", "dw-q"), never,
       "the duress exit answers as for a number that never texted")
    eq(r.hgetall("hl:case:" + ref).get("risk"), None,
       "not flagged while Redis is full")
    recs = spool_records(tmp)
    eq(len(recs), 1, "records in the spool")
    eq(recs[0][15 + 11], "high", "the record carries the flag (ARGV 12, "
       "after the 15 keys: core/gw.h GW_STEP_NKEYS)")
    contains(hl.log(), "duress flag of request %s spooled" % ref, "the log")
    free(r, names)
    wait_for(lambda: r.hgetall("hl:case:" + ref).get("risk") == "high", 20,
             what="the case flagged high-risk by the drain")
    eq(len(r.xrange("hl:q:urgent")), 1, "nothing filed again")
    wait_for(lambda: not spool_records(tmp), 10, what="the spool emptied")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
