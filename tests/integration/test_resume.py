"""Callers on USSD (issue 13, items 2, 4 and 7), end to end through real
hotlined and redis-server:

- a dropped walk is offered back ("1. Continue where you were / 2. Start
  again") when the same number dials again within resume_s, on Africa's
  Talking (history replay, including a replay from the question), Hubtel,
  Nalo and Arkesel; continuing restores node, language and answers and the
  walk files once; never after a filing or the duress exit; the saved place
  expires with resume_s and `hotlinectl cases erase --phone` removes it;
- pre-dialled input (*CODE*A*B#) on Hubtel, Nalo and Arkesel reaches the
  screen the same inputs reach step by step;
- a retried Hubtel step (same Sequence) gets the same screen and does not
  advance the walk twice, nor file twice.

The shipped menu's help path in English: "" language, 2 main, 1 where,
Hanoi danger, 1 callsafe, 2 send (END "Sent. Your reference is REF").
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, post_json, eq,  # noqa: E402
                     contains, run, ROOT, HOTLINECTL, HOTLINED, PEPPER)

REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
QUESTION_EN = "1. Continue where you were\n2. Start again"
QUESTION_ID = "1. Lanjutkan dari tadi\n2. Mulai lagi"
LANGUAGE = "Chon ngon ngu / Choose language / Pilih bahasa"
WHERE = "Where are you now?"
DANGER = "Are you in danger right now?"
CALLSAFE = "Is it safe for us to call you back?"
MAIN = "What do you need?"
STAFF = "lan-token-0123456789abcdef"


def resume_config(tmp, at_resume_s=None, nalo_code="*920*55#"):
    """The shipped config with the Nalo and Arkesel service codes, a staff
    member, and optionally the at-ussd channel's own resume_s."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, n = re.subn(r'(path = "/ussd/nalo";)',
                      r'\1 service_code = "%s";' % nalo_code, text)
    assert n == 1, "nalo channel"
    text, n = re.subn(r'(path = "/ussd/arkesel";)',
                      r'\1 service_code = "*920*56#";', text)
    assert n == 1, "arkesel channel"
    if at_resume_s is not None:
        text, n = re.subn(r'(path = "/ussd/africastalking";)',
                          r'\1 resume_s = %d;' % at_resume_s, text)
        assert n == 1, "at-ussd channel"
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; '
                      'token = "env:STAFF_TOKEN_LAN"; } );', text, flags=re.S)
    assert n == 1, "staff block"
    path = os.path.join(tmp, "resume.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def setup(tmp, **kw):
    redis = RedisServer(tmp)
    cfg = resume_config(tmp, **kw)
    hl = Hotlined(tmp, redis.port, config=cfg,
                  env={"STAFF_TOKEN_LAN": STAFF})
    hl.wait_ready()
    hl.cfg_path = cfg
    return redis, hl, redis.client()


def phone_key(phone):
    return hmac.new(PEPPER.encode(), ("phone:" + phone).encode(),
                    hashlib.sha256).hexdigest()[:32]


def at(hl, sid, text, phone):
    st, body = at_ussd(hl, sid, text, phone=phone)
    eq(st, 200, "AT status for %r" % text)
    return body


def at_walk(hl, sid, steps, phone):
    """The AT history growing by each step; returns the last body."""
    body = at(hl, sid, "", phone)
    for i in range(len(steps)):
        body = at(hl, sid, "*".join(steps[:i + 1]), phone)
    return body


class Hubtel:
    def __init__(self, hl, sid, phone, code="714"):
        self.hl, self.sid, self.phone, self.code = hl, sid, phone, code
        self.seq = 0

    def send(self, typ, msg, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        st, body, _ = post_json(self.hl.url("/ussd/hubtel"), {
            "SessionId": self.sid, "Mobile": self.phone,
            "ServiceCode": self.code, "Type": typ, "Message": msg,
            "Operator": "mtn", "ClientState": "", "Sequence": seq})
        eq(st, 200, "hubtel status")
        return json.loads(body)

    def start(self, dialled=None):
        return self.send("Initiation", dialled or "*%s#" % self.code)

    def say(self, msg, seq=None):
        return self.send("Response", msg, seq)


def nalo(hl, data, new, phone):
    st, body, _ = post_json(hl.url("/ussd/nalo"), {
        "USERID": "nalo-user", "MSISDN": phone, "USERDATA": data,
        "MSGTYPE": new, "NETWORK": "MTN"})
    eq(st, 200, "nalo status")
    out = json.loads(body)
    return out["MSG"], out["MSGTYPE"]


def arkesel(hl, sid, data, new, phone):
    st, body, _ = post_json(hl.url("/ussd/arkesel"), {
        "sessionID": sid, "userID": "ark-user", "newSession": new,
        "msisdn": phone, "userData": data, "network": "MTN"})
    eq(st, 200, "arkesel status")
    out = json.loads(body)
    return out["message"], out["continueSession"]


def requests_of(r, phone):
    """The help requests of a number (stored in E.164: Hubtel, Nalo and
    Arkesel send it without the "+")."""
    e164 = phone if phone.startswith("+") else "+" + phone
    return [f for _id, f in r.xrange("hl:q:urgent") if f["phone"] == e164]


def assert_filed_once(r, phone, ref, channel):
    reqs = requests_of(r, phone)
    eq(len(reqs), 1, "help requests of %s" % phone)
    f = reqs[0]
    eq(f["ref"], ref, "reference")
    eq(f["channel"], channel, "channel")
    eq(f["f:location"], "Hanoi", "the answer given before the drop")
    eq(f["f:in_danger"], "yes", "in_danger")
    eq(f["lang"], "en", "language kept across the drop")


# ---- resume ----------------------------------------------------------------

def test_at_drop_then_resume_files_once(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000001"
    body = at_walk(hl, "at-a", ["2", "1", "Hanoi"], phone)
    contains(body, "CON " + DANGER, "the walk reached danger")
    place = r.hgetall("hl:r:" + phone_key(phone))
    eq(place.get("m"), "hotline", "the saved place names its menu")
    assert "location=Hanoi" in place.get("st", ""), place
    assert 0 < r("TTL", "hl:r:" + phone_key(phone)) <= 300
    assert all(phone not in k for k in r.scan_all("hl:*")), "number in a key"
    # The network drops the call; the same number dials again.
    eq(at(hl, "at-b", "", phone), "CON " + QUESTION_EN, "the question")
    body = at(hl, "at-b", "1", phone)
    contains(body, "CON " + DANGER, "continue: back on danger, in English")
    contains(at(hl, "at-b", "1*1", phone), "CON " + CALLSAFE)
    body = at(hl, "at-b", "1*1*2", phone)
    assert body.startswith("END Sent."), body
    ref = REF_RE.search(body).group(1)
    assert_filed_once(r, phone, ref, "at-ussd")
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 0, "the place goes on filing")
    # A retried last step files nothing more.
    eq(at(hl, "at-b", "1*1*2", phone), body, "same screen on a retry")
    eq(len(requests_of(r, phone)), 1, "still one request")
    # After a filing, a new call is a new walk: no question.
    contains(at(hl, "at-c", "", phone), "CON " + LANGUAGE, "no offer after filing")


def test_at_history_replays_from_the_question(tmp):
    """Two inputs in one request (a step answered without Redis, or lost)
    make the gateway replay the session's history: after a resume it must
    replay from the question, not from the language screen."""
    redis, hl, r = setup(tmp)
    phone = "+84901000002"
    at_walk(hl, "at-d", ["2", "1", "Hanoi"], phone)
    eq(at(hl, "at-e", "", phone), "CON " + QUESTION_EN)
    contains(at(hl, "at-e", "7*1*1", phone), "CON " + CALLSAFE,
             "a wrong key, continue and an answer, replayed in one go")
    body = at(hl, "at-e", "7*1*1*2", phone)
    ref = REF_RE.search(body).group(1)
    assert_filed_once(r, phone, ref, "at-ussd")


def test_start_again_and_quit_at_the_question(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000003"
    at_walk(hl, "at-f", ["2", "1", "Hanoi"], phone)
    eq(at(hl, "at-g", "", phone), "CON " + QUESTION_EN)
    contains(at(hl, "at-g", "2", phone), "CON " + LANGUAGE, "2 starts again")
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 0,
       "starting again forgets the dropped walk")
    contains(at(hl, "at-h", "", phone), "CON " + LANGUAGE, "nothing offered")
    # 99 at the question is the duress exit, and forgets the place too.
    at_walk(hl, "at-i", ["2", "1", "Hanoi"], phone)
    eq(at(hl, "at-j", "", phone), "CON " + QUESTION_EN)
    eq(at(hl, "at-j", "99", phone), "END Thank you. Goodbye.")
    contains(at(hl, "at-k", "", phone), "CON " + LANGUAGE, "nothing after 99")


def test_no_resume_after_quit(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000004"
    at_walk(hl, "at-l", ["2", "1", "Hanoi"], phone)
    eq(at(hl, "at-l", "2*1*Hanoi*99", phone), "END Thank you. Goodbye.")
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 0, "99 forgets the place")
    contains(at(hl, "at-m", "", phone), "CON " + LANGUAGE, "no offer after 99")
    # Nor after an end screen (job advice ends the walk).
    at_walk(hl, "at-n", ["2", "2"], phone)
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 1, "a live walk is saved")
    body = at(hl, "at-n", "2*2*5*4", phone)   # 4: job advice (jobs_more)
    assert body.startswith("END "), body
    contains(at(hl, "at-o", "", phone), "CON " + LANGUAGE, "no offer after an end")


def test_hubtel_resume_in_the_walks_language(tmp):
    redis, hl, r = setup(tmp)
    phone = "233200000301"
    h = Hubtel(hl, "hub-r1", phone)
    h.start()
    contains(h.say("3")["Message"], "Anda perlu apa?", "Indonesian main")
    h.say("1")
    # Dropped; Hubtel starts a new session for the redial.
    h2 = Hubtel(hl, "hub-r2", phone)
    out = h2.start()
    eq((out["Type"], out["Message"]), ("Response", QUESTION_ID),
       "the question in the walk's language")
    contains(h2.say("1")["Message"], "Di mana Anda sekarang?", "where, in Indonesian")
    # An English walk that files once after the resume.
    phone = "233200000302"
    h = Hubtel(hl, "hub-r3", phone)
    h.start()
    for s in ["2", "1", "Hanoi"]:
        h.say(s)
    h2 = Hubtel(hl, "hub-r4", phone)
    eq(h2.start()["Message"], QUESTION_EN)
    contains(h2.say("1")["Message"], DANGER)
    h2.say("1")
    out = h2.say("2")
    eq(out["Type"], "Release", "sent ends the session")
    assert_filed_once(r, phone, REF_RE.search(out["Message"]).group(1), "hubtel")
    contains(Hubtel(hl, "hub-r5", phone).start()["Message"], "Choose language",
             "no offer after filing")


def test_nalo_and_arkesel_resume(tmp):
    redis, hl, r = setup(tmp)
    phone = "233200000303"
    nalo(hl, "*920*55#", True, phone)
    for s in ["2", "1", "Hanoi"]:
        msg, cont = nalo(hl, s, False, phone)
    contains(msg, DANGER)
    msg, cont = nalo(hl, "*920*55#", True, phone)     # dials again
    eq((msg, cont), (QUESTION_EN, True), "nalo: the question")
    contains(nalo(hl, "1", False, phone)[0], DANGER, "nalo: continued")
    nalo(hl, "1", False, phone)
    msg, cont = nalo(hl, "2", False, phone)
    eq(cont, False, "sent ends the session")
    assert_filed_once(r, phone, REF_RE.search(msg).group(1), "nalo")

    phone = "233200000304"
    arkesel(hl, "ark-r1", "*920*56#", True, phone)
    for s in ["2", "1", "Hanoi"]:
        msg, cont = arkesel(hl, "ark-r1", s, False, phone)
    msg, cont = arkesel(hl, "ark-r2", "*920*56#", True, phone)
    eq((msg, cont), (QUESTION_EN, True), "arkesel: the question")
    contains(arkesel(hl, "ark-r2", "1", False, phone)[0], DANGER)
    arkesel(hl, "ark-r2", "1", False, phone)
    msg, cont = arkesel(hl, "ark-r2", "2", False, phone)
    eq(cont, False)
    assert_filed_once(r, phone, REF_RE.search(msg).group(1), "arkesel")
    contains(arkesel(hl, "ark-r3", "*920*56#", True, phone)[0],
             "Choose language", "no offer after filing")


def test_resume_expires(tmp):
    redis, hl, r = setup(tmp, at_resume_s=2)
    phone = "+84901000005"
    at_walk(hl, "at-p", ["2", "1", "Hanoi"], phone)
    assert 0 < r("TTL", "hl:r:" + phone_key(phone)) <= 2, "TTL = resume_s"
    time.sleep(3.2)
    contains(at(hl, "at-q", "", phone), "CON " + LANGUAGE,
             "past resume_s: a new walk")


def test_channel_resume_off(tmp):
    """A channel's resume_s = 0 overrides the menu's 300: nothing kept,
    nothing offered."""
    redis, hl, r = setup(tmp, at_resume_s=0)
    phone = "+84901000007"
    at_walk(hl, "at-u", ["2", "1", "Hanoi"], phone)
    eq(r.scan_all("hl:r:*"), [], "no saved place with resume_s = 0")
    contains(at(hl, "at-v", "", phone), "CON " + LANGUAGE, "nothing offered")


def test_bad_service_code_refused(tmp):
    cfg = resume_config(tmp, nalo_code="920-55")
    p = subprocess.run([HOTLINED, "-c", cfg, "--check", "--menus",
                        os.path.join(ROOT, "config", "menus")],
                       capture_output=True, text=True, timeout=10,
                       env=dict(os.environ, HOTLINE_PEPPER=PEPPER,
                                STAFF_TOKEN_LAN=STAFF))
    eq(p.returncode, 1, "--check refuses a service_code that is no code")
    contains(p.stderr, "channel nalo: service_code must be a short code as "
             "dialled, like \"*920*55#\"")


def test_erase_removes_the_saved_place(tmp):
    redis, hl, r = setup(tmp)
    phone = "+84901000006"
    at_walk(hl, "at-s", ["2", "1", "Hanoi"], phone)
    eq(r("EXISTS", "hl:r:" + phone_key(phone)), 1)
    p = subprocess.run([HOTLINECTL, "cases", "-c", hl.cfg_path, "--redis",
                        "127.0.0.1:%d" % redis.port, "--token", STAFF,
                        "erase", "--phone", phone], cwd=ROOT,
                       env=dict(os.environ, HOTLINE_PEPPER=PEPPER,
                                STAFF_TOKEN_LAN=STAFF),
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "1 saved places")
    eq(r.scan_all("hl:r:*"), [], "no saved place left")
    contains(at(hl, "at-t", "", phone), "CON " + LANGUAGE, "nothing offered")


# ---- pre-dialled input -----------------------------------------------------

def test_predialled_on_hubtel_nalo_arkesel(tmp):
    redis, hl, r = setup(tmp)
    # Step by step, for reference.
    h = Hubtel(hl, "hub-p0", "233200000310")
    h.start()
    h.say("2")
    step_where = h.say("1")["Message"]
    contains(step_where, WHERE)
    # *714*2*1# : language and "help now" pre-dialled.
    out = Hubtel(hl, "hub-p1", "233200000311").start("*714*2*1#")
    eq((out["Type"], out["Message"]), ("Response", step_where), "hubtel")
    msg, cont = nalo(hl, "*920*55*2*1#", True, "233200000312")
    eq((msg, cont), (step_where, True), "nalo")
    msg, cont = arkesel(hl, "ark-p1", "*920*56*2*1#", True, "233200000313")
    eq((msg, cont), (step_where, True), "arkesel")
    # And the walk goes on from there to a filing.
    for s in ["Hanoi", "1"]:
        msg, cont = arkesel(hl, "ark-p1", s, False, "233200000313")
    msg, cont = arkesel(hl, "ark-p1", "2", False, "233200000313")
    eq(cont, False)
    eq(requests_of(r, "233200000313")[0]["f:location"], "Hanoi")
    # One level still works, and the bare code is the language screen.
    contains(Hubtel(hl, "hub-p2", "233200000314").start("*714*2#")["Message"],
             MAIN, "one pre-dialled level")
    contains(nalo(hl, "*920*55#", True, "233200000315")[0], "Choose language")


# ---- retried Hubtel steps ----------------------------------------------------

def test_hubtel_retried_step_same_screen(tmp):
    redis, hl, r = setup(tmp)
    phone = "233200000320"
    h = Hubtel(hl, "hub-s1", phone)
    h.start()
    main = h.say("2")["Message"]                  # Sequence 2
    contains(main, MAIN)
    eq(h.say("2", seq=2)["Message"], main, "a retry of 2: the same screen")
    eq(h.say("2", seq=1)["Message"], main, "a late duplicate: no step either")
    contains(h.say("1")["Message"], WHERE, "Sequence 3 goes on from main")
    h.say("Hanoi")
    h.say("1")
    out = h.say("2")                              # Sequence 6 files
    ref = REF_RE.search(out["Message"]).group(1)
    again = h.say("2", seq=6)
    eq((again["Type"], again["Message"]), (out["Type"], out["Message"]),
       "a retried filing step: the same Sent screen")
    eq(len(requests_of(r, phone)), 1, "filed once")
    eq(requests_of(r, phone)[0]["ref"], ref)


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
