"""Runs the browser tests (console.test.js) against a real redis-server and
hotlined started with tests/integration/harness.py: makes a staff account
with `hotlinectl staff add`, files a help request by a USSD walk over HTTP,
then runs node with Debian's chromium: console.test.js, then
operator.test.js (an operator account's menu pages; it publishes menus,
so it runs last). Installs the npm packages with
`npm ci` when tests/browser/node_modules is missing. Prints node's lines and
its closing "N passed, N failed"; screenshots go to $B/browser/.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (RedisServer, Hotlined, at_ussd, ROOT, BIN,  # noqa: E402
                     HOTLINECTL, PEPPER, _cleanup, sanitizer_reports,
                     SANITIZER_MARKS)

NAME = "lan"
NAME2 = "minh"
OP_NAME = "thu"             # operator.test.js: an operator account
PW = "browser test password"
PHONE = "+84912000777"
HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")


def fail(why):
    print("FAIL browser setup: %s" % why)
    print("0 passed, 1 failed")
    sys.exit(1)


def npm_ci():
    if os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        return
    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        fail("npm ci: %s" % p.stderr[-2000:])


def config(tmp):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, n = re.subn(r'^  dir = "staff/console";',
                      '  dir = "%s";' % os.path.join(ROOT, "staff", "console"),
                      text, flags=re.M)
    assert n == 1
    path = os.path.join(tmp, "browser.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def control(hl):
    """A loopback HTTP server for the browser test: POST /restart stops
    hotlined (SIGTERM), starts it again on the same port, and files one
    help request at once (before the consoles' live links are back);
    answers with its reference."""
    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            hl.stop()
            hl.start()
            hl.wait_ready()
            body = ""
            for text in HELP:
                _, body = at_ussd(hl, "browser-restart", text,
                                  phone="+84912000499")
            out = REF.search(body).group(1).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass
    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def node(script, env):
    """Runs one test script, echoing its lines; (passed, failed) from its
    closing line ((0, 1) when it has none)."""
    p = subprocess.Popen(["node", os.path.join(HERE, script)], cwd=HERE,
                         env=env, stdout=subprocess.PIPE, text=True)
    last = None
    try:
        for line in p.stdout:
            print(line, end="", flush=True)
            m = re.match(r"^(\d+) passed, (\d+) failed$", line.strip())
            if m:
                last = (int(m.group(1)), int(m.group(2)))
        p.wait(timeout=300)
    except subprocess.TimeoutExpired:
        p.kill()
        last = None
    return last if last and p.returncode == (1 if last[1] else 0) else \
        (last[0] if last else 0, max(1, last[1] if last else 1))


def main():
    for tool in ("node", "npm", "/usr/bin/chromium"):
        if not shutil.which(tool):
            fail("%s is missing (deploy/install-deps.sh test)" % tool)
    npm_ci()
    tmp = tempfile.mkdtemp(prefix="hotline-browser-")
    shots = os.path.join(BIN, "browser")
    os.makedirs(shots, exist_ok=True)
    try:
        redis = RedisServer(tmp)
        cfg = config(tmp)
        hl = Hotlined(tmp, redis.port, config=cfg)
        hl.wait_ready()
        for who in (NAME, NAME2, OP_NAME):
            role = ["--role", "operator"] if who == OP_NAME else []
            p = subprocess.run([HOTLINECTL, "staff", "-c", cfg, "--redis",
                                "127.0.0.1:%d" % redis.port, "add", who,
                                "--password-stdin"] + role, input=PW + "\n",
                               cwd=ROOT,
                               env=dict(os.environ, HOTLINE_PEPPER=PEPPER),
                               capture_output=True, text=True, timeout=30)
            if p.returncode != 0:
                fail("hotlinectl staff add: %s" % p.stderr)
        body = ""
        for text in HELP:
            st, body = at_ussd(hl, "browser-1", text, phone=PHONE)
            if st != 200:
                fail("USSD walk: %d %s" % (st, body))
        ref = REF.search(body).group(1)
        print("screenshots: %s" % shots, flush=True)
        ctl = control(hl)
        env = dict(os.environ, HL_URL=hl.url(""), HL_NAME=NAME, HL_PW=PW,
                   HL_NAME2=NAME2, HL_REF=ref, HL_PHONE=PHONE,
                   HL_SHOTS=shots, HL_OP_NAME=OP_NAME,
                   HL_CTL="http://127.0.0.1:%d" % ctl.server_port)
        sys.stdout.flush()
        total = [0, 0]
        for script in ("console.test.js", "operator.test.js"):
            n = node(script, env)
            total = [total[0] + n[0], total[1] + n[1]]
        ctl.shutdown()
        reports = sanitizer_reports()       # stops hotlined (SIGTERM)
        if reports:
            print("FAIL sanitizer report:\n" + "\n".join(reports))
            print("0 passed, 1 failed")
            sys.exit(1)
        log = hl.log()
        if PHONE[-9:] in log or PW in log:
            print("FAIL hotlined's log holds a phone number or a password")
            print("0 passed, 1 failed")
            sys.exit(1)
        return total
    finally:
        _cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the supervisor view (super.test.js) -------------------------------------

SUPER = ("sara", "supervisor")
SECRET = "webhook-secret-0123456789"


def super_config(tmp, hook_port):
    """The browser config with one queue whose webhook is hook_port, two
    attempts apart by 100 ms (a dead letter within a second)."""
    with open(config(tmp)) as f:
        text = f.read()
    text, n = re.subn(r"^queues = \(.*?^\);", 'queues = ( { name = "urgent"; '
                      'alerts = ( { type = "webhook"; url = "http://127.0.0.1:%d/'
                      'hook"; secret = "env:TEST_WEBHOOK_SECRET"; } ); } );'
                      % hook_port, text, flags=re.S | re.M)
    assert n == 1
    text, n = re.subn(r"^alerts = \{.*?^\};", "alerts = { attempts = 2; "
                      "backoff_ms = 100; backoff_max_ms = 200; timeout_ms = "
                      "2000; claim_s = 60; };", text, flags=re.S | re.M)
    assert n == 1
    path = os.path.join(tmp, "super.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


class Hook:
    """The webhook receiver, down until POST /up on the control server;
    GET /got answers the references it received, in order."""

    def __init__(self):
        self.port = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        self.srv, self.got = None, []
        p = self.port.server_port
        self.port.server_close()
        self.port = p

    def up(self):
        hook = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                hook.got.append(json.loads(self.rfile.read(n))["ref"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass
        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def control(self):
        hook = self

        class C(BaseHTTPRequestHandler):
            def do_POST(self):
                if hook.srv is None:
                    hook.up()
                self.send_response(204)
                self.end_headers()

            def do_GET(self):
                out = json.dumps(hook.got).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass
        srv = HTTPServer(("127.0.0.1", 0), C)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv


def api_as(hl, name, method, path):
    """One call as the signed-in account name (cookie and CSRF token)."""
    req = urllib.request.Request(hl.url("/api/session"), method="POST",
                                 data=json.dumps({"name": name, "password": PW})
                                 .encode(), headers={"Content-Type":
                                                     "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        csrf = json.loads(r.read())["csrf"]
        cookie = r.headers["Set-Cookie"].split(";")[0]
    req = urllib.request.Request(hl.url(path), method=method, data=b"",
                                 headers={"Cookie": cookie,
                                          "X-CSRF-Token": csrf})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def super_main(shots):
    """Its own redis-server and hotlined: a dead letter (the receiver is
    down), a case minh claimed, then super.test.js. Returns (passed,
    failed)."""
    tmp = tempfile.mkdtemp(prefix="hotline-browser-super-")
    try:
        hook = Hook()
        redis = RedisServer(tmp)
        cfg = super_config(tmp, hook.port)
        hl = Hotlined(tmp, redis.port, config=cfg,
                      env={"TEST_WEBHOOK_SECRET": SECRET}, name="super")
        hl.wait_ready()
        for who, role in (SUPER, ("minh", "staff"), ("thu", "staff")):
            p = subprocess.run([HOTLINECTL, "staff", "-c", cfg, "--redis",
                                "127.0.0.1:%d" % redis.port, "add", who,
                                "--role", role, "--password-stdin"],
                               input=PW + "\n", cwd=ROOT,
                               env=dict(os.environ, HOTLINE_PEPPER=PEPPER,
                                        TEST_WEBHOOK_SECRET=SECRET),
                               capture_output=True, text=True, timeout=30)
            if p.returncode != 0:
                fail("hotlinectl staff add: %s" % p.stderr)
        refs = []
        for i, phone in enumerate(("+84912000601", "+84912000602")):
            body = ""
            for text in HELP:
                st, body = at_ussd(hl, "browser-super-%d" % i, text, phone=phone)
            refs.append(REF.search(body).group(1))
        r = redis.client()
        for _ in range(100):        # both dead-lettered (two attempts each)
            if r("XLEN", "hl:dead:urgent") == 2:
                break
            time.sleep(0.05)
        else:
            fail("no dead letters: %s" % hl.log()[-2000:])
        if api_as(hl, "minh", "POST", "/api/cases/%s/claim" % refs[1]) != 200:
            fail("minh's claim")
        ctl = hook.control()
        env = dict(os.environ, HL_URL=hl.url(""), HL_PW=PW, HL_SUPER=SUPER[0],
                   HL_STAFF="minh", HL_TO="thu", HL_DEAD=refs[0],
                   HL_CLAIMED=refs[1], HL_PHONES="+84912000601 +84912000602",
                   HL_SHOTS=shots,
                   HL_HOOK="http://127.0.0.1:%d" % ctl.server_port)
        sys.stdout.flush()
        n = node("super.test.js", env)
        ctl.shutdown()
        hl.stop()                   # LeakSanitizer reports at exit
        log = hl.log()
        for mark in SANITIZER_MARKS:
            if mark in log:
                print("FAIL sanitizer report:\n" + log[log.find(mark):][:3000])
                return (n[0], n[1] + 1)
        if n[1]:
            print("hotlined's warnings:\n" + "\n".join(
                [ln for ln in log.splitlines()
                 if " warn " in ln or " error " in ln][-30:]))
        if "84912000601" in log or "84912000602" in log or PW in log:
            print("FAIL hotlined's log holds a phone number or a password")
            return (n[0], n[1] + 1)
        return n
    finally:
        _cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    total = main()
    n = super_main(os.path.join(BIN, "browser"))
    total = [total[0] + n[0], total[1] + n[1]]
    print("%d passed, %d failed" % tuple(total))
    sys.exit(1 if total[1] else 0)
