"""Staff authentication on the staff API resists guessing, and every read
of a case leaves an audit line in its history.

- A guessing loop on one keep-alive connection is answered 429 with
  Retry-After once an address has had a few failed tokens in the window;
  the real token still works from another address, and from the same one
  after the window.
- Guesses spread over many addresses that share a token prefix are limited
  by that prefix; the real token (another prefix) keeps working.
- Failures are logged without the token and counted in /metrics.
- Weak staff tokens are refused at start-up, by --check and on reload.
- Reading a case and listing cases write {who, what} into the case's
  history (API JSON and `hotlinectl cases show`), never the number.
Real redis-server and hotlined on loopback.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, eq, contains, run,  # noqa: E402
                     ROOT, HOTLINED, HOTLINECTL, PEPPER, get, wait_for)
import schemas  # noqa: E402  docs/schemas/, python3-jsonschema

LAN = "lan-token-0123456789abcdef"
MINH = "minh-token-0123456789abcdef"
HELP = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
WINDOW = 3


def config(tmp, staff=None, window=WINDOW):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    staff = staff or ('{ name = "lan"; token = "env:STAFF_TOKEN_LAN"; }, '
                      '{ name = "minh"; token = "env:STAFF_TOKEN_MINH"; }')
    text, n = re.subn(r"staff = \(.*?\n\);", "staff = ( %s );" % staff, text,
                      flags=re.S)
    assert n == 1
    text, n = re.subn(r"retention_days = \d+;", "retention_days = 2;", text)
    assert n == 1
    text, n = re.subn(r"window_s = \d+;", "window_s = %d;" % window, text)
    assert n == 1, "config/hotlined.cfg has staff_auth.window_s"
    path = os.path.join(tmp, "staff.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def setup(tmp):
    redis = RedisServer(tmp)
    cfg = config(tmp)
    hl = Hotlined(tmp, redis.port, config=cfg,
                  env={"STAFF_TOKEN_LAN": LAN, "STAFF_TOKEN_MINH": MINH})
    hl.wait_ready()
    return redis, hl, cfg


def conn(hl, source="127.0.0.1"):
    """A keep-alive connection to hotlined from a loopback source address."""
    return http.client.HTTPConnection("127.0.0.1", hl.port, timeout=10,
                                      source_address=(source, 0))


def call(c, token, path="/api/cases"):
    c.request("GET", path, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read().decode()
    schemas.check("error" if r.status != 200 else
                  "case-list" if path.startswith("/api/cases?") or
                  path == "/api/cases" else "case", body)
    return r.status, body, r.getheader("Retry-After")


def walk(hl, session, phone):
    body = None
    for text in HELP:
        st, body = at_ussd(hl, session, text, phone=phone)
        eq(st, 200)
    return REF.search(body).group(1)


def metric(hl, name):
    text = get(hl.url("/metrics"))[1]
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else 0


def test_guessing_loop_gets_429_and_the_real_token_still_works(tmp):
    redis, hl, cfg = setup(tmp)
    c = conn(hl)
    answers = []
    t0 = time.time()
    for i in range(40):
        st, body, retry = call(c, "guess-%020d" % i)
        answers.append((st, retry))
    took = time.time() - t0
    eq([s for s, _ in answers[:5]], [401] * 5, "the first failures are 401")
    eq(set(s for s, _ in answers[5:]), {429}, "then 429, on the same connection")
    for st, retry in answers[5:]:
        assert retry is not None and 1 <= int(retry) <= WINDOW, retry
    eq(call(c, LAN)[0], 429, "the address is held for the window, token or not")
    st, body, _ = call(conn(hl, "127.0.0.2"), LAN)
    eq(st, 200, "the real token works from another address: " + body)
    eq(metric(hl, "hotline_api_auth_failures_total"), 5,
       "failures counted in /metrics")
    assert metric(hl, "hotline_api_auth_limited_total") >= 35
    log = hl.log()
    contains(log, "staff token refused from 127.0.0.1", "failures logged")
    assert "guess-" not in log, "a token reached the log"
    time.sleep(int(answers[-1][1]) + 0.5)
    st, body, _ = call(conn(hl), LAN)
    eq(st, 200, "after the window the address is free again: " + body)
    print("  figures: 40 guesses in %.2fs, 5 answered 401, 35 answered 429"
          % took)


def test_prefix_limit_spans_addresses_and_spares_other_tokens(tmp):
    redis, hl, cfg = setup(tmp)
    got = []
    # Two guesses from each address (under its limit of 5), same prefix.
    for a in range(10, 20):
        c = conn(hl, "127.0.0.%d" % a)
        for k in range(2):
            got.append(call(c, "zzzzzzzz-%016d" % (a * 10 + k))[0])
    eq(got[:10], [401] * 10, "the prefix's first failures are 401")
    eq(set(got[10:]), {429}, "then that prefix is held, whatever the address")
    st, _, retry = call(conn(hl, "127.0.0.30"), "zzzzzzzz-fresh-000000000")
    eq(st, 429, "a fresh address with the held prefix")
    assert retry and 1 <= int(retry) <= WINDOW
    eq(call(conn(hl, "127.0.0.30"), LAN)[0], 200,
       "the real token (another prefix) is not locked out")
    eq(call(conn(hl, "127.0.0.31"), MINH)[0], 200)


def test_token_compare_is_exact(tmp):
    redis, hl, cfg = setup(tmp)
    eq(call(conn(hl, "127.0.0.5"), LAN + "x")[0], 401, "a longer token")
    eq(call(conn(hl, "127.0.0.6"), LAN[:-1])[0], 401, "a prefix of the token")
    eq(call(conn(hl, "127.0.0.7"), LAN)[0], 200)


def test_weak_token_refused_at_start_check_and_reload(tmp):
    redis = RedisServer(tmp)
    env = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=LAN,
               STAFF_TOKEN_MINH="aaaaaaaaaaaaaaaaaaaaaaaa")
    cfg = config(tmp)
    p = subprocess.run([HOTLINED, "-c", cfg, "--check", "--menus",
                        os.path.join(ROOT, "config", "menus")], cwd=tmp,
                       env=env, capture_output=True, text=True, timeout=30)
    eq(p.returncode, 1, "--check refuses a weak token")
    out = p.stdout + p.stderr
    contains(out, "staff minh: weak token")
    contains(out, "character")
    assert "aaaaaaaa" not in out, "the token itself is not printed"
    for weak, why in (("Ab1-short", "at least 20"),
                      ("abcdefghijabcdefghijabcd", "character classes"),
                      ("ab12ab12ab12ab12ab12ab12", "different characters")):
        env["STAFF_TOKEN_MINH"] = weak
        p = subprocess.run([HOTLINED, "-c", cfg, "--listen", "127.0.0.1:1",
                            "--redis", "127.0.0.1:%d" % redis.port, "--menus",
                            os.path.join(ROOT, "config", "menus")], cwd=tmp,
                           env=env, capture_output=True, text=True, timeout=30)
        eq(p.returncode, 1, "start-up refuses " + why)
        contains(p.stdout + p.stderr, why)
    # Reload: a config with a weak literal token is refused, the old kept.
    hl = Hotlined(tmp, redis.port, config=cfg,
                  env={"STAFF_TOKEN_LAN": LAN, "STAFF_TOKEN_MINH": MINH})
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace('"env:STAFF_TOKEN_MINH"', '"password-password"'))
    hl.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in hl.log(), 10, what="reload refused")
    contains(hl.log(), "staff minh: weak token")
    eq(call(conn(hl), MINH)[0], 200, "the running config is kept")


def test_reads_and_lists_are_audited(tmp):
    redis, hl, cfg = setup(tmp)
    r = redis.client()
    phone = "+84912000077"
    ref = walk(hl, "au-1", phone)
    c = conn(hl)
    eq(call(c, LAN, "/api/cases")[0], 200)
    eq(call(c, MINH, "/api/cases/" + ref)[0], 200)
    hist = json.loads(r.hgetall("hl:case:" + ref)["history"])
    eq([(h["who"], h["what"]) for h in hist], [("lan", "list"), ("minh", "read")],
       "the list and the read are in the case's history")
    for h in hist:
        assert isinstance(h["at"], int) and h["at"] > 0, h
        assert "912000077" not in json.dumps(h), "never the number"
    st, body, _ = call(c, LAN, "/api/cases/" + ref)
    case = json.loads(body)
    eq([(h["who"], h["what"]) for h in case["history"]],
       [("lan", "list"), ("minh", "read"), ("lan", "read")],
       "the API shows the audit in the history, this read included")
    # Lists by the same person in a row make one line with a count.
    for _ in range(3):
        eq(call(c, MINH, "/api/cases?status=new")[0], 200)
    hist = json.loads(r.hgetall("hl:case:" + ref)["history"])
    eq((hist[-1]["who"], hist[-1]["what"], hist[-1]["n"]), ("minh", "list", 3))
    e = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=LAN,
             STAFF_TOKEN_MINH=MINH)
    ctl = [HOTLINECTL, "cases", "-c", cfg, "--redis",
           "127.0.0.1:%d" % redis.port, "--token", LAN]
    p = subprocess.run(ctl + ["show", ref], env=e, capture_output=True,
                       text=True, timeout=30)
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "History:")
    contains(p.stdout, "minh: read")
    contains(p.stdout, "minh: list (3 times)")
    contains(p.stdout, "lan: read\n", "hotlinectl's own read is audited too")
    p = subprocess.run(ctl + ["claim", ref], env=e, capture_output=True,
                       text=True, timeout=30)
    p = subprocess.run(ctl + ["resolve", ref], env=e, capture_output=True,
                       text=True, timeout=30)
    eq(p.returncode, 0, p.stderr)
    ttl = r("TTL", "hl:case:" + ref)
    assert 2 * 86400 - 60 < ttl <= 2 * 86400, "the audit lives as long as the case"
    eq(call(c, LAN, "/api/cases/NOSUCH")[0], 404)
    eq(r("EXISTS", "hl:case:NOSUCH"), 0, "reading no case creates none")
    log = hl.log()
    assert "912000077" not in log
    contains(log, "api: minh read case " + ref, "the log names who read what")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
