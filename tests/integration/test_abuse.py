"""Abuse limits that never block a victim (issue: prove it survives).

Per-number limits on sessions an hour and help requests a day, and a
per-address request limit at the HTTP front, all counted in Redis with
expiry. A number over its limit still gets a screen with the hotline's phone
number (never silence); the first help request of a number is never
refused; every refusal is counted in /metrics.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import RedisServer, Hotlined, at_ussd, get, eq, contains, run, ROOT  # noqa: E402

LIMIT_MSG = "Too many tries. Please call the hotline on 1800 0000."
HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]


def limited_config(tmp, sessions=0, requests=0, per_address=0, allow=None,
                   trusted=None):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    if allow:
        text, n = re.subn(r'(path = "/ussd/africastalking";)',
                          r'\1 allow = [ "%s" ];' % allow, text)
        assert n == 1, "the at-ussd channel not found"
    if trusted:
        text, n = re.subn(r"trusted_proxies = \[.*?\];",
                          "trusted_proxies = [ %s ];" %
                          ", ".join('"%s"' % t for t in trusted), text)
        assert n == 1, "http.trusted_proxies not found"
    block = ('limits = { sessions_per_hour = %d; requests_per_day = %d; '
             'per_address_per_minute = %d; message = "%s"; };'
             % (sessions, requests, per_address, LIMIT_MSG))
    text, n = re.subn(r"limits = \{.*?\n\};", block, text, flags=re.S)
    assert n == 1, "limits block not found in config/hotlined.cfg"
    path = os.path.join(tmp, "limited.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def real_ip_walk(hl, session, real_ip):
    """The first screen, as nginx would pass a request from real_ip."""
    return at_ussd(hl, session, "", phone="+84911000300",
                   headers={"X-Real-IP": real_ip})


def test_behind_a_proxy_the_real_address_counts(tmp):
    """Behind nginx every request comes from 127.0.0.1: the allow-list and
    the per-address limit must see the aggregator's address (X-Real-IP
    from a trusted proxy), and only from a trusted proxy."""
    redis, hl, r = setup(tmp, per_address=2, allow="10.9.9.0/24")
    st, body = at_ussd(hl, "tp-0", "", phone="+84911000300")
    eq(st, 403, "nginx's own address is not the aggregator's")
    eq(real_ip_walk(hl, "tp-1", "10.9.9.7")[0], 200, "an allowed aggregator")
    eq(real_ip_walk(hl, "tp-2", "10.8.0.1")[0], 403, "an address not allowed")
    eq(real_ip_walk(hl, "tp-3", "not-an-address")[0], 403, "garbage is not an address")
    eq(real_ip_walk(hl, "tp-4", "10.9.9.7")[0], 200, "second request")
    eq(real_ip_walk(hl, "tp-5", "10.9.9.7")[0], 429, "third: over the limit")
    contains(real_ip_walk(hl, "tp-6", "10.9.9.8")[1], "CON ",
             "another aggregator address has its own count")
    eq(sorted(r.scan_all("hl:rl:a:*")), ["hl:rl:a:10.9.9.7", "hl:rl:a:10.9.9.8"],
       "counted per real address")
    hl.stop()

    # From a proxy that is not trusted, the header is a forgery: ignored.
    redis2, hl2, _r2 = setup(tmp, allow="10.9.9.0/24", trusted=["127.0.0.2"])
    eq(real_ip_walk(hl2, "tp-7", "10.9.9.7")[0], 403,
       "X-Real-IP from an untrusted peer is ignored")


def setup(tmp, **limits):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, config=limited_config(tmp, **limits))
    hl.wait_ready()
    return redis, hl, redis.client()


def walk(hl, session, phone, steps=HELP):
    body = None
    for text in steps:
        st, body = at_ussd(hl, session, text, phone=phone)
        eq(st, 200, "status of %r" % text)
    return body


def test_sessions_per_hour(tmp):
    redis, hl, r = setup(tmp, sessions=3)
    phone = "+84911000001"
    # The limit waits for the number's first help request (T12): it files
    # in its first session, then opens two more.
    assert walk(hl, "sph-0", phone).startswith("END Sent."), "first request"
    for i in range(1, 3):
        st, body = at_ussd(hl, "sph-%d" % i, "", phone=phone)
        contains(body, "CON Chon ngon ngu", "session %d within the limit" % (i + 1))
    st, body = at_ussd(hl, "sph-3", "", phone=phone)
    eq(body, "END " + LIMIT_MSG, "the 4th session: the hotline's number, not silence")
    st, body = at_ussd(hl, "sph-x", "", phone="+84911000002")
    contains(body, "CON Chon ngon ngu", "another number is not affected")
    ttl = r("TTL", r.scan_all("hl:rl:s:*")[0])
    assert 0 < ttl <= 3600, ttl
    contains(get(hl.url("/metrics"))[1], 'hotline_limited_total{limit="sessions"} 1')


def test_first_request_never_refused_then_daily_limit(tmp):
    redis, hl, r = setup(tmp, requests=1)
    phone = "+84911000003"
    first = walk(hl, "rpd-1", phone)
    assert first.startswith("END Sent. Your reference is "), first
    eq(len(r.xrange("hl:q:urgent")), 1, "the first help request is filed")
    second = walk(hl, "rpd-2", phone)
    eq(second, "END " + LIMIT_MSG, "over the daily limit: the hotline's number")
    eq(len(r.xrange("hl:q:urgent")), 1, "no second request filed")
    other = walk(hl, "rpd-3", "+84911000004")
    assert other.startswith("END Sent."), other
    contains(get(hl.url("/metrics"))[1], 'hotline_limited_total{limit="requests"} 1')


def test_first_request_filed_even_with_limit_zero_requests(tmp):
    # requests_per_day = 0 means "off": nothing is ever refused.
    redis, hl, r = setup(tmp, requests=0, sessions=0)
    for i in range(3):
        body = walk(hl, "off-%d" % i, "+84911000005")
        assert body.startswith("END Sent."), body
    eq(len(r.xrange("hl:q:urgent")), 3)


def test_per_address_limit(tmp):
    redis, hl, r = setup(tmp, per_address=20)
    statuses = []
    for i in range(25):
        st, body = at_ussd(hl, "pa-%d" % i, "", phone="+849110001%02d" % i)
        statuses.append(st)
    eq(statuses[:20], [200] * 20, "within the per-address limit")
    eq(set(statuses[20:]), {429}, "over it: 429 Too Many Requests")
    ttl = r("TTL", r.scan_all("hl:rl:a:*")[0])
    assert 0 < ttl <= 60, ttl
    contains(get(hl.url("/metrics"))[1], 'hotline_limited_total{limit="address"} 5')
    log = hl.log()
    assert "84911000" not in log, "a phone number reached the log"


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
