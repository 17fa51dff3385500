"""`make bench-cost`: what one request costs hotlined, counted rather than
timed, so that two builds can be compared on a shared, noisy machine.

For each hotlined binary given (LABEL=PATH; default: $B/hotlined), with the
bench's config and menus, one redis-server, and WALKS sequential Africa's
Talking help walks (tests/bench/walk.lua's six steps, each walk filing a
help request) on one keep-alive connection, after 20 walks of warm-up:

  Ir/request        user-space instructions hotlined executed (valgrind
                    --tool=callgrind, counters dumped before and after the
                    walks): libc, libevent, hiredis and libcrypto included,
                    the kernel not. A memset counts one per byte stored.
  syscalls/request  system calls hotlined made (strace -c -f, a second run
                    of the same walks), in total and by call.

Both depend only on the code and the walk, not on the machine's load: run
the old and the new binary in one go, e.g.
  B=build python3 tests/bench/cost.py old=/tmp/hotlined.old new=build/hotlined
Sequential walks batch nothing: under wrk's 50 connections one epoll_wait
or write serves several requests, so the syscall counts here are an upper
bound. `make bench`'s CPU µs per request is the figure under load.

Options: WALKS=100; PROFILE=DIR keeps each build's callgrind dump of the
walks there (DIR/LABEL.callgrind, for callgrind_annotate). Needs valgrind (callgrind_control) and strace.
"""
import glob
import http.client
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import harness  # noqa: E402  (bench put tests/integration on the path)

WALKS = int(os.environ.get("WALKS", "100"))
STEPS = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]


_numbers = [0]


def walks(port, tag, n):
    """n whole help walks, one request after another; the requests made.
    Every walk of the run has a number of its own: a number that filed
    earlier (in the warm-up, or another build's walks on the same Redis)
    would meet the daily limit's check, and its filing be decided again
    from a LOAD, for the builds after the first only."""
    first = _numbers[0]
    _numbers[0] += n
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for i in range(n):
        for text in STEPS:
            c.request("POST", "/ussd/africastalking",
                      bench.at_body("%s-%d" % (tag, i), text,
                                    "99%09d" % (first + i)),
                      bench.FORM)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError("step %r: %d %r" % (text, r.status, body))
        if b"Sent." not in body:
            raise RuntimeError("walk %d filed nothing: %r" % (i, body))
    c.close()
    return n * len(STEPS)


def start(ctx, label, tool, path):
    """hotlined `path` under a wrapper script running it through `tool`."""
    wrapper = os.path.join(ctx.tmp, "run-%s-%s.sh" % (label, tool))
    out = os.path.join(ctx.tmp, "callgrind-%s.out" % label)
    with open(wrapper, "w") as f:
        if tool == "callgrind":
            f.write("#!/bin/sh\nexec valgrind -q --tool=callgrind "
                    "--callgrind-out-file=%s %s \"$@\"\n" % (out, path))
        else:
            f.write("#!/bin/sh\nexec %s \"$@\"\n" % path)
    os.chmod(wrapper, 0o755)
    saved = harness.HOTLINED
    harness.HOTLINED = wrapper
    try:
        hl = harness.Hotlined(ctx.tmp, ctx.redis.port,
                              name="cost-%s-%s" % (label, tool),
                              config=bench.bench_config(ctx.tmp, "cost" + label, 1),
                              menus=ctx.menus)
        hl.wait_ready()
    finally:
        harness.HOTLINED = saved
    return hl, out


def instructions(ctx, label, path):
    hl, out = start(ctx, label, "callgrind", path)
    try:
        walks(hl.port, "warm-c-" + label, 20)
        dump = ["callgrind_control", "-d", str(hl.proc.pid)]
        subprocess.run(dump, capture_output=True, timeout=120, check=True)
        n = walks(hl.port, "c-" + label, WALKS)
        subprocess.run(dump, capture_output=True, timeout=120, check=True)
        time.sleep(0.5)
        last = sorted(glob.glob(out + ".*"), key=os.path.getmtime)[-1]
        if os.environ.get("PROFILE"):
            os.makedirs(os.environ["PROFILE"], exist_ok=True)
            shutil.copy(last, os.path.join(os.environ["PROFILE"],
                                           label + ".callgrind"))
        with open(last) as f:
            m = re.search(r"^(?:summary|totals): (\d+)", f.read(), flags=re.M)
        return int(m.group(1)) / float(n)
    finally:
        hl.stop()


def syscalls(ctx, label, path):
    hl, _ = start(ctx, label, "plain", path)
    st = os.path.join(ctx.tmp, "strace-%s.txt" % label)
    try:
        walks(hl.port, "warm-s-" + label, 20)
        p = subprocess.Popen(["strace", "-c", "-f", "-o", st, "-p",
                              str(hl.proc.pid)], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        n = walks(hl.port, "s-" + label, WALKS)
        p.terminate()
        p.wait(timeout=30)
    finally:
        hl.stop()
    calls = {}
    with open(st) as f:
        for line in f:
            x = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(x) >= 5 and x[3].isdigit() and x[-1] not in ("total",):
                calls[x[-1]] = int(x[3]) / float(n)
    return calls


def main():
    bins = [a.split("=", 1) for a in sys.argv[1:]] or \
        [("hotlined", os.path.join(harness.BIN, "hotlined"))]
    ctx = bench.Ctx()
    try:
        print("cost of a request: %d sequential AT help walks (%d requests) "
              "after 20 of warm-up" % (WALKS, WALKS * len(STEPS)))
        for label, path in bins:
            ir = instructions(ctx, label, path)
            sc = syscalls(ctx, label, path)
            print("  %-10s Ir/request %8.0f   syscalls/request %5.2f: %s" % (
                label, ir, sum(sc.values()), ", ".join(
                    "%s %.2f" % kv for kv in sorted(sc.items(),
                                                    key=lambda kv: -kv[1]))),
                  flush=True)
    finally:
        bench._cleanup()
        shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
