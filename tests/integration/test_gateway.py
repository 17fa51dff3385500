"""hotlined end to end: every dialect walks the shipped menu's help path
against a real redis-server; the help request is read back from Redis.

Help path of config/menus/hotline.cfg in English:
  ""  language screen
  2   main (English)
  1   "Where are you now?"
  Hanoi           danger
  1 (yes)         callsafe
  2 (no, do not call) -> send: END "Sent. Your reference is REF. ..."
"""
import base64
import email.utils
import hashlib
import http.client
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, post_form, post_json,  # noqa: E402
                     get, request, eq, contains, run, wait_for, TWILIO_TOKEN,
                     ROOT)

PHONE = "+84901234567"
REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")


def setup(tmp, **kw):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, **kw)
    hl.wait_ready()
    return redis, hl, redis.client()


def at_walk(hl, session, steps, phone=PHONE):
    """Sends the AT history growing by each step; returns every body."""
    bodies, hist = [], []
    st, body = at_ussd(hl, session, "", phone=phone)
    eq(st, 200, "first screen status")
    bodies.append(body)
    for s in steps:
        hist.append(s)
        st, body = at_ussd(hl, session, "*".join(hist), phone=phone)
        eq(st, 200, "status after %r" % s)
        bodies.append(body)
    return bodies


def assert_one_request(r, ref, channel, location="Hanoi"):
    entries = r.xrange("hl:q:urgent")
    eq(len(entries), 1, "help requests on hl:q:urgent")
    f = entries[0][1]
    eq(f["ref"], ref, "reference on the queue")
    eq(f["channel"], channel, "channel")
    eq(f["f:location"], location, "location")
    eq(f["f:in_danger"], "yes", "in_danger")
    eq(f["f:safe_to_call"], "no", "safe_to_call")
    eq(f["lang"], "en", "language")
    case = r.hgetall("hl:case:" + ref)
    eq(case.get("status"), "new", "case status")
    eq(case.get("ref"), ref, "case ref")
    return f


# ---- Africa's Talking USSD -------------------------------------------------

def test_at_help_walk(tmp):
    redis, hl, r = setup(tmp)
    b = at_walk(hl, "ATUid_1", ["2", "1", "Hanoi", "1", "2"])
    eq(b[0].split("\n")[0], "CON Chon ngon ngu / Choose language / Pilih bahasa",
       "language screen, folded")
    contains(b[0], "\n1. Tieng Viet\n2. English\n3. Bahasa Indonesia", "options")
    contains(b[1], "CON What do you need?", "main screen in English")
    contains(b[1], "\n1. Get help now", "main options")
    contains(b[2], "CON Where are you now?", "location question")
    contains(b[2], "\n0. Back\n00. Main menu", "nav lines")
    contains(b[3], "CON Are you in danger right now?", "danger question")
    contains(b[4], "CON Is it safe for us to call you back?", "consent")
    assert b[5].startswith("END Sent. Your reference is "), b[5]
    for body in b:
        assert len(body) - 4 <= 182, "screen over one USSD page: %r" % body
    ref = REF_RE.search(b[5]).group(1)
    f = assert_one_request(r, ref, "at-ussd")
    eq(f["phone"], PHONE, "staff get the number to call back")


def test_at_retry_same_screen_one_request(tmp):
    redis, hl, r = setup(tmp)
    b = at_walk(hl, "ATUid_2", ["2", "1", "Hanoi", "1", "2"])
    for _ in range(3):
        st, again = at_ussd(hl, "ATUid_2", "2*1*Hanoi*1*2")
        eq(st, 200)
        eq(again, b[-1], "a retry of the final step shows the same screen")
    st, mid = at_ussd(hl, "ATUid_2", "2*1")
    eq(len(r.xrange("hl:q:urgent")), 1, "still one help request")


def test_at_predialled_and_star_in_text(tmp):
    redis, hl, r = setup(tmp)
    # *384*123*2# arrives as text=2 on the first request: English main menu.
    st, body = at_ussd(hl, "ATUid_3", "2")
    contains(body, "CON What do you need?", "pre-dialled input")
    at_ussd(hl, "ATUid_3", "2*1")
    st, body = at_ussd(hl, "ATUid_3", "2*1*Block B*7")
    contains(body, "Are you in danger", "free text with a star")
    at_ussd(hl, "ATUid_3", "2*1*Block B*7*1")
    st, body = at_ussd(hl, "ATUid_3", "2*1*Block B*7*1*2")
    ref = REF_RE.search(body).group(1)
    assert_one_request(r, ref, "at-ussd", location="Block B*7")


def test_at_back_and_invalid(tmp):
    redis, hl, r = setup(tmp)
    at_ussd(hl, "ATUid_4", "")
    at_ussd(hl, "ATUid_4", "2")
    st, body = at_ussd(hl, "ATUid_4", "2*7")
    assert body.startswith("CON Invalid. Try again.\nWhat do you need?"), body
    st, body = at_ussd(hl, "ATUid_4", "2*7*1")
    contains(body, "Where are you now?", "valid key after an invalid one")
    st, body = at_ussd(hl, "ATUid_4", "2*7*1*0")
    contains(body, "What do you need?", "0 goes back")


def test_duress_exit(tmp):
    redis, hl, r = setup(tmp)
    at_ussd(hl, "ATUid_5", "")
    at_ussd(hl, "ATUid_5", "2")
    at_ussd(hl, "ATUid_5", "2*1")
    st, body = at_ussd(hl, "ATUid_5", "2*1*99")
    eq(body, "END Thank you. Goodbye.", "neutral quit screen")
    eq(r.xrange("hl:q:urgent"), [], "nothing filed")


# ---- the JSON USSD dialects ------------------------------------------------

def test_hubtel_walk(tmp):
    redis, hl, r = setup(tmp)
    url = hl.url("/ussd/hubtel")

    def hub(typ, msg, seq):
        st, body, hdr = post_json(url, {
            "SessionId": "hub-1", "Mobile": "233200000123", "ServiceCode": "714",
            "Type": typ, "Message": msg, "Operator": "mtn",
            "ClientState": "", "Sequence": seq})
        eq(st, 200, "hubtel status")
        contains(hdr.get("Content-Type", ""), "application/json")
        return json.loads(body)

    first = hub("Initiation", "*714#", 1)
    eq(first["Type"], "Response")
    contains(first["Message"], "Choose language")
    for i, s in enumerate(["2", "1", "Hanoi", "1"]):
        out = hub("Response", s, i + 2)
        eq(out["Type"], "Response", "continues after %r" % s)
    out = hub("Response", "2", 6)
    eq(out["Type"], "Release", "the forward ends the session")
    ref = REF_RE.search(out["Message"]).group(1)
    assert_one_request(r, ref, "hubtel")


def test_nalo_and_arkesel_walk(tmp):
    redis, hl, r = setup(tmp)
    steps = ["2", "1", "Hanoi", "1", "2"]
    out = None
    for i, s in enumerate([""] + steps):
        st, body, _ = post_json(hl.url("/ussd/nalo"), {
            "USERID": "nalo-user", "MSISDN": "233200000456",
            "USERDATA": s if i else "*920*55#", "MSGTYPE": i == 0,
            "NETWORK": "MTN"})
        eq(st, 200)
        out = json.loads(body)
        eq(out["MSISDN"], "233200000456", "nalo echoes MSISDN")
        eq(out["MSGTYPE"], i < len(steps), "nalo continue flag at %d" % i)
    ref1 = REF_RE.search(out["MSG"]).group(1)
    for i, s in enumerate([""] + steps):
        st, body, _ = post_json(hl.url("/ussd/arkesel"), {
            "sessionID": "ark-1", "userID": "ark-user", "newSession": i == 0,
            "msisdn": "233200000789", "userData": s if i else "*920*56#",
            "network": "MTN"})
        eq(st, 200)
        out = json.loads(body)
        eq(out["sessionID"], "ark-1", "arkesel echoes sessionID")
        eq(out["continueSession"], i < len(steps), "arkesel flag at %d" % i)
    ref2 = REF_RE.search(out["message"]).group(1)
    refs = sorted(e[1]["ref"] for e in r.xrange("hl:q:urgent"))
    eq(refs, sorted([ref1, ref2]), "one request per walk")


# ---- SMS -----------------------------------------------------------------

def twilio_sign(url, params, token=TWILIO_TOKEN):
    data = url + "".join(k + params[k] for k in sorted(params))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def twilio_post(hl, body, sid, sign=True, signature=None, frm="+84912345678"):
    url = hl.url("/sms/twilio")
    params = {"MessageSid": sid, "AccountSid": "AC123", "From": frm,
              "To": "+15005550006", "Body": body, "NumMedia": "0",
              "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = signature or twilio_sign(url, params)
    return post_form(url, params, headers=headers)


def test_twilio_signatures_and_walk(tmp):
    redis, hl, r = setup(tmp)
    st, body, _ = twilio_post(hl, "HELP", "SM1", sign=False)
    eq(st, 403, "missing signature")
    st, body, _ = twilio_post(hl, "HELP", "SM2",
                              signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    eq(st, 403, "wrong signature")
    eq(r.scan_all("hl:s:*"), [], "no session from rejected requests")
    st, body, hdr = twilio_post(hl, "help", "SM3")
    eq(st, 200, "signed request")
    contains(hdr.get("Content-Type", ""), "text/xml")
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'), body
    contains(body, "Choose language")
    sid = 4
    for s in ["2", "1", "Hanoi", "1"]:
        st, body, _ = twilio_post(hl, s, "SM%d" % sid)
        sid += 1
        eq(st, 200)
    st, body, _ = twilio_post(hl, "2", "SM%d" % sid)
    ref = REF_RE.search(body).group(1)
    assert_one_request(r, ref, "twilio")
    # Twilio retries the same MessageSid: same answer, nothing new filed.
    st, again, _ = twilio_post(hl, "2", "SM%d" % sid)
    eq(again, body, "retry of a MessageSid")
    eq(len(r.xrange("hl:q:urgent")), 1)


def kannel_get(hl, text, mid, frm="+84933333333"):
    q = urllib.parse.urlencode({"from": frm, "to": "1234", "text": text,
                                "id": mid, "smsc": "fake", "coding": "0",
                                "charset": "UTF-8"})
    return get(hl.url("/sms/kannel?" + q))


def test_sms_keywords_stop_start_and_silence(tmp):
    redis, hl, r = setup(tmp)
    st, body, _ = kannel_get(hl, "2", "k0")
    eq((st, body), (200, ""), "no session and no keyword: nothing sent")
    st, body, _ = kannel_get(hl, "  Giúp ", "k1")
    contains(body, "Choose language", "keyword in any case, accents folded")
    st, body, _ = kannel_get(hl, "STOP", "k2")
    contains(body, "no more messages", "STOP is confirmed once")
    st, body, _ = kannel_get(hl, "2", "k3")
    eq(body, "", "opted out: nothing sent")
    st, body, _ = kannel_get(hl, "START", "k4")
    contains(body, "Messages are on again")
    st, body, _ = kannel_get(hl, "HELP", "k5")
    contains(body, "Choose language")
    keys = r.scan_all("hl:*")
    for k in keys:
        assert "84933333333" not in k, "a phone number in a Redis key: %s" % k


class FakeAT(BaseHTTPRequestHandler):
    """Africa's Talking messaging API on loopback: records each request."""
    received = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        FakeAT.received.append((self.path, self.headers.get("apiKey"), form))
        body = json.dumps({"SMSMessageData": {"Message": "Sent to 1/1",
                           "Recipients": [{"statusCode": 101, "status": "Success",
                                           "messageId": "ATXid_1", "number": "x"}]}})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *a):
        pass


def test_africastalking_sms_reply_via_api(tmp):
    FakeAT.received = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeAT)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        redis = RedisServer(tmp)
        hl = Hotlined(tmp, redis.port, env={
            "AT_BASE_URL": "http://127.0.0.1:%d" % srv.server_address[1]})
        hl.wait_ready()
        st, body, _ = post_form(hl.url("/sms/africastalking"), {
            "from": "+84944444444", "to": "12345", "text": "HELP",
            "date": "2026-11-22", "id": "at-1", "networkCode": "45204"})
        eq((st, body), (200, ""), "AT SMS webhook answers empty")
        wait_for(lambda: FakeAT.received, 5, what="the AT messaging API call")
        path, key, form = FakeAT.received[0]
        eq(path, "/version1/messaging")
        eq(key, "test-key", "apiKey header")
        eq(form["to"], ["+84944444444"])
        eq(form["username"], ["sandbox"])
        contains(form["message"][0], "Choose language")
    finally:
        srv.shutdown()


# ---- Redis outage ------------------------------------------------------------

def test_redis_down_mid_session_nothing_lost(tmp):
    redis, hl, r = setup(tmp)
    at_ussd(hl, "ATUid_9", "")
    at_ussd(hl, "ATUid_9", "2")
    at_ussd(hl, "ATUid_9", "2*1")
    redis.kill()
    # AT keeps walking by history replay while Redis is away.
    st, body = at_ussd(hl, "ATUid_9", "2*1*Hanoi")
    contains(body, "Are you in danger", "screen without Redis")
    at_ussd(hl, "ATUid_9", "2*1*Hanoi*1")
    st, body = at_ussd(hl, "ATUid_9", "2*1*Hanoi*1*2")
    ref = REF_RE.search(body).group(1)
    # A retry during the outage is spooled again: the drain files it once.
    at_ussd(hl, "ATUid_9", "2*1*Hanoi*1*2")
    st, body, _ = post_json(hl.url("/ussd/arkesel"), {
        "sessionID": "ark-9", "userID": "u", "newSession": True,
        "msisdn": "233200000999", "userData": "", "network": "MTN"})
    out = json.loads(body)
    eq(out["continueSession"], False, "other dialects: fallback ends")
    contains(out["message"], "busy", "fallback screen")
    eq(get(hl.url("/readyz"))[0], 503, "not ready without Redis")
    redis.start()
    r = redis.client()
    wait_for(lambda: len(r.xrange("hl:q:urgent")) == 1, 15,
             what="the spooled request in Redis")
    time.sleep(1.0)
    eq(len(r.xrange("hl:q:urgent")), 1, "filed once")
    eq(r.xrange("hl:q:urgent")[0][1]["ref"], ref, "the reference the caller got")
    contains(get(hl.url("/metrics"))[1], "hotline_spool_depth 0")


def test_large_spool_drained_without_resending(tmp):
    """2 000 help requests spooled during an outage, then a Redis that
    fsyncs every write: the drain sends them DRAIN_INFLIGHT at a time, so
    none misses the 250 ms deadline and none is sent twice. (Sent all at
    once, the tail timed out and the retry sent all 2 000 again: 3 413
    scripts run and a "not moved yet" retry.)"""
    redis, hl, r = setup(tmp)
    redis.kill()
    n = 2000
    for i in range(n):
        st, body = at_ussd(hl, "ATUid_d%d" % i, "2*1*Hanoi*1*2",
                           phone="+849%08d" % i)
        eq(st, 200)
        assert REF_RE.search(body), body[:120]
    redis.start()
    r = redis.client()
    r("CONFIG", "SET", "appendfsync", "always")
    wait_for(lambda: len(r.xrange("hl:q:urgent")) == n, 60,
             what="every spooled request in Redis")
    time.sleep(0.5)
    stats = r("INFO", "commandstats")
    stats = stats.decode() if isinstance(stats, bytes) else stats
    calls = int(re.search(r"cmdstat_evalsha:calls=(\d+)", stats).group(1))
    retries = hl.log().count("not moved yet")
    print("  %d records: %d scripts run, %d retries" % (n, calls, retries))
    assert calls <= n + 2 * 64, "records sent again: %d scripts" % calls
    eq(len(r.xrange("hl:q:urgent")), n, "each filed once")
    contains(get(hl.url("/metrics"))[1], "hotline_spool_depth 0")


# ---- HTTP hygiene, operations, signals ------------------------------------

def test_http_hygiene(tmp):
    redis, hl, r = setup(tmp)
    u = hl.url("/ussd/africastalking")
    st, body, _ = request(u, method="GET")
    eq(st, 405, "GET on a POST channel")
    st, body, _ = request(u, data=b"{}", method="POST",
                          headers={"Content-Type": "application/json"})
    eq(st, 415, "JSON on a form channel")
    st, body, _ = request(u, data=b"x" * 20000, method="POST",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 413, st
    st, body, _ = request(u, data=b"sessionId=a&serviceCode=1&phoneNumber=%2B1234&text=%FF",
                          method="POST",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(st, 400, "invalid UTF-8")
    st, body, _ = request(u, data=b"serviceCode=1&phoneNumber=%2B1234&text=",
                          method="POST",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(st, 400, "missing sessionId")
    st, body, _ = get(hl.url("/nope"))
    eq(st, 404)
    eq(r.scan_all("hl:*"), [], "no state from refused requests")


def test_ops_endpoints(tmp):
    redis, hl, r = setup(tmp)
    eq(get(hl.url("/healthz"))[:2], (200, "ok\n"))
    eq(get(hl.url("/readyz"))[:2], (200, "ready\n"))
    at_walk(hl, "ATUid_m", ["2", "1", "Hanoi", "1", "2"])
    text = get(hl.url("/metrics"))[1]
    contains(text, 'hotline_requests_total{channel="at-ussd",status="200"} 6')
    contains(text, 'hotline_forwards_total{queue="urgent"} 1')
    contains(text, 'hotline_sessions_total{channel="at-ussd"} 1')
    contains(text, "hotline_request_seconds_bucket{channel=\"at-ussd\",le=\"+Inf\"} 6")
    contains(text, "hotline_redis_up 1")


def test_sighup_broken_menu_keeps_old_and_sigterm_drains(tmp):
    menus = os.path.join(tmp, "menus")
    os.mkdir(menus)
    with open(os.path.join(ROOT, "config", "menus", "hotline.cfg")) as f:
        good = f.read()
    with open(os.path.join(menus, "hotline.cfg"), "w") as f:
        f.write(good)
    # The shipped channels serve the disguised menu too.
    with open(os.path.join(ROOT, "config", "menus", "disguised.cfg")) as f:
        disguised = f.read()
    with open(os.path.join(menus, "disguised.cfg"), "w") as f:
        f.write(disguised)
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, menus=menus)
    hl.wait_ready()
    with open(os.path.join(menus, "hotline.cfg"), "w") as f:
        f.write(good.replace('next = "danger";', 'next = "nowhere";'))
    hl.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in hl.log(), 5, what="reload error logged")
    contains(hl.log(), "nowhere", "the error names the problem")
    b = at_walk(hl, "ATUid_h", ["2", "1", "Hanoi"])
    contains(b[-1], "Are you in danger", "old menu still serves")
    eq(hl.stop(signal.SIGTERM), 0, "SIGTERM exits 0")


def test_no_phone_number_in_logs(tmp):
    redis, hl, r = setup(tmp)
    at_walk(hl, "ATUid_p", ["2", "1", "Hanoi", "1", "2"], phone="+84987654321")
    kannel_get(hl, "STOP", "kp", frm="+84987654322")
    log = hl.log()
    for number in ("84987654321", "84987654322", "987654"):
        assert number not in log, "phone number in the log:\n" + log



def test_reply_has_one_date_header(tmp):
    """A channel's reply and an error reply carry one Date header (hotlined
    makes it, once a second; evhttp then adds none), in IMF-fixdate, the
    time it was sent."""
    redis, hl, r = setup(tmp)
    fixdate = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|"
                         r"Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                         r"\d\d:\d\d:\d\d GMT")
    c = http.client.HTTPConnection("127.0.0.1", hl.port, timeout=10)
    for i, path in enumerate(["/ussd/africastalking"] * 3 + ["/nowhere"]):
        before = time.time()
        c.request("POST", path, urllib.parse.urlencode({
            "sessionId": "ATUdate", "serviceCode": "*384*123#",
            "phoneNumber": PHONE, "networkCode": "45204",
            "text": "2" * min(i, 1)}),
            {"Content-Type": "application/x-www-form-urlencoded"})
        resp = c.getresponse()
        resp.read()
        after = time.time()
        eq(resp.status, 404 if path == "/nowhere" else 200, "status")
        dates = [v for k, v in resp.getheaders() if k.lower() == "date"]
        eq(len(dates), 1, "Date headers of %s" % path)
        assert fixdate.fullmatch(dates[0]), dates[0]
        t = email.utils.parsedate_to_datetime(dates[0]).timestamp()
        assert int(before) <= t <= after, (before, dates[0], after)
        time.sleep(0.6)
    c.close()


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
