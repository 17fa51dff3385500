"""Integration-test harness: real redis-server and hotlined on free loopback
ports in a temporary directory, a tiny RESP client, HTTP helpers, and a test
runner that ends with `N passed, N failed`.

Only the standard library. Every wait is bounded; every process started here
is stopped at exit (atexit and the runner's finally).
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
B = os.environ.get("B", "build")
BIN = os.path.join(ROOT, B) if not os.path.isabs(B) else B
HOTLINED = os.path.join(BIN, "hotlined")
HOTLINECTL = os.path.join(BIN, "hotlinectl")
PEPPER = "test-pepper-0123456789abcdef"
TWILIO_TOKEN = "12345"

_procs = []
_hotlineds = []         # the running test's hotlined processes

# What AddressSanitizer, LeakSanitizer and UBSan print (SANITIZE=... builds);
# UBSan carries on after a report, so only the log shows it.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_cleanup)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    """Polls pred() until truthy; raises after timeout seconds."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for %s" % what)


# ---- Redis ---------------------------------------------------------------

class Redis:
    """A minimal blocking RESP client for assertions."""

    def __init__(self, port, host="127.0.0.1"):
        self.addr = (host, port)
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.create_connection(self.addr, timeout=5)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad RESP: %r" % line)

    def __call__(self, *args):
        if self.sock is None:
            self._connect()
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        try:
            self.sock.sendall(out)
            return self._read()
        except (ConnectionError, OSError):
            self.sock = None
            raise

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def hgetall(self, key):
        v = self("HGETALL", key) or []
        return dict(zip(v[0::2], v[1::2]))

    def xrange(self, stream):
        out = []
        for entry_id, fields in self("XRANGE", stream, "-", "+") or []:
            out.append((entry_id, dict(zip(fields[0::2], fields[1::2]))))
        return out

    def scan_all(self, pattern="*"):
        cursor, keys = "0", []
        while True:
            cursor, batch = self("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys += batch
            if cursor == "0":
                return sorted(keys)


class RedisServer:
    """redis-server on a free loopback port in dir."""

    def __init__(self, tmp, port=None, appendonly=True, extra_args=()):
        self.tmp = tmp
        self.port = port or free_port()
        self.appendonly = appendonly
        self.extra_args = list(extra_args)    # e.g. --enable-debug-command
        self.proc = None
        self.start()

    def start(self):
        # Each server has its own directory: two servers sharing one would
        # write the same AOF files (a replica and its master, say).
        data = os.path.join(self.tmp, "redis-%d" % self.port)
        os.makedirs(data, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", data, "--save", "",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "always", "--daemonize", "no",
                "--logfile", os.path.join(self.tmp, "redis-%d.log" % self.port)]
        args += self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _procs.append(self.proc)
        r = Redis(self.port)

        def up():
            try:
                return r("PING") == "PONG"
            except OSError:
                return False
            except RuntimeError:        # -LOADING: replaying its AOF
                r.close()
                return False
        wait_for(up, 10, what="redis-server on %d" % self.port)
        r.close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def client(self):
        return Redis(self.port)


# ---- hotlined ------------------------------------------------------------

class Hotlined:
    """hotlined with the shipped config (or `config`), on a free port, with
    --redis pointing at redis_port. Its stderr goes to a log file that tests
    can read (and scan for phone numbers)."""

    def __init__(self, tmp, redis_port, config=None, env=None, port=None,
                 menus=None, name="hotlined", preexec_fn=None):
        self.tmp = tmp
        self.preexec_fn = preexec_fn    # e.g. a lower RLIMIT_NOFILE
        self.port = port or free_port()
        self.redis_port = redis_port
        self.config = config or os.path.join(ROOT, "config", "hotlined.cfg")
        self.menus = menus or os.path.join(ROOT, "config", "menus")
        self.log_path = os.path.join(tmp, "%s-%d.log" % (name, self.port))
        self.env = dict(os.environ)
        self.env.update({
            "HOTLINE_PEPPER": PEPPER,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "HOTLINE_PUBLIC_URL": "http://127.0.0.1:%d" % self.port,
            "AT_BASE_URL": "http://127.0.0.1:9",   # tests override
            "AT_USERNAME": "sandbox",
            "AT_API_KEY": "test-key",
        })
        self.env.update(env or {})
        self.proc = None
        _hotlineds.append(self)
        self.start()

    def start(self):
        args = [HOTLINED, "-c", self.config, "--listen",
                "127.0.0.1:%d" % self.port, "--redis",
                "127.0.0.1:%d" % self.redis_port, "--menus", self.menus]
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=self.tmp, env=self.env,
                                     stdout=self.logf, stderr=self.logf,
                                     preexec_fn=self.preexec_fn)
        _procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("hotlined exited %s:\n%s" %
                                     (self.proc.returncode, self.log()))
            try:
                return get(self.url("/healthz"))[0] == 200
            except OSError:
                return False
        wait_for(up, 10, what="hotlined /healthz")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait_ready(self, timeout=10):
        wait_for(lambda: get(self.url("/readyz"))[0] == 200, timeout,
                 what="hotlined /readyz")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.logf.close()
        return self.proc.returncode

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


# ---- HTTP ------------------------------------------------------------------

def request(url, data=None, headers=None, method=None, timeout=10):
    """Returns (status, body text, headers dict). Never raises on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, headers=headers or {},
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def get(url, **kw):
    return request(url, **kw)


def post_form(url, fields, headers=None, **kw):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    body = urllib.parse.urlencode(fields).encode()
    return request(url, data=body, headers=h, method="POST", **kw)


def post_json(url, obj, headers=None, **kw):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return request(url, data=json.dumps(obj).encode(), headers=h,
                   method="POST", **kw)


def at_ussd(hl, session, text, phone="+84901234567", code="*384*123#", **kw):
    """One Africa's Talking USSD request; returns (status, body)."""
    st, body, _ = post_form(hl.url("/ussd/africastalking"), {
        "sessionId": session, "serviceCode": code, "phoneNumber": phone,
        "networkCode": "45204", "text": text}, **kw)
    return st, body


# ---- assertions and the runner ------------------------------------------------

def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s\n  got:  %r\n  want: %r" % (what, got, want))


def contains(haystack, needle, what=""):
    if needle not in haystack:
        raise AssertionError("%s\n  %r\n  not in:\n%s" % (what, needle, haystack))


def sanitizer_reports():
    """Stops the test's hotlined processes with SIGTERM (LeakSanitizer
    reports at exit) and returns any sanitizer report in their logs."""
    out = []
    for hl in _hotlineds:
        if hl.proc is not None:
            hl.stop()
        log = hl.log()
        for mark in SANITIZER_MARKS:
            i = log.find(mark)
            if i >= 0:
                out.append("%s:\n%s" % (os.path.basename(hl.log_path),
                                        log[max(0, i - 300):i + 3000]))
                break
    return out


def run(tests):
    """Runs [(name, fn)], each in a fresh temp dir passed as its argument.
    Prints one line per test and the closing `N passed, N failed`; exits
    non-zero on any failure."""
    passed = failed = 0
    only = os.environ.get("ONLY")
    for name, fn in tests:
        if only and only not in name:
            continue
        tmp = tempfile.mkdtemp(prefix="hotline-it-")
        t0 = time.time()
        try:
            fn(tmp)
            reports = sanitizer_reports()
            if reports:
                raise AssertionError("sanitizer report:\n" + "\n".join(reports))
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.time() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
        finally:
            _cleanup()
            del _procs[:]
            del _hotlineds[:]
            if not os.environ.get("KEEP"):
                shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
