"""Trust (issue 11 items 1, 4, 5, 6) and the held phone (issue 12 item 4):
repeat callers file again, a spooled caller's reference is theirs, a session
keeps the number it began with, a number's first help request is never
refused, and a phone someone else holds says nothing about its past.

Help path of config/menus/hotline.cfg in English (see test_gateway.py):
  ""/HELP, 2 (English), 1, LOCATION, 1 (in danger), 2 (do not call) -> Sent.
"""
import json
import os
import re
import shutil
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, get, post_json,  # noqa: E402
                     eq, contains, run, wait_for, ROOT)

REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")


def setup(tmp, config=None, menus=None):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, config=config, menus=menus)
    hl.wait_ready()
    return redis, hl, redis.client()


def kannel(hl, text, mid, frm="+84933000001"):
    q = urllib.parse.urlencode({"from": frm, "to": "1234", "text": text,
                                "id": mid, "smsc": "fake", "coding": "0",
                                "charset": "UTF-8"})
    st, body, _ = get(hl.url("/sms/kannel?" + q))
    eq(st, 200, "kannel status for %r" % text)
    return body


def sms_walk(hl, prefix, place, frm="+84933000001"):
    """HELP -> ... -> Sent over Kannel; returns the reference told."""
    body = None
    for i, s in enumerate(["HELP", "2", "1", place, "1", "2"]):
        body = kannel(hl, s, "%s-%d" % (prefix, i), frm=frm)
    m = REF_RE.search(body)
    assert m, "no reference in %r" % body
    return m.group(1)


def nalo_walk(hl, place, msisdn="233200000456"):
    out = None
    for i, s in enumerate(["*920*55#", "2", "1", place, "1", "2"]):
        st, body, _ = post_json(hl.url("/ussd/nalo"), {
            "USERID": "nalo-user", "MSISDN": msisdn, "USERDATA": s,
            "MSGTYPE": i == 0, "NETWORK": "MTN"})
        eq(st, 200)
        out = json.loads(body)
    return REF_RE.search(out["MSG"]).group(1)


def case_by_place(r, place):
    """The case hash holding the answer `place` (one and only one)."""
    found = []
    for k in r.scan_all("hl:case:*"):
        h = r.hgetall(k)
        if h.get("f:location") == place:
            found.append(h)
    eq(len(found), 1, "cases holding %r" % place)
    return found[0]


def metric(hl, name):
    text = get(hl.url("/metrics"))[1]
    total = 0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


# ---- item 1: a second plea from the same number is a new request -------------

def test_repeat_sms_caller_files_again(tmp):
    redis, hl, r = setup(tmp)
    ref1 = sms_walk(hl, "a", "Hanoi")
    eq(case_by_place(r, "Hanoi")["ref"], ref1, "first plea filed")
    # Staff resolve it; the same number asks again with other answers.
    r("HSET", "hl:case:" + ref1, "status", "resolved")
    ref2 = sms_walk(hl, "b", "Phnom Penh")
    assert ref2 != ref1, "the second plea was told the first one's reference"
    c2 = case_by_place(r, "Phnom Penh")
    eq(c2["ref"], ref2, "the second plea is a case of its own")
    eq(c2["status"], "new", "and it is new")
    eq(len(r.xrange("hl:q:urgent")), 2, "two requests on the queue")
    # A retry of the last message (same Kannel id) files nothing more.
    again = kannel(hl, "2", "b-5")
    contains(again, ref2, "a retry gets the same screen")
    eq(len(r.xrange("hl:q:urgent")), 2, "a retry files once")
    # A third plea while the second is still open: a third case.
    ref3 = sms_walk(hl, "c", "Bangkok")
    eq(len({ref1, ref2, ref3}), 3, "three pleas, three references")
    eq(case_by_place(r, "Bangkok")["ref"], ref3)


def test_repeat_nalo_caller_files_again(tmp):
    redis, hl, r = setup(tmp)
    ref1 = nalo_walk(hl, "Accra")
    ref2 = nalo_walk(hl, "Kumasi")
    assert ref1 != ref2, "Nalo: the second plea got the first reference"
    eq(case_by_place(r, "Accra")["ref"], ref1)
    eq(case_by_place(r, "Kumasi")["ref"], ref2)
    eq(len(r.xrange("hl:q:urgent")), 2, "two requests on the queue")


# ---- item 4: the reference told is the case's reference -----------------------

HELP = ["", "2", "2*1", "2*1*Vientiane", "2*1*Vientiane*1",
        "2*1*Vientiane*1*2"]


def test_spooled_reference_taken_keeps_the_promise(tmp):
    """Redis down: the caller is told X from the spool. Before the drain,
    X turns out to be held by another caller's case. The drain must not
    quietly file the request under another reference: the case records
    that its caller was told X, and case X points to it."""
    redis, hl, r = setup(tmp)
    redis.kill()
    body = None
    for h in HELP:
        st, body = at_ussd(hl, "ATUid_told", h, phone="+84901000111")
        eq(st, 200)
    told = REF_RE.search(body).group(1)
    hl.stop()                           # the record waits in the spool
    redis.start()
    r = redis.client()
    r("HSET", "hl:case:" + told, "ref", told, "owner", "hl:s:{other}",
      "status", "new", "f:location", "Elsewhere")
    hl2 = Hotlined(tmp, redis.port, port=hl.port)
    hl2.wait_ready()
    wait_for(lambda: len(r.scan_all("hl:case:*")) == 2, 15,
             what="the spooled request in Redis")
    mine = case_by_place(r, "Vientiane")
    if mine["ref"] != told:
        eq(mine.get("told"), told, "the case records the reference its "
           "caller was told")
        eq(r.hgetall("hl:case:" + told).get("told_also"), mine["ref"],
           "case %s points to the caller who was also told it" % told)
    eq(r.hgetall("hl:case:" + told).get("f:location"), "Elsewhere",
       "the other caller's case is untouched otherwise")
    eq(len(r.xrange("hl:q:urgent")), 1, "filed once")


# ---- item 5: a session keeps its number ----------------------------------------

def test_session_bound_to_its_phone(tmp):
    redis, hl, r = setup(tmp)
    a, b = "+84901000221", "+84901000222"
    for h in HELP[:-1]:
        eq(at_ussd(hl, "ATUid_bind", h, phone=a)[0], 200)
    st, body = at_ussd(hl, "ATUid_bind", HELP[-1], phone=b)
    eq(st, 200)
    eq(body, "END Thank you. Goodbye.", "another number: a neutral end")
    eq(r.xrange("hl:q:urgent"), [], "nothing filed from the other number")
    eq(metric(hl, "hotline_session_phone_mismatch_total"), 1, "counted")
    assert "84901000222" not in hl.log(), "the number is masked in the log"
    contains(hl.log(), "222", "the log names the masked number")
    # The number that began the session still finishes it.
    st, body = at_ussd(hl, "ATUid_bind", HELP[-1], phone=a)
    ref = REF_RE.search(body).group(1)
    entries = r.xrange("hl:q:urgent")
    eq(len(entries), 1, "filed once, by the first number")
    eq(entries[0][1]["phone"], a, "the case's number is the session's")
    eq(entries[0][1]["ref"], ref)


# ---- item 6: the first help request is never refused ------------------------

def limited_config(tmp, sessions):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    block = ('limits = { sessions_per_hour = %d; requests_per_day = 0; '
             'per_address_per_minute = 0; message = "Too many tries."; };'
             % sessions)
    text, n = re.subn(r"limits = \{.*?\n\};", block, text, flags=re.S)
    assert n == 1, "limits block not found"
    path = os.path.join(tmp, "limited.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_first_request_exempt_from_sessions_limit(tmp):
    redis, hl, r = setup(tmp, config=limited_config(tmp, 2))
    phone = "+84901000333"
    for i in range(3):                  # tries that file nothing
        at_ussd(hl, "try-%d" % i, "", phone=phone)
    body = None
    for h in HELP:
        body = at_ussd(hl, "first-plea", h, phone=phone)[1]
    assert body.startswith("END Sent. Your reference is "), \
        "the first help request was refused: %r" % body
    eq(len(r.xrange("hl:q:urgent")), 1, "filed")
    # Once the number filed, the sessions limit applies again.
    eq(at_ussd(hl, "after", "", phone=phone)[1], "END Too many tries.",
       "over the limit after its first request")


# ---- issue 12 item 4: the held phone over SMS ---------------------------------

def quick_resume_menus(tmp, seconds):
    src = os.path.join(ROOT, "config", "menus", "hotline.cfg")
    d = os.path.join(tmp, "menus")
    os.makedirs(d)
    with open(src) as f:
        text = f.read()
    text, n = re.subn(r"^sms_resume_s = \d+;", "sms_resume_s = %d;" % seconds,
                      text, flags=re.M)
    assert n == 1, "sms_resume_s not found in the shipped menu"
    with open(os.path.join(d, "hotline.cfg"), "w") as f:
        f.write(text)
    # The shipped channels serve the disguised menu too.
    shutil.copy(os.path.join(ROOT, "config", "menus", "disguised.cfg"), d)
    return d


def test_held_phone_learns_nothing(tmp):
    redis, hl, r = setup(tmp, menus=quick_resume_menus(tmp, 1))
    victim, stranger = "+84933000777", "+84933000888"
    # The victim began a walk and left it half-way.
    kannel(hl, "HELP", "v0", frm=victim)
    contains(kannel(hl, "2", "v1", frm=victim), "What do you need", "live walk")
    time.sleep(2.5)
    # Someone holding the phone later: digits and 0 continue nothing.
    eq(kannel(hl, "0", "h0", frm=victim), "", "0 after idle: silence")
    eq(kannel(hl, "1", "h1", frm=victim), "", "digits after idle: silence")
    eq(kannel(hl, "0", "s0", frm=stranger), "", "as for a stranger")
    # 99: the same answer from the used phone and a never-used one.
    held = kannel(hl, "99", "h2", frm=victim)
    never = kannel(hl, "99", "s1", frm=stranger)
    eq(held, never, "99 says nothing about the phone's past")
    # After a filing too.
    ref = sms_walk(hl, "v2", "Hanoi", frm=victim)
    after = kannel(hl, "99", "h3", frm=victim)
    eq(after, never, "99 after a filing is answered as for a stranger")
    # The duress exit still flags the victim's case.
    eq(r.hgetall("hl:case:" + ref).get("risk"), "high", "case flagged")
    # A keyword starts again.
    time.sleep(2.5)
    contains(kannel(hl, "HELP", "h4", frm=victim), "Choose language",
             "a keyword starts a new walk")
    # Within the window a live walk continues as before.
    contains(kannel(hl, "2", "h5", frm=victim), "What do you need",
             "live walk goes on")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items())
         if n.startswith("test_") and callable(f)])
