"""What callers see (issue 13), end to end through hotlined and Redis.

- No screen is cut: on USSD channels that do not fold diacritics the shipped
  Vietnamese "Sent" screen needs two pages of 80 UCS-2 characters. Its first
  page continues (CON / Response / continue flag) with "98. Xem thêm", the
  request is filed then, exactly once; 98 shows the last page, which ends the
  session; a retry or more paging never files again. On every USSD dialect.
- Disguised entry (config/menus/disguised.cfg on /ussd/jobs): the front
  screens never show a word of the help menu; the poster code, typed on the
  first screens or as the member code, opens it and a request files.
- `home`: "00. Main menu" returns to the main screen, not the language one.
- Phone numbers typed with spaces and dashes reach the queue in E.164.
"""
import json
import os
import re
import sys
import unicodedata
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, post_form, post_json,  # noqa: E402
                     get, eq, contains, run, ROOT)

PHONE = "+84901234567"
REF_VI = re.compile(r"Mã số của bạn: ([346789ABCDEFGHJKMNPQRTWXY]{6})")
VI_WALK = ["1", "1", "Hà Nội", "1", "2"]     # vi, help now, where, danger, no call
SENT_TAIL = "tôi khi an toàn. Nếu điện thoại bị kiểm tra, hãy xóa tin này."


def plain_config(tmp):
    """The shipped config with every USSD channel unfolded."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        cfg = f.read()
    n = cfg.count("timeout = 180; fold = true; }")
    assert n >= 4, "the shipped USSD channels changed"
    cfg = cfg.replace("timeout = 180; fold = true; }",
                      "timeout = 180; fold = false; }")
    path = os.path.join(tmp, "plain.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    return path


def setup(tmp, config=None):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port, config=config)
    hl.wait_ready()
    return redis, hl, redis.client()


def requests(r):
    return r.xrange("hl:q:urgent")


def cases(r):
    return r.scan_all("hl:case:*")


def at_history(hl, session, steps, path="/ussd/africastalking",
               phone=PHONE):
    """AT requests with the history growing by each step; every body."""
    bodies, hist = [], []
    for s in [None] + list(steps):
        if s is not None:
            hist.append(s)
        st, body, _ = post_form(hl.url(path), {
            "sessionId": session, "serviceCode": "*384*123#",
            "phoneNumber": phone, "networkCode": "45204",
            "text": "*".join(hist)})
        eq(st, 200, "status after %r" % (s,))
        bodies.append(body)
    return bodies


# ---- a final screen of two pages --------------------------------------------

def test_two_page_sent_africastalking(tmp):
    redis, hl, r = setup(tmp, plain_config(tmp))
    b = at_history(hl, "ATUid_2p", VI_WALK)
    first = b[-1]
    assert first.startswith("CON "), "page 1 of Sent continues:\n" + first
    contains(first, "Đã gửi. Mã số của bạn:", "page 1 is the Sent screen")
    assert first.endswith("\n98. Xem thêm"), "page 1 offers more:\n" + first
    ref = REF_VI.search(first).group(1)
    eq(len(requests(r)), 1, "filed at page 1")
    eq(requests(r)[0][1]["ref"], ref, "the reference shown")
    hist = "*".join(VI_WALK + ["98"])
    st, last = at_ussd(hl, "ATUid_2p", hist)
    eq(last, "END " + SENT_TAIL, "page 2 ends the session with the rest")
    st, again = at_ussd(hl, "ATUid_2p", hist)
    eq(again, last, "a retried page 2: the same screen")
    eq(len(requests(r)), 1, "paging never files again")
    eq(len(cases(r)), 1, "one case")


def test_two_page_sent_hubtel_nalo_arkesel(tmp):
    redis, hl, r = setup(tmp, plain_config(tmp))

    def hub(typ, msg, seq):
        st, body, _ = post_json(hl.url("/ussd/hubtel"), {
            "SessionId": "hub-2p", "Mobile": "233200000123",
            "ServiceCode": "714", "Type": typ, "Message": msg,
            "Operator": "mtn", "ClientState": "", "Sequence": seq})
        eq(st, 200, "hubtel status")
        return json.loads(body)

    hub("Initiation", "*714#", 1)
    for i, s in enumerate(VI_WALK):
        out = hub("Response", s, i + 2)
    eq(out["Type"], "Response", "hubtel: page 1 of Sent continues")
    assert out["Message"].endswith("\n98. Xem thêm"), out["Message"]
    eq(len(requests(r)), 1, "hubtel: filed at page 1")
    out = hub("Response", "98", 7)
    eq((out["Type"], out["Message"]), ("Release", SENT_TAIL),
       "hubtel: page 2 ends the session")
    eq(len(requests(r)), 1, "hubtel: filed once")

    def nalo(msg, first):
        st, body, _ = post_json(hl.url("/ussd/nalo"), {
            "USERID": "nalo-user", "MSISDN": "233200000456",
            "USERDATA": msg, "MSGTYPE": first, "NETWORK": "MTN"})
        eq(st, 200, "nalo status")
        return json.loads(body)

    nalo("*920*55#", True)
    for s in VI_WALK:
        out = nalo(s, False)
    eq(out["MSGTYPE"], True, "nalo: page 1 of Sent continues")
    contains(out["MSG"], "98. Xem thêm")
    out = nalo("98", False)
    eq((out["MSGTYPE"], out["MSG"]), (False, SENT_TAIL), "nalo: page 2 ends")
    eq(len(requests(r)), 2, "nalo: filed once")

    def ark(msg, first):
        st, body, _ = post_json(hl.url("/ussd/arkesel"), {
            "sessionID": "ark-2p", "userID": "ark-user", "newSession": first,
            "msisdn": "233200000789", "userData": msg, "network": "MTN"})
        eq(st, 200, "arkesel status")
        return json.loads(body)

    ark("*920*56#", True)
    for s in VI_WALK:
        out = ark(s, False)
    eq(out["continueSession"], True, "arkesel: page 1 of Sent continues")
    out = ark("5", False)
    eq(out["continueSession"], True, "arkesel: another key, same page")
    contains(out["message"], "98. Xem thêm")
    out = ark("98", False)
    eq((out["continueSession"], out["message"]), (False, SENT_TAIL),
       "arkesel: page 2 ends")
    eq(len(requests(r)), 3, "arkesel: filed once")
    eq(len(cases(r)), 3, "one case per walk")


def test_sms_sent_read_page_by_page(tmp):
    """SMS pages of one segment (70 UCS-2 characters), unfolded: the Sent
    reply is several messages, each asked for with 98; filed once."""
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        cfg = f.read()
    old = ('path = "/sms/kannel";\n    menu = "hotline"; timeout = 3600; '
           'fold = true; sms_parts = 3; }')
    assert old in cfg, "the shipped kannel channel changed"
    cfg = cfg.replace(old, old.replace("fold = true; sms_parts = 3;",
                                       "fold = false; sms_parts = 1;"))
    conf = os.path.join(tmp, "sms1.cfg")
    with open(conf, "w") as f:
        f.write(cfg)
    redis, hl, r = setup(tmp, conf)
    n = [0]

    def sms(text):
        n[0] += 1
        q = urllib.parse.urlencode({
            "from": "+84933333333", "to": "1234", "text": text,
            "id": "m%d" % n[0], "smsc": "fake", "coding": "0",
            "charset": "UTF-8"})
        st, body, _ = get(hl.url("/sms/kannel?" + q))
        eq(st, 200, "kannel status")
        return body
    sms("CUU")
    for s_ in VI_WALK:
        body = sms(s_)
    contains(body, "Đã gửi. Mã số của bạn:", "the first part of Sent")
    eq(len(requests(r)), 1, "filed with the first part")
    parts = [body]
    while body.endswith("\n98. Xem thêm") and len(parts) < 10:
        body = sms("98")
        parts.append(body)
    assert len(parts) >= 2, "several parts:\n" + "\n--\n".join(parts)
    text = " ".join(p.replace("\n98. Xem thêm", "") for p in parts)
    contains(text, "Chỉ gọi cho chúng tôi khi an toàn.", "all of it")
    contains(text, "hãy xóa tin này.", "the last words arrive")
    eq(len(requests(r)), 1, "paging files nothing more")
    eq(sms("98"), "", "after the last part: nothing more is sent")


def test_folded_sent_is_one_page(tmp):
    redis, hl, r = setup(tmp)
    b = at_history(hl, "ATUid_1p", VI_WALK)
    assert b[-1].startswith("END Da gui. Ma so cua ban:"), b[-1]
    contains(b[-1], "hay xoa tin nay.", "the whole screen on one page")
    eq(len(requests(r)), 1)


# ---- disguised entry ---------------------------------------------------------

def fold(s):
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s)
                   if not unicodedata.combining(c))


def words(screen, nav):
    """Folded lower-case words of a screen, without the nav lines (the same
    words on every screen of both parts by design)."""
    out = set()
    for line in screen.split("\n"):
        if any(line.startswith(k + ". ") for k in nav):
            continue
        for w in re.findall(r"[^\W_]+", fold(line).lower()):
            out.add(w)
    return out


def body_text(body):
    return body[4:] if body[:4] in ("CON ", "END ") else body


NAV = ("0", "00", "98")
# Words that alone would tell a watcher what is behind the front.
TELLTALE = {"help", "giup", "support", "safe", "toan", "danger", "hotline",
            "migrant", "reference", "sent", "99", "police", "embassy",
            "call", "goi", "location"}


def test_disguised_front_shows_no_help_word(tmp):
    redis, hl, r = setup(tmp)
    path = "/ussd/jobs"
    front = []          # every screen reachable without the code
    n = [0]

    def walk(steps):
        n[0] += 1
        return [body_text(b) for b in
                at_history(hl, "front-%d" % n[0], steps, path=path)]
    for lang in ("1", "2"):
        front += walk([lang, "1"])                  # tips
        front += walk([lang, "2"])[-1:]             # rates
        front += walk([lang, "3", "1234"])[-2:]     # code prompt, wrong code
        front += walk([lang, "7"])[-1:]             # a wrong key
        front += walk([lang, "3", "12ab"])[-1:]     # a refused code
        front += walk([lang, "00"])[-1:]            # home is the front
        front += walk([lang, "3", "0"])[-1:]        # back from the code
    front += walk(["5"])[-1:]                       # wrong key at the start
    help_ = []
    for lang in ("1", "2"):
        help_ += walk([lang, "4321", "2"])[-2:]           # help, call us
        help_ += walk([lang, "4321", "1", "Ha Noi"])[-2:]  # where, callsafe
        help_ += walk([lang, "4321", "1", "Ha Noi", "2"])[-1:]  # othernum
    eq(len(requests(r)), 0, "nothing filed yet")
    front_words = set().union(*(words(s, NAV) for s in front))
    help_words = set().union(*(words(s, NAV) for s in help_))
    for s in help_:
        assert "4321" not in s, "the code is never shown"
    leaked = {w for w in front_words & help_words if len(w) >= 4}
    leaked |= front_words & TELLTALE
    eq(sorted(leaked), [], "help-menu words on the front screens:\n" +
       "\n----\n".join(front))
    for s in front:
        assert "4321" not in s, "the code is never listed:\n" + s


def test_disguised_code_opens_help_and_files(tmp):
    redis, hl, r = setup(tmp)
    path = "/ussd/jobs"
    # On the first screen, on the front, or as the member code.
    for i, steps in enumerate((["4321"], ["2", "4321"], ["2", "3", "4321"])):
        b = at_history(hl, "code-%d" % i, steps, path=path)
        assert b[-1].startswith("CON "), b[-1]
        contains(b[-1], ("Duong day ho tro" if i == 0 else
                         "Support line for migrant workers"),
                 "the code opens help (%r)" % steps)
    b = at_history(hl, "code-file", ["2", "3", "4321", "1", "Phnom Penh", "2",
                                     "+84 90-123 4567"], path=path)
    assert b[-1].startswith("END Sent. Your reference:"), b[-1]
    reqs = requests(r)
    eq(len(reqs), 1, "one help request")
    f = reqs[0][1]
    eq(f["channel"], "jobs-ussd", "on the disguised channel")
    eq(f["f:location"], "Phnom Penh")
    eq(f["f:callback"], "+84901234567", "the number stored in E.164")
    eq("f:member" in f, False, "the code is not sent")
    # A wrong code: a neutral end, nothing filed.
    b = at_history(hl, "code-wrong", ["2", "3", "1234"], path=path)
    eq(b[-1], "END The code is not active yet. Thank you.")
    eq(len(requests(r)), 1, "a wrong code files nothing")


# ---- home and phone numbers on the shipped menu -------------------------------

def test_home_returns_to_main_not_language(tmp):
    redis, hl, r = setup(tmp)
    b = at_history(hl, "ATUid_home", ["2", "2", "5", "00"])
    assert b[-1].startswith("CON What do you need?"), b[-1]
    b = at_history(hl, "ATUid_home2", ["2", "2", "5", "00", "1"])
    assert b[-1].startswith("CON Where are you now?"), b[-1]


def test_phone_typed_with_spaces_reaches_queue_e164(tmp):
    redis, hl, r = setup(tmp)
    b = at_history(hl, "ATUid_ph", ["2", "1", "Hanoi", "1", "1", "2",
                                    "+84 90-123 4567"])
    assert b[-1].startswith("END Sent."), b[-1]
    eq(requests(r)[0][1]["f:callback"], "+84901234567", "E.164 on the queue")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
