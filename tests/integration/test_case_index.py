"""Cases at volume and who may change them (issue 11, items 7, 9, 10, 11),
with real redis-server and hotlined on loopback:

- the case index: oldest first is exactly the oldest, in order; pages
  (limit/cursor) cover every case once; a queue filter; cases filed before
  the index exist after `hotlinectl cases reindex`; a spooled filing is
  indexed when the spool drains;
- the claimer owns a claimed case: note / resolve / release by someone else
  are refused (409 in the API, exit 1 in the CLI) with who holds it;
- time-to-claim in /metrics counts claims made with hotlinectl too;
- a queue entry (the number, the place) leaves its stream once delivered
  and resolved, and at the retention limit at the latest.
"""
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, eq, contains, run,  # noqa: E402
                     get, wait_for)
import test_cases as tc  # noqa: E402
import test_alerts as ta  # noqa: E402

LAN, MINH = tc.LAN, tc.MINH


def api(hl, method, path, token=LAN, body=None):
    return tc.api(hl, method, path, token=token, body=body)


def list_all(hl, query="", limit=500):
    """Every page of GET /api/cases?QUERY; returns (refs, pages)."""
    refs, pages, cursor = [], 0, ""
    while True:
        q = "limit=%d" % limit + (("&" + query) if query else "")
        if cursor:
            q += "&cursor=" + urllib.parse.quote(cursor)
        st, text, _ = api(hl, "GET", "/api/cases?" + q)
        eq(st, 200, text)
        page = json.loads(text)
        assert len(page["cases"]) <= limit, "a page is at most limit long"
        refs += [c["ref"] for c in page["cases"]]
        pages += 1
        cursor = page.get("next")
        assert pages < 100, "pagination does not end"
        if not cursor:
            return refs, pages


# 2 000 cases written as the STEP script writes them, created in a shuffled
# order (i * 7919 mod 2000 is a permutation), half in queue "other": cases
# filed before the index existed.
OLD_CASES = """
local base = tonumber(ARGV[1])
for i = 1, 2000 do
  local ref = string.format('OLD%04d', i)
  local t = base + ((i * 7919) % 2000) * 1000
  redis.call('HSET', 'hl:case:' .. ref, 'ref', ref, 'owner', 'hl:s:{x:' .. i .. '}',
             'status', 'new', 'entry', '0-1', 'queue', (i % 2 == 0) and 'other' or 'urgent',
             'channel', 'at-ussd', 'phone', '+8491200' .. string.format('%04d', i),
             'lang', 'en', 'created', tostring(t), 'service', '*384*123#',
             'f:location', 'Hanoi')
end
return 2000
"""


def test_oldest_first_and_pages(tmp):
    redis, hl, r, ctl = tc.setup(tmp)
    base = int(time.time() * 1000) - 5 * 86400 * 1000
    eq(r("EVAL", OLD_CASES, "0", str(base)), 2000)
    rc, out, err = ctl("reindex")
    eq(rc, 0, err)
    contains(out, "indexed 2000 cases")
    fresh = [tc.walk(hl, "ix-%d" % i, "+8491300000%d" % i) for i in range(3)]
    want = sorted(("OLD%04d" % i for i in range(1, 2001)),
                  key=lambda ref: (int(ref[3:]) * 7919) % 2000) + fresh
    st, text, _ = api(hl, "GET", "/api/cases?limit=200")
    eq(st, 200, text)
    page = json.loads(text)
    eq([c["ref"] for c in page["cases"]], want[:200],
       "oldest first: exactly the 200 oldest, in order")
    created = [c["created"] for c in page["cases"]]
    eq(created, sorted(created))
    assert page.get("next"), "a cursor to the next page"
    refs, pages = list_all(hl, limit=200)
    eq(refs, want, "the pages cover every case once, oldest first")
    eq(pages, 11)
    refs, _ = list_all(hl, "status=new&queue=other", limit=150)
    eq(refs, [x for x in want if x.startswith("OLD") and int(x[3:]) % 2 == 0],
       "a queue's new cases, oldest first")
    eq(api(hl, "GET", "/api/cases?limit=0")[0], 400)
    eq(api(hl, "GET", "/api/cases?limit=201")[0], 400)
    eq(api(hl, "GET", "/api/cases?cursor=x%27y")[0], 400)
    eq(api(hl, "GET", "/api/cases?queue=a%20b")[0], 400)
    # a claimed case leaves "new" and appears in "claimed"
    eq(api(hl, "POST", "/api/cases/%s/claim" % want[0])[0], 200)
    st, text, _ = api(hl, "GET", "/api/cases?status=new&limit=2")
    eq([c["ref"] for c in json.loads(text)["cases"]], want[1:3])
    st, text, _ = api(hl, "GET", "/api/cases?status=claimed")
    eq([c["ref"] for c in json.loads(text)["cases"]], [want[0]])
    # the CLI: the same order, the cursor for the next page
    rc, out, err = ctl("list", "--limit", "3")
    eq(rc, 0, err)
    eq([line.split()[0] for line in out.strip().split("\n")[1:]], want[:3])
    m = re.search(r"^next: (\S+)$", err, re.M)
    assert m, "the next page's cursor on stderr: %r" % err
    rc, out, err = ctl("--json", "list", "--limit", "3", "--cursor", m.group(1))
    eq(rc, 0, err)
    eq([c["ref"] for c in json.loads(out)["cases"]], want[3:6])
    # an erased case leaves the index
    rc, out, err = ctl("erase", "--phone", "+84912000002")
    contains(out, "removed: 1 cases")
    assert r("ZSCORE", "hl:cx:new", "OLD0002") is None
    assert r("ZSCORE", "hl:cx:new:other", "OLD0002") is None


TIED_CASES = """
for i = 1, 7 do
  local ref = 'TIE' .. i
  redis.call('HSET', 'hl:case:' .. ref, 'ref', ref, 'status', 'new', 'queue', 'urgent',
             'phone', '+8491400000' .. i, 'created', ARGV[1])
end
return 7
"""


def test_pages_through_ties_and_moves(tmp):
    """Cases filed in the same millisecond are ordered by reference, and a
    page boundary among them loses or repeats none, even when the case the
    cursor names is claimed between two pages."""
    redis, hl, r, ctl = tc.setup(tmp)
    eq(r("EVAL", TIED_CASES, "0", "1764500000000"), 7)
    eq(ctl("reindex")[0], 0)
    refs, pages = list_all(hl, "status=new", limit=2)
    eq(refs, ["TIE%d" % i for i in range(1, 8)])
    eq(pages, 4)
    st, text, _ = api(hl, "GET", "/api/cases?status=new&limit=3")
    page = json.loads(text)
    eq(page["next"], "1764500000000-TIE3")
    eq(api(hl, "POST", "/api/cases/TIE3/claim")[0], 200)
    st, text, _ = api(hl, "GET", "/api/cases?status=new&limit=3&cursor=" + page["next"])
    eq([c["ref"] for c in json.loads(text)["cases"]], ["TIE4", "TIE5", "TIE6"],
       "the page after a cursor whose case moved")
    st, text, _ = api(hl, "GET", "/api/cases?limit=10&cursor=1764500000000-TIE3")
    eq([c["ref"] for c in json.loads(text)["cases"]], ["TIE4", "TIE5", "TIE6", "TIE7"],
       "every status: TIE3 (claimed) is not repeated")


def test_spooled_filing_is_indexed(tmp):
    redis, hl, r, ctl = tc.setup(tmp)
    redis.kill()
    ref = tc.walk(hl, "sp-ix", "+84913000009")
    redis.start()
    wait_for(lambda: "help requests moved to Redis" in hl.log(), 15,
             what="the spool drained")
    st, text, _ = api(hl, "GET", "/api/cases?status=new")
    eq([c["ref"] for c in json.loads(text)["cases"]], [ref])


def v1_record(rec):
    """The record an older version (9 keys, positional ARGV) spooled for the
    same filing as rec, a record of today's layout (session.c, STEP)."""
    eq(rec[15], "step3", "today's records carry the layout tag")
    eq(rec[9:12], ["hl:cx:new", "hl:cx:new:urgent", "hl:ev:live"],
       "the index keys and the live stream are KEYS 10-12")
    a = rec[15:]
    n = int(a[25])
    pairs, funnel = a[26:26 + 2 * n], a[26 + 2 * n:]
    rk = rec[12] if rec[12] != rec[0] else ""
    return (rec[:9] + a[1:11] + [a[25]] + pairs +
            [a[11], a[12], a[13], a[14], rk, a[15], a[16], a[17], a[18],
             rec[13]] + funnel)


def test_spool_of_an_older_version_is_indexed(tmp):
    """A record spooled by a version without the index (9 keys: no cx keys)
    is filed and indexed when a new hotlined drains it (an upgrade during
    a Redis outage)."""
    redis, hl, r, ctl = tc.setup(tmp)
    redis.kill()
    ref = tc.walk(hl, "sp-old", "+84913000008")
    hl.stop()
    spool = os.path.join(tmp, "var", "spool.jsonl")
    with open(spool) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    eq(len(recs), 1)
    old = v1_record(recs[0])
    eq(old[9], "", "the older record's 10th element is the blanked ttl")
    with open(spool, "w") as f:
        f.write(json.dumps(old) + "\n")
    redis.start()
    hl.start()
    wait_for(lambda: "help requests moved to Redis" in hl.log(), 15,
             what="the spool drained")
    st, text, _ = api(hl, "GET", "/api/cases?status=new&queue=urgent")
    eq([c["ref"] for c in json.loads(text)["cases"]], [ref])
    eq(redis.client().hgetall("hl:case:" + ref)["phone"], "+84913000008")


def test_spool_of_the_positional_layout_is_filed(tmp):
    """A record spooled by the version before the fixed STEP layout (11
    keys, positional ARGV) is filed and indexed when a new hotlined drains
    it (an upgrade during a Redis outage)."""
    redis, hl, r, ctl = tc.setup(tmp)
    redis.kill()
    ref = tc.walk(hl, "sp-old2", "+84913000009")
    hl.stop()
    spool = os.path.join(tmp, "var", "spool.jsonl")
    with open(spool) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    eq(len(recs), 1)
    v1 = v1_record(recs[0])
    old = v1[:9] + recs[0][9:11] + v1[9:]
    with open(spool, "w") as f:
        f.write(json.dumps(old) + "\n")
    redis.start()
    hl.start()
    wait_for(lambda: "help requests moved to Redis" in hl.log(), 15,
             what="the spool drained")
    st, text, _ = api(hl, "GET", "/api/cases?status=new&queue=urgent")
    eq([c["ref"] for c in json.loads(text)["cases"]], [ref])
    eq(redis.client().hgetall("hl:case:" + ref)["phone"], "+84913000009")


def test_claimer_owns_the_case(tmp):
    redis, hl, r, ctl = tc.setup(tmp)
    ref = tc.walk(hl, "own-1", "+84912000021")
    other = tc.walk(hl, "own-2", "+84912000022")
    eq(api(hl, "POST", "/api/cases/%s/claim" % ref)[0], 200)
    for what, body in (("note", {"text": "I call now"}), ("resolve", None),
                       ("release", None)):
        st, text, _ = api(hl, "POST", "/api/cases/%s/%s" % (ref, what),
                          token=MINH, body=body)
        eq(st, 409, "%s by someone else: %s" % (what, text))
        eq(json.loads(text)["error"], "case is claimed by lan")
    rc, out, err = ctl("note", ref, "I call now", token=MINH)
    eq(rc, 1, "the CLI refuses too")
    contains(err, "note %s: case is claimed by lan" % ref)
    rc, out, err = ctl("resolve", ref, token=MINH)
    eq(rc, 1)
    contains(err, "case is claimed by lan")
    case = r.hgetall("hl:case:" + ref)
    eq((case["status"], case.get("notes")), ("claimed", None), "nothing changed")
    # the claimer gives it back; then another may take it
    rc, out, err = ctl("release", ref)
    eq((rc, out.strip()), (0, "released " + ref), err)
    eq(r.hgetall("hl:case:" + ref)["status"], "new")
    assert "claimed_by" not in r.hgetall("hl:case:" + ref)
    eq(api(hl, "POST", "/api/cases/%s/release" % ref)[0], 409, "not claimed")
    eq(api(hl, "POST", "/api/cases/%s/claim" % ref, token=MINH)[0], 200)
    st, text, _ = api(hl, "POST", "/api/cases/%s/note" % ref, token=MINH,
                      body={"text": "called back"})
    eq(st, 200, text)
    eq(api(hl, "POST", "/api/cases/%s/release" % ref, token=MINH)[0], 200)
    eq(api(hl, "POST", "/api/cases/%s/claim" % ref)[0], 200)
    eq(api(hl, "POST", "/api/cases/%s/resolve" % ref)[0], 200)
    case = json.loads(api(hl, "GET", "/api/cases/" + ref)[1])
    eq([(h["who"], h["what"]) for h in case["history"]],
       [("lan", "claim"), ("lan", "release"), ("minh", "claim"),
        ("minh", "note"), ("minh", "release"), ("lan", "claim"),
        ("lan", "resolve"), ("lan", "read")], "this read is audited too")
    # a new case may be noted by anyone; it stays unclaimed
    eq(api(hl, "POST", "/api/cases/%s/note" % other, token=MINH,
           body={"text": "seen"})[0], 200)


def metric(hl, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), get(hl.url("/metrics"))[1],
                  re.M)
    return int(m.group(1)) if m else 0


def test_time_to_claim_counts_cli_claims(tmp):
    redis, hl, r, ctl = tc.setup(tmp)
    a = tc.walk(hl, "ttc-1", "+84912000031")
    b = tc.walk(hl, "ttc-2", "+84912000032")
    eq(ctl("claim", a)[0], 0)
    wait_for(lambda: metric(hl, "hotline_case_claim_seconds_count") == 1, 5,
             what="a CLI claim in /metrics")
    eq(ctl("resolve", a)[0], 0)
    wait_for(lambda: metric(hl, "hotline_case_resolve_seconds_count") == 1, 5,
             what="a CLI resolve in /metrics")
    eq(api(hl, "POST", "/api/cases/%s/claim" % b)[0], 200)
    wait_for(lambda: metric(hl, "hotline_case_claim_seconds_count") == 2, 5,
             what="an API claim in /metrics")
    time.sleep(1.5)
    eq(metric(hl, "hotline_case_claim_seconds_count"), 2, "each claim once")
    eq(r.hgetall("hl:case:" + a)["claimed_by"], "lan")
    assert int(r.hgetall("hl:case:" + a)["claimed_at"]) > 0


def entry_ids(r, stream):
    return [i for i, _ in r.xrange(stream)]


def test_queue_entries_leave_the_stream(tmp):
    """Delivered and resolved → gone; resolved first, delivered later →
    gone at the acknowledgement; older than the retention → trimmed."""
    redis = RedisServer(tmp)
    r = redis.client()
    receiver = ta.Receiver()
    cfg = ta.write_config(tmp, receiver, None)
    cfg2 = tc.staff_config(tmp)         # retention 2 days, two staff
    with open(cfg) as f:
        text = f.read()
    with open(cfg2) as f:
        staff = re.search(r"staff = \(.*?\);", f.read(), re.S).group(0)
    text = re.sub(r"staff = \(.*?\n\);", staff, text, flags=re.S)
    text = re.sub(r"retention_days = \d+;", "retention_days = 2;", text)
    with open(cfg, "w") as f:
        f.write(text)
    # entries older than the retention, in a stream and a dead-letter stream
    old = int(time.time() * 1000) - 3 * 86400 * 1000
    r("XADD", "hl:q:other", "%d-0" % old, "ref", "OLDREF", "phone", "+84912000099")
    r("XADD", "hl:dead:other", "%d-0" % old, "ref", "OLDREF", "phone", "+84912000099")
    hl = Hotlined(tmp, redis.port, config=cfg,
                  env={"TEST_WEBHOOK_SECRET": ta.SECRET,
                       "STAFF_TOKEN_LAN": LAN, "STAFF_TOKEN_MINH": MINH})
    hl.wait_ready()
    a, _ = ta.walk(hl, "qe-1", "+84912000041")
    wait_for(lambda: receiver.items(), 5, what="the webhook of the first")
    wait_for(lambda: ta.pending(r) == 0, 5, what="the first acknowledged")
    eq(len(entry_ids(r, "hl:q:urgent")), 1, "delivered, not resolved: kept")
    eq(api(hl, "POST", "/api/cases/%s/claim" % a)[0], 200)
    eq(api(hl, "POST", "/api/cases/%s/resolve" % a)[0], 200)
    eq(entry_ids(r, "hl:q:urgent"), [], "delivered and resolved: gone")
    # resolved before its alert went out: gone once acknowledged
    receiver.stop()
    b, _ = ta.walk(hl, "qe-2", "+84912000042")
    eq(api(hl, "POST", "/api/cases/%s/claim" % b)[0], 200)
    eq(api(hl, "POST", "/api/cases/%s/resolve" % b)[0], 200)
    eq(len(entry_ids(r, "hl:q:urgent")), 1, "not delivered yet: kept")
    receiver.start()
    wait_for(lambda: len(receiver.items()) == 2, 10, what="the second webhook")
    wait_for(lambda: entry_ids(r, "hl:q:urgent") == [], 5,
             what="the second entry gone after its delivery")
    # the retention limit
    wait_for(lambda: entry_ids(r, "hl:q:other") == [] and
             entry_ids(r, "hl:dead:other") == [], 10,
             what="entries older than retention_days trimmed")
    receiver.stop()


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
