"""`make bench`: hotlined against the ceiling of any evhttp server on this
machine, and how its cost grows, in one run (issue 17, item 4).

Servers (loopback only, one redis-server with the AOF on for all, fsync
REDIS_FSYNC):
- ceiling: tests/bench/ceiling.c answers every POST with a constant screen;
- ceiling+1rt: the same, replying only after one trivial EVALSHA (hiredis
  async on the same loop): the limit of a one-Redis-round-trip design;
- hotlined w=1 and w=CORES: the shipped config and menus (abuse limits off:
  the load comes from few synthetic numbers) with `workers = 1` and
  `workers = ` the core count.
Load: wrk, THREADS threads, CONNS connections, tests/bench/walk.lua walking
whole Africa's Talking help sessions (each ends in a filed help request).

Figures, one function each (fig_*; main() runs them in order):
  throughput  ROUNDS rounds alternating the four servers, SECONDS each:
              medians of req/s, p50/p99, CPU µs per request of the server
              (its workers included) and of redis-server during the same
              wrk run (utime + stime from /proc over requests: the figure
              that holds on a shared machine), hotlined's ratio to both
              ceilings, RSS of every hotlined process (children listed)
  lookup      a "Check a recruiter" lookup step against the step before it
  sessions    Redis bytes per live session (LIVE_SESSIONS left mid-walk)
  scale       req/s and p99 with SCALE live sessions in Redis (the keys of a
              real session, DUMPed, copied into an AOF base file that Redis
              loads at start, TTL 10 min; one Redis + hotlined per count,
              ROUNDS rounds alternating)
  menus       load + check time of generated menus of MENU_SIZES nodes
  longwalk    a WALK_STEPS-step Africa's Talking walk (the history grows
              each step): time per step at steps 1, 10 and WALK_STEPS
  alerts      webhook deliveries per second to a local counting receiver
              while USSD load runs
  slowalert   USSD p99 while the alert webhook answers after 2 s, against
              the plain hotlined, ROUNDS rounds alternating
  rediscost   Redis's own cost of the walk (issue 17): redis-server CPU
              (utime+stime, /proc), INFO commandstats (EVALSHA calls,
              commands the scripts ran, their usec) and AOF bytes per
              request over a SECONDS wrk run of hotlined w=1, ROUNDS
              rounds, medians;
              BASE_HOTLINED=path runs another build alternating with it
  consoles    USSD p99, req/s and CPU per request of hotlined and Redis with
              CONSOLES staff consoles' live queues open (GET /api/events,
              each getting every case event, read by tests/bench/consoles:
              one epoll process, no process per console) against none
              open: CONSOLE_PAIRS pairs of CONSOLE_SECONDS rounds, the
              median of the pairs' ratios; then the live queue's CPU cost
              alone (case events appended to the stream, no wrk)
Everything is printed and written to $B/bench/results.txt.

Options (environment variables; defaults keep one run under 5 minutes):
  ROUNDS=3          rounds of the throughput figure (medians over them)
  SECONDS=5         wrk seconds per server per round (throughput)
  CONNS=50 THREADS=2  wrk connections and threads
  WORKERS=cores     `workers` of the second hotlined (default os.cpu_count())
  LOOKUPS=300       sequential lookup walks
  LIVE_SESSIONS=2000  sessions left mid-walk for the bytes figure
  SCALE=1000,100000,1000000  live-session counts of the scale figure
  SCALE_SECONDS=2   wrk seconds per scale row and round
  MENU_SIZES=10,100,512,1000,10000  nodes of the generated menus (hotlined
                    refuses more than 512 nodes or 1 MB: timed with the
                    caps lifted, hotlinectl's verdict shown)
  MENU_RUNS=5       loads per menu size (median)
  WALK_STEPS=50     steps of the long walk; WALKS=20 walks (median)
  ALERT_SECONDS=5   wrk seconds of the alert figure; ALERT_DRAIN=20 seconds
                    at most waited for the backlog to be delivered after it
  SLOW_SECONDS=3    wrk seconds per server per round of slowalert
  CONSOLES=20       live queues open in the consoles figure
  CONSOLE_PAIRS=6 CONSOLE_SECONDS=3  pairs of rounds (without, with) of
                    the consoles figure and wrk seconds per round
  FEED_PAIRS=4 FEED_SECONDS=2  pairs of the consoles figure's rounds
                    without wrk (the live queue's work alone) and their length
  REDIS_FSYNC=everysec  Redis's appendfsync in every figure (always: as
                    deploy/redis/redis.conf ships; no; off: the AOF off,
                    to show what it costs)
  ONLY=a,b          run only these figures (development: e.g.
                    ONLY=menus,longwalk SECONDS=1); default all
Every wait is bounded: wrk by its duration, walks by their counts, drains
by their deadlines.
"""
import http.client
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (Redis, RedisServer, Hotlined, free_port, wait_for, get,  # noqa: E402
                     ROOT, BIN, HOTLINECTL, PEPPER, _cleanup)


def opt(name, default):
    return type(default)(os.environ.get(name, default))


def opt_list(name, default):
    return [int(x) for x in os.environ.get(name, default).split(",") if x]


CORES = os.cpu_count() or 1
ROUNDS = opt("ROUNDS", 3)
SECONDS = opt("SECONDS", 5)
CONNS = opt("CONNS", 50)
THREADS = opt("THREADS", 2)
WORKERS = opt("WORKERS", CORES)
LOOKUPS = opt("LOOKUPS", 300)
LIVE = opt("LIVE_SESSIONS", 2000)
SCALE = opt_list("SCALE", "1000,100000,1000000")
SCALE_SECONDS = opt("SCALE_SECONDS", 2)
MENU_SIZES = opt_list("MENU_SIZES", "10,100,512,1000,10000")
MENU_RUNS = opt("MENU_RUNS", 5)
WALK_STEPS = opt("WALK_STEPS", 50)
WALKS = opt("WALKS", 20)
ALERT_SECONDS = opt("ALERT_SECONDS", 5)
SLOW_SECONDS = opt("SLOW_SECONDS", 3)
ALERT_DRAIN = opt("ALERT_DRAIN", 20)
CONSOLES = opt("CONSOLES", 20)
CONSOLE_PAIRS = opt("CONSOLE_PAIRS", 6)
CONSOLE_SECONDS = opt("CONSOLE_SECONDS", 3)
FEED_PAIRS = opt("FEED_PAIRS", 4)
FEED_SECONDS = opt("FEED_SECONDS", 2)
FSYNC = opt("REDIS_FSYNC", "everysec")
if FSYNC not in ("everysec", "always", "no", "off"):
    raise SystemExit("REDIS_FSYNC must be everysec, always, no or off")
ONLY = [x for x in os.environ.get("ONLY", "").split(",") if x]


def redis_durability(r):
    """Applies REDIS_FSYNC to a running redis-server (off: no AOF at all,
    to show what the AOF costs; never a way to run a hotline)."""
    if FSYNC == "off":
        r("CONFIG", "SET", "appendonly", "no")
    else:
        r("CONFIG", "SET", "appendfsync", FSYNC)


RESULT = re.compile(r"RESULT rps=([\d.]+) p50_us=(\d+) p99_us=(\d+) "
                    r"requests=(\d+) errors=(\d+) non2xx=(\d+)")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
POP_TTL_MS = 600000     # populated sessions outlive the run


# ---- servers and load -----------------------------------------------------

def bench_config(tmp, name, workers=1, webhook_port=None):
    """The shipped config with abuse limits off, quiet logs, `workers`, the
    menus of tmp/menus (the shipped ones and the long walk's), the
    long-walk channel (/ussd/chain, menu "chain") and optionally an `urgent`
    queue whose webhook points at a local receiver."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text = re.sub(r"limits = \{.*?\n\};", "limits = { sessions_per_hour = 0; "
                  "requests_per_day = 0; per_address_per_minute = 0; };",
                  text, flags=re.S)
    text = text.replace('log_level = "info";', 'log_level = "warn";')
    text = re.sub(r"(?m)^workers = \d+;", "workers = %d;" % workers, text)
    text = re.sub(r'(?m)^menus = "[^"]*";', 'menus = "%s";'
                  % os.path.join(tmp, "menus"), text)
    text = text.replace("channels = (\n", (
        'channels = (\n  { name = "chain"; dialect = "africastalking-ussd"; '
        'path = "/ussd/chain"; menu = "chain"; timeout = 180; fold = true; },\n'), 1)
    if webhook_port:
        text = re.sub(r"queues = \(.*?\n\);", (
            'queues = ( { name = "urgent"; alerts = ( { type = "webhook"; '
            'url = "http://127.0.0.1:%d/hook"; secret = "bench-secret-0123456789"; } ); } );'
            % webhook_port), text, flags=re.S)
    path = os.path.join(tmp, "bench-%s.cfg" % name)
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
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def processes(pid):
    """[(pid, RSS kB)] of pid and the processes whose parent it is."""
    out = [(pid, rss_kb(pid))]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append((int(d), rss_kb(int(d))))
    return out


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_by_pid(pids):
    """{pid: utime + stime in seconds} of each pid still alive (fields 14
    and 15 of /proc/PID/stat: every thread of the process counted)."""
    out = {}
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / float(CLK_TCK)
    return out


def cpu_used(before, after):
    """CPU seconds used between two cpu_by_pid() samples by the pids in both
    (a worker restarted during the run is left out, not miscounted)."""
    return sum(after[p] - before[p] for p in before if p in after)


def used_memory(r):
    return int(re.search(r"used_memory:(\d+)", r("INFO", "memory")).group(1))


def at_body(session, text, phone):
    return ("sessionId=%s&serviceCode=%%2A384%%2A123%%23&phoneNumber=%%2B%s"
            "&networkCode=45204&text=%s"
            % (session, phone, text.replace("*", "%2A").replace(" ", "+")))


def live_sessions(hl, n, prefix="live"):
    """Leaves n sessions mid-walk (language chosen, on the main menu)."""
    conn = http.client.HTTPConnection("127.0.0.1", hl.port, timeout=10)
    for i in range(n):
        for text in ("", "2"):
            conn.request("POST", "/ussd/africastalking",
                         at_body("%s-%d" % (prefix, i), text, "98%09d" % i), FORM)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError("live session step: %d" % resp.status)
    conn.close()


def step_ms(port, session, text, phone):
    """One AT USSD request on a new connection; its round trip in ms."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    t0 = time.perf_counter()
    c.request("POST", "/ussd/africastalking",
              at_body(session, text, phone), FORM)
    out = c.getresponse().read().decode()
    ms = (time.perf_counter() - t0) * 1000.0
    c.close()
    return ms, out


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def median(rows, key):
    return statistics.median(r[key] for r in rows)


def _up(port):
    try:
        return get("http://127.0.0.1:%d/" % port)[0] == 200
    except OSError:
        return False


def start_ceiling(ctx, *redis):
    port = free_port()
    p = subprocess.Popen([os.path.join(BIN, "bench", "ceiling"), "127.0.0.1",
                          str(port)] + list(redis))
    ctx.procs.append(p)
    wait_for(lambda: _up(port), 5, what="ceiling server")
    ctx.pids[port] = p.pid
    return port


class Ctx:
    """What the figures share: the temp dir, Redis, the workers=1 hotlined,
    the figures measured so far (fig) and the printed lines."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="hotline-bench-")
        self.lines = []
        self.fig = {}
        self.procs = []
        self.pids = {}      # ceiling server's port -> its pid
        self.menus = os.path.join(self.tmp, "menus")
        os.makedirs(self.menus)
        for f in os.listdir(os.path.join(ROOT, "config", "menus")):
            if f.endswith(".cfg"):
                shutil.copy(os.path.join(ROOT, "config", "menus", f), self.menus)
        with open(os.path.join(self.menus, "chain.cfg"), "w") as f:
            f.write(chain_menu(WALK_STEPS))
        self.redis = RedisServer(self.tmp)
        self.r = self.redis.client()
        redis_durability(self.r)
        self.base_mem = used_memory(self.r)     # an empty Redis
        self.hl = self.hotlined("w1", 1)

    def hotlined(self, name, workers, webhook_port=None, redis_port=None):
        hl = Hotlined(self.tmp, redis_port or self.redis.port, name="bench-" + name,
                      config=bench_config(self.tmp, name, workers, webhook_port),
                      menus=self.menus)
        hl.wait_ready()
        return hl

    def say(self, s=""):
        print(s, flush=True)
        self.lines.append(s)


# ---- throughput: the ceilings and hotlined, alternating --------------------

def measured_wrk(url, pids, redis_pid):
    """wrk against url, with the CPU time (utime + stime) the server's
    processes (pids(): the process and its workers, sampled before the
    run) and redis-server used during it, per request wrk reports, in µs."""
    procs = pids()
    b, rb = cpu_by_pid(procs), cpu_by_pid([redis_pid])
    w = wrk(url)
    a, ra = cpu_by_pid(procs), cpu_by_pid([redis_pid])
    n = max(1, w["requests"])
    w["cpu_us"] = cpu_used(b, a) * 1e6 / n
    w["redis_us"] = cpu_used(rb, ra) * 1e6 / n
    return w


def fig_throughput(ctx):
    cport = start_ceiling(ctx)
    rport = start_ceiling(ctx, "127.0.0.1:%d" % ctx.redis.port)
    hls = [("w=1", ctx.hl)]
    if WORKERS != 1:
        hls.append(("w=%d" % WORKERS, ctx.hotlined("w%d" % WORKERS, WORKERS)))
    path = "/ussd/africastalking"
    servers = [("ceiling", "http://127.0.0.1:%d%s" % (cport, path),
                lambda: [ctx.pids[cport]]),
               ("ceiling+1rt", "http://127.0.0.1:%d%s" % (rport, path),
                lambda: [ctx.pids[rport]])]
    servers += [("hotlined " + name, hl.url(path),
                 lambda hl=hl: [p for p, _ in processes(hl.proc.pid)])
                for name, hl in hls]
    for _, url, _ in servers:
        wrk(url, 1)
    rows = {name: [] for name, _, _ in servers}
    ctx.say("throughput: wrk -t%d -c%d -d%ds tests/bench/walk.lua, %d rounds "
            "alternating; %d cores" % (THREADS, CONNS, SECONDS, ROUNDS, CORES))
    for i in range(ROUNDS):
        parts = []
        for name, url, pids in servers:
            w = measured_wrk(url, pids, ctx.redis.proc.pid)
            rows[name].append(w)
            parts.append("%s %.0f/s %.2f/%.2f ms %.1f+%.1f us%s" % (
                name, w["rps"], w["p50_ms"], w["p99_ms"], w["cpu_us"],
                w["redis_us"], " ERR %d non-2xx %d" % (w["errors"], w["non2xx"])
                if w["errors"] or w["non2xx"] else ""))
        ctx.say("  round %d: %s" % (i + 1, " | ".join(parts)))
    ctx.say("  median of %d:                 req/s    p50 ms   p99 ms   "
            "CPU us/req: server  redis" % ROUNDS)
    for name, _, _ in servers:
        ctx.say("    %-26s %8.0f %8.2f %8.2f %19.1f %6.1f" % (
            name, median(rows[name], "rps"), median(rows[name], "p50_ms"),
            median(rows[name], "p99_ms"), median(rows[name], "cpu_us"),
            median(rows[name], "redis_us")))
    ctx.say("  (CPU us/req: utime + stime from /proc/PID/stat over the wrk run, "
            "divided by the requests wrk reports; server = the process and "
            "its workers; redis = redis-server during the same run)")
    c, rt = median(rows["ceiling"], "rps"), median(rows["ceiling+1rt"], "rps")
    ctx.fig.update(ceiling=c, ceiling_rt=rt, rows=rows)
    for name in ("hotlined " + n for n, _ in hls):
        h = median(rows[name], "rps")
        ctx.say("  %s / ceiling %.2f (target >= 0.60), / ceiling+1rt %.2f "
                "(target >= 0.70)" % (name, h / c, h / rt))
    ctx.say("  ceiling+1rt / ceiling %.2f" % (rt / c))
    ctx.fig["p99"] = median(rows["hotlined w=1"], "p99_ms")
    ctx.fig["p50"] = median(rows["hotlined w=1"], "p50_ms")
    ctx.fig["filed"] = ctx.r("XLEN", "hl:q:urgent")
    ctx.say("  help requests filed: %s" % ctx.fig["filed"])
    ctx.fig["rss"] = []
    for name, hl in hls:
        procs = processes(hl.proc.pid)
        ctx.say("  RSS hotlined %s: %s (target <= 16 MB per worker)%s" % (
            name, ", ".join("pid %d %.1f MB" % (p, kb / 1024.0) for p, kb in procs),
            "; the first is the process started (the supervisor), then the workers it forked"
            if len(procs) > 1 else "; one process: it forked no worker"))
        ctx.fig["rss"] += [kb for _, kb in procs]
    for _, hl in hls[1:]:
        hl.stop()


# ---- Redis's own cost per request ------------------------------------------

def redis_cpu_s(pid):
    """utime+stime of process pid, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def commandstats(r):
    """{command: (calls, usec)} from INFO commandstats."""
    out = {}
    for m in re.finditer(r"cmdstat_([\w|]+):calls=(\d+),usec=(\d+)",
                         r("INFO", "commandstats")):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def rediscost_round(ctx, r, redis, url):
    """One wrk run against url, whose Redis is `redis` (client r): Redis's
    CPU and commands per request."""
    r("CONFIG", "RESETSTAT")
    f0, busy0 = forks(r), rewriting(r)
    a0 = aof_size(r)
    c0 = redis_cpu_s(redis.proc.pid)
    w = wrk(url)
    c1 = redis_cpu_s(redis.proc.pid)
    a1 = aof_size(r)
    rewritten = forks(r) != f0 or busy0 or rewriting(r) or a1 < a0
    st = commandstats(r)
    n = max(w["requests"], 1)
    ev = st.get("evalsha", (0, 0))
    outer = ("evalsha", "eval", "info", "config|resetstat", "wait", "ping",
             "client|setname", "script|load", "select", "hello", "auth")
    inner = sum(c for k, (c, _) in st.items() if k not in outer)
    inner_us = sum(u for k, (_, u) in st.items() if k not in outer)
    return {"cpu_us": (c1 - c0) * 1e6 / n, "evalsha": ev[0] / n,
            "evalsha_us": ev[1] / max(ev[0], 1), "inner": inner / n,
            # the commands' own time inside a script call; the rest of
            # evalsha_us is the call (arguments into Lua, each
            # redis.call's way in and out, the effects' propagation)
            "inner_us": inner_us / max(ev[0], 1),
            "inner_per_call": inner / max(ev[0], 1), "rps": w["rps"],
            "requests": n, "stats": st,
            # an AOF rewrite during the run (a fork, or one under way at
            # either end) resets the file's size: no figure for that round
            "aof_bytes": None if rewritten else (a1 - a0) / n}


def forks(r):
    return int(re.search(r"total_forks:(\d+)", r("INFO", "stats")).group(1))


def rewriting(r):
    return "aof_rewrite_in_progress:1" in r("INFO", "persistence")


def aof_size(r):
    """The AOF's current size (INFO persistence), 0 with the AOF off."""
    m = re.search(r"aof_current_size:(\d+)", r("INFO", "persistence"))
    return int(m.group(1)) if m else 0


def aof_text(rows):
    """Median AOF bytes a request over the rounds no rewrite disturbed."""
    v = [r["aof_bytes"] for r in rows if r["aof_bytes"] is not None]
    return "%.0f" % statistics.median(v) if v else "? (rewritten)"


def fig_rediscost(ctx):
    """Redis CPU, EVALSHA calls and the commands scripts ran, per request
    of the walk (wrk, SECONDS, hotlined w=1), ROUNDS rounds: medians. With
    BASE_HOTLINED=path (another build of hotlined, e.g. main's), that one
    runs too, with its own Redis, alternating round by round: a before and
    after on the same machine at the same time."""
    servers = [("this", ctx.r, ctx.redis, ctx.hl)]
    base = os.environ.get("BASE_HOTLINED")
    if base:
        import harness
        redis = RedisServer(ctx.tmp)
        r = redis.client()
        redis_durability(r)
        saved, harness.HOTLINED = harness.HOTLINED, base
        try:
            hl = ctx.hotlined("base", 1, redis_port=redis.port)
        finally:
            harness.HOTLINED = saved
        servers.insert(0, ("base", r, redis, hl))
    ctx.say("rediscost: wrk -t%d -c%d -d%ds tests/bench/walk.lua against "
            "hotlined w=1, %d rounds%s" % (
                THREADS, CONNS, SECONDS, ROUNDS,
                ", alternating with BASE_HOTLINED=%s" % base if base else ""))
    rows = {name: [] for name, _, _, _ in servers}
    for name, r, redis, hl in servers:
        wrk(hl.url("/ussd/africastalking"), 1)
    for i in range(ROUNDS):
        for name, r, redis, hl in servers:
            row = rediscost_round(ctx, r, redis, hl.url("/ussd/africastalking"))
            rows[name].append(row)
            n = row["requests"]
            ctx.say("  round %d %s: %d requests, Redis CPU %.1f us/request, "
                    "EVALSHA %.3f/request at %.1f us each (its commands' own "
                    "time %.1f us), %.2f commands in "
                    "scripts per request (%.2f per EVALSHA), AOF %s "
                    "bytes/request, %.0f req/s" % (
                        i + 1, name, n, row["cpu_us"], row["evalsha"],
                        row["evalsha_us"], row["inner_us"], row["inner"],
                        row["inner_per_call"], aof_text([row]), row["rps"]))
            ctx.say("    per request: " + ", ".join(
                "%s %.2f" % (k, c / n) for k, (c, _) in
                sorted(row["stats"].items(), key=lambda kv: -kv[1][0])
                if c / n >= 0.005))
    for name, _, _, _ in servers:
        ctx.say("  median of %d, %s: Redis CPU %.1f us/request, EVALSHA "
                "%.3f/request, %.1f us per EVALSHA (its commands' own time "
                "%.1f us), %.2f script "
                "commands/request, %.2f per EVALSHA, AOF %s bytes/request, "
                "%.0f req/s" % (
                    ROUNDS, name, median(rows[name], "cpu_us"),
                    median(rows[name], "evalsha"),
                    median(rows[name], "evalsha_us"),
                    median(rows[name], "inner_us"),
                    median(rows[name], "inner"),
                    median(rows[name], "inner_per_call"),
                    aof_text(rows[name]),
                    median(rows[name], "rps")))
    ctx.fig["rediscost"] = rows["this"]
    if base:
        hl.stop()
        redis.kill()


# ---- one lookup step -------------------------------------------------------

def fig_lookup(ctx):
    """p50 / p99 of a lookup step (the caller's typed name, found in the
    sample list) and of the step before it (no lookup), LOOKUPS each."""
    e = dict(os.environ, HOTLINE_PEPPER=PEPPER)
    subprocess.run([HOTLINECTL, "lists", "-c", ctx.hl.config, "--redis",
                    "127.0.0.1:%d" % ctx.redis.port, "import", "licensed",
                    os.path.join(ROOT, "config", "lists", "licensed.sample.csv"),
                    "--key", "company,licence"], env=e, check=True,
                   capture_output=True, timeout=60)
    plain, look = [], []
    for i in range(LOOKUPS):
        # one number each: a walk left on a screen is offered back to its
        # number (resume_s), which would shift the next walk's keys
        sid, phone = "lk-%d" % i, "96%09d" % i
        for text in ("", "2", "2*2"):
            step_ms(ctx.hl.port, sid, text, phone)
        plain.append(step_ms(ctx.hl.port, sid, "2*2*1", phone)[0])
        ms, out = step_ms(ctx.hl.port, sid, "2*2*1*example manpower alpha", phone)
        if "on the licensed list" not in out or "not on the" in out:
            raise AssertionError("lookup did not find the sample: %r" % out)
        look.append(ms)
    ctx.say("lookup step p50 / p99 %.2f / %.2f ms vs %.2f / %.2f ms for the step "
            "before it (%d sequential, sample list)"
            % (pct(look, .5), pct(look, .99), pct(plain, .5), pct(plain, .99), LOOKUPS))


# ---- Redis bytes per live session ------------------------------------------

def fig_sessions(ctx):
    ctx.r("FLUSHALL")
    time.sleep(0.2)
    base = used_memory(ctx.r)
    live_sessions(ctx.hl, LIVE)
    per = (used_memory(ctx.r) - base) / float(LIVE)
    ctx.fig["bytes"] = per
    ctx.say("Redis bytes per live session %.0f (target <= 256; %d sessions left "
            "on the main menu, %d keys)" % (per, LIVE, ctx.r("DBSIZE")))


# ---- how cost grows with live sessions ---------------------------------------

def raw_dump(port, key):
    """DUMP key as bytes (the harness client decodes replies as text)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    k = key.encode()
    c.sendall(b"*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n" % (len(k), k))
    buf = b""
    while b"\r\n" not in buf:
        buf += c.recv(65536)
    line, buf = buf.split(b"\r\n", 1)
    if line[:1] != b"$" or int(line[1:]) < 0:
        raise RuntimeError("DUMP %s: %r" % (key, line))
    n = int(line[1:])
    while len(buf) < n + 2:
        buf += c.recv(65536)
    c.close()
    return buf[:n]


def rdb_len(n):
    """RDB length encoding."""
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xff])
    return b"\x80" + struct.pack(">I", n)


def session_template(ctx):
    """The keys one real live session holds (made by hotlined: a session
    left on the main menu), each as (name prefix, id format, name suffix,
    DUMP payload): the id in the name is the aggregator's session id or a
    32-hex-digit HMAC of the number."""
    ctx.r("FLUSHALL")
    live_sessions(ctx.hl, 1, prefix="tmpl")
    keys = [k for k in ctx.r.scan_all() if ":menu:" not in k and
            ctx.r("PTTL", k) > 0]
    if not any("tmpl-0" in k for k in keys):
        raise AssertionError("no session key in %r" % keys)
    out = []
    for k in keys:
        m = re.search(r"tmpl-0", k)
        fmt = "pop-%07d"
        if not m:
            m, fmt = re.search(r"[0-9a-f]{32}", k), "%032x"
        pre, post = (k[:m.start()], k[m.end():]) if m else (k + ":", "")
        out.append((pre, "%d" if not m else fmt, post, raw_dump(ctx.redis.port, k)))
    ctx.r("FLUSHALL")
    return keys, out


def write_aof_base(path, template, n):
    """A Redis AOF directory whose base file (RDB format) holds n copies of
    the template session, TTL POP_TTL_MS: redis-server loads it at start
    with the AOF on, as after a rewrite, in seconds where a million
    scripted writes take a minute on a busy machine."""
    os.makedirs(path)
    ver = struct.unpack("<H", template[0][3][-10:-8])[0]
    exp = b"\xfc" + struct.pack("<Q", int(time.time() * 1000) + POP_TTL_MS)
    parts = [b"REDIS%04d" % ver, b"\xfe\x00\xfb" + rdb_len(n * len(template)) +
             rdb_len(n * len(template))]
    for pre, fmt, post, dump in template:
        klen = len((pre + fmt % (n - 1) + post).encode())
        head = exp + dump[:1] + rdb_len(klen) + pre.encode()
        tail = post.encode() + dump[1:-10]
        f = fmt.encode()
        parts.append(b"".join(head + f % i + tail for i in range(n)))
    parts.append(b"\xff" + b"\0" * 8)         # checksum 0: not checked
    with open(os.path.join(path, "appendonly.aof.1.base.rdb"), "wb") as f:
        f.write(b"".join(parts))
    with open(os.path.join(path, "appendonly.aof.manifest"), "w") as f:
        f.write("file appendonly.aof.1.base.rdb seq 1 type b\n")


def start_loaded_redis(ctx, n, template):
    """redis-server (loaded from an AOF, then REDIS_FSYNC like the main
    one) holding n sessions."""
    port = free_port()
    data = os.path.join(ctx.tmp, "redis-scale-%d" % n)
    t0 = time.time()
    write_aof_base(os.path.join(data, "appendonlydir"), template, n)
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", data, "--save", "", "--appendonly", "yes",
                          "--appendfsync", "everysec", "--daemonize", "no",
                          "--logfile", os.path.join(data, "redis.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx.procs.append(p)
    r = Redis(port)

    def up():
        try:
            return r("PING") == "PONG"
        except OSError:
            return False
        except RuntimeError:        # -LOADING
            r.close()
            return False
    wait_for(up, 120, step=0.2, what="redis-server loading %d sessions" % n)
    redis_durability(r)
    return p, port, r, time.time() - t0


def fig_scale(ctx):
    """One redis-server (loaded with SCALE[i] copies of a real session) and
    one hotlined (w=1) per count, then ROUNDS rounds alternating between
    them: a busy neighbour on a shared machine slows every row alike."""
    keys, template = session_template(ctx)
    levels = []
    try:
        for n in SCALE:
            p, port, r, load_s = start_loaded_redis(ctx, n, template)
            per = (used_memory(r) - ctx.base_mem) / float(n)
            hl = ctx.hotlined("s%d" % n, 1, redis_port=port)
            levels.append((n, p, r, hl, per, load_s))
            wrk(hl.url("/ussd/africastalking"), 1)
        ctx.say("cost per step with live sessions in Redis (one Redis and one "
                "hotlined w=1 each; %d rounds alternating, wrk -d%ds; a session "
                "is %s)" % (ROUNDS, SCALE_SECONDS, " + ".join(
                    re.sub(r"[0-9a-f]{32}", "HEX", k) for k in keys)))
        rows = {n: [] for n in SCALE}
        for _ in range(ROUNDS):
            for n, _, _, hl, _, _ in levels:
                rows[n].append(wrk(hl.url("/ussd/africastalking"), SCALE_SECONDS))
        out = []
        for n, p, r, hl, per, load_s in levels:
            w = {k: median(rows[n], k) for k in ("rps", "p50_ms", "p99_ms")}
            out.append((n, w))
            ctx.say("  %9d sessions: %7.0f req/s  p50 %.2f ms  p99 %.2f ms   "
                    "(%.0f B each, Redis %.0f MB; written and loaded in %.1f s)"
                    % (n, w["rps"], w["p50_ms"], w["p99_ms"], per,
                       used_memory(r) / 1048576.0, load_s))
        ctx.fig["scale"] = out
    finally:
        for _, p, r, hl, _, _ in levels:
            hl.stop()
            r.close()
            p.kill()
            p.wait(timeout=10)


# ---- menu load and check ----------------------------------------------------

GEN_HEAD = ('nav = { back = "0"; home = "00"; more = "98"; quit = "99"; };\n'
            'strings = { back = "Back"; home = "Main menu"; more = "More"; '
            'invalid = "Invalid. Try again."; quit = "Goodbye."; };\n')


def tree_menu(n):
    """A valid menu of n nodes: a tree, three options per menu node, the
    leaves end screens; one language, compact (hotlined takes files up to
    MENU_FILE_MAX, 1 MB, of up to 512 nodes: menu_load.c)."""
    out = ['name = "gen%d"; languages = [ "en" ]; start = "n0";' % n, GEN_HEAD,
           "nodes = {"]
    for i in range(n):
        kids = [c for c in (3 * i + 1, 3 * i + 2, 3 * i + 3) if c < n]
        if kids:
            opts = ",".join('{key="%d";label="Topic %d";next="n%d";}' % (k + 1, c, c)
                            for k, c in enumerate(kids))
            out.append('n%d={type="menu";text="Screen %d: what do you need?";'
                       'options=(%s);};' % (i, i, opts))
        else:
            out.append('n%d={type="end";text="Advice %d. Call the hotline.";};'
                       % (i, i))
    out.append("};")
    return "\n".join(out) + "\n"


def chain_menu(steps):
    """The long walk's menu: steps screens in a row, "1" goes on, the last
    an end screen."""
    out = ['name = "chain"; languages = [ "en" ]; start = "c1";', GEN_HEAD,
           "nodes = {"]
    for i in range(1, steps):
        out.append('c%d={type="menu";text="Step %d of %d.";options=({key="1";'
                   'label="Next";next="c%d";});};' % (i, i, steps, i + 1))
    out.append('c%d={type="end";text="Step %d of %d: the end.";};'
               % (steps, steps, steps))
    out.append("};")
    return "\n".join(out) + "\n"


def fig_menus(ctx):
    ctx.say("menu load and check (generated trees, 3 options a node; in-process "
            "median of %d, caps lifted; hotlinectl median of 3):" % MENU_RUNS)
    ctx.say("      nodes     bytes  load+check ms  4 channels ms   "
            "`hotlinectl menu check FILE`")
    rows = []
    for n in MENU_SIZES:
        path = os.path.join(ctx.tmp, "gen%d.cfg" % n)
        with open(path, "w") as f:
            f.write(tree_menu(n))
        out = subprocess.run([os.path.join(BIN, "bench", "menuload"), path,
                              str(MENU_RUNS)], capture_output=True, text=True,
                             timeout=300)
        m = re.search(r"load_us=(\d+) channels_us=(\d+) runs=(\d+) nodes=(\d+) "
                      r"errors=(\d+) warnings=(\d+)", out.stdout)
        if not m or int(m.group(4)) != n:
            raise AssertionError("menuload %d: %s %s" % (n, out.stdout, out.stderr))
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            chk = subprocess.run([HOTLINECTL, "menu", "check", path], capture_output=True, text=True, timeout=300)
            walls.append((time.perf_counter() - t0) * 1000.0)
        if chk.returncode == 0:
            verdict = "%.1f ms%s" % (statistics.median(walls), "" if not chk.stdout
                                     else " (%d warnings)" % len(chk.stdout.splitlines()))
        else:
            first = chk.stdout.strip().splitlines()[0] if chk.stdout.strip() else "?"
            verdict = "refused in %.1f ms: %s" % (statistics.median(walls),
                                                  first.split(": ", 1)[-1])
        load_ms = int(m.group(1)) / 1000.0
        rows.append((n, load_ms, chk.returncode == 0))
        ctx.say("  %9d %9d %14.2f %14.2f   %s%s" % (
            n, os.path.getsize(path), load_ms, int(m.group(2)) / 1000.0, verdict,
            "" if int(m.group(3)) == MENU_RUNS else
            " (in-process: %s runs, 3 s budget)" % m.group(3)))
    ctx.fig["menus"] = rows


# ---- a long Africa's Talking walk ---------------------------------------------

def fig_longwalk(ctx):
    marks = sorted({1, 10, WALK_STEPS} & set(range(1, WALK_STEPS + 1)))
    times = {k: [] for k in marks}
    for w in range(WALKS):
        c = http.client.HTTPConnection("127.0.0.1", ctx.hl.port, timeout=5)
        c.connect()     # step 1 times the request, not the TCP handshake
        for k in range(1, WALK_STEPS + 1):
            body = at_body("chain-%d" % w, "*".join(["1"] * (k - 1)),
                           "97%09d" % w)
            t0 = time.perf_counter()
            c.request("POST", "/ussd/chain", body, FORM)
            out = c.getresponse().read().decode()
            ms = (time.perf_counter() - t0) * 1000.0
            if "Step %d of" % k not in out:
                raise AssertionError("long walk step %d: %r" % (k, out))
            if k in times:
                times[k].append(ms)
        c.close()
    ctx.fig["walk"] = {k: statistics.median(v) for k, v in times.items()}
    ctx.say("a %d-step Africa's Talking walk (history grows each step; median "
            "of %d walks, sequential): %s" % (WALK_STEPS, WALKS, ", ".join(
                "step %d %.2f ms" % (k, ctx.fig["walk"][k]) for k in marks)))


# ---- alerts ---------------------------------------------------------------------

def posts(port):
    return int(get("http://127.0.0.1:%d/count" % port)[1])


def fig_alerts(ctx):
    ctx.r("FLUSHALL")
    rport = start_ceiling(ctx)
    hl = ctx.hotlined("hook", 1, webhook_port=rport)
    try:
        t0 = time.time()
        w = wrk(hl.url("/ussd/africastalking"), ALERT_SECONDS)
        dt = time.time() - t0
        during, filed = posts(rport), ctx.r("XLEN", "hl:q:urgent")
        end = time.time() + ALERT_DRAIN
        while posts(rport) < filed and time.time() < end:
            time.sleep(0.2)
        drain = time.time() - t0 - dt
        done = posts(rport)
    finally:
        hl.stop()
    ctx.fig["alerts"] = during / dt
    ctx.say("alerts while USSD runs (webhook to a local counting receiver, wrk "
            "-d%ds): %.0f delivered/s during the load (%d), %.0f help requests "
            "filed/s (%d) at %.0f req/s p99 %.2f ms; %s" % (
                ALERT_SECONDS, during / dt, during, filed / dt, filed, w["rps"],
                w["p99_ms"],
                "backlog delivered %.1f s after the load" % drain if done >= filed
                else "%d still undelivered %d s after the load" % (filed - done,
                                                                   ALERT_DRAIN)))


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


def fig_slowalert(ctx):
    """ROUNDS rounds alternating hotlined with its alert webhook answering
    after 2 s and the plain hotlined (w=1), SLOW_SECONDS each: medians."""
    hook = ThreadingHTTPServer(("127.0.0.1", 0), SlowHook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    hl = ctx.hotlined("slowhook", 1, webhook_port=hook.server_address[1])
    slow, plain = [], []
    try:
        wrk(hl.url("/ussd/africastalking"), 1)
        for _ in range(ROUNDS):
            slow.append(wrk(hl.url("/ussd/africastalking"), SLOW_SECONDS))
            plain.append(wrk(ctx.hl.url("/ussd/africastalking"), SLOW_SECONDS))
    finally:
        hl.stop()
        hook.shutdown()
    s, p = median(slow, "p99_ms"), median(plain, "p99_ms")
    ctx.fig["slow_change"] = 100.0 * (s - p) / p
    ctx.say("USSD p99 while the alert webhook answers after 2 s: %.2f ms vs "
            "%.2f ms without alerts: %+.1f %% (target < 10 %%; %d rounds "
            "alternating, wrk -d%ds; %d webhook calls; req/s %.0f vs %.0f)"
            % (s, p, ctx.fig["slow_change"], ROUNDS, SLOW_SECONDS, SlowHook.hits,
               median(slow, "rps"), median(plain, "rps")))


# ---- consoles: open live queues against the USSD path ---------------------

def console_cookie(hl, cfg, redis_port):
    """A staff account (hotlinectl staff add) signed in: its cookie."""
    pw = "bench console password"
    subprocess.run([HOTLINECTL, "staff", "-c", cfg, "--redis",
                    "127.0.0.1:%d" % redis_port, "add", "bench",
                    "--password-stdin"], input=pw + "\n", text=True,
                   env=dict(os.environ, HOTLINE_PEPPER=PEPPER), check=True,
                   capture_output=True, timeout=60)
    c = http.client.HTTPConnection("127.0.0.1", hl.port, timeout=10)
    c.request("POST", "/api/session", body='{"name": "bench", "password": "%s"}' % pw,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    return r.getheader("Set-Cookie").split(";")[0]


def cpu_s(pid):
    """CPU time (utime + stime, every thread) process pid has used, in
    seconds: /proc/PID/stat fields 14 and 15, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ns(pid):
    """CPU time every thread of process pid has used, in ns
    (/proc/PID/task/*/schedstat: ns, where /proc/PID/stat counts 10 ms
    ticks): for costs smaller than a tick."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
            total += int(f.read().split()[0])
    return total


class LiveQueues:
    """n consoles' live queues (GET /api/events) read by tests/bench/consoles
    (one process, one epoll: what staff laptops elsewhere would do, at the
    least cost to the cores hotlined runs on). close() gives its counts."""

    def __init__(self, port, cookie, n):
        import select
        self.p = subprocess.Popen(
            [os.path.join(BIN, "bench", "consoles"), "127.0.0.1", str(port),
             str(n), cookie], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        ctx_procs.append(self.p)
        ready, _, _ = select.select([self.p.stdout], [], [], 15)
        line = self.p.stdout.readline() if ready else ""
        if not line.startswith("ready %d" % n):
            self.p.kill()
            raise RuntimeError("consoles did not start: %r" % line)

    def close(self):
        """Ends the run (stdin closed: the reader drains what is on its way,
        until 0.5 s without a byte, 5 s at most). Returns (events per
        stream, order errors, streams the server closed, the reader's CPU
        seconds)."""
        cpu = cpu_s(self.p.pid)
        out, _ = self.p.communicate(timeout=30)
        if self.p.returncode != 0:
            raise RuntimeError("consoles exited %d:\n%s" % (self.p.returncode, out))
        counts = [int(x) for x in re.findall(r"(?m)^stream \d+ status=200 events=(\d+)", out)]
        tot = re.search(r"order_errors=(\d+) closed=(\d+)\s*$", out)
        return counts, int(tot.group(1)), int(tot.group(2)), cpu


ctx_procs = []      # the consoles readers started (stopped at the end)


def consoles_round(ctx, url, cookie, open_):
    """One wrk run of CONSOLE_SECONDS against url, with CONSOLES live
    queues open (open_) or none; the wrk figures plus CPU µs per request
    of hotlined and of Redis over the run, the help requests filed and,
    with consoles, what each stream got."""
    time.sleep(0.3)     # the last round's events are out (to no console)
    q0 = ctx.r("XLEN", "hl:q:urgent")
    queues = LiveQueues(ctx.hl.port, cookie, CONSOLES) if open_ else None
    time.sleep(0.3)
    h0, r0 = cpu_s(ctx.hl.proc.pid), cpu_s(ctx.redis.proc.pid)
    w = wrk(url, CONSOLE_SECONDS)
    h1, r1 = cpu_s(ctx.hl.proc.pid), cpu_s(ctx.redis.proc.pid)
    w["hl_us"] = (h1 - h0) * 1e6 / w["requests"]
    w["redis_us"] = (r1 - r0) * 1e6 / w["requests"]
    if queues:
        w["counts"], w["order"], w["closed"], w["reader_s"] = queues.close()
    w["filed"] = ctx.r("XLEN", "hl:q:urgent") - q0
    return w


FEED_LUA = ("for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], "
            "'MAXLEN', '~', 1000, '*', 'what', 'new', 'ref', "
            "string.format('FEED%06d', i)) end return 1")


def xread_stats(r):
    """Redis's (calls, usec) of XREAD so far (INFO commandstats)."""
    m = re.search(r"cmdstat_xread:calls=(\d+),usec=(\d+)", r("INFO", "commandstats"))
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def feed_round(ctx, cookie, open_, rate, seconds):
    """rate case events a second appended to hl:ev:live for seconds (no
    wrk: the live queue's work alone), with CONSOLES live queues open
    (open_) or none; hotlined's and Redis's CPU over it, in ns, and the
    events each stream got."""
    time.sleep(0.3)
    queues = LiveQueues(ctx.hl.port, cookie, CONSOLES) if open_ else None
    time.sleep(0.3)
    x0 = xread_stats(ctx.r)
    h0, r0 = cpu_ns(ctx.hl.proc.pid), cpu_ns(ctx.redis.proc.pid)
    t0, sent = time.time(), 0
    while time.time() < t0 + seconds:
        due = int((time.time() - t0) * rate) - sent
        if due > 0:
            ctx.r("EVAL", FEED_LUA, 1, "hl:ev:live", due)
            sent += due
        time.sleep(0.01)
    time.sleep(0.3)     # the last gathered read goes out
    out = {"hl": cpu_ns(ctx.hl.proc.pid) - h0,
           "redis": cpu_ns(ctx.redis.proc.pid) - r0, "sent": sent}
    out["xread"] = [b - a for a, b in zip(x0, xread_stats(ctx.r))]
    if queues:
        out["counts"] = queues.close()[0]
    return out


def fig_consoles(ctx):
    """CONSOLE_PAIRS pairs of CONSOLE_SECONDS rounds, the w=1 hotlined with
    no console open and with CONSOLES live queues open (the order swapped
    every other pair, so a drift of the machine weighs on both sides):
    the median of the pairs' p99 and req/s ratios, and hotlined's and
    Redis's CPU µs per request with and without consoles (medians). Then
    FEED_PAIRS pairs of FEED_SECONDS with no wrk, case events appended to
    the live stream at the rate the walk filed them: what the consoles add
    to hotlined's and Redis's CPU per event, set against the CPU of the
    requests that file one (the figure noise on shared cores moves least:
    no other load shares the window)."""
    url = ctx.hl.url("/ussd/africastalking")
    cookie = console_cookie(ctx.hl, ctx.hl.config, ctx.redis.port)
    pairs = []
    wrk(url, 1)
    ctx.say("consoles: %d pairs of wrk -t%d -c%d -d%ds rounds, without and with "
            "%d live queues (read by tests/bench/consoles, one epoll process)"
            % (CONSOLE_PAIRS, THREADS, CONNS, CONSOLE_SECONDS,
               CONSOLES))
    for i in range(CONSOLE_PAIRS):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {o: consoles_round(ctx, url, cookie, o) for o in order}
        w0, w1 = got[False], got[True]
        pairs.append((w0, w1))
        missed = [c for c in w1["counts"] if c != w1["filed"]]
        ctx.say("  pair %d: p99 %.2f -> %.2f ms (x %.3f), req/s %.0f -> %.0f "
                "(x %.3f), hotlined %.1f -> %.1f us/req, Redis %.1f -> %.1f "
                "us/req; %d filed, each of %d streams got %s%s%s" % (
                    i + 1, w0["p99_ms"], w1["p99_ms"], w1["p99_ms"] / w0["p99_ms"],
                    w0["rps"], w1["rps"], w1["rps"] / w0["rps"], w0["hl_us"],
                    w1["hl_us"], w0["redis_us"], w1["redis_us"], w1["filed"],
                    len(w1["counts"]),
                    "all of them" if not missed and len(w1["counts"]) == CONSOLES
                    else "%d to %d" % (min(w1["counts"] or [0]), max(w1["counts"] or [0])),
                    ", %d out of order" % w1["order"] if w1["order"] else "",
                    ", %d closed by the server" % w1["closed"] if w1["closed"] else ""))
    p99 = statistics.median(b["p99_ms"] / a["p99_ms"] for a, b in pairs)
    rps = statistics.median(b["rps"] / a["rps"] for a, b in pairs)
    hl0 = statistics.median(a["hl_us"] for a, _ in pairs)
    hl1 = statistics.median(b["hl_us"] for _, b in pairs)
    rd0 = statistics.median(a["redis_us"] for a, _ in pairs)
    rd1 = statistics.median(b["redis_us"] for _, b in pairs)
    hlr = statistics.median(b["hl_us"] / a["hl_us"] for a, b in pairs)
    rdr = statistics.median(b["redis_us"] / a["redis_us"] for a, b in pairs)
    reader = statistics.median(b["reader_s"] for _, b in pairs)
    whole = all(c == b["filed"] for _, b in pairs for c in b["counts"]) and \
        all(len(b["counts"]) == CONSOLES and not b["order"] and not b["closed"]
            for _, b in pairs)
    m = get(ctx.hl.url("/metrics"))[1]
    gone = sum(float(x) for x in re.findall(
        r"^hotline_live_(?:dropped|refused)_total (\S+)$", m, flags=re.M))
    ctx.fig["consoles_change"] = 100.0 * (p99 - 1)
    ctx.say("  median of %d pairs: p99 x %.3f (%+.1f %%, target < 5 %%), req/s x "
            "%.3f (%+.1f %%)" % (CONSOLE_PAIRS, p99, 100 * (p99 - 1), rps,
                                 100 * (rps - 1)))
    ctx.say("  CPU per request: hotlined %.1f -> %.1f us (pairs' median x %.3f, "
            "%+.1f %%), Redis %.1f -> %.1f us (x %.3f, %+.1f %%); the consoles' "
            "reader used %.0f ms of CPU a round" % (
                hl0, hl1, hlr, 100 * (hlr - 1), rd0, rd1, rdr, 100 * (rdr - 1),
                reader * 1000))
    ctx.say("  every stream got every case event, in order: %s; %d live queues "
            "dropped or refused" % ("yes" if whole else "NO", gone))
    # the live queue's work alone, at the rate the walk files help requests
    rate = int(statistics.median(b["filed"] for _, b in pairs) / CONSOLE_SECONDS)
    per_filing = statistics.median(b["requests"] / b["filed"] for _, b in pairs)
    feeds = []
    for i in range(FEED_PAIRS):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {o: feed_round(ctx, cookie, o, rate, FEED_SECONDS) for o in order}
        feeds.append((got[False], got[True]))
    extra = {k: statistics.median((b[k] - a[k]) / b["sent"] for a, b in feeds)
             for k in ("hl", "redis")}
    base = {"hl": hl0 * 1000 * per_filing, "redis": rd0 * 1000 * per_filing}
    share = {k: 100.0 * extra[k] / base[k] for k in extra}
    fed_whole = all(c == b["sent"] for _, b in feeds for c in b["counts"]) and \
        all(len(b["counts"]) == CONSOLES for _, b in feeds)
    ctx.say("  the live queue alone (no wrk; %d case events/s appended to "
            "hl:ev:live for %d s, %d pairs, CPU from /proc/PID/task/*/schedstat):"
            % (rate, FEED_SECONDS, FEED_PAIRS))
    for i, (a, b) in enumerate(feeds):
        ctx.say("    pair %d: hotlined %.1f -> %.1f ms, Redis %.1f -> %.1f ms of CPU "
                "for %d events; Redis XREAD %d -> %d calls, %d -> %d us" % (
                    i + 1, a["hl"] / 1e6, b["hl"] / 1e6, a["redis"] / 1e6,
                    b["redis"] / 1e6, b["sent"], a["xread"][0], b["xread"][0],
                    a["xread"][1], b["xread"][1]))
    ctx.say("    %d consoles add %.2f us of hotlined CPU and %.2f us of Redis CPU "
            "per case event (medians): %.2f %% and %.2f %% of what the %.1f "
            "requests that file one cost them (%.1f and %.1f us each); every "
            "stream got every event: %s" % (
                CONSOLES, extra["hl"] / 1000, extra["redis"] / 1000, share["hl"],
                share["redis"], per_filing, hl0, rd0, "yes" if fed_whole else "NO"))
    ctx.fig["consoles_cpu"] = (share["hl"], share["redis"])


def fig_targets(ctx):
    """Issue 17's targets against this run's figures (those that ran)."""
    f = ctx.fig

    def line(what, value, ok):
        ctx.say("  %-44s %-26s %s" % (what, value, "met" if ok else "NOT met"))
    ctx.say("targets (issue 17):")
    if "rows" in f:
        hls = [n for n in f["rows"] if n.startswith("hotlined")]
        for name in hls:
            h = median(f["rows"][name], "rps")
            line("%s >= 0.60 x ceiling" % name, "%.2f" % (h / f["ceiling"]),
                 h / f["ceiling"] >= 0.60)
            line("%s >= 0.70 x ceiling+1rt" % name, "%.2f" % (h / f["ceiling_rt"]),
                 h / f["ceiling_rt"] >= 0.70)
        line("p99 <= 2 ms (w=1)", "%.2f ms" % f["p99"], f["p99"] <= 2.0)
        if len(hls) > 1:
            gain = (median(f["rows"][hls[-1]], "rps") /
                    median(f["rows"][hls[0]], "rps"))
            line("%s faster than w=1" % hls[-1], "x %.2f" % gain, gain > 1.05)
        worst = max(f["rss"]) / 1024.0
        line("RSS <= 16 MB per worker", "largest %.1f MB" % worst, worst <= 16)
    if "bytes" in f:
        line("Redis <= 256 B per live session", "%.0f B" % f["bytes"],
             f["bytes"] <= 256)
    if f.get("scale") and len(f["scale"]) > 1:
        (n0, a), (n1, b) = f["scale"][0], f["scale"][-1]
        flat = b["rps"] >= 0.9 * a["rps"] and b["p99_ms"] <= 1.1 * a["p99_ms"] + 0.5
        line("flat from %dk to %dk sessions" % (n0 // 1000, n1 // 1000),
             "req/s x %.2f, p99 x %.2f" % (b["rps"] / a["rps"],
                                          b["p99_ms"] / a["p99_ms"]), flat)
    if "walk" in f and len(f["walk"]) > 1:
        k = max(f["walk"])
        grow = f["walk"][k] / f["walk"][1]
        line("step %d at most linear in history" % k, "x %.2f of step 1" % grow,
             grow <= k)
    if "slow_change" in f:
        line("slow alert changes p99 by < 10 %", "%+.1f %%" % f["slow_change"],
             f["slow_change"] < 10)
    if "consoles_change" in f:
        line("%d consoles change p99 by < 5 %%" % CONSOLES,
             "%+.1f %% (median of pairs)" % f["consoles_change"],
             f["consoles_change"] < 5)
        ctx.say("  %-44s hotlined %+.2f %%, Redis %+.2f %%" % ((
            "(their CPU, the live queue alone)",) + f["consoles_cpu"]))


FIGURES = [("throughput", fig_throughput), ("lookup", fig_lookup),
           ("sessions", fig_sessions), ("scale", fig_scale),
           ("menus", fig_menus), ("longwalk", fig_longwalk),
           ("alerts", fig_alerts), ("slowalert", fig_slowalert),
           ("rediscost", fig_rediscost),
           ("consoles", fig_consoles), ("targets", fig_targets)]


def main():
    t0 = time.time()
    ctx = Ctx()
    try:
        ctx.say("hotline bench, %s, %d cores (shared with whatever else runs)"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), CORES))
        ctx.say("options: ROUNDS=%d SECONDS=%d CONNS=%d THREADS=%d WORKERS=%d "
                "LOOKUPS=%d LIVE_SESSIONS=%d SCALE=%s SCALE_SECONDS=%d "
                "MENU_SIZES=%s MENU_RUNS=%d WALK_STEPS=%d WALKS=%d ALERT_SECONDS=%d "
                "SLOW_SECONDS=%d CONSOLES=%d CONSOLE_PAIRS=%d CONSOLE_SECONDS=%d "
                "FEED_PAIRS=%d FEED_SECONDS=%d REDIS_FSYNC=%s%s"
                % (ROUNDS, SECONDS, CONNS, THREADS, WORKERS, LOOKUPS, LIVE,
                   ",".join(map(str, SCALE)), SCALE_SECONDS,
                   ",".join(map(str, MENU_SIZES)), MENU_RUNS, WALK_STEPS, WALKS,
                   ALERT_SECONDS, SLOW_SECONDS, CONSOLES, CONSOLE_PAIRS,
                   CONSOLE_SECONDS, FEED_PAIRS, FEED_SECONDS, FSYNC,
                   " ONLY=" + ",".join(ONLY) if ONLY else ""))
        for name, fn in FIGURES:
            if not ONLY or name in ONLY:
                ctx.say("")
                fn(ctx)
        ctx.say("")
        ctx.say("bench took %.0f s" % (time.time() - t0))
        os.makedirs(os.path.join(BIN, "bench"), exist_ok=True)
        with open(os.path.join(BIN, "bench", "results.txt"), "w") as f:
            f.write("\n".join(ctx.lines) + "\n")
        print("written to %s" % os.path.join(BIN, "bench", "results.txt"))
    finally:
        for p in ctx.procs + ctx_procs:
            if p.poll() is None:
                p.terminate()
        _cleanup()
        shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
