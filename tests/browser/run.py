"""Runs the browser tests (console.test.js) against a real redis-server and
hotlined started with tests/integration/harness.py: makes a staff account
with `hotlinectl staff add`, files a help request by a USSD walk over HTTP,
then runs node with Debian's chromium: console.test.js, then
operator.test.js (an operator account's menu pages; it publishes menus,
so it runs last). Installs the npm packages with
`npm ci` when tests/browser/node_modules is missing. Prints node's lines and
its closing "N passed, N failed"; screenshots go to $B/browser/.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (RedisServer, Hotlined, at_ussd, ROOT, BIN,  # noqa: E402
                     HOTLINECTL, PEPPER, _cleanup, sanitizer_reports)

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
        print("%d passed, %d failed" % tuple(total))
        sys.exit(1 if total[1] else 0)
    finally:
        _cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
