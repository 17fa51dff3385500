"""The front door (issue 12): what a hostile client can do to hotlined's
HTTP front before any dialect sees a request.

- slow headers / slow body: closed at http.header_timeout / body_timeout;
- one socket pipelining requests without reading a reply: hotlined's
  memory stays bounded (measured), replies come in order;
- more connections than file descriptors (hotlined under a low
  RLIMIT_NOFILE): no accept() spin (CPU time and log lines bounded), and a
  caller is served as soon as connections close;
- malformed framing (conflicting or signed Content-Length,
  Transfer-Encoding with Content-Length, bad header names or values, bare
  LF, bad chunk sizes, ...): 400 and the connection closed, nothing filed.

Loopback only; every loop is bounded in count and time.
"""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, RedisServer, Hotlined, get, eq,  # noqa: E402
                     run, wait_for)

AT = "/ussd/africastalking"
FORM = "application/x-www-form-urlencoded"
BODY = ("sessionId=F1&serviceCode=%2A384%2A123%23&phoneNumber=%2B84900000009"
        "&networkCode=45204&text=")


def config(tmp, **http):
    """The shipped config with settings of its http group replaced."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    for key, value in http.items():
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("  %s = " % key):
                lines[i] = "  %s = %s;" % (key, value)
                break
        else:
            raise AssertionError("http.%s not in the shipped config" % key)
        text = "\n".join(lines)
    path = os.path.join(tmp, "front.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def post(path=AT, body=BODY, extra=b"", close=False):
    if isinstance(body, str):
        body = body.encode()
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n" % (path, FORM, len(body))).encode()
    if close:
        head += b"Connection: close\r\n"
    return head + extra + b"\r\n" + body


def responses(data):
    """Splits bytes into [(status, body)] of complete responses."""
    out = []
    while data.startswith(b"HTTP/1."):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v.strip())
        if len(rest) < n:
            break
        out.append((int(head.split(b" ", 2)[1]), rest[:n]))
        data = rest[n:]
    return out


def exchange(port, data, timeout=5.0):
    """Sends data; reads until the server closes or `timeout` passes.
    Returns (bytes read, closed by the server?)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf, closed = b"", False
    end = time.time() + timeout
    try:
        s.sendall(data)
        while time.time() < end:
            s.settimeout(max(0.05, end - time.time()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            buf += chunk
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    finally:
        s.close()
    return buf, closed


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def asan_env():
    """ASan keeps freed memory in a quarantine (256 MB by default), which an
    RSS bound would measure: keep it small. No effect on other builds."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=8"}


# ---- deadlines ---------------------------------------------------------------

def dribble(port, parts, limit_s):
    """Sends parts one every 0.5 s; returns (seconds until the server closed
    the connection or None, bytes read)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.time()
    buf = b""
    try:
        for part in parts:
            if time.time() - t0 > limit_s:
                return None, buf
            try:
                s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                return time.time() - t0, buf
            s.settimeout(0.5)
            try:
                chunk = s.recv(4096)
                if not chunk:
                    return time.time() - t0, buf
                buf += chunk
                if buf.startswith(b"HTTP/1.1 408"):
                    s.settimeout(2)
                    while s.recv(4096):
                        pass
                    return time.time() - t0, buf
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.time() - t0, buf
        return None, buf
    finally:
        s.close()


def test_slow_request_closed_at_deadline(tmp):
    redis = RedisServer(tmp)
    # The idle timeout (30 s) is far beyond the deadlines: only they can
    # close these connections in time.
    hl = Hotlined(tmp, redis.port, config=config(
        tmp, timeout=30, header_timeout=2, body_timeout=2))
    hl.wait_ready()
    # Headers: one byte every 0.5 s, for up to 8 s.
    head = post(close=True).split(b"\r\n\r\n")[0]
    took, seen = dribble(hl.port, [bytes([b]) for b in head], 8)
    print("  slow headers closed after %s s (%r)" %
          (took and round(took, 1), seen[:30]))
    assert took is not None, "slow headers never closed (8 s)"
    assert 1.5 <= took <= 4.5, took
    # Body: the head at once, then a body byte every 0.5 s.
    body = b"x=" + b"1" * 40
    req = post(body=body)
    headpart = req[:len(req) - len(body)]
    took, seen = dribble(hl.port, [headpart] + [bytes([b]) for b in body], 8)
    print("  slow body closed after %s s" % (took and round(took, 1)))
    assert took is not None, "slow body never closed (8 s)"
    assert 1.5 <= took <= 4.5, took
    # A normal caller is still served.
    eq(get(hl.url("/healthz"))[0], 200)
    log = hl.log()
    assert "not complete within 2 s" in log, log[-2000:]


# ---- pipelining ----------------------------------------------------------------

def test_pipelining_flood_memory_bounded(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, env=asan_env())
    hl.wait_ready()
    # In order, one at a time.
    data, closed = exchange(hl.port, (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" + post(close=True)), 5)
    got = responses(data)
    eq([st for st, _ in got], [200, 404, 200], "pipelined replies in order")
    assert got[2][1].startswith(b"CON "), got[2]
    # The flood: POSTs as fast as the socket takes them, for 4 s or 64 MB,
    # never reading a reply.
    rss0 = rss_kb(hl.proc.pid)
    one = post(body=BODY.replace("F1", "F2"))
    chunk = one * 256
    s = socket.create_connection(("127.0.0.1", hl.port))
    s.setblocking(False)
    sent, t0 = 0, time.time()
    while time.time() - t0 < 4 and sent < (64 << 20):
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    time.sleep(0.5)
    rss1 = rss_kb(hl.proc.pid)
    print("  flood: %.1f MB sent in %.1f s (%d requests); RSS %.1f -> %.1f MB"
          % (sent / 1e6, time.time() - t0, sent // len(one), rss0 / 1024,
             rss1 / 1024))
    # Before the front door hotlined read it all: RSS grew by what was sent.
    assert rss1 - rss0 < 24 * 1024, "RSS grew by %d KiB" % (rss1 - rss0)
    # Others are served meanwhile; the flooder's replies are all 200.
    eq(get(hl.url("/healthz"))[0], 200)
    s.setblocking(True)
    s.settimeout(5)
    buf = b""
    try:
        while len(buf) < 64 * 1024:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    s.close()
    got = responses(buf)
    assert len(got) >= 10 and all(st == 200 for st, _ in got), got[:3]
    eq(hl.proc.poll(), None, "hotlined still running")


# ---- file descriptors -------------------------------------------------------------

def limit_nofile(n):
    def f():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return f


def fd_siege(tmp, hl, nconn, window=3.0):
    """Opens nconn connections that each send a header byte now and then,
    measures hotlined's CPU time and new log lines over `window` seconds,
    closes them all and checks a caller is then served."""
    socks = []
    for _ in range(nconn):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", hl.port))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(0.3)
    lines0 = hl.log().count("\n")
    cpu0, t0 = cpu_s(hl.proc.pid), time.time()
    while time.time() - t0 < window:
        for s in socks:
            try:
                s.send(b"P")
            except OSError:
                pass
        time.sleep(0.5)
    cpu = cpu_s(hl.proc.pid) - cpu0
    lines = hl.log().count("\n") - lines0
    print("  %d connections: %.2f s CPU and %d log lines in %.1f s" %
          (nconn, cpu, lines, time.time() - t0))
    # A caller waiting in the backlog while they are open...
    caller = socket.create_connection(("127.0.0.1", hl.port), timeout=10)
    caller.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    for s in socks:
        s.close()
    # ... is served once they are closed.
    buf = b""
    try:
        while True:
            chunk = caller.recv(4096)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    caller.close()
    assert buf.startswith(b"HTTP/1.1 200"), buf[:100]
    assert cpu < 0.3 * window, "hotlined used %.2f s CPU in %.1f s" % (cpu, window)
    assert lines < 20, "%d log lines in %.1f s" % (lines, window)
    eq(hl.proc.poll(), None, "hotlined still running")


def test_fd_limit_no_spin(tmp):
    redis = RedisServer(tmp)
    # The cap from the fd limit: 256 - 128 = 128 connections.
    hl = Hotlined(tmp, redis.port, preexec_fn=limit_nofile(256),
                  config=config(tmp, header_timeout=30, timeout=30))
    hl.wait_ready()
    fd_siege(tmp, hl, 300)
    log = hl.log()
    assert "at most 128 connections" in log, log[-1000:]
    assert "the cap (http.max_connections): not accepting" in log, log[-1000:]
    m = get(hl.url("/metrics"))[1]
    assert 'hotline_http_accept_paused_total{reason="cap"}' in m, m
    assert "hotline_http_max_connections 128" in m, m


def test_fd_exhaustion_backs_off(tmp):
    redis = RedisServer(tmp)
    # A cap set above what the fd limit allows: accept() meets EMFILE,
    # and must pause instead of spinning.
    hl = Hotlined(tmp, redis.port, preexec_fn=limit_nofile(256),
                  config=config(tmp, max_connections=1000, header_timeout=30,
                                timeout=30))
    hl.wait_ready()
    fd_siege(tmp, hl, 300)
    log = hl.log()
    assert "Too many open files" in log, log[-1000:]
    m = get(hl.url("/metrics"))[1]
    assert 'hotline_http_accept_paused_total{reason="error"}' in m, m


# ---- strict parsing -----------------------------------------------------------------

def raw_post(headers, body=BODY, path=AT, eol=b"\r\n"):
    if isinstance(body, str):
        body = body.encode()
    lines = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: x",
             b"Content-Type: " + FORM.encode()] + headers
    return eol.join(lines) + eol + eol + body


def chunked(chunks, trailer=b""):
    return raw_post([b"Transfer-Encoding: chunked"],
                    body=b"".join(chunks) + b"0\r\n" + trailer + b"\r\n")


def malformed():
    n = len(BODY)
    c = lambda v: ("Content-Length: %s" % v).encode()  # noqa: E731
    return [
        ("two different Content-Length", raw_post([c(n), c(n + 5)], BODY + "&x=1")),
        ("Content-Length: +N", raw_post([c("+%d" % n)])),
        ("Content-Length: -N", raw_post([c("-%d" % n)])),
        ("Content-Length with a space inside", raw_post([c("%d %d" % (n // 10, n % 10))])),
        ("Content-Length as a list", raw_post([c("%d, %d" % (n, n))])),
        ("Content-Length in hex", raw_post([c(hex(n))])),
        ("Transfer-Encoding with Content-Length",
         raw_post([b"Transfer-Encoding: chunked", c(n)],
                  body=b"%x\r\n%s\r\n0\r\n\r\n" % (n, BODY.encode()))),
        ("Transfer-Encoding: gzip", raw_post([b"Transfer-Encoding: gzip", c(n)])),
        ("Transfer-Encoding twice",
         raw_post([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
                  body=b"%x\r\n%s\r\n0\r\n\r\n" % (n, BODY.encode()))),
        ("space in a header name", raw_post([c(n), b"X Forwarded: 1"])),
        ("space before the colon", raw_post([b"Content-Length : %d" % n])),
        ("NUL in a header value", raw_post([c(n), b"X-A: a\x00b"])),
        ("control character in a header value", raw_post([c(n), b"X-A: a\x01b"])),
        ("DEL in a header value", raw_post([c(n), b"X-A: a\x7fb"])),
        ("folded header line", raw_post([c(n), b"X-A: a", b" b"])),
        ("bare LF line ends", raw_post([c(n)], eol=b"\n")),
        ("one bare LF header line",
         raw_post([c(n)]).replace(b"Host: x\r\n", b"Host: x\n")),
        ("bare CR", raw_post([c(n)]).replace(b"Host: x\r\n", b"Host: x\rX-A: 1\r\n")),
        ("header without a colon", raw_post([c(n), b"X-A"])),
        ("bad HTTP version", raw_post([c(n)]).replace(b"HTTP/1.1", b"HTTP/1.2", 1)),
        ("tab in the request line", raw_post([c(n)]).replace(b"POST ", b"POST\t", 1)),
        ("GET with a body",
         b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
        ("malformed chunk size", chunked([b"zz\r\n" + BODY.encode() + b"\r\n"])),
        ("chunk size with a sign", chunked([b"+%x\r\n%s\r\n" % (n, BODY.encode())])),
        ("chunk extension", chunked([b"%x;a=b\r\n%s\r\n" % (n, BODY.encode())])),
        ("chunk size of 16 hex digits", chunked([b"1" + b"0" * 15 + b"\r\nab\r\n"])),
        ("chunk not ended by CRLF", chunked([b"%x\r\n%sXY" % (n, BODY.encode())])),
        ("trailer field", chunked([b"%x\r\n%s\r\n" % (n, BODY.encode())],
                                  trailer=b"Content-Length: 1\r\n")),
    ]


def test_malformed_requests_400_and_closed(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    r = redis.client()
    bad = []
    for name, req in malformed():
        # A valid request pipelined behind it must not be answered either.
        data, closed = exchange(hl.port, req + post(body=BODY.replace("F1", "F3")), 4)
        got = responses(data)
        print("  %-40s -> %s%s" % (name, [st for st, _ in got],
                                    " closed" if closed else " OPEN"))
        if [st for st, _ in got] != [400] or not closed:
            bad.append("%s: %s %r closed=%s" % (name, [st for st, _ in got],
                                                data[:60], closed))
    eq(bad, [], "malformed requests answered 400 and closed")
    eq(r.scan_all("hl:s:*"), [], "no session from any malformed request")
    # Well-formed requests of the same shapes are served.
    n = len(BODY)
    good = [
        ("Content-Length twice, equal", raw_post([b"Content-Length: %d" % n] * 2)),
        ("chunked, two chunks", chunked([b"%x\r\n%s\r\n" % (5, BODY[:5].encode()),
                                         b"%X\r\n%s\r\n" % (n - 5, BODY[5:].encode())])),
        ("value with tab and UTF-8", raw_post([b"Content-Length: %d" % n,
                                               b"X-A: a\tb \xc3\xa9"])),
        ("HTTP/1.0", raw_post([b"Content-Length: %d" % n]).replace(
            b"HTTP/1.1", b"HTTP/1.0", 1)),
    ]
    for name, req in good:
        data, _ = exchange(hl.port, req.replace(b"Host: x", b"Host: x\r\nConnection: close", 1), 4)
        got = responses(data)
        print("  %-40s -> %s" % (name, [st for st, _ in got]))
        eq([st for st, _ in got], [200], name)
    m = get(hl.url("/metrics"))[1]
    assert 'hotline_http_rejected_total{reason="conflicting Content-Length"} 1' in m, m
    eq(hl.proc.poll(), None, "hotlined still running")


# ---- body sizes -----------------------------------------------------------------

def head_only(path, length, chunk_sizes=None):
    """A POST head declaring `length` body bytes (or chunked), no body."""
    if chunk_sizes:
        return (("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n" % (path, FORM)).encode() +
                b"".join(b"%x\r\n" % n + b"a" * n + b"\r\n" for n in chunk_sizes))
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (path, FORM, length)).encode()


def test_big_bodies_only_for_uploads(tmp):
    """http.max_body (16 KiB) on every path; console.upload_max only under
    /api/operator/, and FRONT_UPLOADS_MAX (4) of those at once: the rest are
    refused from the head, before a byte of their body is read."""
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, config=config(tmp, body_timeout=3))
    hl.wait_ready()
    t0 = time.time()
    for path in (AT, "/api/cases", "/sms/kannel", "/api/operatorx"):
        data, closed = exchange(hl.port, head_only(path, 500000), 2.5)
        print("  %-20s Content-Length 500000 -> %s%s" % (
            path, [st for st, _ in responses(data)], " closed" if closed else ""))
        eq([st for st, _ in responses(data)], [413], path)
        assert closed, path
    assert time.time() - t0 < 2.0, "413 waited for the body"
    # Chunked: refused once the chunk sizes add up past the limit.
    data, closed = exchange(hl.port, head_only(AT, 0, [10000, 10000]), 2.5)
    eq([st for st, _ in responses(data)], [413], "chunked past max_body")
    # An operator upload's head is accepted (its body is awaited: the body
    # deadline ends it); a fifth one at once is refused.
    socks = []
    try:
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", hl.port), timeout=3)
            s.sendall(head_only("/api/operator/check", 500000) + b"x" * 1000)
            socks.append(s)
        time.sleep(0.3)
        data, closed = exchange(hl.port, head_only("/api/operator/check", 500000), 2)
        print("  fifth upload at once -> %s" % [st for st, _ in responses(data)])
        eq([st for st, _ in responses(data)], [503], "fifth upload")
        for s in socks:
            s.settimeout(0.2)
            try:
                eq(s.recv(100), b"", "an accepted upload answered before its body")
            except socket.timeout:
                pass
    finally:
        for s in socks:
            s.close()
    # The four are gone: an upload is accepted again (401: not signed in).
    time.sleep(0.3)
    body = b"menu x { }"
    req = head_only("/api/operator/check", len(body)).replace(
        b"Host: x", b"Host: x\r\nConnection: close", 1) + body
    data, _ = exchange(hl.port, req, 3)
    eq([st for st, _ in responses(data)], [401], "a small upload after")
    m = get(hl.url("/metrics"))[1]
    assert 'hotline_http_rejected_total{reason="body too large"} 5' in m, m
    eq(get(hl.url("/healthz"))[0], 200)


if __name__ == "__main__":
    run([("slow_request_closed_at_deadline", test_slow_request_closed_at_deadline),
         ("pipelining_flood_memory_bounded", test_pipelining_flood_memory_bounded),
         ("fd_limit_no_spin", test_fd_limit_no_spin),
         ("fd_exhaustion_backs_off", test_fd_exhaustion_backs_off),
         ("malformed_requests_400_and_closed", test_malformed_requests_400_and_closed),
         ("big_bodies_only_for_uploads", test_big_bodies_only_for_uploads)])
