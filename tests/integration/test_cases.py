"""Staff work help requests as cases with `hotlinectl cases`: list, show
(safe-to-call first), claim, note, resolve (retention TTL), per-staff
tokens, and erase --phone, after which no key of that number is left
(checked with SCAN). Real redis-server and hotlined on loopback.
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, eq, contains, run,  # noqa: E402
                     ROOT, HOTLINECTL, PEPPER, request, get, wait_for,
                     post_json)
import schemas  # noqa: E402  docs/schemas/, python3-jsonschema

LAN = "lan-token-0123456789abcdef"
MINH = "minh-token-0123456789abcdef"
HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")


def staff_config(tmp):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; token = '
                      '"env:STAFF_TOKEN_LAN"; }, { name = "minh"; token = '
                      '"env:STAFF_TOKEN_MINH"; } );', text, flags=re.S)
    assert n == 1
    text, n = re.subn(r"retention_days = \d+;", "retention_days = 2;", text)
    assert n == 1
    path = os.path.join(tmp, "staff.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def setup(tmp):
    redis = RedisServer(tmp)
    cfg = staff_config(tmp)
    env = {"STAFF_TOKEN_LAN": LAN, "STAFF_TOKEN_MINH": MINH}
    hl = Hotlined(tmp, redis.port, config=cfg, env=env)
    hl.wait_ready()

    def ctl(*args, token=LAN):
        e = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=LAN,
                 STAFF_TOKEN_MINH=MINH)
        p = subprocess.run([HOTLINECTL, "cases", "-c", cfg, "--redis",
                            "127.0.0.1:%d" % redis.port, "--token", token] +
                           list(args), cwd=ROOT, env=e, capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr
    return redis, hl, redis.client(), ctl


def walk(hl, session, phone):
    body = None
    for text in HELP:
        st, body = at_ussd(hl, session, text, phone=phone)
        eq(st, 200)
    return REF.search(body).group(1)


def test_claim_note_resolve(tmp):
    redis, hl, r, ctl = setup(tmp)
    first = walk(hl, "cs-0", "+84912000000")
    ref = walk(hl, "cs-1", "+84912000001")
    rc, out, err = ctl("list")
    eq(rc, 0, err)
    eq(out.split("\n")[0].split()[:2], ["REF", "STATUS"], "a header line")
    contains(out, first, "the first case is listed")
    contains(out, ref, "the second case is listed")
    contains(out, "call:no", "safe to call shown in the list")
    rc, out, err = ctl("show", ref)
    eq(rc, 0, err)
    eq(out.split("\n")[0], "Safe to call back: NO - do not call or text this number",
       "the caller's answer comes first")
    contains(out, "location: Hanoi")
    rc, out, err = ctl("claim", ref)
    eq((rc, out.strip()), (0, "claimed " + ref))
    rc, out, err = ctl("claim", ref, token=MINH)
    eq(rc, 1, "someone else's case")
    contains(err, "case is claimed by lan")
    rc, out, err = ctl("note", ref, "Texted the embassy; no call back")
    eq((rc, out.strip()), (0, "noted " + ref))
    rc, out, err = ctl("note", ref, "bad \x1b[2J note")
    eq(rc, 2, "a control character in a note is a usage error")
    rc, out, err = ctl("resolve", ref, token=MINH)
    eq(rc, 1, "the claimer owns the case")
    contains(err, "case is claimed by lan")
    rc, out, err = ctl("resolve", ref)
    eq((rc, out.strip()), (0, "resolved " + ref))
    rc, out, err = ctl("resolve", ref)
    eq(rc, 1, "resolved once")
    contains(err, "resolved already")
    case = r.hgetall("hl:case:" + ref)
    eq((case["status"], case["claimed_by"], case["resolved_by"]),
       ("resolved", "lan", "lan"))
    eq([h["what"] for h in json.loads(case["history"])],
       ["list", "read", "claim", "note", "resolve"],
       "the list and the show before the claim are audited")
    eq([n["who"] for n in json.loads(case["notes"])], ["lan"])
    ttl = r("TTL", "hl:case:" + ref)
    assert 2 * 86400 - 60 < ttl <= 2 * 86400, ttl
    eq(r("TTL", "hl:case:" + first), -1, "an open case does not expire")
    rc, out, err = ctl("show", ref)
    contains(out, "Resolved by lan")
    contains(out, "lan: Texted the embassy; no call back")
    rc, out, err = ctl("--json", "show", ref)
    eq(rc, 0, err)
    schemas.check("case", out)
    pairs = json.loads(out, object_pairs_hook=list)
    eq(pairs[0], ("safe_to_call", False), "JSON: safe_to_call first, as on the webhook")
    rc, out, err = ctl("list", "--status", "new")
    eq(rc, 0, err)
    assert ref not in out and first in out, out
    rc, out, err = ctl("--json", "list", "--status", "resolved")
    eq(rc, 0, err)
    schemas.check("case-list", out)
    eq([c["ref"] for c in json.loads(out)["cases"]], [ref])
    eq(ctl("list", "--status", "open")[0], 2, "unknown status")


def test_tokens(tmp):
    redis, hl, r, ctl = setup(tmp)
    ref = walk(hl, "cs-2", "+84912000002")
    rc, out, err = ctl("claim", ref, token="not-a-staff-token-000")
    eq(rc, 2)
    contains(err, "unknown staff token")
    eq(r.hgetall("hl:case:" + ref)["status"], "new", "nothing changed")
    rc, out, err = ctl("claim", "NOSUCH")
    eq(rc, 1)


def test_erase_phone(tmp):
    redis, hl, r, ctl = setup(tmp)
    phone, other = "+84901234567", "+84912000004"
    walk(hl, "cs-3", phone)
    walk(hl, "cs-4", phone)
    keep = walk(hl, "cs-5", other)
    st, body = at_ussd(hl, "cs-6", "2*1", phone=phone)   # a live session
    pk = hmac.new(PEPPER.encode(), ("phone:" + phone).encode(),
                  hashlib.sha256).hexdigest()[:32]
    assert any(pk in k or r("TYPE", k) == "hash" and r.hgetall(k).get("pk") == pk
               for k in r.scan_all("hl:*")), "the number has keys before"
    rc, out, err = ctl("erase", "--phone", phone)
    eq(rc, 0, err)
    contains(out, "removed: 2 cases, 2 queue entries, 0 dead letters, 3 sessions")
    contains(out, "opt-outs")
    left = r.scan_all("hl:*")
    for key in left:
        assert pk not in key and "901234567" not in key, key
        kind = r("TYPE", key)
        if kind == "hash":
            vals = r.hgetall(key)
            assert phone not in vals.values() and vals.get("pk") != pk, key
        elif kind == "stream":
            for _id, f in r.xrange(key):
                assert f.get("phone") != phone, (key, _id)
        elif kind == "string":
            assert phone not in r("GET", key), key
    eq(r.hgetall("hl:case:" + keep)["phone"], other, "another caller's case stays")
    assert any(f["phone"] == other for _id, f in r.xrange("hl:q:urgent")), \
        "another caller's queue entry stays"
    rc, out, err = ctl("erase", "--phone", phone)
    contains(out, "removed: 0 cases, 0 queue entries, 0 dead letters, 0 sessions")
    eq(ctl("erase", "--phone", phone, token="not-a-staff-token-000")[0], 2,
       "erase needs a staff token")


def hubtel_walk(hl, session, mobile):
    out = None
    for i, msg in enumerate(["*384*123#", "2", "1", "Hanoi", "1", "2"]):
        st, body, _ = post_json(hl.url("/ussd/hubtel"), {
            "SessionId": session, "Mobile": mobile, "ServiceCode": "384*123",
            "Type": "Initiation" if i == 0 else "Response", "Message": msg,
            "ClientState": "", "Sequence": i + 1})
        eq(st, 200, body)
        out = json.loads(body)
    return REF.search(out["Message"]).group(1)


def nalo_walk(hl, msisdn, steps=("2", "1", "Hanoi", "1", "2")):
    out = None
    for i, s in enumerate([""] + list(steps)):
        st, body, _ = post_json(hl.url("/ussd/nalo"), {
            "USERID": "nalo-user", "MSISDN": msisdn,
            "USERDATA": s if i else "*920*55#", "MSGTYPE": i == 0})
        eq(st, 200, body)
        out = json.loads(body)
    m = REF.search(out["MSG"])
    return m.group(1) if m else None


def keys_of(r, phone, pks):
    """Every key that still holds phone (any form) or one of its HMACs."""
    digits = phone.lstrip("+")
    found = []
    for key in r.scan_all("hl:*"):
        if any(pk in key for pk in pks) or digits in key:
            found.append(key)
            continue
        kind = r("TYPE", key)
        if kind == "hash":
            vals = r.hgetall(key)
            if vals.get("pk") in pks or any(digits in v for v in vals.values()):
                found.append(key)
        elif kind == "stream":
            if any(digits in v for _id, f in r.xrange(key) for v in f.values()):
                found.append(key)
    return found


def test_erase_finds_the_number_however_it_is_typed(tmp):
    """Hubtel and Nalo send numbers without "+"; they are stored in E.164,
    and erase finds them typed with spaces, dashes, 00 or no "+"."""
    redis, hl, r, ctl = setup(tmp)
    ghana, viet = "+233200000088", "+84901000003"
    def pks(phone):     # its HMACs, in E.164 and without "+"
        return [hmac.new(PEPPER.encode(), ("phone:" + p).encode(),
                         hashlib.sha256).hexdigest()[:32]
                for p in (phone, phone[1:])]
    ref1 = hubtel_walk(hl, "hub-e1", "233200000088")
    ref2 = nalo_walk(hl, "84901000003")
    nalo_walk(hl, "84901000003", steps=("2", "1"))      # a live Nalo session
    hubtel_walk(hl, "hub-e2", "233200000088")
    keep = walk(hl, "cs-e3", "+84912000099")
    eq(r.hgetall("hl:case:" + ref1)["phone"], ghana, "Hubtel's number in E.164")
    eq(r.hgetall("hl:case:" + ref2)["phone"], viet, "Nalo's number in E.164")
    eq(r.hgetall("hl:case:" + ref1)["service"], "*384*123#")
    assert keys_of(r, ghana, pks(ghana)) and keys_of(r, viet, pks(viet))
    rc, out, err = ctl("erase", "--phone", "233 20 000 0088")
    eq(rc, 0, err)
    contains(out, "removed: 2 cases, 2 queue entries")
    eq(keys_of(r, ghana, pks(ghana)), [], "nothing of the Hubtel caller is left")
    rc, out, err = ctl("erase", "--phone", "0084-901-000-003")
    eq(rc, 0, err)
    contains(out, "removed: 1 cases, 1 queue entries, 0 dead letters, 1 sessions")
    eq(keys_of(r, viet, pks(viet)), [], "nothing of the Nalo caller is left")
    eq(r.hgetall("hl:case:" + keep)["phone"], "+84912000099", "others stay")
    # A case filed before numbers were normalised holds "233…" as sent.
    r("HSET", "hl:case:OLD77", "ref", "OLD77", "phone", "233200000077",
      "status", "new")
    rc, out, err = ctl("erase", "--phone", "+233200000077")
    contains(out, "removed: 1 cases", "the old form is found too")
    eq(r("EXISTS", "hl:case:OLD77"), 0)
    rc, out, err = ctl("erase", "--phone", "0901000003")
    eq(rc, 2, "a national number: which country?")
    contains(err, "country code")


def test_formats_agree_across_dialects(tmp):
    """One representation of a help request: Hubtel's ServiceCode "384*123"
    and AT's "*384*123#" give the same service, safe_to_call is a boolean
    as on the webhook, and every reply fits docs/schemas/."""
    redis, hl, r, ctl = setup(tmp)
    hub = hubtel_walk(hl, "hub-f1", "233200000055")
    at = walk(hl, "at-f1", "+84912000055")
    cases = {}
    for ref in (hub, at):
        st, text, _ = api(hl, "GET", "/api/cases/" + ref)
        eq(st, 200, text)
        cases[ref] = json.loads(text)
    eq(cases[hub]["service"], "*384*123#", "Hubtel's code as dialled")
    eq(cases[at]["service"], "*384*123#")
    eq(cases[hub]["phone"], "+233200000055")
    for c in cases.values():
        assert c["safe_to_call"] is False, c["safe_to_call"]
    st, text, _ = api(hl, "GET", "/api/cases")
    eq(sorted(c["service"] for c in json.loads(text)["cases"]),
       ["*384*123#", "*384*123#"])
    rc, out, err = ctl("--json", "list")
    eq(rc, 0, err)
    schemas.check("case-list", out)


def test_erase_reaches_the_spool(tmp):
    """While Redis is down help requests wait in the gateway's spool, with
    the number in them. `erase --spool` removes that number's there too;
    the other caller's request still reaches Redis when it is back."""
    redis, hl, r, ctl = setup(tmp)
    phone, other = "+84901234567", "+84912000006"
    redis.kill()
    walk(hl, "sp-1", phone)
    keep = walk(hl, "sp-2", other)
    spool = os.path.join(tmp, "var", "spool.jsonl")
    with open(spool) as f:
        assert phone in f.read(), "the number waits in the spool"
    rc, out, err = ctl("erase", "--phone", phone, "--spool", spool)
    contains(out, "spool %s: removed 1 help requests" % spool)
    eq(rc, 2, "Redis is down: erase says so")
    contains(err, "nothing erased in Redis; run erase again once Redis is back")
    for name in ("spool.jsonl", "spool.jsonl.draining"):
        p = os.path.join(tmp, "var", name)
        if os.path.exists(p):
            with open(p) as f:
                assert phone not in f.read(), name
    redis.start()
    wait_for(lambda: "help requests moved to Redis" in hl.log(), 15,
             what="the spool drained")
    r = redis.client()
    eq([f["phone"] for _id, f in r.xrange("hl:q:urgent")], [other],
       "only the other caller's request reached Redis")
    eq(r.hgetall("hl:case:" + keep)["phone"], other)
    rc, out, err = ctl("erase", "--phone", phone, "--spool", spool)
    eq(rc, 0, err)
    contains(out, "spool %s: removed 0 help requests" % spool)
    contains(out, "removed: 0 cases, 0 queue entries")
    rc, out, err = ctl("erase", "--phone", phone, "--spool", "/nonexistent/spool")
    eq(rc, 2, "a wrong spool path is an error, not a silent no-op")
    contains(err, "no spool at /nonexistent/spool")


def api(hl, method, path, token=LAN, body=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    data = None
    if body is not None:
        h["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    st, text, hdr = request(hl.url(path), data=data, headers=h, method=method)
    check_reply(method, path, st, text)
    return st, text, hdr


def check_reply(method, path, st, text):
    """Every staff API reply of the suite against docs/schemas/."""
    if st != 200:
        schemas.check("error", text)
    elif method == "POST":
        schemas.check("action", text)
    elif path.split("?")[0] == "/api/cases":
        schemas.check("case-list", text)
    else:
        schemas.check("case", text)


def test_api(tmp):
    redis, hl, r, ctl = setup(tmp)
    other = walk(hl, "api-0", "+84912000010")
    ref = walk(hl, "api-1", "+84912000011")
    st, text, hdr = api(hl, "GET", "/api/cases", token=None)
    eq(st, 401, "no token")
    contains(hdr.get("WWW-Authenticate", ""), "Bearer")
    eq(api(hl, "GET", "/api/cases", token="wrong-token-0123456789")[0], 401)
    eq(api(hl, "POST", "/api/cases/%s/claim" % ref, token="wrong-token-0123456789")[0],
       401)
    eq(r.hgetall("hl:case:" + ref)["status"], "new", "a refused token changes nothing")
    st, text, hdr = api(hl, "GET", "/api/cases")
    eq(st, 200, text)
    eq(hdr.get("Cache-Control"), "no-store")
    contains(hdr.get("Content-Type", ""), "application/json")
    cases = json.loads(text, object_pairs_hook=list)[0][1]
    eq(sorted(dict(c)["ref"] for c in cases), sorted([other, ref]), "both cases")
    for c in cases:
        eq(c[0], ("safe_to_call", False), "safe_to_call first")
    eq(api(hl, "GET", "/api/cases?status=open")[0], 400)
    eq(api(hl, "POST", "/api/cases/%s/claim" % ref)[0], 200)
    st, text, _ = api(hl, "POST", "/api/cases/%s/claim" % ref, token=MINH)
    eq(st, 409, "claimed by someone else")
    contains(text, "claimed by lan")
    eq(json.loads(text)["error"], "case is claimed by lan")
    eq(api(hl, "POST", "/api/cases/%s/resolve" % other)[0], 409, "not claimed")
    eq(api(hl, "POST", "/api/cases/%s/note" % ref, body={"x": 1})[0], 400)
    eq(api(hl, "POST", "/api/cases/%s/note" % ref, body={"text": "a\u0007b"})[0], 400)
    eq(api(hl, "POST", "/api/cases/%s/note" % ref, body={"text": "x" * 2001})[0], 400)
    eq(api(hl, "POST", "/api/cases/%s/note" % ref,
           body={"text": "Safe house contacted"})[0], 200)
    eq(api(hl, "POST", "/api/cases/%s/resolve" % ref, token=MINH)[0], 409,
       "the claimer owns the case")
    eq(api(hl, "POST", "/api/cases/%s/resolve" % ref)[0], 200)
    eq(api(hl, "GET", "/api/cases/%s/resolve" % ref)[0], 405)
    eq(api(hl, "POST", "/api/cases")[0], 405)
    ttl = r("TTL", "hl:case:" + ref)
    assert 2 * 86400 - 60 < ttl <= 2 * 86400, ttl
    st, text, _ = api(hl, "GET", "/api/cases/" + ref)
    eq(st, 200, text)
    case = json.loads(text)
    eq((case["status"], case["claimed_by"], case["resolved_by"]),
       ("resolved", "lan", "lan"))
    eq([(n["who"], n["text"]) for n in case["notes"]], [("lan", "Safe house contacted")])
    eq([(h["who"], h["what"]) for h in case["history"]],
       [("lan", "list"), ("lan", "claim"), ("lan", "note"), ("lan", "resolve"),
        ("lan", "read")], "audit entries (list, this read) among the changes")
    eq(api(hl, "GET", "/api/cases/NOSUCH")[0], 404)
    eq(api(hl, "POST", "/api/cases/NOSUCH/claim")[0], 404)
    eq(api(hl, "GET", "/api/cases/..%2Fx")[0], 400)
    st, text, _ = api(hl, "GET", "/api/cases?status=new")
    eq([c["ref"] for c in json.loads(text)["cases"]], [other], "one new case left")
    # the metrics come from the case events, read every second (caseev.c)
    wait_for(lambda: "hotline_case_resolve_seconds_count 1" in
             get(hl.url("/metrics"))[1], 5, what="the resolve in /metrics")
    metrics = get(hl.url("/metrics"))[1]
    contains(metrics, "hotline_case_claim_seconds_count 1")
    contains(metrics, "hotline_case_resolve_seconds_count 1")
    contains(metrics, 'channel="api"')
    log = hl.log()
    assert "912000011" not in log and "912000010" not in log, \
        "a phone number reached the log"
    contains(log, "lan claimed case " + ref, "the log names who and which case")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
