"""The supervisor view's API and CLI (issue 14, item 5), with real
redis-server, hotlined, hotlinectl and a real webhook receiver on loopback:
per-queue open cases and the oldest waiting, time-to-claim and
time-to-resolve today from the case events behind /metrics, reassign
(written to the history with who did it; only supervisors; `hotlinectl
cases reassign` too), and dead-lettered alerts that a supervisor (or
`hotlinectl alerts retry`) sends again once the receiver is back: the
delivery arrives once. Staff and operator roles, and bearer tokens, get
403. No phone number in any reply or line of output.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, eq, contains, run,  # noqa: E402
                     ROOT, HOTLINECTL, PEPPER, get, wait_for)
import schemas  # noqa: E402
import test_alerts as ta  # noqa: E402
from test_staff_session import signin, call, LAN_TOKEN  # noqa: E402

PW = "correct horse battery"
PHONES = ["+84901234561", "+84901234562", "+84901234563"]


def console_block(path):
    """The console block of the test config: its files from the tree."""
    with open(path) as f:
        text = f.read()
    text, n = re.subn(r"console = \{.*?\n\};", 'console = {\n  dir = "%s";\n};'
                      % os.path.join(ROOT, "staff", "console"), text, flags=re.S)
    eq(n, 1, "the console block replaced")
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; token = '
                      '"env:STAFF_TOKEN_LAN"; } );', text, flags=re.S)
    eq(n, 1, "the staff block replaced")
    with open(path, "w") as f:
        f.write(text)


ENV = {"TEST_WEBHOOK_SECRET": ta.SECRET, "STAFF_TOKEN_LAN": LAN_TOKEN}


def setup(tmp, receiver, attempts=20, smtp=None):
    redis = RedisServer(tmp)
    cfg = ta.write_config(tmp, receiver, smtp, attempts=attempts)
    console_block(cfg)
    hl = Hotlined(tmp, redis.port, config=cfg, env=ENV)
    hl.wait_ready()

    def ctl(*args, stdin=None):
        e = dict(os.environ, HOTLINE_PEPPER=PEPPER, **ENV)
        p = subprocess.run([HOTLINECTL, args[0], "-c", cfg, "--redis",
                            "127.0.0.1:%d" % redis.port] + list(args[1:]),
                           cwd=ROOT, env=e, input=stdin, capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr
    for name, role in (("sara", "supervisor"), ("minh", "staff"),
                       ("thu", "staff"), ("oanh", "operator")):
        rc, out, err = ctl("staff", "add", name, "--role", role,
                           "--password-stdin", stdin=PW + "\n")
        eq(rc, 0, err)
    people = {}
    for name in ("sara", "minh", "thu", "oanh"):
        st, body, _h, cookie = signin(hl, name, PW)
        eq(st, 200, body)
        people[name] = (cookie, body["csrf"])
    return redis.client(), hl, ctl, people


def api(hl, people, who, method, path, body=None):
    cookie, csrf = people[who]
    st, text, _h = call(hl, method, path, cookie=cookie, csrf=csrf, body=body)
    for p in PHONES:
        assert p[3:] not in text, "a number in %s %s: %s" % (method, path, text)
    return st, (json.loads(text) if text.strip() else None)


def walk(hl, session, phone):
    body = None
    for text in ta.WALK:
        st, body = at_ussd(hl, session, text, phone=phone)
        eq(st, 200)
    return ta.REF_RE.search(body).group(1)


def test_summary_reassign_and_roles(tmp):
    receiver = ta.Receiver()
    r, hl, ctl, people = setup(tmp, receiver)
    refs = [walk(hl, "ATUid_s%d" % i, p) for i, p in enumerate(PHONES)]
    wait_for(lambda: len(receiver.items()) == 3, 15, what="three webhooks")

    # minh claims two and resolves one; the third waits
    for ref in refs[:2]:
        eq(api(hl, people, "minh", "POST", "/api/cases/%s/claim" % ref)[0], 200)
    eq(api(hl, people, "minh", "POST", "/api/cases/%s/resolve" % refs[0])[0], 200)

    st, s = api(hl, people, "sara", "GET", "/api/super/summary")
    eq(st, 200, s)
    schemas.check("super-summary", json.dumps(s))
    eq([(q["queue"], q["new"], q["claimed"], q["oldest_ref"]) for q in s["queues"]],
       [("urgent", 1, 1, refs[2])], "open cases by queue, the oldest waiting")
    eq([(c["ref"], c["claimed_by"]) for c in s["claimed"]], [(refs[1], "minh")])
    eq(s["time_to_claim"]["count"], 2, "two claims today")
    eq(s["time_to_resolve"]["count"], 1, "one resolve today")
    assert 0 <= s["time_to_claim"]["median_s"] <= s["time_to_claim"]["p90_s"] < 60, s
    # the same events as /metrics: its histogram has counted the same two
    wait_for(lambda: "hotline_case_claim_seconds_count 2" in
             get(hl.url("/metrics"))[1], 15, what="/metrics counting 2 claims")
    contains(get(hl.url("/metrics"))[1], "hotline_case_resolve_seconds_count 1")
    for name in ("sara", "minh", "thu", "oanh"):
        assert name in s["staff"], s["staff"]

    # staff and operators do not see it; neither does a bearer token
    for who in ("minh", "oanh"):
        st, body = api(hl, people, who, "GET", "/api/super/summary")
        eq(st, 403, body)
        eq(api(hl, people, who, "GET", "/api/super/dead")[0], 403)
        eq(api(hl, people, who, "POST", "/api/super/dead/retry", {"all": True})[0], 403)
        eq(api(hl, people, who, "POST", "/api/cases/%s/reassign" % refs[1],
               {"to": "thu"})[0], 403, "reassign by " + who)
    eq(call(hl, "GET", "/api/super/summary", token=LAN_TOKEN)[0], 403)
    eq(call(hl, "POST", "/api/cases/%s/reassign" % refs[1], token=LAN_TOKEN,
            body={"to": "thu"})[0], 403)
    # without the CSRF token: refused before anything
    eq(call(hl, "POST", "/api/cases/%s/reassign" % refs[1],
            cookie=people["sara"][0], body={"to": "thu"})[0], 403)

    # reassign: to an unknown name refused, a new case refused, then done
    st, body = api(hl, people, "sara", "POST", "/api/cases/%s/reassign" % refs[1],
                   {"to": "nobody"})
    eq(st, 409, body)
    eq(api(hl, people, "sara", "POST", "/api/cases/%s/reassign" % refs[2],
           {"to": "thu"})[0], 409, "a new case is not reassigned")
    eq(api(hl, people, "sara", "POST", "/api/cases/%s/reassign" % refs[1],
           {"to": "Not A Name!"})[0], 400)
    st, body = api(hl, people, "sara", "POST", "/api/cases/%s/reassign" % refs[1],
                   {"to": "thu"})
    eq(st, 200, body)
    schemas.check("action", json.dumps(body))
    eq(body["message"], "reassigned to thu")
    case = r.hgetall("hl:case:" + refs[1])
    eq(case["claimed_by"], "thu")
    last = json.loads(case["history"])[-1]
    eq((last["who"], last["what"], last["from"], last["to"]),
       ("sara", "reassign", "minh", "thu"), "the history says who did it")
    # the rule follows the new owner: minh is refused, thu may resolve
    st, body = api(hl, people, "minh", "POST", "/api/cases/%s/resolve" % refs[1])
    eq((st, body["error"]), (409, "case is claimed by thu"))
    ev = r("XREVRANGE", "hl:ev:live", "+", "-", "COUNT", 5)
    assert any(dict(zip(e[1][::2], e[1][1::2])) == {"what": "reassign", "ref": refs[1]}
               for e in ev), ev

    # the CLI runs the same script, as a supervisor
    rc, out, err = ctl("cases", "--token", LAN_TOKEN, "reassign", refs[1], "minh")
    eq((rc, out, err), (0, "%s reassigned to minh\n" % refs[1], ""))
    last = json.loads(r.hgetall("hl:case:" + refs[1])["history"])[-1]
    eq((last["who"], last["from"], last["to"]), ("lan", "thu", "minh"))
    rc, out, err = ctl("cases", "--token", LAN_TOKEN, "reassign", refs[2], "minh")
    eq(rc, 1, out)
    contains(err, "case is new, not claimed")
    eq(api(hl, people, "minh", "POST", "/api/cases/%s/resolve" % refs[1])[0], 200)
    hl.stop()
    receiver.stop()
    ta.check_log(hl)


def dead_lettered(r, n):
    wait_for(lambda: len(r.xrange("hl:dead:urgent")) == n, 20,
             what="%d dead letter(s)" % n)


def test_dead_letter_retried_from_the_console_and_cli(tmp):
    receiver = ta.Receiver()
    receiver.stop()             # the receiver is down: the webhook fails
    r, hl, ctl, people = setup(tmp, receiver, attempts=3)
    ref = walk(hl, "ATUid_d1", PHONES[0])
    dead_lettered(r, 1)
    st, d = api(hl, people, "sara", "GET", "/api/super/dead")
    eq(st, 200, d)
    schemas.check("super-dead", json.dumps(d))
    eq([(x["queue"], x["ref"], x["attempts"]) for x in d["dead"]],
       [("urgent", ref, 3)])
    contains(d["dead"][0]["error"], "webhook")
    rc, out, err = ctl("alerts", "list-dead")
    eq(rc, 0, err)
    contains(out, d["dead"][0]["id"])
    contains(out, ref)
    assert PHONES[0][3:] not in out + err, out

    # retrying an unknown id: 404; the receiver comes back, Retry
    eq(api(hl, people, "sara", "POST", "/api/super/dead/retry",
           {"id": "urgent/1-1"})[0], 404)
    eq(api(hl, people, "sara", "POST", "/api/super/dead/retry",
           {"id": "../x"})[0], 400)
    receiver.start()
    st, body = api(hl, people, "sara", "POST", "/api/super/dead/retry",
                   {"id": d["dead"][0]["id"]})
    eq(st, 200, body)
    schemas.check("super-retry", json.dumps(body))
    eq((body["retried"], body["dropped"]), (1, 0))
    wait_for(lambda: receiver.items(), 15, what="the retried webhook")
    time.sleep(1.0)             # nothing more comes
    got = receiver.items()
    eq(len(got), 1, "delivered once")
    eq(got[0][1]["ref"], ref)
    assert got[0][2] and got[0][3], "signed and fresh"
    eq(r.xrange("hl:dead:urgent"), [], "the dead letter is gone")
    wait_for(lambda: ta.pending(r) == 0, 15, what="acknowledged")
    entries = r.xrange("hl:q:urgent")
    eq(len(entries), 1, "the old queue entry went, the new one stays")
    eq(r.hgetall("hl:case:" + ref)["entry"], entries[0][0],
       "the case points at its new entry")
    contains(get(hl.url("/metrics"))[1], "hotline_alerts_retried_total 1")
    # resolving now deletes the delivered entry, as for any case
    eq(api(hl, people, "sara", "POST", "/api/cases/%s/claim" % ref)[0], 200)
    eq(api(hl, people, "sara", "POST", "/api/cases/%s/resolve" % ref)[0], 200)
    eq(r.xrange("hl:q:urgent"), [], "the resolved case's entry deleted")

    # the CLI: two more dead letters, one of a case resolved meanwhile
    receiver.stop()
    ref2 = walk(hl, "ATUid_d2", PHONES[1])
    ref3 = walk(hl, "ATUid_d3", PHONES[2])
    dead_lettered(r, 2)
    eq(api(hl, people, "minh", "POST", "/api/cases/%s/claim" % ref3)[0], 200)
    eq(api(hl, people, "minh", "POST", "/api/cases/%s/resolve" % ref3)[0], 200)
    receiver.start()
    rc, out, err = ctl("alerts", "retry", "--all")
    eq((rc, out), (0, "retried 1, dropped 1 (case resolved or gone)\n"), err)
    wait_for(lambda: len(receiver.items()) == 2, 15, what="the CLI's retry delivered")
    time.sleep(1.0)
    eq([g[1]["ref"] for g in receiver.items()], [ref, ref2], "each once")
    rc, out, err = ctl("alerts", "list-dead")
    eq((rc, out), (0, "no dead-lettered alerts\n"), err)
    rc, out, err = ctl("alerts", "retry", "urgent/1-1")
    eq(rc, 1, out)
    hl.stop()
    receiver.stop()
    ta.check_log(hl)


def test_retry_sends_only_to_targets_that_missed_it(tmp):
    """A help request whose staff e-mail went out but whose webhook was
    down until it was dead-lettered: a retry calls the webhook and sends
    no second e-mail. (Every target got it again: the dead letter did not
    keep which had.)"""
    receiver = ta.Receiver()
    receiver.stop()
    smtp = ta.SmtpSink()
    r, hl, ctl, people = setup(tmp, receiver, attempts=3, smtp=smtp)
    ref = walk(hl, "ATUid_p1", PHONES[0])
    dead_lettered(r, 1)
    eq(len(smtp.got), 1, "the e-mail went out once")
    contains(r.xrange("hl:dead:urgent")[0][1].get("delivered", ""), "d:",
             "the dead letter keeps the target that had it")
    receiver.start()
    st, body = api(hl, people, "sara", "POST", "/api/super/dead/retry",
                   {"all": True})
    eq((st, body["retried"]), (200, 1), body)
    wait_for(lambda: receiver.items(), 15, what="the retried webhook")
    wait_for(lambda: ta.pending(r) == 0, 15, what="acknowledged")
    time.sleep(1.0)             # nothing more comes
    eq([g[1]["ref"] for g in receiver.items()], [ref], "the webhook, once")
    eq(len(smtp.got), 1, "no second e-mail to staff")
    hl.stop()
    receiver.stop()
    smtp.stop()
    ta.check_log(hl)


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
