"""Many gateways, one Redis: what deploy/README.md ("Many gateways",
"Upgrade without dropping a call") promises, run for real on loopback.

- Two hotlined on different ports share one redis-server; one caller's
  session alternates between them step by step, on Africa's Talking USSD
  (history), Hubtel (latest input only: the state must come from Redis) and
  Kannel SMS (keyed by HMAC(number, pepper)). One help request each.
- A gateway with a different HOTLINE_PEPPER cannot find the SMS session.
- The shipped nginx config (TLS, the two gateways as its upstream) carries a
  whole USSD walk and a signed Twilio message.
- The runbook's upgrade: a bridge process joins the port (SO_REUSEPORT), the
  main one drains and is replaced, the bridge leaves, while callers walk
  through nginx without interruption: no failed request, every help request
  filed once.
"""
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, post_json, get,  # noqa: E402
                     free_port, eq, contains, run, HOTLINED)
from test_gateway import REF_RE, twilio_sign, kannel_get  # noqa: E402
from test_deploy import Nginx, make_cert, skip, SERVER_NAME  # noqa: E402

STEPS = ["2", "1", "Hanoi", "1", "2"]
EXPECT = ["CON Chon ngon ngu / Choose language", "CON What do you need?",
          "CON Where are you now?", "CON Are you in danger right now?",
          "CON Is it safe for us to call you back?", "END Sent. Your reference is "]


def two_gateways(tmp, env=None):
    redis = RedisServer(tmp)
    a = Hotlined(tmp, redis.port, env=env, name="gw-a")
    b = Hotlined(tmp, redis.port, env=env, name="gw-b")
    a.wait_ready()
    b.wait_ready()
    return redis, a, b, redis.client()


def requests_200(hl, channel):
    text = get(hl.url("/metrics"))[1]
    m = re.search(r'hotline_requests_total\{channel="%s",status="200"\} (\d+)'
                  % re.escape(channel), text)
    return int(m.group(1)) if m else 0


def test_at_session_alternates_between_two_gateways(tmp):
    redis, a, b, r = two_gateways(tmp)
    gws = [a, b]
    hist, bodies = [], []
    for i, want in enumerate(EXPECT):
        if i:
            hist.append(STEPS[i - 1])
        st, body = at_ussd(gws[i % 2], "ATUid_many", "*".join(hist))
        eq(st, 200, "step %d on gateway %s" % (i, "ab"[i % 2]))
        assert body.startswith(want), "step %d: %r" % (i, body)
        bodies.append(body)
    ref = REF_RE.search(bodies[-1]).group(1)
    entries = r.xrange("hl:q:urgent")
    eq(len(entries), 1, "one help request")
    eq(entries[0][1]["ref"], ref)
    eq(entries[0][1]["channel"], "at-ussd")
    eq(entries[0][1]["f:location"], "Hanoi")
    # The aggregator retries the last step on the other gateway.
    st, again = at_ussd(a, "ATUid_many", "*".join(hist))
    eq(again, bodies[-1], "a retry on the other gateway: same screen")
    eq(len(r.xrange("hl:q:urgent")), 1, "and nothing filed twice")
    eq((requests_200(a, "at-ussd"), requests_200(b, "at-ussd")), (4, 3),
       "requests served by each gateway")


def test_hubtel_session_alternates_state_from_redis(tmp):
    """Hubtel sends only the latest input: a gateway that did not see the
    previous step can only know where the caller is from Redis."""
    redis, a, b, r = two_gateways(tmp)
    gws = [a, b]

    def hub(i, typ, msg):
        st, body, _ = post_json(gws[i % 2].url("/ussd/hubtel"), {
            "SessionId": "hub-many", "Mobile": "233200000123",
            "ServiceCode": "714", "Type": typ, "Message": msg,
            "Operator": "mtn", "ClientState": "", "Sequence": i + 1})
        eq(st, 200, "hubtel step %d" % i)
        return json.loads(body)
    out = hub(0, "Initiation", "*714#")
    contains(out["Message"], "Choose language")
    for i, s in enumerate(STEPS):
        out = hub(i + 1, "Response", s)
        want = EXPECT[i + 1][4:]
        contains(out["Message"], want, "hubtel step %d (%r)" % (i + 1, s))
    eq(out["Type"], "Release")
    ref = REF_RE.search(out["Message"]).group(1)
    entries = r.xrange("hl:q:urgent")
    eq([(e[1]["ref"], e[1]["channel"]) for e in entries], [(ref, "hubtel")])


def test_sms_session_alternates_and_needs_the_same_pepper(tmp):
    redis, a, b, r = two_gateways(tmp)
    other = Hotlined(tmp, redis.port, name="gw-other-pepper",
                     env={"HOTLINE_PEPPER": "another-pepper-0123456789"})
    other.wait_ready()
    gws = [a, b]
    st, body, _ = kannel_get(a, "HELP", "m0")
    contains(body, "Choose language")
    st, body, _ = kannel_get(other, "2", "m1")
    eq((st, body), (200, ""),
       "a gateway with another pepper does not find the SMS session")
    for i, s in enumerate(STEPS):
        st, body, _ = kannel_get(gws[(i + 1) % 2], s, "m%d" % (i + 2))
        eq(st, 200)
        contains(body, EXPECT[i + 1][4:], "SMS step %d (%r)" % (i + 1, s))
    ref = REF_RE.search(body).group(1)
    entries = r.xrange("hl:q:urgent")
    eq([(e[1]["ref"], e[1]["channel"]) for e in entries], [(ref, "kannel")])


def nginx_or_skip(tmp):
    if not shutil.which("nginx"):
        skip("nginx is not installed: no walk through nginx")
        return None
    cert = make_cert(tmp)
    if not cert:
        skip("openssl is not installed: no certificate for nginx")
    return cert


def at_via(ng, session, text, phone="+84901234567"):
    body = urllib.parse.urlencode({
        "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": phone,
        "networkCode": "45204", "text": text}).encode()
    st, out, _ = ng.https("POST", "/ussd/africastalking", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    return st, out


def test_ussd_walk_and_twilio_through_nginx(tmp):
    cert = nginx_or_skip(tmp)
    if not cert:
        return
    public = "https://" + SERVER_NAME
    redis, a, b, r = two_gateways(tmp, env={"HOTLINE_PUBLIC_URL": public})
    ng = Nginx(tmp, [(a.port, ""), (b.port, "")], cert)
    hist, bodies = [], []
    for i, want in enumerate(EXPECT):
        if i:
            hist.append(STEPS[i - 1])
        st, body = at_via(ng, "ATUid_nginx", "*".join(hist))
        eq(st, 200, "step %d through nginx" % i)
        assert body.startswith(want), "step %d: %r" % (i, body)
        bodies.append(body)
    ref = REF_RE.search(bodies[-1]).group(1)
    eq([e[1]["ref"] for e in r.xrange("hl:q:urgent")], [ref])
    assert requests_200(a, "at-ussd") and requests_200(b, "at-ussd"), \
        "nginx spread the walk over both gateways"
    # Twilio signs the public https URL; nginx passes path and body through.
    params = {"MessageSid": "SMnginx1", "AccountSid": "AC123",
              "From": "+84912345678", "To": "+15005550006", "Body": "HELP",
              "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    form = urllib.parse.urlencode(params).encode()
    hdr = {"Content-Type": "application/x-www-form-urlencoded",
           "X-Twilio-Signature": twilio_sign(public + "/sms/twilio", params)}
    st, body, h = ng.https("POST", "/sms/twilio", body=form, headers=hdr)
    eq(st, 200, "signed with the public URL, through nginx: %s" % body)
    contains(body, "Choose language")
    hdr["X-Twilio-Signature"] = twilio_sign(
        "http://127.0.0.1:%d/sms/twilio" % a.port, dict(params, MessageSid="SMnginx2"))
    st, body, h = ng.https("POST", "/sms/twilio", body=urllib.parse.urlencode(
        dict(params, MessageSid="SMnginx2")).encode(), headers=hdr)
    eq(st, 403, "signed with the internal URL: refused")
    st, body, _ = ng.https("GET", "/readyz")
    eq((st, body), (200, "ready\n"))


def test_upgrade_without_dropping_a_call(tmp):
    """deploy/README.md section 10, with processes instead of units: the
    main process on the port, the bridge joins, the main drains (SIGTERM)
    and a new one starts, the bridge drains; callers keep walking through
    the shipped nginx config (its upstream: one address, and the same as
    backup), on Africa's Talking (history) and on Hubtel (latest input
    only, so every step needs Redis), and none of their requests fails."""
    cert = nginx_or_skip(tmp)
    if not cert:
        return
    redis = RedisServer(tmp)
    port = free_port()
    main = Hotlined(tmp, redis.port, port=port, name="main")
    main.wait_ready()
    ng = Nginx(tmp, [(port, ""), (port, " backup")], cert)
    r = redis.client()
    failures, refs, walks = [], [], [0]
    stop = threading.Event()

    def at_walk(k, n):
        session, hist = "up-%d-%d" % (k, n), []
        phone = "+849%08d" % (k * 1000000 + n)
        for i, want in enumerate(EXPECT):
            if i:
                hist.append(STEPS[i - 1])
            st, body = at_via(ng, session, "*".join(hist), phone=phone)
            if st != 200 or not body.startswith(want):
                return ("at-ussd", session, i, st, body)
        return REF_RE.search(body).group(1)

    def hubtel_walk(k, n):
        """Hubtel sends the latest input only: every step needs Redis."""
        session, phone = "hub-%d-%d" % (k, n), "2332%08d" % (k * 1000000 + n)
        for i, want in enumerate(EXPECT):
            msg = STEPS[i - 1] if i else "*714#"
            st, body, _ = ng.https("POST", "/ussd/hubtel", body=json.dumps({
                "SessionId": session, "Mobile": phone, "ServiceCode": "714",
                "Type": "Response" if i else "Initiation", "Message": msg,
                "Operator": "mtn", "ClientState": "", "Sequence": i + 1}).encode(),
                headers={"Content-Type": "application/json"})
            text = json.loads(body).get("Message", "") if st == 200 else body
            if st != 200 or want[4:] not in text:
                return ("hubtel", session, i, st, text)
        return REF_RE.search(text).group(1)

    def caller(k):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                out = (at_walk if k % 2 == 0 else hubtel_walk)(k, n)
            except Exception as e:     # noqa: BLE001 — any failure counts
                out = ("error", k, n, repr(e))
            if isinstance(out, tuple):
                failures.append(out)
            else:
                refs.append(out)
                walks[0] += 1
    threads = [threading.Thread(target=caller, args=(k,), daemon=True)
               for k in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        bridge = Hotlined(tmp, redis.port, port=port, name="bridge")
        time.sleep(1.0)
        eq(main.stop(signal.SIGTERM), 0, "the old main drains and exits 0")
        time.sleep(0.5)
        main2 = Hotlined(tmp, redis.port, port=port, name="main2")
        time.sleep(1.0)
        eq(bridge.stop(signal.SIGTERM), 0, "the bridge drains and exits 0")
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    print("  %d walks (%d requests) through nginx during the upgrade" %
          (walks[0], walks[0] * len(EXPECT)), flush=True)
    eq(failures, [], "requests that failed during the upgrade")
    assert walks[0] >= 8, "callers walked during the upgrade: %d" % walks[0]
    queued = sorted(e[1]["ref"] for e in r.xrange("hl:q:urgent"))
    eq(queued, sorted(refs), "every help request filed once")
    eq(get(main2.url("/readyz"))[:2], (200, "ready\n"), "the new main serves")


if __name__ == "__main__":
    if not os.path.exists(HOTLINED):
        print("FAIL hotlined is not built at %s (make B=... all)" % HOTLINED)
        print("0 passed, 1 failed")
        sys.exit(1)
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
