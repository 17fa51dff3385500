"""The spool on a full disk (issue 11, item 2), through a real hotlined with
Redis down.

A file-size limit on the running hotlined (prlimit, RLIMIT_FSIZE) makes its
next spool append fail part-way, as ENOSPC would: that caller gets the
fallback screen. Once the limit is lifted ("space freed") the next caller is
told "Sent", and when Redis returns both spooled callers are filed — the one
after the failed append too, not glued to a fragment and skipped as
malformed.
"""
import os
import re
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, get, eq, contains,  # noqa: E402
                     run, wait_for)

REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
HELP = ["2", "1", "Hanoi", "1", "2"]      # the shipped menu's help path


def walk(hl, session, phone):
    """An AT help walk; returns the last screen."""
    body = at_ussd(hl, session, "", phone=phone)[1]
    for i in range(len(HELP)):
        st, body = at_ussd(hl, session, "*".join(HELP[:i + 1]), phone=phone)
        eq(st, 200, "status")
    return body


def cap_file_size(hl, limit):
    """Caps how large any file hotlined writes may grow (None = no cap)."""
    soft, hard = resource.prlimit(hl.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(hl.proc.pid, resource.RLIMIT_FSIZE,
                     (hard if limit is None else limit, hard))


def test_caller_after_a_failed_append_is_filed(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    spool = os.path.join(tmp, "var", "spool.jsonl")
    redis.kill()

    first = walk(hl, "ATfull_1", "+84901000101")
    ref1 = REF_RE.search(first).group(1)
    size = os.path.getsize(spool)
    # The disk fills: the next record fits only in part.
    cap_file_size(hl, size + 100)
    refused = walk(hl, "ATfull_2", "+84901000102")
    contains(refused, "busy", "the caller whose append failed: fallback")
    assert "reference" not in refused, refused
    cap_file_size(hl, None)
    eq(os.path.getsize(spool), size, "nothing of the refused record is left")
    contains(get(hl.url("/metrics"))[1],
             'hotline_spool_failures_total{channel="at-ussd"} 1')
    third = walk(hl, "ATfull_3", "+84901000103")
    ref3 = REF_RE.search(third).group(1)

    redis.start()
    r = redis.client()
    wait_for(lambda: len(r.xrange("hl:q:urgent")) >= 2, 15,
             what="the spooled requests in Redis")
    time.sleep(1.0)
    refs = sorted(f["ref"] for _, f in r.xrange("hl:q:urgent"))
    eq(refs, sorted([ref1, ref3]), "both callers told 'Sent' are filed, once")
    phones = sorted(r.hgetall("hl:case:" + ref)["phone"] for ref in refs)
    eq(phones, ["+84901000101", "+84901000103"], "each case its own caller")
    assert "malformed" not in hl.log(), hl.log()
    wait_for(lambda: "hotline_spool_depth 0" in get(hl.url("/metrics"))[1],
             10, what="the spool drained")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
