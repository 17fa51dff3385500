"""Alert delivery end to end, with real parts on loopback: a caller's help
walk over Africa's Talking USSD must reach staff within a second as a signed
webhook (a Python receiver that checks the HMAC and the timestamp), an SMS
through Debian's real Kannel sendsms to the fake SMSC, and an e-mail to a
minimal SMTP sink. Then the failure cases: the receiver down and back, a
poison entry, attempts exhausted, Redis down (spool), hotlined killed
mid-delivery. The caller's number must never be in an SMS, an e-mail or a
log line.

The Kannel parts are skipped (with the reason printed) only when Kannel is
not installed; the rest always runs.
"""
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, RedisServer, Hotlined, at_ussd, free_port, get,  # noqa: E402
                     eq, contains, run, wait_for, _procs, HOTLINECTL, PEPPER)
import test_kannel as kn  # noqa: E402  (not "test_…": the runner collects those)
import schemas  # noqa: E402  docs/schemas/, python3-jsonschema

PHONE = "+84901234567"
STAFF = "+84977000111"
SECRET = "webhook-secret-0123456789"
REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
WALK = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$", re.M)


# ---- the webhook receiver -------------------------------------------------

class Receiver:
    """An HTTP server that verifies X-Hotline-Signature and records every
    POST as (arrival time, parsed body, signature ok, timestamp fresh).
    stop() closes the port (connections refused); start() reopens it."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.got = []
        self.invalid = []       # docs/schemas/webhook.schema.json violations
        self.lock = threading.Lock()
        self.srv = None
        self.start()

    def start(self):
        rcv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                sig = self.headers.get("X-Hotline-Signature", "")
                m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", sig)
                ok = fresh = False
                if m:
                    mac = hmac.new(SECRET.encode(), m.group(1).encode() +
                                   b"." + body, hashlib.sha256).hexdigest()
                    ok = hmac.compare_digest(mac, m.group(2))
                    fresh = abs(time.time() - int(m.group(1))) < 300
                try:        # every body the suite receives, schema-checked
                    schemas.check("webhook", body.decode())
                except Exception as e:
                    with rcv.lock:
                        rcv.invalid.append(str(e))
                with rcv.lock:
                    rcv.got.append((time.time(), json.loads(body), ok, fresh,
                                    self.headers.get("Content-Type")))
                self.send_response(200 if ok and fresh else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def items(self):
        with self.lock:
            assert not self.invalid, self.invalid[0]
            return list(self.got)


# ---- the SMTP sink ----------------------------------------------------------

class SmtpSink:
    """EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; records each message
    as (arrival time, envelope from, recipients, message text)."""

    def __init__(self):
        self.port = free_port()
        self.got = []
        sink = self

        class H(socketserver.StreamRequestHandler):
            def say(self, line):
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                mail_from, rcpt = None, []
                self.say("220 sink ESMTP")
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.say("250 sink")
                    elif verb == "MAIL":
                        mail_from, rcpt = cmd[10:], []
                        self.say("250 ok")
                    elif verb == "RCPT":
                        rcpt.append(cmd[8:])
                        self.say("250 ok")
                    elif verb == "DATA":
                        self.say("354 go ahead")
                        data = b""
                        while not data.endswith(b"\r\n.\r\n"):
                            chunk = self.rfile.readline(65536)
                            if not chunk:
                                return
                            data += chunk
                        sink.got.append((time.time(), mail_from, rcpt,
                                         data[:-5].decode("utf-8")))
                        self.say("250 queued")
                    elif verb in ("RSET", "NOOP"):
                        self.say("250 ok")
                    elif verb == "QUIT":
                        self.say("221 bye")
                        return
                    else:
                        self.say("502 unknown")

        class S(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.srv = S(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


# ---- staff SMS at the fake SMSC ---------------------------------------------

class StaffPhone:
    """A fakesmsc connected to Kannel's fake SMSC that sends nothing (-m 0)
    and records every message Kannel delivers to it, as (first seen, to,
    text)."""

    def __init__(self, kannel, tmp):
        self.path = os.path.join(tmp, "staffphone.out")
        self.out = open(self.path, "wb")
        self.seen = {}
        self.p = subprocess.Popen(
            [kn.FAKESMSC, "-H", "127.0.0.1", "-r",
             str(kannel.ports["fake"]), "-i", "1", "-m", "0",
             "%s %s text unused" % (STAFF, kn.SHORT)],
            stdout=self.out, stderr=subprocess.STDOUT)
        _procs.append(self.p)

    def items(self):
        with open(self.path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        out = []
        for src, dst, kind, body in GOT.findall(text):
            key = (src, dst, kind, body)
            self.seen.setdefault(key, time.time())
            if kind in ("ucs2", "ucs-2"):     # url-encoded UTF-16BE, '+' = ' '
                body = urllib.parse.unquote_to_bytes(
                    body.replace("+", "%20")).decode("utf-16-be")
            elif kind != "text":
                body = urllib.parse.unquote_plus(body)
            out.append((self.seen[key], dst, body))
        return out


# ---- config and setup ---------------------------------------------------------

def write_config(tmp, receiver, smtp, sendsms_port=None, attempts=20,
                 claim_s=2, webhook_url=None, backoff_ms=100, backoff_max_ms=400):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        cfg = f.read()
    alerts = ['{ type = "webhook"; url = "%s"; secret = "env:TEST_WEBHOOK_SECRET"; }'
              % (webhook_url or "http://127.0.0.1:%d/hook" % receiver.port)]
    if sendsms_port:
        alerts.append(
            '{ type = "sms"; provider = "kannel"; base_url = '
            '"http://127.0.0.1:%d"; username = "staff"; password = '
            '"staff-secret"; from = "%s"; to = [ "%s" ]; }'
            % (sendsms_port, kn.SHORT, STAFF))
    if smtp:
        alerts.append(
            '{ type = "email"; url = "smtp://127.0.0.1:%d"; from = '
            '"hotline@example.org"; to = [ "duty@example.org" ]; }' % smtp.port)
    queues = 'queues = (\n  { name = "urgent";\n    alerts = (\n      %s\n    ); }\n);' \
        % ",\n      ".join(alerts)
    cfg, n = re.subn(r"^queues = \(.*?^\);", queues, cfg, flags=re.S | re.M)
    eq(n, 1, "the queues block of hotlined.cfg replaced")
    timing = ("alerts = {\n  attempts = %d;\n  backoff_ms = %d;\n"
              "  backoff_max_ms = %d;\n  timeout_ms = 2000;\n  claim_s = %d;\n};"
              % (attempts, backoff_ms, backoff_max_ms, claim_s))
    cfg, n = re.subn(r"^alerts = \{.*?^\};", timing, cfg, flags=re.S | re.M)
    eq(n, 1, "the alerts block of hotlined.cfg replaced")
    path = os.path.join(tmp, "hotlined.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    return path


def start_hotlined(tmp, redis, cfg, port=None):
    hl = Hotlined(tmp, redis.port, config=cfg, port=port,
                  env={"TEST_WEBHOOK_SECRET": SECRET})
    hl.wait_ready()
    return hl


def walk(hl, session, phone=PHONE):
    """The help walk; returns (reference, time of the last reply)."""
    body = ""
    for text in WALK:
        st, body = at_ussd(hl, session, text, phone=phone)
        eq(st, 200, "status after %r" % text)
    t = time.time()
    m = REF_RE.search(body)
    assert m, "no reference in the last screen: %r" % body
    return m.group(1), t


def pending(r, queue="urgent"):
    return r("XPENDING", "hl:q:%s" % queue, "alerts")[0]


def assert_no_number_in(text, what):
    for n in ("84901234567", "901234567", "977000111"):
        assert n not in text, "a phone number in %s:\n%s" % (what, text)


def check_log(hl):
    """No phone number in hotlined's log, and no sanitizer report (when
    built with SANITIZE=...)."""
    log = hl.log()
    assert_no_number_in(log, "hotlined's log")
    for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert bad not in log, "%s in hotlined's log:\n%s" % (bad, log)
    if os.environ.get("SHOW_LOG"):
        print(log)


# ---- tests ----------------------------------------------------------------------

def test_help_walk_reaches_staff_within_a_second(tmp):
    if not kn.have_kannel():
        print("skip: Kannel (kannel, kannel-extras) is not installed")
        return
    redis = RedisServer(tmp)
    receiver, smtp = Receiver(), SmtpSink()
    hl_port = free_port()
    kannel = kn.Kannel(tmp, hl_port)
    phone = StaffPhone(kannel, tmp)
    cfg = write_config(tmp, receiver, smtp, kannel.ports["sendsms"])
    hl = start_hotlined(tmp, redis, cfg, port=hl_port)
    r = redis.client()
    try:
        ref, t0 = walk(hl, "ATUid_a1")
        wait_for(lambda: receiver.items() and smtp.got and
                 any(ref in b for _t, _d, b in phone.items()), 5,
                 what="webhook, e-mail and staff SMS")
        t_hook = receiver.items()[0][0] - t0
        t_mail = smtp.got[0][0] - t0
        t_sms = min(t for t, _d, b in phone.items() if ref in b) - t0
        print("delivery after the last screen (upper bounds, polled every 50 ms):"
              " webhook %.3f s, e-mail %.3f s,"
              " staff SMS %.3f s" % (t_hook, t_mail, t_sms))
        for what, t in (("webhook", t_hook), ("e-mail", t_mail),
                        ("SMS", t_sms)):
            assert t < 1.0, "%s took %.3f s" % (what, t)

        _t, hook, ok, fresh, ctype = receiver.items()[0]
        assert ok and fresh, "webhook signature valid and fresh"
        eq(ctype, "application/json")
        eq(list(hook)[0], "safe_to_call", "safe_to_call comes first")
        eq(hook["safe_to_call"], False)
        eq(hook["ref"], ref)
        eq(hook["phone"], PHONE, "the signed webhook carries the number")
        eq(hook["queue"], "urgent")
        eq(hook["lang"], "en")
        eq(hook["channel"], "at-ussd")
        eq(hook["fields"]["location"], "Hanoi")

        sms = [(d, b) for _t, d, b in phone.items() if ref in b]
        eq(len(sms), 1, "one staff SMS")
        eq(sms[0][0], STAFF, "to the staff number")
        eq(sms[0][1], "hotline %s [urgent/en] at: Hanoi; danger: yes; "
                      "safe to call: no" % ref)
        assert_no_number_in(sms[0][1], "the staff SMS")

        _t, mfrom, rcpt, mail = smtp.got[0]
        eq(rcpt, ["<duty@example.org>"], "e-mail recipients")
        contains(mail, "Subject: [hotline] help request %s (urgent/en)" % ref)
        contains(mail, "Location:     Hanoi\r\n")
        contains(mail, "Language:     en\r\n")
        assert_no_number_in(mail, "the e-mail")

        wait_for(lambda: pending(r) == 0, 5, what="the entry acknowledged")
        eq(r.scan_all("hl:ad:*"), [], "no delivery record left")
        contains(get(hl.url("/metrics"))[1],
                 'hotline_alerts_acked_total{queue="urgent"} 1')
        time.sleep(0.5)
        eq(len(receiver.items()), 1, "one webhook")
        eq(len(smtp.got), 1, "one e-mail")
    finally:
        hl.stop()
        receiver.stop()
        smtp.stop()
    check_log(hl)


def test_receiver_down_then_back(tmp):
    redis = RedisServer(tmp)
    receiver, smtp = Receiver(), SmtpSink()
    cfg = write_config(tmp, receiver, smtp)
    hl = start_hotlined(tmp, redis, cfg)
    r = redis.client()
    receiver.stop()
    ref, _t = walk(hl, "ATUid_b1")
    wait_for(lambda: smtp.got, 5, what="the e-mail, while the webhook fails")
    wait_for(lambda: "attempt 2/20 failed" in hl.log(), 5,
             what="two failed webhook attempts")
    eq(pending(r), 1, "not acknowledged while the receiver is down")
    receiver.start()
    t_up = time.time()
    wait_for(lambda: receiver.items(), 5, what="the webhook after the receiver came back")
    print("delivered %.3f s after the receiver came back" % (time.time() - t_up))
    eq(receiver.items()[0][1]["ref"], ref)
    wait_for(lambda: pending(r) == 0, 5, what="acknowledged")
    eq(len(smtp.got), 1, "the e-mail was not sent again")
    eq(r.xrange("hl:dead:urgent"), [], "nothing dead")
    hl.stop()
    receiver.stop()
    smtp.stop()
    check_log(hl)


def test_receiver_back_wakes_requests_backing_off(tmp):
    """Backoff is long (here 8 s); a receiver that answers again must not
    leave earlier requests waiting it out: the first delivery that works
    sends the others at once."""
    redis = RedisServer(tmp)
    receiver = Receiver()
    cfg = write_config(tmp, receiver, None, backoff_ms=8000,
                       backoff_max_ms=8000)
    hl = start_hotlined(tmp, redis, cfg)
    r = redis.client()
    receiver.stop()
    early = [walk(hl, "ATUid_w%d" % i, phone="+8490123456%d" % i)[0]
             for i in range(3)]
    wait_for(lambda: hl.log().count("attempt 1/20 failed") == 3, 5,
             what="the first attempt of each failed")
    receiver.start()
    late, t_late = walk(hl, "ATUid_w9", phone="+84901234569")
    wait_for(lambda: {i[1]["ref"] for i in receiver.items()} >= set(early + [late]),
             3, what="every request delivered well before its 8 s backoff")
    waited = max(t for t, body, _ok, _f, _ct in receiver.items()) - t_late
    print("earlier requests delivered %.3f s after the receiver answered again"
          % waited)
    assert waited < 2.0, waited
    wait_for(lambda: pending(r) == 0, 5, what="all acknowledged")
    hl.stop()
    receiver.stop()
    check_log(hl)


def test_erased_before_delivery_never_sent(tmp):
    """A caller asks to be erased while staff's receiver is down: the alert
    waiting to be retried must never go out afterwards, and nothing of it
    may stay pending or in a delivery hash."""
    redis = RedisServer(tmp)
    receiver = Receiver()
    cfg = write_config(tmp, receiver, None, backoff_ms=1000, backoff_max_ms=1000)
    with open(cfg) as f:
        text = f.read()
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; token = '
                      '"env:STAFF_TOKEN_LAN"; } );', text, flags=re.S)
    eq(n, 1, "the staff block")
    with open(cfg, "w") as f:
        f.write(text)
    token = "lan-token-0123456789abcdef"
    hl = Hotlined(tmp, redis.port, config=cfg,
                  env={"TEST_WEBHOOK_SECRET": SECRET, "STAFF_TOKEN_LAN": token})
    hl.wait_ready()
    r = redis.client()
    receiver.stop()
    ref, _t = walk(hl, "ATUid_er")
    kept, _t = walk(hl, "ATUid_er2", phone="+84912000005")
    wait_for(lambda: hl.log().count("attempt 1/20 failed") == 2, 5,
             what="the first attempts failed")
    p = subprocess.run([HOTLINECTL, "cases", "-c", cfg, "--redis",
                        "127.0.0.1:%d" % redis.port, "--token", token, "erase",
                        "--phone", PHONE], cwd=ROOT, capture_output=True, text=True,
                       timeout=30, env=dict(os.environ, HOTLINE_PEPPER=PEPPER,
                                            STAFF_TOKEN_LAN=token,
                                            TEST_WEBHOOK_SECRET=SECRET))
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "removed: 1 cases, 1 queue entries")
    receiver.start()
    wait_for(lambda: "alert: urgent %s was erased; not delivered" % ref in hl.log(),
             5, what="the worker dropping the erased request")
    wait_for(lambda: [i[1]["ref"] for i in receiver.items()] == [kept], 5,
             what="the other caller's alert delivered")
    time.sleep(1.5)                     # past another backoff
    eq([i[1]["ref"] for i in receiver.items()], [kept], "the erased one never sent")
    wait_for(lambda: pending(r) == 0, 5, what="nothing pending")
    eq(r.scan_all("hl:ad:*"), [], "no delivery hash left")
    contains(get(hl.url("/metrics"))[1], 'hotline_alerts_erased_total{queue="urgent"} 1')
    hl.stop()
    receiver.stop()
    check_log(hl)


def consumers(r, queue="urgent"):
    """{consumer name: pending} of the alert group."""
    out = {}
    for c in r("XINFO", "CONSUMERS", "hl:q:%s" % queue, "alerts"):
        f = dict(zip(c[0::2], c[1::2]))
        out[f["name"]] = f["pending"]
    return out


def test_stopped_workers_consumers_are_forgotten(tmp):
    """Each hotlined is a consumer of the alert group, named after its
    host and pid, so every restart adds one. Those of stopped workers, with
    nothing pending, are deleted after 3 x claim_s; a live one never is."""
    redis = RedisServer(tmp)
    receiver = Receiver()
    cfg = write_config(tmp, receiver, None, claim_s=1)
    r = redis.client()
    old = start_hotlined(tmp, redis, cfg)
    walk(hl=old, session="ATUid_c1")
    wait_for(lambda: pending(r) == 0 and consumers(r), 5, what="delivered")
    old_names = set(consumers(r))
    old.stop()
    hl = start_hotlined(tmp, redis, cfg)
    walk(hl, "ATUid_c2", phone="+84912000007")
    wait_for(lambda: len(receiver.items()) == 2, 5, what="the second alert")
    new_names = set(consumers(r)) - old_names
    eq(len(new_names), 1, "the new worker's consumer")
    wait_for(lambda: set(consumers(r)) == new_names, 10,
             what="the stopped worker's consumer forgotten")
    contains(hl.log(), "alert: forgot 1 consumers of stopped workers")
    time.sleep(3.5)                     # 3 x claim_s more: the live one stays
    eq(set(consumers(r)), new_names, "the live worker's consumer kept")
    hl.stop()
    receiver.stop()
    check_log(hl)


def test_poison_entry_dead_lettered(tmp):
    redis = RedisServer(tmp)
    receiver, smtp = Receiver(), SmtpSink()
    cfg = write_config(tmp, receiver, smtp)
    hl = start_hotlined(tmp, redis, cfg)
    r = redis.client()
    walk(hl, "ATUid_c1")        # the group exists and a good entry flows
    wait_for(lambda: receiver.items(), 5, what="the good entry's webhook")
    bad = r("XADD", "hl:q:urgent", "*", "queue", "urgent", "phone", PHONE,
            "lang", "en")
    wait_for(lambda: r.xrange("hl:dead:urgent"), 5, what="a dead letter")
    dead = r.xrange("hl:dead:urgent")
    eq(len(dead), 1, "one dead letter")
    d = dead[0][1]
    eq(d["entry"], bad, "the original entry id")
    eq(d["phone"], PHONE, "the original fields")
    contains(d["error"], "no ref")
    eq(d["attempts"], "0")
    wait_for(lambda: pending(r) == 0, 5, what="the poison entry acknowledged")
    contains(get(hl.url("/metrics"))[1],
             'hotline_alerts_dead_total{queue="urgent"} 1')
    eq(len(receiver.items()), 1, "the poison entry sent nothing")
    hl.stop()
    receiver.stop()
    smtp.stop()
    check_log(hl)


def test_attempts_exhausted_dead_letter(tmp):
    redis = RedisServer(tmp)
    smtp = SmtpSink()
    dead_url = "http://127.0.0.1:%d/nobody" % free_port()
    cfg = write_config(tmp, None, smtp, attempts=3, webhook_url=dead_url)
    hl = start_hotlined(tmp, redis, cfg)
    r = redis.client()
    ref, _t = walk(hl, "ATUid_d1")
    wait_for(lambda: r.xrange("hl:dead:urgent"), 10, what="a dead letter")
    d = r.xrange("hl:dead:urgent")[0][1]
    eq(d["ref"], ref)
    eq(d["attempts"], "3")
    contains(d["error"], "webhook")
    wait_for(lambda: pending(r) == 0, 5, what="acknowledged after dead-lettering")
    eq(len(smtp.got), 1, "the e-mail went once, not on every attempt")
    hl.stop()
    smtp.stop()
    check_log(hl)


def test_spooled_while_redis_down_delivered_after(tmp):
    redis = RedisServer(tmp)
    receiver, smtp = Receiver(), SmtpSink()
    cfg = write_config(tmp, receiver, smtp)
    hl = start_hotlined(tmp, redis, cfg)
    redis.kill()
    ref, _t = walk(hl, "ATUid_e1")
    time.sleep(0.5)
    eq(receiver.items(), [], "nothing sent without Redis")
    redis.start()
    r = redis.client()
    wait_for(lambda: receiver.items(), 20, what="the spooled request's webhook")
    eq(receiver.items()[0][1]["ref"], ref)
    wait_for(lambda: smtp.got, 5, what="its e-mail")
    wait_for(lambda: pending(r) == 0, 5, what="acknowledged")
    hl.stop()
    receiver.stop()
    smtp.stop()
    check_log(hl)


def test_restart_mid_delivery_loses_nothing(tmp):
    redis = RedisServer(tmp)
    receiver, smtp = Receiver(), SmtpSink()
    cfg = write_config(tmp, receiver, smtp, claim_s=1)
    hl = start_hotlined(tmp, redis, cfg)
    r = redis.client()
    receiver.stop()
    ref, _t = walk(hl, "ATUid_f1")
    wait_for(lambda: smtp.got and "attempt 1/20 failed" in hl.log(), 5,
             what="the e-mail sent, the webhook failing")
    hl.stop(sig=signal.SIGKILL)
    eq(pending(r), 1, "left pending by the killed worker")
    receiver.start()
    hl2 = start_hotlined(tmp, redis, cfg, port=hl.port)
    wait_for(lambda: receiver.items(), 10,
             what="the webhook from the restarted hotlined")
    eq(receiver.items()[0][1]["ref"], ref)
    wait_for(lambda: pending(r) == 0, 5, what="acknowledged")
    time.sleep(0.5)
    eq(len(receiver.items()), 1, "one webhook")
    eq(len(smtp.got), 1, "the e-mail delivered before the kill is not resent")
    hl2.stop()
    receiver.stop()
    smtp.stop()
    check_log(hl2)


def test_reload_moves_the_webhook(tmp):
    """SIGHUP with a new webhook URL: the failing entry goes to the new
    receiver on its next attempt; the e-mail already sent is not resent."""
    redis = RedisServer(tmp)
    old, new, smtp = Receiver(), Receiver(), SmtpSink()
    cfg = write_config(tmp, old, smtp)
    hl = start_hotlined(tmp, redis, cfg)
    r = redis.client()
    old.stop()
    ref, _t = walk(hl, "ATUid_g1")
    wait_for(lambda: smtp.got and "attempt 1/20 failed" in hl.log(), 5,
             what="the e-mail sent, the webhook failing")
    write_config(tmp, new, smtp)
    hl.send_signal(signal.SIGHUP)
    wait_for(lambda: new.items(), 5, what="the webhook at the new receiver")
    eq(new.items()[0][1]["ref"], ref)
    wait_for(lambda: pending(r) == 0, 5, what="acknowledged")
    eq(len(smtp.got), 1, "the e-mail was not sent again")
    hl.stop()
    new.stop()
    smtp.stop()
    check_log(hl)


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
