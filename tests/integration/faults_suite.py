"""Fault scenarios (issue: prove it survives). Each runs a bounded loopback
load while something breaks, then checks what callers saw and what Redis
holds, and prints its figures on one `figures:` line.

`make test-faults` runs them at full length (FAULTS=full); `make test` runs
the short subset in test_faults_quick.py.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, Redis, at_ussd, free_port, eq,  # noqa: E402
                     wait_for, run, ROOT, _procs)
from loadgen import Load, REF_RE  # noqa: E402

FULL = os.environ.get("FAULTS") == "full"


def figures(name, **kw):
    print("figures: %s %s" % (name, " ".join("%s=%s" % (k, v) for k, v in
                                              sorted(kw.items()))), flush=True)


def queued_refs(r):
    return [f["ref"] for _id, f in r.xrange("hl:q:urgent")]


def check_nothing_lost(r, load, what):
    told = sorted(load.refs)
    try:
        wait_for(lambda: set(told) <= set(queued_refs(r)), 20,
                 what="every reference callers were told on the queue (%s)" % what)
    except AssertionError:
        missing = set(told) - set(queued_refs(r))
        raise AssertionError("%d of %d references callers were told are not on "
                             "the queue (%s), e.g. %s" % (len(missing), len(told),
                                                          what, sorted(missing)[:5]))
    q = queued_refs(r)
    dups = len(q) - len(set(q))
    eq(dups, 0, "duplicated help requests")
    return len(told), dups


def scenario_redis_killed(tmp, outage=10.0, seconds=16.0):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    load = Load(lambda: hl.url("/ussd/africastalking"), threads=4,
                seconds=seconds, prefix="rk").start()
    time.sleep(2)
    redis.kill()
    t_down = time.time()
    time.sleep(outage)
    redis.start()
    load.join()
    s = load.summary()
    r = redis.client()
    told, dups = check_nothing_lost(r, load, "redis outage")
    figures("redis_killed", outage_s=outage, walks=s["walks"],
            requests=s["requests"], max_latency_ms=int(s["max"] * 1000),
            p99_ms=int(s["p99"] * 1000), non200=s["requests"] - s["statuses"].get(200, 0),
            told_sent=told, lost=0, duplicated=dups,
            recovered_s=round(time.time() - t_down - outage, 1))
    eq(s["statuses"].get(200, 0), s["requests"], "every screen answered 200")
    assert s["max"] < 1.0, "a screen took %.3f s" % s["max"]


def scenario_hotlined_sigkill(tmp, seconds=10.0):
    redis = RedisServer(tmp)
    port = free_port()
    hl = Hotlined(tmp, redis.port, port=port)
    hl.wait_ready()
    load = Load(lambda: hl.url("/ussd/africastalking"), threads=4,
                seconds=seconds, prefix="hk").start()
    time.sleep(seconds / 3)
    hl.proc.kill()
    hl.proc.wait(timeout=5)
    hl2 = Hotlined(tmp, redis.port, port=port, name="hotlined2")
    hl2.wait_ready()
    load.join()
    s = load.summary()
    told, dups = check_nothing_lost(redis.client(), load, "hotlined killed")
    figures("hotlined_sigkill", walks=s["walks"], requests=s["requests"],
            unanswered=s["statuses"].get(0, 0), told_sent=told, lost=0,
            duplicated=dups)


def scenario_retries(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    hist = ""
    for step in ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1"]:
        at_ussd(hl, "retry-1", step)
    bodies = [at_ussd(hl, "retry-1", "2*1*Hanoi*1*2")[1] for _ in range(4)]
    refs = {REF_RE.search(b).group(1) for b in bodies}
    r = redis.client()
    eq(len(refs), 1, "same reference on every retry")
    eq(queued_refs(r), list(refs), "one request filed")
    figures("retries", retries=3, requests_filed=len(queued_refs(r)),
            references=len(refs))
    del hist


def scenario_sighup_broken_menu(tmp, seconds=6.0):
    menus = os.path.join(tmp, "menus")
    os.mkdir(menus)
    src = os.path.join(ROOT, "config", "menus", "hotline.cfg")
    shutil.copy(src, menus)
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, menus=menus)
    hl.wait_ready()
    load = Load(lambda: hl.url("/ussd/africastalking"), threads=4,
                seconds=seconds, prefix="hu").start()
    time.sleep(1)
    with open(os.path.join(menus, "hotline.cfg"), "a") as f:
        f.write("\nthis is not libconfig {\n")
    for _ in range(3):
        hl.send_signal(signal.SIGHUP)
        time.sleep(0.5)
    load.join()
    s = load.summary()
    bad = s["requests"] - s["statuses"].get(200, 0)
    figures("sighup_broken_menu", requests=s["requests"], failed=bad,
            reloads=3)
    eq(bad, 0, "failed requests during reloads")
    assert "reload failed" in hl.log()
    check_nothing_lost(redis.client(), load, "reloads")


def _sentinel_conf(tmp, port, master_port, name):
    path = os.path.join(tmp, "sentinel-%d.conf" % port)
    with open(path, "w") as f:
        f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                "sentinel monitor %s 127.0.0.1 %d 2\n"
                "sentinel down-after-milliseconds %s 1000\n"
                "sentinel failover-timeout %s 5000\n"
                "sentinel parallel-syncs %s 1\n" %
                (port, tmp, name, master_port, name, name, name))
    return path


def scenario_sentinel_failover(tmp, seconds=20.0):
    if not shutil.which("redis-sentinel"):
        print("skip: redis-sentinel is not installed")
        return
    master = RedisServer(tmp)
    replica = RedisServer(tmp)
    Redis(replica.port)("REPLICAOF", "127.0.0.1", str(master.port))
    sports = [free_port() for _ in range(3)]
    for p in sports:
        proc = subprocess.Popen(["redis-sentinel",
                                 _sentinel_conf(tmp, p, master.port, "hl")],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _procs.append(proc)
    cfg = os.path.join(tmp, "hotlined.cfg")
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text = text.replace('  # master = "hotline";', '  master = "hl";\n  sentinels = [ %s ];' %
                        ", ".join('"127.0.0.1:%d"' % p for p in sports))
    with open(cfg, "w") as f:
        f.write(text)
    def sentinels_see_replica():
        try:
            return Redis(sports[0])("SENTINEL", "replicas", "hl")
        except (OSError, RuntimeError):
            return False        # not listening yet, or not monitoring yet
    wait_for(sentinels_see_replica, 15, what="sentinels see the replica")
    hl = Hotlined(tmp, master.port, config=cfg)
    hl.wait_ready()
    load = Load(lambda: hl.url("/ussd/africastalking"), threads=4,
                seconds=seconds, prefix="sf").start()
    time.sleep(3)
    t_kill = time.time()
    master.kill()

    def promoted():
        try:
            return Redis(replica.port)("ROLE")[0] == "master"
        except OSError:
            return False
    wait_for(promoted, 30, what="the replica promoted")
    t_promoted = time.time()
    wait_for(lambda: "switching to 127.0.0.1:%d" % replica.port in hl.log(),
             15, what="hotlined following the new master")
    t_follow = time.time()
    load.join()
    s = load.summary()
    told, dups = check_nothing_lost(replica.client(), load, "failover")
    figures("sentinel_failover", walks=s["walks"], requests=s["requests"],
            max_latency_ms=int(s["max"] * 1000), told_sent=told, lost=0,
            duplicated=dups, promoted_s=round(t_promoted - t_kill, 1),
            recovered_s=round(t_follow - t_kill, 1))


def full_tests():
    return [
        ("redis_killed_10s_under_load", scenario_redis_killed),
        ("hotlined_sigkill_under_load", scenario_hotlined_sigkill),
        ("aggregator_retries_final_step", scenario_retries),
        ("sighup_broken_menu_under_load", scenario_sighup_broken_menu),
        ("sentinel_master_killed", scenario_sentinel_failover),
    ]


if __name__ == "__main__":
    run(full_tests())
