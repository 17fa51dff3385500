"""The shipped deploy/ files through the real programs, on loopback ports in
a temporary directory: systemd-analyze (verify, security), install.sh into a
DESTDIR, nginx (-t, then serving TLS in front of a stub upstream), redis-server
with deploy/redis/redis.conf (AOF, noeviction, the runbook's backup and
restore), redis-sentinel with deploy/redis/sentinel.conf, bearerbox and smsbox
with deploy/kannel/kannel.conf, the Prometheus rules, the container files.

A program that is not installed skips only the checks that need it, and says
so; every other check in the same test still runs.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, HOTLINED, Redis, RedisServer, Hotlined,  # noqa: E402
                     free_port, get, eq, contains, run, wait_for, _procs)

DEPLOY = os.path.join(ROOT, "deploy")
SERVER_NAME = "hotline.example.org"


def skip(why):
    print("  skip: " + why, flush=True)


def read(*parts):
    with open(os.path.join(*parts)) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def replace_once(text, old, new, what=""):
    """Replaces old (which must occur) everywhere; a shipped file whose
    layout changed fails here instead of being silently left as is."""
    if old not in text:
        raise AssertionError("%s: %r not found in the shipped file" % (what, old))
    return text.replace(old, new)


def unit_settings(text):
    """[(section, key, value)] of a systemd unit file."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


# ---- systemd ----------------------------------------------------------------

UNITS = ("hotlined.service", "hotlined@.service")


def test_systemd_units(tmp):
    for name in UNITS:
        text = read(DEPLOY, name)
        s = {}
        for sec, k, v in unit_settings(text):
            s.setdefault((sec, k), []).append(v)

        def one(k, sec="Service"):
            v = s.get((sec, k))
            assert v, "%s: [%s] %s= is missing" % (name, sec, k)
            return v[-1]
        eq(one("User"), "hotline", name + " own user")
        eq(one("NoNewPrivileges"), "yes", name)
        eq(one("ProtectSystem"), "strict", name + " read-only system")
        eq(one("Restart"), "on-failure", name)
        eq(one("EnvironmentFile"), "/etc/hotline/hotlined.env", name + " secrets")
        eq(one("ExecReload"), "/bin/kill -HUP $MAINPID", name + " reload = SIGHUP")
        eq(one("KillSignal"), "SIGTERM", name + " SIGTERM drains")
        eq(one("CapabilityBoundingSet"), "", name + " no capabilities")
        # The spool path is relative to the working directory: it must be the
        # state directory systemd creates writable under ProtectSystem=strict.
        eq(one("WorkingDirectory"), "/var/lib/" + one("StateDirectory"),
           name + " working directory is the writable state directory")
        assert int(one("TimeoutStopSec")) > 10, "stop timeout must exceed http.drain"
        contains(one("ExecStart"), "/usr/local/bin/hotlined -c /etc/hotline/hotlined.cfg")
        contains(one("ExecStartPre"), "--check", name + " refuses a broken config")
        assert ("Unit", "StartLimitIntervalSec") in s, name
        eq(one("WantedBy", "Install"), "multi-user.target", name)
    # Instances keep apart spools.
    contains(read(DEPLOY, "hotlined@.service"), "StateDirectory=hotline/%i")

    sa = shutil.which("systemd-analyze")
    if not sa:
        skip("systemd-analyze is not installed: verify/security not run")
        return
    # A control unit first: if even that fails, this environment cannot
    # verify units at all (no systemd), and that is said rather than hidden.
    control = write(os.path.join(tmp, "hl-control.service"),
                    "[Unit]\nDescription=control\n[Service]\nExecStart=/bin/true\n")
    p = subprocess.run([sa, "verify", control], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0 or p.stderr.strip():
        skip("systemd-analyze verify fails even on a trivial unit here (%s): "
             "verify/security not run" % (p.stderr.strip() or p.returncode))
        return
    for name in UNITS:
        text = read(DEPLOY, name)
        inst = name.replace("@.", "@upgrade.")
        # 1. As shipped: the only complaint allowed is the binary's absence.
        orig = write(os.path.join(tmp, inst), text)
        p = subprocess.run([sa, "verify", orig], capture_output=True, text=True,
                           timeout=60)
        if os.path.exists("/usr/local/bin/hotlined"):
            eq((p.returncode, p.stderr.strip()), (0, ""), "verify " + name)
        else:
            for line in (p.stdout + p.stderr).strip().splitlines():
                assert re.fullmatch(
                    r"\S+: Command /usr/local/bin/hotlined is not executable: "
                    r"No such file or directory", line), \
                    "verify %s: unexpected: %s" % (name, line)
        # 2. With the binary replaced by one that exists: no output at all.
        d = os.path.join(tmp, "exists")
        os.makedirs(d, exist_ok=True)
        fixed = write(os.path.join(d, inst),
                      text.replace("/usr/local/bin/hotlined", "/bin/true"))
        p = subprocess.run([sa, "verify", fixed], capture_output=True, text=True,
                           timeout=60)
        eq((p.returncode, (p.stdout + p.stderr).strip()), (0, ""),
           "systemd-analyze verify %s (binary path adjusted)" % name)
        # 3. The hardening, as systemd scores it (0 = best, 10 = none).
        p = subprocess.run([sa, "security", "--offline=yes", fixed],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
        if not m:
            skip("systemd-analyze security --offline unsupported: %s" %
                 (p.stderr.strip()[:200]))
            continue
        assert float(m.group(1)) <= 2.0, \
            "%s exposure %s > 2.0:\n%s" % (name, m.group(1), p.stdout)


# ---- install.sh -------------------------------------------------------------

def test_install_sh_into_destdir(tmp):
    dest = os.path.join(tmp, "root")
    fake = os.path.join(tmp, "fakebuild")
    os.mkdir(fake)
    real = os.path.exists(HOTLINED) and os.path.exists(HOTLINED.replace(
        "hotlined", "hotlinectl"))
    build = os.path.dirname(HOTLINED) if real else fake
    if not real:
        for b in ("hotlined", "hotlinectl"):
            write(os.path.join(fake, b), "#!/bin/sh\nexit 0\n")
            os.chmod(os.path.join(fake, b), 0o755)
    env = dict(os.environ, DESTDIR=dest)
    p = subprocess.run(["sh", os.path.join(DEPLOY, "install.sh"), build],
                       env=env, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "install.sh: %s" % p.stderr)
    # Everything the unit refers to is where it says.
    unit = read(dest, "etc/systemd/system/hotlined.service")
    for path in ("/usr/local/bin/hotlined", "/etc/hotline/hotlined.cfg",
                 "/etc/hotline/hotlined.env"):
        contains(unit, path)
        assert os.path.exists(dest + path), "install.sh did not create " + path
    assert os.access(dest + "/usr/local/bin/hotlined", os.X_OK)
    assert os.path.exists(dest + "/etc/systemd/system/hotlined@.service")
    cfg = read(dest, "etc/hotline/hotlined.cfg")
    assert re.search(r'^menus = "/etc/hotline/menus";', cfg, re.M), \
        "installed config points at the installed menus"
    assert os.listdir(dest + "/etc/hotline/menus"), "menus installed"
    assert re.search(r'^  dir = "/usr/local/share/hotline/console";', cfg,
                     re.M), "installed config points at the installed console"
    assert os.path.exists(dest + "/usr/local/share/hotline/console/index.html"), \
        "console installed"
    envf = dest + "/etc/hotline/hotlined.env"
    eq(stat.S_IMODE(os.stat(envf).st_mode), 0o600, "secrets file mode")
    pepper = re.search(r"^HOTLINE_PEPPER=(\S+)$", read(envf), re.M).group(1)
    assert len(pepper) >= 16 and "CHANGE-ME" not in pepper, pepper
    contains(read(dest, "etc/sysctl.d/60-hotline.conf"), "net.ipv4.tcp_migrate_req = 1")
    # A second run upgrades binaries but keeps what the sysadmin edited.
    write(dest + "/etc/hotline/hotlined.cfg", cfg + "# edited by the sysadmin\n")
    p = subprocess.run(["sh", os.path.join(DEPLOY, "install.sh"), build],
                       env=env, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0)
    contains(read(dest, "etc/hotline/hotlined.cfg"), "# edited by the sysadmin")
    eq(re.search(r"^HOTLINE_PEPPER=(\S+)$", read(envf), re.M).group(1), pepper,
       "the pepper survives a re-install")
    if not real:
        skip("hotlined is not built (%s): installed config not checked with "
             "--check" % HOTLINED)
        return
    # The installed config and menus load, with the installed secrets file
    # (menus redirected into the DESTDIR).
    env = dict(os.environ)
    for line in read(envf).splitlines():
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            env[k] = v
    p = subprocess.run([HOTLINED, "-c", dest + "/etc/hotline/hotlined.cfg",
                        "--menus", dest + "/etc/hotline/menus", "--check"],
                       env=env, capture_output=True, text=True, timeout=30)
    eq(p.returncode, 0, "hotlined --check on the installed config: %s%s" %
       (p.stdout, p.stderr))


def test_env_example_and_readme_paths(tmp):
    """Every env:NAME the reference config uses (commented ones too) is in
    hotlined.env.example; every deploy/ file the runbook names exists; the
    runbook has every section the issue asks for."""
    cfg = read(ROOT, "config", "hotlined.cfg")
    example = read(DEPLOY, "hotlined.env.example")
    names = set(re.findall(r'"env:([A-Z0-9_]+)"', cfg)) - {"NAME"}
    assert len(names) >= 8, names
    for n in sorted(names):
        if n.startswith("STAFF_TOKEN_"):
            assert re.search(r"^#?STAFF_TOKEN_", example, re.M), n
            continue
        assert re.search(r"^#?%s=" % n, example, re.M), \
            "%s is used by config/hotlined.cfg but not in hotlined.env.example" % n
    # Every deploy/ file the runbook names exists.
    readme = read(DEPLOY, "README.md")
    paths = set(re.findall(r"(?<![/\w])(deploy/[A-Za-z0-9_./@-]+[A-Za-z0-9_@-])", readme))
    assert len(paths) >= 10, paths
    # deploy/hotlined.env is the copy the reader makes for compose.
    for p in sorted(paths - {"deploy/hotlined.env"}):
        assert os.path.exists(os.path.join(ROOT, p)), "README names missing " + p
    for section in ("Install", "Configure", "TLS", "aggregator", "Health",
                    "Prometheus", "Backup", "Restore", "Upgrade", "Rotate",
                    "Erase", "Many gateways"):
        assert re.search(r"^## .*%s" % section, readme, re.M), \
            "runbook section missing: " + section


# ---- nginx -------------------------------------------------------------------

def make_cert(tmp):
    """A self-signed certificate for SERVER_NAME; None without openssl."""
    if not shutil.which("openssl"):
        return None
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + SERVER_NAME,
                    "-addext", "subjectAltName=DNS:" + SERVER_NAME],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Nginx:
    """The shipped deploy/nginx/hotline.conf, with only these changed:
    listen ports (loopback, free), the certificate, the error log, the ACME
    root, and the upstream servers (`upstreams`, each replacing the shipped
    127.0.0.1:8080 lines). Run as one process (master_process off) so that
    a kill stops it entirely."""

    def __init__(self, tmp, upstreams, cert, start=True):
        self.tmp = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.tmp, "logs"), exist_ok=True)
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(self.www, ".well-known", "acme-challenge"))
        self.http_port, self.https_port = free_port(), free_port()
        conf = read(DEPLOY, "nginx", "hotline.conf")
        conf = replace_once(conf, "    listen [::]:80;\n", "", "nginx")
        conf = replace_once(conf, "    listen [::]:443 ssl http2;\n", "", "nginx")
        conf = replace_once(conf, "listen 80;", "listen 127.0.0.1:%d;" % self.http_port)
        conf = replace_once(conf, "listen 443 ssl http2;",
                            "listen 127.0.0.1:%d ssl http2;" % self.https_port)
        conf = replace_once(conf, "/etc/letsencrypt/live/%s/fullchain.pem" %
                            SERVER_NAME, cert[0])
        conf = replace_once(conf, "/etc/letsencrypt/live/%s/privkey.pem" %
                            SERVER_NAME, cert[1])
        conf = replace_once(conf, "/var/log/nginx/hotline.error.log",
                            os.path.join(self.tmp, "logs", "hotline.error.log"))
        conf = replace_once(conf, "root /var/www/html;", "root %s;" % self.www)
        conf = replace_once(conf, "    server 127.0.0.1:8080 max_fails=0 backup;\n",
                            "", "nginx upstream backup")
        conf = replace_once(conf, "    server 127.0.0.1:8080 max_fails=0;\n", "".join(
            "    server 127.0.0.1:%d max_fails=0%s;\n" % (p, extra)
            for p, extra in upstreams), "nginx upstream")
        write(os.path.join(self.tmp, "hotline.conf"), conf)
        t = self.tmp
        main = """
%s
daemon off;
master_process off;
pid %s/nginx.pid;
error_log %s/logs/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %s/body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
    include %s/hotline.conf;
}
""" % ("user root root;" if os.geteuid() == 0 else "", t, t, t, t, t, t, t, t)
        self.conf = write(os.path.join(t, "nginx.conf"), main)
        self.cert = cert[0]
        self.proc = None
        if start:
            self.start()

    def cmd(self, *extra):
        return ["nginx", "-p", self.tmp + "/", "-e", self.tmp + "/logs/startup.log",
                "-c", self.conf] + list(extra)

    def test_config(self):
        return subprocess.run(self.cmd("-t"), capture_output=True, text=True,
                              timeout=30)

    def start(self):
        self.proc = subprocess.Popen(self.cmd(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited:\n" + read(self.tmp, "logs",
                                                               "error.log"))
            try:
                socket.create_connection(("127.0.0.1", self.https_port), 1).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, what="nginx on %d" % self.https_port)

    def https(self, method, path, body=None, headers=None, host=SERVER_NAME):
        """One request over TLS (the certificate checked against the test
        CA; SNI and Host = SERVER_NAME). Returns (status, body, headers)."""
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port,
                                           context=ctx, timeout=15)
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        out = (r.status, r.read().decode("utf-8", "replace"), dict(r.getheaders()))
        conn.close()
        return out

    def https_url(self):
        return "https://127.0.0.1:%d" % self.https_port


class Recorder(BaseHTTPRequestHandler):
    """A stub upstream: records method, raw path, headers, body."""
    seen = []

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        Recorder.seen.append((self.command, self.path, dict(self.headers), body))
        out = b"stub ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _any

    def log_message(self, *a):
        pass


def test_nginx_conf(tmp):
    if not shutil.which("nginx"):
        skip("nginx is not installed: deploy/nginx/hotline.conf not checked")
        return
    cert = make_cert(tmp)
    if not cert:
        skip("openssl is not installed: no test certificate, nginx not run")
        return
    Recorder.seen = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        up = srv.server_address[1]
        ng = Nginx(tmp, [(up, ""), (up, " backup")], cert, start=False)
        p = ng.test_config()
        eq(p.returncode, 0, "nginx -t:\n" + p.stderr)
        contains(p.stderr, "syntax is ok")
        ng.start()
        # TLS, and what the proxy passes on.
        st, body, hdr = ng.https("GET", "/readyz")
        eq((st, body), (200, "stub ok\n"), "/readyz proxied")
        contains(hdr.get("Strict-Transport-Security", ""), "max-age=")
        _m, path, h, _b = Recorder.seen[-1]
        eq(path, "/readyz")
        eq(h.get("Host"), SERVER_NAME, "Host passed on")
        eq(h.get("X-Forwarded-Proto"), "https", "X-Forwarded-Proto passed on")
        # Twilio signs path + query: both reach hotlined byte for byte.
        raw = "/sms/twilio?b=%2F2&a=1+1&c=%C3%A9"
        st, body, _ = ng.https("POST", raw, body=b"From=%2B84912345678&Body=HELP",
                               headers={"Content-Type":
                                        "application/x-www-form-urlencoded"})
        eq(st, 200)
        m, path, h, b = Recorder.seen[-1]
        eq((m, path, b), ("POST", raw, b"From=%2B84912345678&Body=HELP"),
           "Twilio request unchanged")
        # Kannel's GET with the caller in the query string.
        n = len(Recorder.seen)
        q = "/sms/kannel?from=%2B84933333333&to=1234&text=HELP&id=k1"
        eq(ng.https("GET", q)[0], 200)
        eq(Recorder.seen[n][1], q)
        # Every endpoint hotlined serves is routed; anything else is not.
        for path in ("/ussd/africastalking", "/ussd/hubtel", "/ussd/nalo",
                     "/ussd/arkesel", "/sms/africastalking", "/api/cases",
                     "/console/", "/healthz", "/metrics"):
            eq(ng.https("POST" if path.startswith(("/ussd", "/sms")) else "GET",
                        path, body=b"x=1" if path.startswith(("/ussd", "/sms"))
                        else None)[0], 200, "routed: " + path)
        n = len(Recorder.seen)
        eq(ng.https("GET", "/nope")[0], 404, "unknown path")
        eq(ng.https("GET", "/ussd/africastalking/../../etc")[0], 404)
        # Bodies over 16 KiB stop at nginx.
        eq(ng.https("POST", "/ussd/africastalking", body=b"x" * 20000,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})[0],
           413, "oversized body")
        eq(len(Recorder.seen), n, "refused requests never reach hotlined")
        # Port 80: ACME challenge served, everything else redirected.
        write(os.path.join(ng.www, ".well-known", "acme-challenge", "tok"), "acme-ok")
        conn = http.client.HTTPConnection("127.0.0.1", ng.http_port, timeout=5)
        conn.request("GET", "/.well-known/acme-challenge/tok",
                     headers={"Host": SERVER_NAME})
        r = conn.getresponse()
        eq((r.status, r.read()), (200, b"acme-ok"), "ACME challenge on port 80")
        conn.request("GET", "/ussd/africastalking?key=1", headers={"Host": SERVER_NAME})
        r = conn.getresponse()
        r.read()
        eq((r.status, r.getheader("Location")),
           (301, "https://%s/ussd/africastalking?key=1" % SERVER_NAME),
           "plain HTTP redirects to https")
        conn.close()
    finally:
        srv.shutdown()


def tls_exchange(ng, data, timeout=5.0):
    """Raw bytes to nginx over TLS; returns what came back until nginx
    closed the connection or `timeout` passed."""
    ctx = ssl.create_default_context(cafile=ng.cert)
    ctx.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", ng.https_port), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname=SERVER_NAME)
    buf, end = b"", time.time() + timeout
    try:
        s.sendall(data)
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ssl.SSLError, ConnectionResetError):
                break
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return buf


def test_nginx_in_front_of_hotlined(tmp):
    """The shipped nginx in front of a real hotlined (runbook section 3,
    "Which limit stops what"): what nginx passes on (HTTP/1.0, one request
    a connection) gets through hotlined's strict framing; malformed framing
    is refused by one or the other (never answered 200, nothing filed);
    a keep-alive client's pipelined requests are answered in order."""
    if not shutil.which("nginx"):
        skip("nginx is not installed: nothing to put in front of hotlined")
        return
    cert = make_cert(tmp)
    if not cert:
        skip("openssl is not installed: no test certificate, nginx not run")
        return
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    ng = Nginx(tmp, [(hl.port, "")], cert)
    body = (b"sessionId=N1&serviceCode=%2A384%2A123%23&phoneNumber=%2B84900000077"
            b"&networkCode=45204&text=")

    def req(extra=b"", b=body, head=None, eol=b"\r\n"):
        lines = head or [b"POST /ussd/africastalking HTTP/1.1",
                         b"Host: " + SERVER_NAME.encode(),
                         b"Content-Type: application/x-www-form-urlencoded",
                         b"Content-Length: %d" % len(b)]
        return eol.join(lines) + eol + extra + eol + b

    st, text, _ = ng.https("POST", "/ussd/africastalking", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    eq(st, 200, "a walk through nginx")
    assert text.startswith("CON "), text
    # Keep-alive and pipelining towards nginx: answered in order.
    out = tls_exchange(ng, b"GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n"
                       b"GET /nope HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (SERVER_NAME.encode(), SERVER_NAME.encode()))
    statuses = [int(line.split(b" ")[1]) for line in out.split(b"\r\n")
                if line.startswith(b"HTTP/1.1 ")]
    eq(statuses, [200, 404], "pipelined through nginx, in order")
    r = redis.client()
    sessions = r.scan_all("hl:s:*")
    shapes = [
        ("two different Content-Length",
         req(b"Content-Length: %d\r\n" % (len(body) + 3), body + b"&x=")),
        ("Transfer-Encoding with Content-Length",
         req(b"Transfer-Encoding: chunked\r\n",
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))),
        ("Content-Length: +N", req().replace(b"Content-Length: ", b"Content-Length: +")),
        ("space in a header name", req(b"X Bad: 1\r\n")),
        ("NUL in a header value", req(b"X-A: a\x00b\r\n")),
        ("malformed chunk size",
         req(b"Transfer-Encoding: chunked\r\n", b"zz\r\nab\r\n0\r\n\r\n",
             head=[b"POST /ussd/africastalking HTTP/1.1",
                   b"Host: " + SERVER_NAME.encode(),
                   b"Content-Type: application/x-www-form-urlencoded"])),
    ]
    for name, data in shapes:
        out = tls_exchange(ng, data)
        st = int(out.split(b" ")[1]) if out.startswith(b"HTTP/1.") else None
        by = "hotlined" if b"\r\n\r\n400 " in out else "nginx"
        print("  through nginx: %-38s -> %s (from %s)" % (name, st, by))
        assert st is not None and 400 <= st < 500, (name, out[:200])
    eq(r.scan_all("hl:s:*"), sessions, "no session from a malformed request")


# ---- Redis ---------------------------------------------------------------------

def redis_conf_for(tmp, port, data):
    """The shipped redis.conf with its host paths and port moved into tmp."""
    conf = read(DEPLOY, "redis", "redis.conf")
    conf = replace_once(conf, "\nport 6379\n", "\nport %d\n" % port, "redis.conf")
    conf = replace_once(conf, "dir /var/lib/redis", "dir " + data)
    conf = replace_once(conf, "logfile /var/log/redis/redis-server.log",
                        "logfile " + os.path.join(tmp, "redis-server.log"))
    conf = replace_once(conf, "pidfile /run/redis/redis-server.pid",
                        "pidfile " + os.path.join(tmp, "redis-server.pid"))
    return write(os.path.join(tmp, "redis.conf"), conf)


def start_redis(conf, port):
    p = subprocess.Popen(["redis-server", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _procs.append(p)
    r = Redis(port)

    def up():
        if p.poll() is not None:
            raise AssertionError("redis-server exited %s" % p.returncode)
        try:
            return r("PING") == "PONG"
        except OSError:
            return False
        except RuntimeError as e:   # LOADING: still reading its AOF
            if str(e).startswith("LOADING"):
                return False
            raise
    wait_for(up, 10, what="redis-server on %d" % port)
    return p, r


def shutdown(r):
    """SHUTDOWN: Redis closes the connection instead of answering."""
    try:
        r("SHUTDOWN")
    except (ConnectionError, OSError):
        pass
    r.close()


def cfg_get(r, name):
    return r("CONFIG", "GET", name)[1]


def test_redis_conf(tmp):
    port = free_port()
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    conf = redis_conf_for(tmp, port, data)
    proc, r = start_redis(conf, port)
    eq(cfg_get(r, "appendonly"), "yes")
    eq(cfg_get(r, "appendfsync"), "always")
    eq(cfg_get(r, "maxmemory-policy"), "noeviction")
    eq(cfg_get(r, "save"), "", "no timed RDB snapshots")
    eq(cfg_get(r, "protected-mode"), "yes")
    contains(cfg_get(r, "bind"), "127.0.0.1")
    assert int(cfg_get(r, "maxmemory")) > 0, "a memory limit is set"
    # noeviction: when full, writes are refused and nothing is deleted.
    r("XADD", "hl:q:urgent", "*", "ref", "K7M3QX", "phone", "+84901234567")
    r("HSET", "hl:case:K7M3QX", "status", "new")
    used = int(re.search(r"used_memory:(\d+)", r("INFO", "memory")).group(1))
    r("CONFIG", "SET", "maxmemory", str(used + 200000))
    refused = None
    for i in range(2000):
        try:
            r("SET", "filler:%d" % i, "x" * 1000)
        except RuntimeError as e:
            refused = str(e)
            break
    assert refused and refused.startswith("OOM"), "writes refused when full: %r" % refused
    eq(r("XLEN", "hl:q:urgent"), 1, "the help request was not evicted")
    eq(r("HGET", "hl:case:K7M3QX", "status"), "new", "the case was not evicted")
    eq(r("EXISTS", "filler:0"), 1, "nothing evicted")
    r("CONFIG", "SET", "maxmemory", "1gb")
    for i in range(2000):
        r("DEL", "filler:%d" % i)
    # AOF: a SIGKILL loses nothing that was acknowledged.
    proc.kill()
    proc.wait(timeout=5)
    r.close()
    assert os.path.exists(os.path.join(data, "appendonlydir")), "AOF directory"
    proc, r = start_redis(conf, port)
    eq(r("XRANGE", "hl:q:urgent", "-", "+")[0][1][:2], ["ref", "K7M3QX"],
       "help request back after a crash")
    shutdown(r)
    proc.wait(timeout=10)


def runbook_block(heading):
    """The first ```sh block under the README's `## N. heading`."""
    readme = read(DEPLOY, "README.md")
    m = re.search(r"^## \d+\. %s\n(.*?)(?=^## )" % re.escape(heading), readme,
                  re.M | re.S)
    assert m, "runbook section %r" % heading
    b = re.search(r"```sh\n(.*?)```", m.group(1), re.S)
    assert b, "no sh block in %r" % heading
    return b.group(1)


def test_redis_backup_and_restore_as_the_runbook_says(tmp):
    if not shutil.which("redis-cli"):
        skip("redis-cli is not installed: backup/restore not run")
        return
    port, scratch = free_port(), free_port()
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    conf = redis_conf_for(tmp, port, data)
    proc, r = start_redis(conf, port)
    r("XADD", "hl:q:urgent", "*", "ref", "BACKUP", "f:location", "Hanoi")
    r("HSET", "hl:case:BACKUP", "status", "new")
    backup = os.path.join(tmp, "backup.rdb")
    # The backup command of the runbook's cron line.
    cron = re.search(r"root (redis-cli --rdb \S+)", runbook_block("Backup of Redis"))
    assert cron, "backup line"
    p = subprocess.run(["redis-cli", "-p", str(port), "--rdb", backup],
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 0, "redis-cli --rdb: " + p.stderr)
    r("HSET", "hl:case:AFTER", "status", "new")      # not in the backup
    r.close()
    # The restore block, run as written with the host's names mapped to tmp.
    block = runbook_block("Restore of Redis")
    subs = [
        (re.compile(r"^B=.*$", re.M), "B=" + backup),
        ("systemctl stop redis-server", "stop_main"),
        ("systemctl start redis-server", "start_main"),
        ("runuser -u redis -- ", ""),
        ("-o redis -g redis ", ""),
        ("/etc/redis/redis.conf", conf),
        ("/var/lib/redis", data),
        ("6380", str(scratch)),
    ]
    for old, new in subs:
        if isinstance(old, str):
            block = replace_once(block, old, new, "runbook restore")
        else:
            assert old.search(block), old.pattern
            block = old.sub(new, block)
    script = """set -eu
redis-cli() { command redis-cli -p %(port)d "$@"; }
stop_main() { command redis-cli -p %(port)d SHUTDOWN >/dev/null 2>&1 || true
  while command redis-cli -p %(port)d ping >/dev/null 2>&1; do sleep 0.1; done; }
start_main() { redis-server %(conf)s --daemonize yes
  until command redis-cli -p %(port)d ping >/dev/null 2>&1; do sleep 0.1; done; }
%(block)s
""" % {"port": port, "conf": conf, "block": block}
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                       timeout=120, cwd=tmp)
    try:
        eq(p.returncode, 0, "restore script:\n%s\n%s" % (p.stdout, p.stderr))
        r = Redis(port)
        eq(r("HGET", "hl:case:BACKUP", "status"), "new", "restored case")
        eq(r("XRANGE", "hl:q:urgent", "-", "+")[0][1][1], "BACKUP")
        eq(r("EXISTS", "hl:case:AFTER"), 0, "the restore is the backup")
        eq(r("CONFIG", "GET", "appendonly")[1], "yes")
        assert os.path.exists(os.path.join(data, "appendonlydir",
                                           "appendonly.aof.manifest")), "new AOF"
        assert [d for d in os.listdir(data)
                if d.startswith("appendonlydir.before-restore.")], "old AOF kept"
        # The restored data is in the AOF: it survives a restart.
        shutdown(r)
        time.sleep(0.3)
        proc2, r = start_redis(conf, port)
        eq(r("HGET", "hl:case:BACKUP", "status"), "new", "restored data in the AOF")
        shutdown(r)
    finally:
        for prt in (port, scratch):
            subprocess.run(["redis-cli", "-p", str(prt), "SHUTDOWN", "NOSAVE"],
                           capture_output=True, timeout=10)


def test_sentinel_conf(tmp):
    conf = read(DEPLOY, "redis", "sentinel.conf")
    master_name = re.search(r"^sentinel monitor (\S+) ", conf, re.M).group(1)
    contains(read(ROOT, "config", "hotlined.cfg"), 'master = "%s";' % master_name,
             "hotlined.cfg's sentinel example names the same master")
    if not shutil.which("redis-sentinel"):
        skip("redis-sentinel is not installed: sentinel.conf not run")
        return
    master = RedisServer(tmp)
    port = free_port()
    conf = replace_once(conf, "\nport 26379\n", "\nport %d\n" % port, "sentinel.conf")
    conf = replace_once(conf, "bind 127.0.0.1 10.0.0.11", "bind 127.0.0.1")
    conf = replace_once(conf, "sentinel monitor hotline 10.0.0.11 6379 2",
                        "sentinel monitor hotline 127.0.0.1 %d 2" % master.port)
    conf = replace_once(conf, "pidfile /run/sentinel/redis-sentinel.pid",
                        "pidfile %s/sentinel.pid" % tmp)
    conf = replace_once(conf, "logfile /var/log/redis/redis-sentinel.log",
                        "logfile %s/sentinel.log" % tmp)
    conf = replace_once(conf, "dir /var/lib/redis", "dir " + tmp)
    path = write(os.path.join(tmp, "sentinel.conf"), conf)
    p = subprocess.Popen(["redis-sentinel", path], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _procs.append(p)
    s = Redis(port)

    def up():
        if p.poll() is not None:
            raise AssertionError("redis-sentinel exited:\n" +
                                 read(tmp, "sentinel.log"))
        try:
            return s("PING") == "PONG"
        except OSError:
            return False
    wait_for(up, 10, what="redis-sentinel")
    eq(s("SENTINEL", "get-master-addr-by-name", "hotline"),
       ["127.0.0.1", str(master.port)], "hotlined's question gets the master")
    info = s("SENTINEL", "master", "hotline")
    info = dict(zip(info[0::2], info[1::2]))
    eq(info["quorum"], "2")
    eq(info["down-after-milliseconds"], "5000")
    eq(info["failover-timeout"], "60000")
    eq(info["parallel-syncs"], "1")
    s.close()


# ---- Kannel -------------------------------------------------------------------

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"


def kannel_groups(text):
    """[(group name, {key: value})] of a Kannel config."""
    groups = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        k, v = k.strip(), v.strip()
        if v.startswith('"') and v.endswith('"'):
            v = v[1:-1]
        if k == "group":
            groups.append((v, {}))
        else:
            groups[-1][1][k] = v
    return groups


def test_kannel_conf(tmp):
    text = read(DEPLOY, "kannel", "kannel.conf")
    groups = kannel_groups(text)
    byname = {}
    for g, kv in groups:
        byname.setdefault(g, []).append(kv)
    smsc = byname["smsc"][0]
    eq(smsc["smsc"], "smpp", "an SMPP SMSC group")
    for k in ("host", "port", "smsc-username", "smsc-password"):
        assert k in smsc, "smsc group lacks " + k
    svc = byname["sms-service"][0]
    # PROTOCOLS.md: the get-url escapes hotlined's kannel-sms dialect reads,
    # on the address hotlined listens on.
    eq(svc["get-url"], "http://127.0.0.1:8080/sms/kannel?from=%p&to=%P&text=%a"
       "&id=%I&smsc=%i&coding=%c&charset=%C")
    # The Kannel end-to-end test's sms-service is the shipped one.
    import test_kannel
    theirs = dict(kannel_groups(test_kannel.CONF))
    ours = dict(svc)
    strip = re.compile(r"^http://127\.0\.0\.1:[^/]+")
    eq(strip.sub("", theirs["sms-service"]["get-url"]), strip.sub("", ours["get-url"]),
       "get-url path and escapes as in test_kannel.py")
    for k in theirs["sms-service"]:
        if k != "get-url":
            eq(ours.get(k), theirs["sms-service"][k], "sms-service %s" % k)
    user = byname["sendsms-user"][0]
    contains(read(DEPLOY, "hotlined.env.example"), "KANNEL_USER=" + user["username"])
    eq(byname["smsbox"][0]["sendsms-port"], "13013",
       "the sendsms port hotlined.cfg's alert example uses")
    if not (os.path.exists(BEARERBOX) and os.path.exists(SMSBOX)):
        skip("Kannel (bearerbox, smsbox) is not installed: kannel.conf not run")
        return
    # The whole sample, SMPP group included, pointed at a loopback port where
    # nobody answers (the SMSC is then "re-connecting", as before the
    # operator opens the link); ports and paths moved into tmp.
    ports = {"13000": free_port(), "13001": free_port(), "13013": free_port()}
    dead = free_port()
    run_text = text
    for old, new in ports.items():
        run_text = replace_once(run_text, "-port = %s" % old, "-port = %d" % new,
                                "kannel.conf")
    run_text = replace_once(run_text, "host = 203.0.113.10", "host = 127.0.0.1")
    run_text = replace_once(run_text, "port = 2775", "port = %d" % dead)
    run_text = replace_once(run_text, "/var/spool/kannel/store", tmp + "/store")
    run_text = run_text.replace("/var/log/kannel/", tmp + "/")
    os.mkdir(os.path.join(tmp, "store"))
    conf = write(os.path.join(tmp, "kannel.conf"), run_text)
    core = byname["core"][0]
    log = open(os.path.join(tmp, "kannel.out"), "ab")
    bb = subprocess.Popen([BEARERBOX, "-v", "4", conf], cwd=tmp, stdout=log,
                          stderr=log)
    _procs.append(bb)
    status_url = "http://127.0.0.1:%d/status.txt?password=%s" % (
        ports["13000"], urllib.parse.quote(core["status-password"]))

    def status():
        if bb.poll() is not None:
            raise AssertionError("bearerbox exited:\n" + read(tmp, "kannel.out"))
        try:
            return get(status_url, timeout=2)[1]
        except OSError:
            return ""
    wait_for(status, 15, what="bearerbox admin port")
    # The admin port answers before the SMSC list is filled in (uptime 0s).
    loaded = "%s[%s]" % (smsc["smsc-id"], smsc["smsc-id"])
    wait_for(lambda: loaded in status(), 15, what="the SMPP SMSC listed")
    contains(status(), loaded, "the SMPP SMSC is loaded")
    contains(status(), "SMPP:127.0.0.1:%d" % dead)
    sb = subprocess.Popen([SMSBOX, "-v", "4", conf], cwd=tmp, stdout=log,
                          stderr=log)
    _procs.append(sb)
    wait_for(lambda: "smsbox:" in status(), 15, what="smsbox connected")
    base = "http://127.0.0.1:%d/cgi-bin/sendsms?" % ports["13013"]
    q = {"username": user["username"], "password": user["password"],
         "to": "+84900000001", "text": "Hotline: new case K7M3QX (urgent)",
         "charset": "UTF-8", "coding": "2"}

    def sendsms(**kw):
        try:
            return get(base + urllib.parse.urlencode(dict(q, **kw)), timeout=5)[:2]
        except OSError:
            return None
    wait_for(lambda: sendsms(), 10, what="smsbox sendsms port")
    st, body = sendsms()
    assert (st, body) in ((202, "0: Accepted for delivery"),
                          (202, "3: Queued for later delivery")), (st, body)
    st, body = sendsms(password="wrong")
    eq(st, 403, "wrong sendsms password: %s" % body)
    bb.send_signal(signal.SIGTERM)
    sb.send_signal(signal.SIGTERM)


# ---- Prometheus ---------------------------------------------------------------

def test_prometheus_rules(tmp):
    rules = read(DEPLOY, "prometheus", "hotline.rules.yml")
    scrape = read(DEPLOY, "prometheus", "scrape.yml")
    # Every metric name hotlined's sources set or declare.
    served = set()
    for d in ("gateway", "staff", "core"):
        src = os.path.join(ROOT, d)
        for f in os.listdir(src):
            if f.endswith(".c"):
                served |= set(re.findall(r'"(hotline_[a-z_]+)"',
                                         read(src, f)))
    assert served, "metric names in gateway/, staff/, core/"
    used = set(re.sub(r"_(bucket|sum|count)$", "", m)
               for m in re.findall(r"\b(hotline_[a-z_]+)", rules))
    assert len(used) >= 6, used
    eq(sorted(used - served), [], "rules use metrics hotlined does not serve")
    contains(rules, 'up{job="hotline"}')
    contains(scrape, "job_name: hotline")
    contains(scrape, "hotline.rules.yml")
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "rules",
                            os.path.join(DEPLOY, "prometheus", "hotline.rules.yml")],
                           capture_output=True, text=True, timeout=60)
        eq(p.returncode, 0, "promtool: " + p.stdout + p.stderr)
    else:
        skip("promtool is not installed: rule expressions not parsed by Prometheus")
    try:
        import yaml
    except ImportError:
        skip("python3-yaml is not installed: YAML structure not checked")
        return
    doc = yaml.safe_load(rules)
    names = set()
    for g in doc["groups"]:
        for rule in g["rules"]:
            for k in ("alert", "expr", "labels", "annotations"):
                assert k in rule, "rule %r lacks %s" % (rule.get("alert"), k)
            assert rule["labels"]["severity"] in ("critical", "warning", "info")
            assert rule["annotations"]["summary"]
            names.add(rule["alert"])
    for n in ("HotlineDown", "HotlineRedisDown", "HotlineSpoolNotDraining"):
        assert n in names, n
    sc = yaml.safe_load(scrape)
    eq(sc["scrape_configs"][0]["job_name"], "hotline")


# ---- containers ---------------------------------------------------------------

def test_container_files(tmp):
    cf = read(DEPLOY, "Containerfile")
    # Every file the image copies from the repository exists.
    for m in re.finditer(r"^COPY (?!--from)(.+)$", cf, re.M):
        srcs = m.group(1).split()[:-1]
        for s in srcs:
            assert os.path.exists(os.path.join(ROOT, s)), "COPY source missing: " + s
    # The config edit in the image matches the shipped config's line.
    sed = re.search(r"s\|\^(menus = \"config/menus\";)\|", cf)
    assert sed and re.search("^" + re.escape(sed.group(1)), read(ROOT, "config",
                                                                  "hotlined.cfg"), re.M)
    contains(cf, '"--listen", "0.0.0.0:8080"')
    contains(cf, "EXPOSE 8080")
    contains(cf, "USER hotline")
    contains(cf, "VOLUME /var/lib/hotline")
    # Build packages = install-deps.sh's libraries.
    deps = read(DEPLOY, "install-deps.sh")
    for pkg in ("libevent-dev", "libhiredis-dev", "libconfig-dev",
                "libcurl4-openssl-dev", "libjansson-dev", "libssl-dev"):
        contains(deps, pkg)
        contains(cf, pkg, "Containerfile builds with " + pkg)
    runtime = cf[cf.index("# ---- run:"):]
    if os.path.exists(HOTLINED) and shutil.which("ldd") and shutil.which("dpkg"):
        # Every Debian package whose library hotlined links is in the image.
        out = subprocess.run(["ldd", HOTLINED], capture_output=True, text=True,
                             timeout=30).stdout
        libs = re.findall(r"=> (/\S+)", out)
        base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1",
                "libgnutls30", "libidn2-0", "libunistring2", "libp11-kit0",
                "libtasn1-6", "libnettle8", "libhogweed6", "libgmp10",
                "libffi8", "libkrb5-3", "libk5crypto3", "libkrb5support0",
                "libcom-err2", "libkeyutils1", "libgssapi-krb5-2", "libldap-2.5-0",
                "libsasl2-2", "libsasl2-modules-db", "libdb5.3", "libnghttp2-14",
                "librtmp1", "libssh2-1", "libpsl5", "libbrotli1", "libbrotlicommon1",
                "libbrotlidec1", "libcrypt1", "libselinux1", "libpcre2-8-0"}
        for lib in libs:
            real = os.path.realpath(lib)
            p = subprocess.run(["dpkg", "-S", real], capture_output=True,
                               text=True, timeout=30)
            if p.returncode != 0:
                p = subprocess.run(["dpkg", "-S", lib], capture_output=True,
                                   text=True, timeout=30)
            if p.returncode != 0:
                continue
            pkg = p.stdout.split(":")[0]
            # The sanitizer runtimes come with a SANITIZE= test build, never
            # with the image's release build.
            if pkg in base or re.match(r"lib(asan|ubsan|lsan|tsan)\d*$", pkg):
                continue
            assert re.search(r"\b%s\b" % re.escape(pkg), runtime), \
                "hotlined links %s (package %s), not in the image" % (lib, pkg)
    else:
        skip("hotlined is not built: runtime packages not checked against ldd")
    compose = read(DEPLOY, "compose.yaml")
    for ref in re.findall(r"- \./([^:\s]+):", compose):
        assert os.path.exists(os.path.join(DEPLOY, ref)), "compose mounts " + ref
    contains(compose, "dockerfile: deploy/Containerfile")
    try:
        import yaml
    except ImportError:
        skip("python3-yaml is not installed: compose.yaml structure not checked")
    else:
        doc = yaml.safe_load(compose)
        eq(sorted(doc["services"]), ["hotlined", "redis"])
        hl = doc["services"]["hotlined"]
        eq(os.path.exists(os.path.join(DEPLOY, hl["build"]["context"],
                                       hl["build"]["dockerfile"])), True)
        eq(hl["command"], ["--redis", "redis:6379"], "hotlined finds the redis service")
        eq(hl["ports"], ["127.0.0.1:8080:8080"], "published on loopback only")
        assert "hotline-state:/var/lib/hotline" in hl["volumes"], "spool volume"
        assert "/usr/local/etc/redis/redis.conf" in doc["services"]["redis"]["command"]
    skip("no image is built here (needs a container engine and the network)")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
