"""People sign in to the staff API with accounts made by `hotlinectl staff`:
the session cookie (HttpOnly, SameSite=Strict, Secure behind TLS), the
session kept hashed in Redis with idle expiry, the CSRF token required on
every change made with the cookie, sign-out and sign-out everywhere, a new
password or `disable` ending sessions, sign-in limits per name and per
address (429 + Retry-After, counted in /metrics), the security headers and
the console's static files. Real redis-server, hotlined and hotlinectl.
"""
import hashlib
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, eq, contains, run,  # noqa: E402
                     ROOT, HOTLINECTL, PEPPER, request, get, post_json)

LAN_TOKEN = "lan-token-0123456789abcdef"
PW = "correct horse battery"
HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
CSP = re.compile(r"default-src 'self'.*frame-ancestors 'none'")


def config(tmp, **console):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; token = '
                      '"env:STAFF_TOKEN_LAN"; } );', text, flags=re.S)
    assert n == 1
    settings = {"dir": '"%s"' % os.path.join(ROOT, "staff", "console"),
                "session_idle_s": 1800, "login_per_name": 5,
                "login_per_address": 20, "login_period_s": 900}
    settings.update(console)
    body = "".join("  %s = %s;\n" % (k, str(v).lower() if isinstance(v, bool)
                                     else v) for k, v in settings.items())
    text, n = re.subn(r"console = \{.*?\n\};", "console = {\n%s};" % body,
                      text, flags=re.S)
    assert n == 1
    path = os.path.join(tmp, "console.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def setup(tmp, **console):
    redis = RedisServer(tmp)
    cfg = config(tmp, **console)
    hl = Hotlined(tmp, redis.port, config=cfg,
                  env={"STAFF_TOKEN_LAN": LAN_TOKEN})
    hl.wait_ready()

    def ctl(*args, stdin=None):
        e = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=LAN_TOKEN)
        p = subprocess.run([HOTLINECTL, "staff", "-c", cfg, "--redis",
                            "127.0.0.1:%d" % redis.port] + list(args),
                           cwd=ROOT, env=e, input=stdin, capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr
    return redis.client(), hl, ctl


def signin(hl, name, pw, headers=None):
    """POST /api/session; returns (status, body dict, headers, cookie)."""
    st, text, h = post_json(hl.url("/api/session"),
                            {"name": name, "password": pw}, headers=headers)
    m = re.match(r"hl_session=([^;]*)", h.get("Set-Cookie", ""))
    body = json.loads(text) if text.strip().startswith("{") else {}
    return st, body, h, (m.group(1) if m else None)


def call(hl, method, path, cookie=None, csrf=None, body=None, token=None):
    h = {}
    if cookie:
        h["Cookie"] = "hl_session=" + cookie
    if csrf:
        h["X-CSRF-Token"] = csrf
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        h["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    elif method == "POST":
        data = b""
    return request(hl.url(path), data=data, headers=h, method=method)


def walk(hl, session, phone):
    body = None
    for text in HELP:
        st, body = at_ussd(hl, session, text, phone=phone)
        eq(st, 200)
    return REF.search(body).group(1)


def test_signin_cookie_csrf_and_history(tmp):
    r, hl, ctl = setup(tmp)
    rc, out, err = ctl("add", "lan.tran", "--role", "supervisor",
                       "--password-stdin", stdin=PW + "\n")
    eq(rc, 0, err)
    stored = r.hgetall("hl:staff:lan.tran")
    eq((stored["name"], stored["role"], stored["disabled"]),
       ("lan.tran", "supervisor", "0"))
    assert re.fullmatch(r"scrypt\$15\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}",
                        stored["pw"]), stored["pw"]
    assert PW not in json.dumps(r.hgetall("hl:staff:lan.tran"))

    st, body, h, cookie = signin(hl, "lan.tran", "wrong password!")
    eq((st, cookie), (401, None), "a wrong password is refused")
    eq(body, {"error": "wrong name or password"})
    st, body, h, cookie = signin(hl, "nobody", PW)
    eq((st, body), (401, {"error": "wrong name or password"}),
       "an unknown name gets the same answer")
    contains(get(hl.url("/metrics"))[1],
             'hotline_staff_login_failures_total{reason="password"} 2')

    st, body, h, cookie = signin(hl, "lan.tran", PW)
    eq(st, 200, body)
    eq((body["name"], body["role"]), ("lan.tran", "supervisor"))
    csrf = body["csrf"]
    eq(len(cookie), 43)
    eq(len(csrf), 43)
    flags = [f.strip() for f in h["Set-Cookie"].split(";")[1:]]
    eq(sorted(flags), ["HttpOnly", "Path=/", "SameSite=Strict"],
       "cookie flags (no Secure on plain HTTP)")
    contains(get(hl.url("/metrics"))[1], "hotline_staff_logins_total 1")
    # Redis holds the SHA-256 of the id, never the id.
    key = "hl:ssn:" + hashlib.sha256(cookie.encode()).hexdigest()
    eq(r.hgetall(key)["name"], "lan.tran")
    assert 1790 <= r("TTL", key) <= 1800, r("TTL", key)
    assert not [k for k in r.scan_all() if cookie in k], "raw id in a key"
    assert cookie not in hl.log() and PW not in hl.log(), "secret in the log"

    ref = walk(hl, "ss-1", "+84912000101")
    st, text, hdr = call(hl, "GET", "/api/cases", cookie=cookie)
    eq(st, 200, text)
    eq([c["ref"] for c in json.loads(text)["cases"]], [ref])
    eq(hdr["Cache-Control"], "no-store")
    assert CSP.search(hdr["Content-Security-Policy"]), hdr
    st, text, _ = call(hl, "GET", "/api/session", cookie=cookie)
    eq((st, json.loads(text)["csrf"]), (200, csrf), "who am I, after reload")

    st, text, _ = call(hl, "POST", "/api/cases/%s/claim" % ref, cookie=cookie)
    eq((st, json.loads(text)), (403, {"error": "missing or wrong X-CSRF-Token"}),
       "a change without the CSRF token is refused")
    st, _, _ = call(hl, "POST", "/api/cases/%s/claim" % ref, cookie=cookie,
                    csrf="x" * 43)
    eq(st, 403, "a wrong CSRF token is refused")
    eq(r.hgetall("hl:case:" + ref)["status"], "new", "nothing changed")
    st, text, _ = call(hl, "POST", "/api/cases/%s/claim" % ref, cookie=cookie,
                       csrf=csrf)
    eq(st, 200, text)
    st, text, _ = call(hl, "POST", "/api/cases/%s/note" % ref, cookie=cookie,
                       csrf=csrf, body={"text": "called the shelter"})
    eq(st, 200, text)
    # The claimer owns the case: a bearer-token client under another name
    # may not resolve it.
    st, text, _ = call(hl, "POST", "/api/cases/%s/resolve" % ref,
                       token=LAN_TOKEN)
    eq((st, json.loads(text)), (409, {"error": "case is claimed by lan.tran"}))
    st, text, _ = call(hl, "POST", "/api/cases/%s/resolve" % ref,
                       cookie=cookie, csrf=csrf)
    eq(st, 200, text)
    case = json.loads(call(hl, "GET", "/api/cases/" + ref, cookie=cookie)[1])
    eq([(x["who"], x["what"]) for x in case["history"]],
       [("lan.tran", "list"), ("lan.tran", "claim"), ("lan.tran", "note"),
        ("lan.tran", "resolve"), ("lan.tran", "read")],
       "the signed-in person's name is in the case history (audit too)")
    # A bearer-token client needs no CSRF token and acts under its own name.
    ref2 = walk(hl, "ss-2", "+84912000102")
    for action in ("claim", "resolve"):
        st, text, _ = call(hl, "POST", "/api/cases/%s/%s" % (ref2, action),
                           token=LAN_TOKEN)
        eq(st, 200, text)
    case = json.loads(call(hl, "GET", "/api/cases/" + ref2,
                           token=LAN_TOKEN)[1])
    eq((case["status"], [(x["who"], x["what"]) for x in case["history"]
                         if x["what"] in ("claim", "resolve")]),
       ("resolved", [("lan", "claim"), ("lan", "resolve")]))
    contains(hl.log(), "lan.tran claimed case " + ref)


def test_signout_and_signout_everywhere(tmp):
    r, hl, ctl = setup(tmp)
    eq(ctl("add", "minh", "--password-stdin", stdin=PW + "\n")[0], 0)
    _, b1, _, c1 = signin(hl, "minh", PW)
    _, b2, _, c2 = signin(hl, "minh", PW)
    _, b3, _, c3 = signin(hl, "minh", PW)
    assert len({c1, c2, c3}) == 3, "each sign-in has its own id"
    eq(r("SCARD", "hl:staff:minh:ssn"), 3)

    st, _, _ = call(hl, "DELETE", "/api/session", cookie=c1)
    eq(st, 403, "signing out needs the CSRF token too")
    st, text, h = call(hl, "DELETE", "/api/session", cookie=c1,
                       csrf=b1["csrf"])
    eq(st, 200, text)
    contains(h["Set-Cookie"], "Max-Age=0", "the browser forgets the cookie")
    eq(call(hl, "GET", "/api/cases", cookie=c1)[0], 401, "old cookie refused")
    eq(call(hl, "GET", "/api/cases", cookie=c2)[0], 200, "others go on")

    st, text, _ = call(hl, "POST", "/api/session/all", cookie=c2,
                       csrf=b2["csrf"])
    eq((st, json.loads(text)["ended"]), (200, 2))
    eq(call(hl, "GET", "/api/cases", cookie=c2)[0], 401)
    eq(call(hl, "GET", "/api/cases", cookie=c3)[0], 401,
       "signed out everywhere")
    eq([k for k in r.scan_all("hl:ssn:*")], [], "no session left in Redis")

    # A new password ends every session; the old password no longer works.
    _, _, _, c4 = signin(hl, "minh", PW)
    eq(call(hl, "GET", "/api/cases", cookie=c4)[0], 200)
    rc, out, err = ctl("passwd", "minh", "--password-stdin",
                       stdin="another good one\n")
    eq(rc, 0, err)
    eq(call(hl, "GET", "/api/cases", cookie=c4)[0], 401, "passwd ends it")
    eq(signin(hl, "minh", PW)[0], 401)
    st, _, _, c5 = signin(hl, "minh", "another good one")
    eq(st, 200)
    # Disabling ends sessions and refuses sign-in; enabling allows it again.
    eq(ctl("disable", "minh")[0], 0)
    eq(call(hl, "GET", "/api/cases", cookie=c5)[0], 401, "disable ends it")
    eq(signin(hl, "minh", "another good one")[0], 401)
    eq(ctl("enable", "minh")[0], 0)
    eq(signin(hl, "minh", "another good one")[0], 200)
    eq(call(hl, "GET", "/api/cases", cookie="A" * 43)[0], 401,
       "a made-up id is refused")


def test_idle_expiry_pushed_back_by_use(tmp):
    r, hl, ctl = setup(tmp, session_idle_s=2)
    eq(ctl("add", "lan", "--password-stdin", stdin=PW + "\n")[0], 0)
    st, body, _, cookie = signin(hl, "lan", PW)
    eq(st, 200)
    for _ in range(3):      # 3.6 s in all, never 2 s idle
        time.sleep(1.2)
        eq(call(hl, "GET", "/api/cases", cookie=cookie)[0], 200,
           "use pushes the idle expiry back")
    time.sleep(3.0)
    st, text, h = call(hl, "GET", "/api/cases", cookie=cookie)
    eq((st, json.loads(text)), (401, {"error": "signed out: sign in again"}),
       "idle longer than session_idle_s: signed out")


def test_signin_limits(tmp):
    r, hl, ctl = setup(tmp, login_per_name=3, login_per_address=6,
                       login_period_s=60)
    eq(ctl("add", "lan", "--password-stdin", stdin=PW + "\n")[0], 0)
    for _ in range(3):
        eq(signin(hl, "lan", "not the password")[0], 401)
    st, body, h, cookie = signin(hl, "lan", PW)
    eq((st, cookie), (429, None), "limited: even the right password waits")
    assert 1 <= int(h["Retry-After"]) <= 60, h["Retry-After"]
    contains(get(hl.url("/metrics"))[1],
             'hotline_staff_login_failures_total{reason="limited"} 1')
    # Another address is limited only by the name; other names are fine.
    eq(ctl("add", "minh", "--password-stdin", stdin=PW + "\n")[0], 0)
    eq(signin(hl, "minh", PW)[0], 200)
    # Per address (X-Real-IP from the trusted local proxy): 6 failures of
    # any names from 203.0.113.7, then even a good sign-in from it waits.
    far = {"X-Real-IP": "203.0.113.7"}
    for i in range(6):
        eq(signin(hl, "guess%d" % i, "not the password", headers=far)[0], 401)
    eq(signin(hl, "minh", PW, headers=far)[0], 429)
    eq(signin(hl, "minh", PW, headers={"X-Real-IP": "203.0.113.8"})[0], 200)
    assert 50 <= r("TTL", "hl:login:a:203.0.113.7") <= 60
    # A good sign-in forgets the name's failures.
    eq(r("EXISTS", "hl:login:n:minh"), 0)


def test_signins_never_hold_up_callers(tmp):
    """scrypt runs off the event loop: a USSD screen asked while 8 sign-ins
    are being checked comes back long before they are all done."""
    r, hl, ctl = setup(tmp)
    done = []

    def guess(i):
        t0 = time.time()
        st = signin(hl, "guess%d" % i, "not the password")[0]
        done.append((st, time.time() - t0))
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    t0 = time.time()
    st, body = at_ussd(hl, "busy-1", "")
    ussd_s = time.time() - t0
    for t in threads:
        t.join(30)
    eq(st, 200, body)
    eq(sorted(s for s, _ in done), [401] * 8)
    slowest = max(d for _, d in done)
    print("figures: ussd_during_signins_ms=%d slowest_signin_ms=%d" %
          (ussd_s * 1000, slowest * 1000))
    assert ussd_s < 0.5 and ussd_s < slowest / 2, (ussd_s, slowest)


def test_secure_cookie_behind_tls(tmp):
    r, hl, ctl = setup(tmp)
    eq(ctl("add", "lan", "--password-stdin", stdin=PW + "\n")[0], 0)
    st, _, h, _ = signin(hl, "lan", PW, headers={"X-Forwarded-Proto": "https"})
    eq(st, 200)
    contains(h["Set-Cookie"], "; Secure", "TLS at the trusted proxy")
    hl.stop()
    cfg = config(tmp, cookie_secure=True)
    with open(cfg) as f:
        text = f.read().replace('trusted_proxies = [ "127.0.0.1", "::1" ]',
                                "trusted_proxies = [ ]")
    with open(cfg, "w") as f:
        f.write(text)
    hl2 = Hotlined(tmp, hl.redis_port, config=cfg,
                   env={"STAFF_TOKEN_LAN": LAN_TOKEN})
    hl2.wait_ready()
    st, _, h, _ = signin(hl2, "lan", PW)
    eq(st, 200)
    contains(h["Set-Cookie"], "; Secure", "console.cookie_secure = true")


def test_untrusted_proxy_header_gives_no_secure(tmp):
    r, hl, ctl = setup(tmp)
    hl.stop()
    cfg = config(tmp)
    with open(cfg) as f:
        text = f.read().replace('trusted_proxies = [ "127.0.0.1", "::1" ]',
                                "trusted_proxies = [ ]")
    with open(cfg, "w") as f:
        f.write(text)
    hl2 = Hotlined(tmp, hl.redis_port, config=cfg,
                   env={"STAFF_TOKEN_LAN": LAN_TOKEN})
    hl2.wait_ready()
    eq(ctl("add", "lan", "--password-stdin", stdin=PW + "\n")[0], 0)
    st, _, h, _ = signin(hl2, "lan", PW,
                         headers={"X-Forwarded-Proto": "https"})
    eq(st, 200)
    assert "Secure" not in h["Set-Cookie"], h["Set-Cookie"]


def test_bad_signin_requests(tmp):
    r, hl, ctl = setup(tmp)
    st, _, _ = request(hl.url("/api/session"), data=b"name=lan&password=x",
                       headers={"Content-Type":
                                "application/x-www-form-urlencoded"},
                       method="POST")
    eq(st, 415, "a form post (from another site) is not a sign-in")
    st, _, _ = request(hl.url("/api/session"), data=b"{not json",
                       headers={"Content-Type": "application/json"},
                       method="POST")
    eq(st, 400)
    eq(post_json(hl.url("/api/session"), {"name": "lan"})[0], 400)
    eq(call(hl, "PUT", "/api/session")[0], 405)
    eq(call(hl, "GET", "/api/session/all")[0], 405)
    eq(call(hl, "GET", "/api/session/x")[0], 404)
    eq(call(hl, "GET", "/api/session")[0], 401, "not signed in")
    eq(call(hl, "GET", "/api/cases")[0], 401)
    eq(call(hl, "GET", "/api/cases", token=LAN_TOKEN)[0], 200,
       "config tokens keep working")


def test_security_headers_and_console_files(tmp):
    r, hl, ctl = setup(tmp)
    for path in ("/console/", "/api/cases", "/api/session", "/metrics",
                 "/console/nosuch.html"):
        st, _, h = get(hl.url(path))
        assert CSP.search(h.get("Content-Security-Policy", "")), (path, h)
        assert "unsafe-inline" not in h["Content-Security-Policy"], path
        eq(h.get("Referrer-Policy"), "no-referrer", path)
        eq(h.get("X-Content-Type-Options"), "nosniff", path)
    st, body, h = get(hl.url("/console/"))
    eq((st, h["Content-Type"]), (200, "text/html; charset=utf-8"))
    contains(body, '<script src="console.js" defer></script>')
    assert "<script>" not in body and "style=" not in body, "inline code"
    eq(h["Cache-Control"], "no-store")
    st, body, h = get(hl.url("/console/console.js"))
    eq((st, h["Content-Type"]), (200, "text/javascript; charset=utf-8"))
    eq(get(hl.url("/console/console.css"))[2]["Content-Type"],
       "text/css; charset=utf-8")
    st, _, h = request(hl.url("/console"), method="GET")
    eq(st, 200, "redirected to /console/")
    for path in ("/console/../config/hotlined.cfg", "/console/%2e%2e/README.md",
                 "/console/..%2fREADME.md", "/console/.hidden",
                 "/console/README.md", "/console/x/index.html",
                 "/console/index.html%00.js"):
        eq(get(hl.url(path))[0], 404, path)
    eq(request(hl.url("/console/"), data=b"", method="POST")[0], 405)
    # A file added after start is served after a reload, not before.
    console = os.path.join(tmp, "console")
    os.makedirs(console)
    with open(os.path.join(console, "index.html"), "w") as f:
        f.write("<!doctype html><title>one</title>")
    os.symlink(os.path.join(ROOT, "README.md"),
               os.path.join(console, "readme.txt"))
    with open(os.path.join(console, "big.js"), "w") as f:
        f.write("x" * (256 * 1024 + 1))
    cfg = config(tmp, dir='"%s"' % console)
    hl.stop()
    hl2 = Hotlined(tmp, hl.redis_port, config=cfg,
                   env={"STAFF_TOKEN_LAN": LAN_TOKEN})
    eq(get(hl2.url("/console/"))[1], "<!doctype html><title>one</title>")
    eq(get(hl2.url("/console/readme.txt"))[0], 404, "a symlink is not served")
    eq(get(hl2.url("/console/big.js"))[0], 404, "over the size limit")
    with open(os.path.join(console, "new.css"), "w") as f:
        f.write("body{}")
    eq(get(hl2.url("/console/new.css"))[0], 404, "read at start, not per request")
    hl2.send_signal(1)      # SIGHUP
    time.sleep(0.5)
    eq(get(hl2.url("/console/new.css"))[1], "body{}", "re-read on reload")
    eq(get(hl2.url("/console/"))[1], "<!doctype html><title>one</title>")


def test_cli_rules(tmp):
    r, hl, ctl = setup(tmp)
    rc, out, err = ctl("add", "Lan", "--password-stdin", stdin=PW + "\n")
    eq(rc, 2)
    contains(err, "a NAME is 1-32 of a-z 0-9 . _ -")
    rc, out, err = ctl("add", "lan", "--password-stdin", stdin="short\n")
    eq(rc, 2)
    contains(err, "a password needs 10 characters or more")
    rc, out, err = ctl("add", "lan", "--password", PW)
    eq(rc, 2, "no password on the command line")
    rc, out, err = ctl("add", "lan", "--role", "admin", "--password-stdin",
                       stdin=PW + "\n")
    eq(rc, 2)
    eq(r("EXISTS", "hl:staff:lan"), 0, "nothing stored")
    rc, out, err = ctl("add", "lan", stdin="")
    eq(rc, 2, "no terminal and no --password-stdin: refused")
    eq(ctl("add", "lan", "--role", "operator", "--password-stdin",
           stdin=PW + "\n")[0], 0)
    rc, out, err = ctl("add", "lan", "--password-stdin", stdin=PW + "\n")
    eq(rc, 1)
    contains(err, "lan exists already")
    eq(ctl("add", "minh", "--password-stdin", "--scrypt-ln", "12",
           stdin=PW + "\n")[0], 0)
    assert r.hgetall("hl:staff:minh")["pw"].startswith("scrypt$12$8$1$")
    eq(signin(hl, "minh", PW)[0], 200, "a hash of another cost verifies")
    eq(ctl("disable", "minh")[0], 0)
    eq(ctl("passwd", "nobody", "--password-stdin", stdin=PW + "\n")[0], 1)
    # A name that is also a word of the key layout is just a name.
    rc, out, err = ctl("add", "names", "--password-stdin", stdin=PW + "\n")
    eq(rc, 0, err)
    eq(signin(hl, "names", PW)[0], 200)
    rc, out, err = ctl("list")
    eq(rc, 0, err)
    eq([line.split() for line in out.strip().split("\n")],
       [["NAME", "ROLE", "STATE"], ["lan", "operator", "active"],
        ["minh", "staff", "disabled"], ["names", "staff", "active"]])
    eq(ctl("disable", "names")[0], 0)
    eq(ctl("enable", "names")[0], 0)
    rc, out, err = ctl("list", "--json")
    eq(json.loads(out), [{"name": "lan", "role": "operator", "disabled": False},
                         {"name": "minh", "role": "staff", "disabled": True},
                         {"name": "names", "role": "staff", "disabled": False}])
    assert PW not in out


def test_cli_password_from_terminal_without_echo(tmp):
    r, hl, ctl = setup(tmp)
    cfg = os.path.join(tmp, "console.cfg")
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["HOTLINE_PEPPER"] = PEPPER
        os.environ["STAFF_TOKEN_LAN"] = LAN_TOKEN
        os.execv(HOTLINECTL, [HOTLINECTL, "staff", "-c", cfg, "--redis",
                              "127.0.0.1:%d" % hl.redis_port, "add", "ttyuser"])
    out = b""

    def read_until(marker, timeout=10):
        nonlocal out
        end = time.time() + timeout
        while marker not in out and time.time() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return marker in out
    assert read_until(b"New password: "), out
    os.write(fd, PW.encode() + b"\n")
    assert read_until(b"Again: "), out
    os.write(fd, PW.encode() + b"\n")
    assert read_until(b"add done"), out
    eq(os.waitpid(pid, 0)[1], 0)
    assert PW.encode() not in out, "the password was echoed: %r" % out
    eq(signin(hl, "ttyuser", PW)[0], 200, "the password typed works")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
