"""The console's operator pages over their API (/api/operator/, issue 15
item 5), with two hotlined on one redis-server, as an operator meets them:

- The simulator walks a version through the same engine: its screens are
  exactly those of a real Africa's Talking USSD walk of that version
  (the reference shown as XXXXXX), with page lengths against the
  channel's limit (USSD 182/80, SMS 160/70 a segment); simulating files
  nothing and writes nothing to Redis.
- A broken file is refused with the checker's line-numbered messages, by
  /check and by /publish (422), and nothing changes.
- A publish from the API is the CLI's record: `hotlinectl menu versions`
  lists it with who and note, the hash has the same fields, both gateways
  serve it; the diff names the change; a rollback brings the old screens
  back; the funnel counts a walk.
- Only an operator or a supervisor signed in gets answers: staff 403, a
  bearer token 403, no cookie 401, a write without the CSRF header 403.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (at_ussd, eq, contains, run, request, get,  # noqa: E402
                     wait_for)
from test_menu_publish import (Setup, variant, LAN, OLD_MAIN,  # noqa: E402
                               NEW_MAIN, SHIPPED)
import schemas  # noqa: E402

PW = "operator-password-1"
REF = re.compile(r"[346789ABCDEFGHJKMNPQRTWXY]{6}")
# A walk that files a help request (language en, help, Hanoi, ...).
HELP = ["2", "1", "Hanoi", "1", "2"]


def add(s, name, role):
    rc, out, err = s.ctl("add", name, "--role", role, "--password-stdin",
                         "--scrypt-ln", "10", stdin=PW + "\n", group="staff",
                         token=None)
    eq(rc, 0, err)


def signin(hl, name):
    st, text, h = request(hl.url("/api/session"), method="POST",
                          data=json.dumps({"name": name,
                                           "password": PW}).encode(),
                          headers={"Content-Type": "application/json"})
    eq(st, 200, text)
    cookie = re.match(r"hl_session=([^;]*)", h["Set-Cookie"]).group(1)
    return {"cookie": cookie, "csrf": json.loads(text)["csrf"]}


def api(hl, method, path, who=None, body=None, raw=None, csrf=True,
        token=None):
    """One operator API call; returns (status, parsed JSON)."""
    h = {}
    if who:
        h["Cookie"] = "hl_session=" + who["cookie"]
        if csrf:
            h["X-CSRF-Token"] = who["csrf"]
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        h["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    elif raw is not None:
        h["Content-Type"] = "text/plain; charset=utf-8"
        data = raw.encode()
    elif method == "POST":
        data = b""
    st, text, _ = request(hl.url(path), data=data, headers=h, method=method,
                          timeout=30)
    assert text.startswith("{"), (st, text[:300])
    obj = json.loads(text)
    name = SCHEMA.get(path.split("?")[0].rsplit("/", 1)[-1])
    schemas.check(name if st == 200 else "operator-check" if st == 422
                  else "error", text)
    return st, obj


SCHEMA = {"menus": "operator-menus", "simulate": "operator-simulate",
          "check": "operator-check", "publish": "operator-publish",
          "rollback": "operator-publish", "diff": "operator-diff",
          "funnel": "operator-funnel"}


def real_walk(s, hl, steps):
    """The screens of a real AT walk: each body without CON/END, the
    reference as the simulator shows it."""
    s.n += 1
    sid, phone = "ATUid_op_%d" % s.n, "+8490666%04d" % s.n
    out = []
    for i in range(len(steps) + 1):
        st, body = at_ussd(hl, sid, "*".join(steps[:i]), phone=phone)
        eq(st, 200)
        out.append(REF.sub("XXXXXX", body[4:]) if body.startswith("END")
                   else body[4:])
    return out


def simulate(s, who, steps, **kw):
    req = {"menu": "hotline", "channel": "ussd", "fold": True,
           "answers": steps}
    req.update(kw)
    st, out = api(s.a, "POST", "/api/operator/simulate", who, body=req)
    eq(st, 200, out)
    return out


def keys(s):
    """Every key and its value, but sign-in's, and hl:ev:cases (the case
    events stream, where each gateway's case-event reader makes its
    consumer group when it gets to it)."""
    def value(k):      # DUMP's order of a hash's fields is not stable
        t = s.r("TYPE", k)
        if t == "hash":
            return sorted(pairs(s.r("HGETALL", k)).items())
        if t == "set":
            return sorted(s.r("SMEMBERS", k))
        return s.r("DUMP", k)
    return {k: value(k) for k in s.r("KEYS", "*")
            if not k.startswith(("hl:ssn", "hl:auth", "hl:ev:cases"))}


def same_keys(got, want, what):
    diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    eq(diff, [], what)


def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def publish(s, who, path, note=""):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return api(s.a, "POST", "/api/operator/publish?note=" +
               __import__("urllib.parse").parse.quote(note), who, raw=text)


def test_simulate_is_the_real_walk(tmp):
    s = Setup(tmp)
    add(s, "thu", "operator")
    thu = signin(s.a, "thu")
    v1 = variant(tmp, "v1", (OLD_MAIN, NEW_MAIN))
    st, out = publish(s, thu, v1, "clearer main screen")
    eq((st, out["version"], out["unchanged"]), (200, 1, False), out)
    wait_for(lambda: s.version(s.b) == 1, 5, what="gateway b follows")

    before = keys(s)
    sim = simulate(s, thu, HELP)          # the current version: 1
    same_keys(keys(s), before, "the simulator writes nothing to Redis")
    eq(sim["version"], 1)
    eq([x["text"] for x in sim["screens"]], real_walk(s, s.b, HELP),
       "the simulator's screens are a real USSD walk's")
    contains(sim["screens"][1]["text"], NEW_MAIN)
    eq(sim["screens"][-1]["end"], True)
    eq(sim["screens"][-1]["action"], "forward")
    for x in sim["screens"]:
        eq((x["encoding"], x["limit"]), ("GSM-7", 182), "folded USSD")
        assert 0 < x["units"] <= x["limit"], x
    eq(len(s.r("KEYS", "hl:case:*")), 1, "only the real walk filed")

    # Version 0, the menus directory's file, in Vietnamese, not folded,
    # by SMS: UCS-2 pages of 70 a segment, three segments at most.
    sim = simulate(s, thu, [], version=0, lang="vi", channel="sms",
                   fold=False, parts=3)
    eq((sim["version"], sim["lang"], sim["channel"]), (0, "vi", "sms"))
    first = sim["screens"][0]
    eq((first["encoding"], first["limit"]), ("UCS-2", 201), first)
    assert first["segments"] >= 1, first
    sim = simulate(s, thu, ["2"], version=0)
    contains(sim["screens"][1]["text"], OLD_MAIN)
    # An invalid answer is shown as the phone shows it.
    sim = simulate(s, thu, ["2", "7"], version=1)
    eq(sim["screens"][2]["invalid"], True)
    eq(sim["screens"][2]["text"], real_walk(s, s.b, ["2", "7"])[2])
    st, out = api(s.a, "POST", "/api/operator/simulate", thu,
                  body={"menu": "hotline", "version": 9, "channel": "ussd",
                        "answers": []})
    eq(st, 404, out)
    st, out = api(s.a, "POST", "/api/operator/simulate", thu,
                  body={"menu": "hotline", "channel": "fax", "answers": []})
    eq(st, 400, out)


def test_broken_file_refused_nothing_changes(tmp):
    s = Setup(tmp)
    add(s, "thu", "operator")
    thu = signin(s.a, "thu")
    with open(SHIPPED, encoding="utf-8") as f:
        good = f.read()
    eq(publish(s, thu, SHIPPED)[0], 200)
    before = keys(s)
    broken = good.replace('next = "main"', 'next = "nowhere"', 1)
    assert broken != good
    lineno = good[:good.index('next = "main"')].count("\n") + 1
    st, out = api(s.a, "POST", "/api/operator/check", thu, raw=broken)
    eq((st, out["ok"]), (200, False), out)
    errs = [m for m in out["messages"] if m["severity"] == "error"]
    assert errs and errs[0]["line"] == lineno, (lineno, out)
    contains(errs[0]["text"], "upload:%d:" % lineno)
    contains(errs[0]["message"], "nowhere")
    st, out = api(s.a, "POST", "/api/operator/publish", thu, raw=broken)
    eq((st, out["ok"]), (422, False), out)
    eq(out["messages"][0]["line"], lineno)
    st, out = api(s.a, "POST", "/api/operator/publish", thu,
                  raw="name = \"hotline\";\nnodes = (\n")
    eq(st, 422)
    assert out["messages"][0]["line"] >= 2, out
    same_keys(keys(s), before, "a refused publish changes nothing")
    # A good file checks clean; publishing it again changes nothing.
    st, out = api(s.a, "POST", "/api/operator/check", thu, raw=good)
    eq((st, out["ok"], out["name"], out["errors"]), (200, True, "hotline", 0))
    st, out = publish(s, thu, SHIPPED)
    eq((st, out["unchanged"], out["version"]), (200, True, 1))
    same_keys(keys(s), before, "an unchanged file changes nothing")


def test_publish_rollback_diff_funnel_like_the_cli(tmp):
    s = Setup(tmp)
    add(s, "thu", "operator")
    thu = signin(s.a, "thu")
    eq(s.ctl("publish", SHIPPED, "--note", "from git", token=LAN)[0], 0)
    v2 = variant(tmp, "v2", (OLD_MAIN, NEW_MAIN))
    st, out = publish(s, thu, v2, "main screen reworded")
    eq((st, out["version"], out["by"]), (200, 2, "thu"), out)
    cli = pairs(s.r("HGETALL", "hl:menu:hotline:v:1"))
    api_rec = pairs(s.r("HGETALL", "hl:menu:hotline:v:2"))
    eq(sorted(api_rec), sorted(cli), "the same record as the CLI's")
    eq((api_rec["by"], api_rec["note"], api_rec["from"]),
       ("thu", "main screen reworded", ""))
    with open(v2, encoding="utf-8") as f:
        eq(api_rec["text"], f.read())
    eq(api_rec["sum"], out["sum"])
    assert abs(int(api_rec["at"]) - time.time()) < 60, api_rec["at"]
    rc, text, err = s.ctl("versions", "hotline")
    eq(rc, 0, err)
    assert re.search(r"^\* 2 +\S+ \S+ +thu +%s +main screen reworded$"
                     % out["sum"][:12], text, re.M), text
    wait_for(lambda: s.version(s.a) == 2 and s.version(s.b) == 2, 5,
             what="both gateways serve the API's publish")
    contains(real_walk(s, s.b, ["2"])[1], NEW_MAIN)

    st, out = api(s.a, "GET", "/api/operator/menus", thu)
    eq(st, 200)
    menu = [m for m in out["menus"] if m["name"] == "hotline"][0]
    eq((menu["current"], menu["last"], menu["file"]), (2, 2, True))
    eq([(v["version"], v["by"], v["note"]) for v in menu["versions"]],
       [(2, "thu", "main screen reworded"), (1, "lan", "from git")])

    st, out = api(s.a, "GET", "/api/operator/menus/hotline/diff?a=1&b=2",
                  thu)
    eq((st, out["count"]), (200, 1), out)
    contains(out["lines"][0], NEW_MAIN)
    contains(out["lines"][0], OLD_MAIN)

    st, out = api(s.a, "POST", "/api/operator/menus/hotline/rollback", thu,
                  body={"version": 1, "note": "callers confused"})
    eq((st, out["version"], out["from"]), (200, 3, 1), out)
    eq(s.r("HMGET", "hl:menu:hotline:v:3", "by", "note", "from"),
       ["thu", "callers confused", "1"])
    contains(s.ctl("versions", "hotline")[1],
             "callers confused (rollback to v1)")
    wait_for(lambda: s.version(s.b) == 3, 5, what="gateway b rolls back")
    contains(real_walk(s, s.b, ["2"])[1], OLD_MAIN)
    st, out = api(s.a, "POST", "/api/operator/menus/hotline/rollback", thu,
                  body={"version": 3})
    eq(st, 409, "the current version is no rollback")

    real_walk(s, s.a, ["2", "7"])          # version 3: one invalid at main

    def main_row():         # the gateways write the funnel within ~1 s
        st, out = api(s.a, "GET", "/api/operator/menus/hotline/funnel?v=3",
                      thu)
        eq(st, 200)
        row = [x for x in out["rows"] if x["node"] == "main"]
        if row and row[0]["visit"] >= 2 and row[0]["invalid"] >= 1:
            return row[0]
        return None
    row = wait_for(main_row, 4, what="the funnel of version 3")
    eq((row["lang"], row["visit"], row["invalid"]), ("en", 2, 1), row)


def test_only_operators(tmp):
    s = Setup(tmp)
    add(s, "minh", "staff")
    add(s, "lan2", "supervisor")
    add(s, "thu", "operator")
    minh, lan2, thu = (signin(s.a, n) for n in ("minh", "lan2", "thu"))
    sim = {"menu": "hotline", "channel": "ussd", "answers": ["2"]}
    for method, path, body in (("GET", "/api/operator/menus", None),
                               ("POST", "/api/operator/simulate", sim),
                               ("POST", "/api/operator/menus/hotline/"
                                        "rollback", {"version": 1})):
        eq(api(s.a, method, path, minh, body=body)[0], 403, "staff: " + path)
        eq(api(s.a, method, path, token=LAN, body=body)[0], 403,
           "a bearer token: " + path)
        eq(api(s.a, method, path, body=body)[0], 401, "nobody: " + path)
    eq(api(s.a, "GET", "/api/operator/menus", lan2)[0], 200, "supervisor")
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    eq(api(s.a, "POST", "/api/operator/publish", minh, raw=text)[0], 403)
    eq(api(s.a, "POST", "/api/operator/publish", thu, raw=text,
           csrf=False)[0], 403, "no CSRF header")
    eq(s.r("GET", "hl:menu:hotline:n"), None, "nothing published")
    eq(api(s.a, "GET", "/api/operator/nope", thu)[0], 404)
    eq(api(s.a, "GET", "/api/operator/publish", thu)[0], 405)
    # Bounded: a byte over console.upload_max (1 MiB) is refused.
    try:
        st = request(s.a.url("/api/operator/check"),
                     data=b"#" * ((1 << 20) + 1), method="POST",
                     headers={"Cookie": "hl_session=" + thu["cookie"],
                              "X-CSRF-Token": thu["csrf"]})[0]
    except OSError:
        st = "closed"
    assert st in (400, 413, "closed"), st
    eq(api(s.a, "POST", "/api/operator/check", thu,
           raw="#" * (1 << 19) + "\n")[0], 200, "half a MiB is read")


if __name__ == "__main__":
    run([
        ("test_simulate_is_the_real_walk", test_simulate_is_the_real_walk),
        ("test_broken_file_refused_nothing_changes",
         test_broken_file_refused_nothing_changes),
        ("test_publish_rollback_diff_funnel_like_the_cli",
         test_publish_rollback_diff_funnel_like_the_cli),
        ("test_only_operators", test_only_operators),
    ])
