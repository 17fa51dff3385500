"""`workers = 3`: one hotlined supervisor and three forked workers on one
port (SO_REUSEPORT), with a real redis-server. Requests are spread over the
workers and /metrics gives one summed answer whichever worker is asked; a
worker SIGKILLed under load loses no help request a caller was told was
sent and is started again; SIGHUP reloads every worker; SIGTERM stops them
all and leaves no process behind (nor does a SIGKILLed supervisor); and
what must happen once per host still happens once: a help request spooled
during a Redis outage is filed once, each alert is delivered once, each
claim is counted once in time-to-claim.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import http.client

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, RedisServer, Hotlined, at_ussd, get, eq,  # noqa: E402
                     contains, run, wait_for, HOTLINECTL, HOTLINED, PEPPER)
import test_alerts as ta  # noqa: E402
import test_cases as tc  # noqa: E402
import test_menu_publish as mp  # noqa: E402

N = 3
WALK = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF_RE = re.compile(r"^END Sent\. Your reference is ([0-9A-Z]{6})")


def with_workers(path_in, path_out, n=N):
    """Writes path_in's config to path_out with `workers = n`."""
    with open(path_in) as f:
        text = f.read()
    text, k = re.subn(r"^workers = \d+;", "workers = %d;" % n, text,
                      flags=re.M)
    eq(k, 1, "the workers line of the config")
    with open(path_out, "w") as f:
        f.write(text)
    return path_out


def shipped(tmp, n=N):
    return with_workers(os.path.join(ROOT, "config", "hotlined.cfg"),
                        os.path.join(tmp, "workers.cfg"), n)


def children(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:         # a zombie child of ours counts as gone
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def metrics(hl):
    st, text, _ = get(hl.url("/metrics"))
    eq(st, 200, "/metrics")
    return text


def value(text, series):
    m = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    return float(m.group(1)) if m else None


def per_worker(text, name):
    return {int(w): float(v) for w, v in
            re.findall(r'^%s\{worker="(\d+)"\} (\S+)$' % name, text, re.M)}


def start(tmp, redis, cfg=None, env=None, menus=None):
    hl = Hotlined(tmp, redis.port, config=cfg or shipped(tmp), env=env,
                  menus=menus)
    hl.wait_ready()
    wait_for(lambda: len(children(hl.proc.pid)) == N, 10,
             what="%d workers" % N)
    # Every worker listens once its Redis is ready: all three answer.
    wait_for(lambda: value(metrics(hl), "hotline_redis_up") == 1 and
             all(v == 1 for v in per_worker(metrics(hl),
                                            "hotline_worker_up").values()),
             10, what="every worker up with Redis")
    return hl


def step(hl, session, text, phone, tries=20):
    """One USSD step as an aggregator sends it: a connection that fails (a
    worker killed with it) is sent again."""
    for _ in range(tries):
        try:
            st, body = at_ussd(hl, session, text, phone=phone, timeout=10)
            if st == 200:
                return body
        except (urllib.error.URLError, http.client.HTTPException,
                ConnectionError):
            pass
        time.sleep(0.05)
    raise AssertionError("no answer to %r after %d tries" % (text, tries))


def walk(hl, session, phone):
    """The help walk; returns the reference the caller was told."""
    body = ""
    for text in WALK:
        body = step(hl, session, text, phone)
    m = REF_RE.match(body)
    assert m, "not told sent: %r" % body
    return m.group(1)


def test_requests_spread_and_metrics_sum(tmp):
    redis = RedisServer(tmp)
    hl = start(tmp, redis)
    sup = hl.proc.pid
    eq(len(children(sup)), N, "a supervisor and three workers")
    for i in range(60):
        st, body = at_ussd(hl, "spread-%d" % i, "")
        eq(st, 200, "first screen")
    for _ in range(6):          # each scrape may land on another worker
        text = metrics(hl)
        eq(value(text, 'hotline_requests_total{channel="at-ussd",'
                       'status="200"}'), 60.0, "one summed answer")
        eq(value(text, 'hotline_sessions_total{channel="at-ussd"}'), 60.0,
           "sessions summed")
        eq(value(text, 'hotline_request_seconds_count{channel="at-ussd"}'),
           60.0, "the histogram summed")
        eq(value(text, "hotline_workers"), float(N), "workers")
        per = per_worker(text, "hotline_worker_requests_total")
        eq(sorted(per), list(range(N)), "a series per worker")
        eq(sum(per.values()), 60.0, "per-worker requests add up")
        rss = per_worker(text, "hotline_worker_rss_bytes")
        assert all(0 < v < 64 << 20 for v in rss.values()), rss
    served = [w for w, v in per.items() if v > 0]
    assert len(served) >= 2, "one worker served everything: %r" % per
    eq(hl.stop(), 0, "SIGTERM: exit 0")


def test_sigkill_worker_under_load_loses_nothing(tmp):
    redis = RedisServer(tmp)
    hl = start(tmp, redis)
    r = redis.client()
    told, errors, lock = {}, [], threading.Lock()
    done = [0]

    def caller(k):
        try:
            for j in range(12):
                i = k * 12 + j
                ref = walk(hl, "kill-%d" % i, "+8491300%04d" % i)
                with lock:
                    told["kill-%d" % i] = ref
                    done[0] += 1
        except Exception as e:      # noqa: BLE001  reported below
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    wait_for(lambda: done[0] >= 6, 30, what="load under way")
    victims = children(hl.proc.pid)
    before = per_worker(metrics(hl), "hotline_worker_requests_total")
    os.kill(victims[1], signal.SIGKILL)
    at_kill = done[0]
    for t in threads:
        t.join(60)
    eq(errors, [], "every walk was answered")
    eq(len(told), 60, "60 callers told sent")
    assert at_kill < 50, "the kill came mid-load (%d walks done)" % at_kill
    entries = r.xrange("hl:q:urgent")
    eq(sorted(f["ref"] for _, f in entries), sorted(told.values()),
       "every request a caller was told was sent, filed once")
    wait_for(lambda: len(children(hl.proc.pid)) == N and
             victims[1] not in children(hl.proc.pid), 10,
             what="the killed worker started again")
    contains(hl.log(), "killed by signal 9", "the supervisor logs the death")
    text = metrics(hl)
    eq(sum(per_worker(text, "hotline_worker_restarts_total").values()), 1.0,
       "one restart counted")
    wait_for(lambda: sum(per_worker(metrics(hl),
                                    "hotline_worker_up").values()) == N, 10,
             what="all workers up again")
    # The counters of the killed worker survive in its slot: no worker's
    # request count went back, and the filings counted are every one
    # but those whose reply died with the worker (the caller's retry finds
    # the request filed and does not count it again): at most one per
    # caller thread in flight at the kill.
    after = per_worker(metrics(hl), "hotline_worker_requests_total")
    for w, v in before.items():
        assert after[w] >= v, "worker %d's count went back: %r -> %r" % (
            w, before, after)
    filed = value(metrics(hl), 'hotline_forwards_total{queue="urgent"}')
    assert 60 - len(threads) <= filed <= 60, filed
    eq(hl.stop(), 0, "SIGTERM: exit 0")


def test_crash_loop_backs_off(tmp):
    """A worker that keeps dying young waits twice as long each time."""
    redis = RedisServer(tmp)
    hl = start(tmp, redis)
    for k in range(4):
        slot0 = per_worker(metrics(hl), "hotline_worker_up")
        eq(sum(slot0.values()), float(N), "all up before kill %d" % k)
        # the same slot each time: its restart is the newest process
        victim = max(children(hl.proc.pid))
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in children(hl.proc.pid) and
                 len(children(hl.proc.pid)) == N, 10,
                 what="restart %d" % (k + 1))
        wait_for(lambda: sum(per_worker(metrics(hl), "hotline_worker_up")
                             .values()) == N, 10, what="up again")
    delays = [float(d) for d in re.findall(
        r"killed by signal 9 after [0-9.]+ s; restarting in ([0-9.]+) s",
        hl.log())]
    eq(delays, [0.1, 0.2, 0.4, 0.8], "backoff doubles while they die young")
    eq(sum(per_worker(metrics(hl), "hotline_worker_restarts_total")
           .values()), 4.0, "four restarts counted")
    eq(hl.stop(), 0)


def test_sighup_reaches_every_worker(tmp):
    menus = os.path.join(tmp, "menus")
    os.mkdir(menus)
    for name in ("hotline.cfg", "disguised.cfg"):
        with open(os.path.join(ROOT, "config", "menus", name)) as f:
            text = f.read()
        with open(os.path.join(menus, name), "w") as f:
            f.write(text)
    redis = RedisServer(tmp)
    hl = start(tmp, redis, menus=menus)
    workers = children(hl.proc.pid)
    st, body = at_ussd(hl, "hup-0", "")
    contains(body, "Choose language", "the menu before")
    path = os.path.join(menus, "hotline.cfg")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("Choose language", "Choose a language"))
    hl.send_signal(signal.SIGHUP)
    wait_for(lambda: all("[%d] reloaded" % w in hl.log() for w in workers),
             10, what="every worker reloaded")
    for i in range(30):         # fresh connections, spread over workers
        st, body = at_ussd(hl, "hup-%d" % (i + 1), "")
        contains(body, "Choose a language", "the new menu, request %d" % i)
    eq(children(hl.proc.pid), workers, "reloaded, not restarted")
    eq(hl.stop(), 0)


def test_sigterm_stops_all_and_no_orphans(tmp):
    redis = RedisServer(tmp)
    hl = start(tmp, redis)
    workers = children(hl.proc.pid)
    eq(hl.stop(signal.SIGTERM), 0, "SIGTERM: the supervisor exits 0")
    eq([w for w in workers if alive(w)], [], "no worker left")
    for w in workers:
        contains(hl.log(), "[%d] stopped" % w, "worker %d drained" % w)
    # A supervisor killed outright takes its workers with it.
    hl2 = Hotlined(tmp, redis.port, config=shipped(tmp), name="second")
    wait_for(lambda: len(children(hl2.proc.pid)) == N, 10, what="workers")
    workers = children(hl2.proc.pid)
    hl2.proc.kill()
    hl2.proc.wait(5)
    wait_for(lambda: not any(alive(w) for w in workers), 10,
             what="the workers of a SIGKILLed supervisor gone")


def test_bad_port_exits_1(tmp):
    """The port cannot be had (taken without SO_REUSEPORT): the supervisor
    exits 1 as a single process would, instead of restarting forever."""
    import socket
    redis = RedisServer(tmp)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    p = subprocess.run(
        [HOTLINED, "-c",
         shipped(tmp), "--listen", "127.0.0.1:%d" % port, "--redis",
         "127.0.0.1:%d" % redis.port, "--menus",
         os.path.join(ROOT, "config", "menus")], cwd=tmp, capture_output=True,
        text=True, timeout=30,
        env=dict(os.environ, HOTLINE_PEPPER=PEPPER))
    s.close()
    eq(p.returncode, 1, "exit status")
    contains(p.stderr, "could not start")


def test_spooled_during_outage_filed_once(tmp):
    redis = RedisServer(tmp)
    hl = start(tmp, redis)
    r = redis.client()
    step(hl, "sp-0", "", "+84913100000")
    redis.kill()
    told = []
    for i in range(6):          # history replay; spooled by any worker
        told.append(walk(hl, "sp-%d" % (i + 1), "+8491310000%d" % (i + 1)))
        # the aggregator's retry of the last step: the same reference
        eq(REF_RE.match(step(hl, "sp-%d" % (i + 1), WALK[-1],
                             "+8491310000%d" % (i + 1))).group(1), told[-1],
           "a retry is told the same reference")
    redis.start()
    r = redis.client()
    wait_for(lambda: len(r.xrange("hl:q:urgent")) >= 6, 20,
             what="the spooled requests in Redis")
    time.sleep(6)               # every worker's drain timer ran since
    eq(sorted(f["ref"] for _, f in r.xrange("hl:q:urgent")), sorted(told),
       "each spooled request filed once")
    wait_for(lambda: value(metrics(hl), "hotline_spool_depth") == 0, 10,
             what="spool depth 0")
    eq(hl.stop(), 0)


def test_alerts_delivered_once(tmp):
    redis = RedisServer(tmp)
    receiver = ta.Receiver()
    cfg = ta.write_config(tmp, receiver, None, claim_s=1)
    cfg = with_workers(cfg, os.path.join(tmp, "alerts-workers.cfg"))
    hl = start(tmp, redis, cfg=cfg, env={"TEST_WEBHOOK_SECRET": ta.SECRET})
    refs = [walk(hl, "al-%d" % i, "+8491320000%d" % i) for i in range(8)]
    wait_for(lambda: len(receiver.items()) >= 8, 15, what="8 webhooks")
    time.sleep(3.5)             # past claim_s: no worker takes one over
    got = [body["ref"] for _, body, ok, fresh, _ in receiver.items()]
    eq(sorted(got), sorted(refs), "each alert delivered once")
    r = redis.client()
    wait_for(lambda: r("XPENDING", "hl:q:urgent", "alerts")[0] == 0, 5,
             what="every alert acknowledged")
    eq(hl.stop(), 0)
    receiver.stop()


def test_published_menu_followed_by_all_funnel_in_every_scrape(tmp):
    """A menu published once is served by every worker (each follows the
    publications), and every scrape, whichever worker answers, shows the
    funnel's current totals (read from Redis)."""
    redis = RedisServer(tmp)
    cfg = with_workers(mp.staff_config(tmp), os.path.join(tmp, "pub3.cfg"))
    hl = start(tmp, redis, cfg=cfg, env={"STAFF_TOKEN_LAN": mp.LAN})
    workers = children(hl.proc.pid)
    v1 = mp.variant(tmp, "v1", (mp.OLD_MAIN, mp.NEW_MAIN))
    p = subprocess.run([HOTLINECTL, "menu", "publish", "-c", cfg, "--redis",
                        "127.0.0.1:%d" % redis.port, v1], cwd=ROOT,
                       env=dict(os.environ, HOTLINE_PEPPER=PEPPER,
                                STAFF_TOKEN_LAN=mp.LAN,
                                HOTLINE_STAFF_TOKEN=mp.LAN),
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, p.stderr)
    wait_for(lambda: all("[%d] menu hotline: serving version 1" % w
                         in hl.log() for w in workers), 5,
             what="every worker serving version 1")
    for i in range(12):         # fresh connections, spread over workers
        step(hl, "pub-%d" % i, "", "+8491340%04d" % i)
        contains(step(hl, "pub-%d" % i, "2", "+8491340%04d" % i),
                 mp.NEW_MAIN, "the published menu, session %d" % i)
    visits = ('hotline_menu_funnel_total{menu="hotline",version="1",'
              'node="main",lang="en",event="visit"} 12')
    # each worker writes its counts within ~1 s and reads the totals back
    # each second
    wait_for(lambda: visits in metrics(hl), 5, what="the funnel written")
    time.sleep(2.5)             # every worker has read the funnel since
    for k in range(6):
        contains(metrics(hl), visits, "scrape %d" % k)
    eq(hl.stop(), 0)


def test_time_to_claim_counted_once(tmp):
    redis = RedisServer(tmp)
    cfg = with_workers(tc.staff_config(tmp), os.path.join(tmp, "staff3.cfg"))
    hl = start(tmp, redis, cfg=cfg,
               env={"STAFF_TOKEN_LAN": tc.LAN, "STAFF_TOKEN_MINH": tc.MINH})
    refs = [walk(hl, "tc-%d" % i, "+8491330000%d" % i) for i in range(3)]
    e = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=tc.LAN,
             STAFF_TOKEN_MINH=tc.MINH)
    for ref in refs:
        p = subprocess.run([HOTLINECTL, "cases", "-c", cfg, "--redis",
                            "127.0.0.1:%d" % redis.port, "--token", tc.LAN,
                            "claim", ref], cwd=ROOT, env=e,
                           capture_output=True, text=True, timeout=30)
        eq(p.returncode, 0, p.stderr)
    wait_for(lambda: value(metrics(hl), "hotline_case_claim_seconds_count")
             == 3, 10, what="three claims in /metrics")
    time.sleep(2.5)             # every worker read the events since
    for _ in range(4):
        eq(value(metrics(hl), "hotline_case_claim_seconds_count"), 3.0,
           "each claim counted once over the workers")
    eq(hl.stop(), 0)


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
