"""`make bench`: hotlined against the ceiling of any evhttp server on this
machine, in one run.

- ceiling: tests/bench/ceiling.c answers every POST with a constant screen.
- hotlined: the shipped config and menu (abuse limits off: the load comes
  from few synthetic numbers), a real redis-server, AOF on (everysec).
- load: wrk, 2 threads, 50 connections, tests/bench/walk.lua walking whole
  Africa's Talking help sessions (each ends in a filed help request).
Rounds alternate ceiling / hotlined (ROUNDS, SECONDS each); figures are
medians. Then: Redis memory per live session (sessions left mid-walk),
hotlined's RSS, USSD p99 while the alert webhook answers after 2 s, and
the latency of a "Check a recruiter" lookup step (one request, sequential,
against the step before it that looks nothing up).

Prints every figure and writes them to $B/bench/results.txt.
Everything runs on loopback; every run is bounded by wrk's duration.
"""
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (RedisServer, Hotlined, free_port, wait_for, get, ROOT,  # noqa: E402
                     BIN, HOTLINECTL, PEPPER, _cleanup)

ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS = int(os.environ.get("SECONDS", "10"))
CONNS = int(os.environ.get("CONNS", "50"))
THREADS = int(os.environ.get("THREADS", "2"))
LIVE = int(os.environ.get("LIVE_SESSIONS", "2000"))
LOOKUPS = int(os.environ.get("LOOKUPS", "300"))
RESULT = re.compile(r"RESULT rps=([\d.]+) p50_us=(\d+) p99_us=(\d+) "
                    r"requests=(\d+) errors=(\d+) non2xx=(\d+)")


def bench_config(tmp, webhook_port=None):
    """The shipped config with abuse limits off and quiet logs; optionally an
    `urgent` queue whose webhook points at a local (slow) receiver."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text = re.sub(r"limits = \{.*?\n\};", "limits = { sessions_per_hour = 0; "
                  "requests_per_day = 0; per_address_per_minute = 0; };",
                  text, flags=re.S)
    text = text.replace('log_level = "info";', 'log_level = "warn";')
    if webhook_port:
        text = re.sub(r"queues = \(.*?\n\);", (
            'queues = ( { name = "urgent"; alerts = ( { type = "webhook"; '
            'url = "http://127.0.0.1:%d/hook"; secret = "bench-secret-0123456789"; } ); } );'
            % webhook_port), text, flags=re.S)
    path = os.path.join(tmp, "bench-%s.cfg" % ("hook" if webhook_port else "plain"))
    with open(path, "w") as f:
        f.write(text)
    return path


def wrk(url, seconds=SECONDS):
    out = subprocess.run(
        ["wrk", "-t%d" % THREADS, "-c%d" % CONNS, "-d%ds" % seconds,
         "--timeout", "5s", "-s", os.path.join(HERE, "walk.lua"), url],
        capture_output=True, text=True, timeout=seconds + 60)
    m = RESULT.search(out.stdout)
    if not m:
        raise RuntimeError("wrk gave no result:\n%s\n%s" % (out.stdout, out.stderr))
    rps, p50, p99, n, err, non2xx = m.groups()
    return {"rps": float(rps), "p50_ms": int(p50) / 1000.0,
            "p99_ms": int(p99) / 1000.0, "requests": int(n),
            "errors": int(err), "non2xx": int(non2xx)}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def used_memory(r):
    info = r("INFO", "memory")
    return int(re.search(r"used_memory:(\d+)", info).group(1))


def live_sessions(hl, n):
    """Leaves n sessions mid-walk (language chosen, on the main menu)."""
    conn = http.client.HTTPConnection("127.0.0.1", hl.port, timeout=10)
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    for i in range(n):
        for text in ("", "2"):
            body = ("sessionId=live-%d&serviceCode=%%2A384%%2A123%%23&phoneNumber="
                    "%%2B98%09d&networkCode=45204&text=%s" % (i, i, text))
            conn.request("POST", "/ussd/africastalking", body, hdr)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError("live session step: %d" % resp.status)
    conn.close()


class SlowHook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(2.0)
        SlowHook.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def step_ms(port, session, text):
    """One AT USSD request; its round trip in ms."""
    body = ("sessionId=%s&serviceCode=*384*123%%23&phoneNumber=%%2B99100000001"
            "&text=%s" % (session, text.replace(" ", "+")))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    t0 = time.perf_counter()
    c.request("POST", "/ussd/africastalking", body,
              {"Content-Type": "application/x-www-form-urlencoded"})
    out = c.getresponse().read().decode()
    ms = (time.perf_counter() - t0) * 1000.0
    c.close()
    return ms, out


def lookup_latency(hl, cfg, redis_port, n=LOOKUPS):
    """p50 / p99 of a lookup step (the caller's typed name, found in the
    sample list) and of the step before it (no lookup), n each."""
    e = dict(os.environ, HOTLINE_PEPPER=PEPPER)
    subprocess.run([HOTLINECTL, "lists", "-c", cfg, "--redis",
                    "127.0.0.1:%d" % redis_port, "import", "licensed",
                    os.path.join(ROOT, "config", "lists", "licensed.sample.csv"),
                    "--key", "company,licence"], env=e, check=True,
                   capture_output=True, timeout=60)
    plain, look = [], []
    for i in range(n):
        sid = "lk-%d" % i
        step_ms(hl.port, sid, "")
        step_ms(hl.port, sid, "2")
        step_ms(hl.port, sid, "2*2")
        plain.append(step_ms(hl.port, sid, "2*2*1")[0])
        ms, out = step_ms(hl.port, sid, "2*2*1*example manpower alpha")
        if "on the licensed list" not in out:
            raise AssertionError("lookup did not find the sample: %r" % out)
        look.append(ms)

    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(q * len(v)))]
    return pct(plain, 0.5), pct(plain, 0.99), pct(look, 0.5), pct(look, 0.99)


def median(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    import tempfile
    tmp = tempfile.mkdtemp(prefix="hotline-bench-")
    lines = []

    def say(s):
        print(s, flush=True)
        lines.append(s)

    redis = RedisServer(tmp)
    r = redis.client()
    r("CONFIG", "SET", "appendfsync", "everysec")
    cfg = bench_config(tmp)
    hl = Hotlined(tmp, redis.port, config=cfg, name="bench")
    hl.wait_ready()
    cport = free_port()
    ceiling = subprocess.Popen([os.path.join(BIN, "bench", "ceiling"),
                                "127.0.0.1", str(cport)])
    try:
        wait_for(lambda: _up(cport), 5, what="ceiling server")
        cu = "http://127.0.0.1:%d/ussd/africastalking" % cport
        hu = hl.url("/ussd/africastalking")
        wrk(cu, 2)
        wrk(hu, 2)
        ceil_rows, hl_rows = [], []
        for i in range(ROUNDS):
            c = wrk(cu)
            h = wrk(hu)
            ceil_rows.append(c)
            hl_rows.append(h)
            say("round %d: ceiling %.0f req/s p50 %.2f ms p99 %.2f ms | "
                "hotlined %.0f req/s p50 %.2f ms p99 %.2f ms (errors %d, non-2xx %d)"
                % (i + 1, c["rps"], c["p50_ms"], c["p99_ms"], h["rps"],
                   h["p50_ms"], h["p99_ms"], h["errors"], h["non2xx"]))
        rss = rss_kb(hl.proc.pid)
        forwards = r("XLEN", "hl:q:urgent")
        lk = lookup_latency(hl, cfg, redis.port)
        ratio = median(hl_rows, "rps") / median(ceil_rows, "rps")
        r("FLUSHALL")
        time.sleep(0.2)
        base = used_memory(r)
        live_sessions(hl, LIVE)
        per_session = (used_memory(r) - base) / float(LIVE)
        nkeys = r("DBSIZE")
        hl.stop()

        hook = ThreadingHTTPServer(("127.0.0.1", 0), SlowHook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        hl2 = Hotlined(tmp, redis.port, config=bench_config(tmp, hook.server_address[1]),
                       name="bench-hook")
        hl2.wait_ready()
        wrk(hl2.url("/ussd/africastalking"), 2)
        slow = wrk(hl2.url("/ussd/africastalking"))
        hl2.stop()
        hook.shutdown()

        base_p99 = median(hl_rows, "p99_ms")
        say("")
        say("figures (median of %d rounds, wrk -t%d -c%d -d%ds, tests/bench/walk.lua):"
            % (ROUNDS, THREADS, CONNS, SECONDS))
        say("  ceiling requests/s          %.0f" % median(ceil_rows, "rps"))
        say("  ceiling p50 / p99           %.2f ms / %.2f ms" % (median(ceil_rows, "p50_ms"), median(ceil_rows, "p99_ms")))
        say("  hotlined requests/s         %.0f" % median(hl_rows, "rps"))
        say("  hotlined p50 / p99          %.2f ms / %.2f ms" % (median(hl_rows, "p50_ms"), base_p99))
        say("  ratio hotlined / ceiling    %.2f   (target >= 0.60)" % ratio)
        say("  help requests filed         %s" % forwards)
        say("  Redis bytes / live session  %.0f   (target <= 256; %d sessions, %d keys)" % (per_session, LIVE, nkeys))
        say("  hotlined RSS                %.1f MB (target <= 16)" % (rss / 1024.0))
        say("  p99, webhook answering in 2 s  %.2f ms vs %.2f ms: %+.1f %% (target < 10 %%; %d webhook calls)"
            % (slow["p99_ms"], base_p99, 100.0 * (slow["p99_ms"] - base_p99) / base_p99, SlowHook.hits))
        say("  lookup step p50 / p99       %.2f ms / %.2f ms vs %.2f ms / %.2f ms "
            "for the step before it (%d sequential, sample list)"
            % (lk[2], lk[3], lk[0], lk[1], LOOKUPS))
        os.makedirs(os.path.join(BIN, "bench"), exist_ok=True)
        with open(os.path.join(BIN, "bench", "results.txt"), "w") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S UTC\n", time.gmtime()))
            f.write("\n".join(lines) + "\n")
        print("written to %s" % os.path.join(BIN, "bench", "results.txt"))
    finally:
        ceiling.terminate()
        _cleanup()


def _up(port):
    try:
        return get("http://127.0.0.1:%d/" % port)[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    main()
