"""Issue 16, "check a job offer before you go": the shipped menu's lookup
node on real Redis and hotlined. `hotlinectl lists import` (added, removed
and rejected rows with their lines), a lookup by USSD and by SMS with each
outcome (found, did-you-mean, unknown, reported), a re-import replacing the
list while lookups run (no lookup sees a half list), rollback and export,
a tag from a case turning an unknown number into "reported", erase taking
that report back, and the lookup metrics.
"""
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, eq, contains, run,  # noqa: E402
                     ROOT, HOTLINECTL, PEPPER, get, post_json)

LAN = "lan-token-0123456789abcdef"
SAMPLE = os.path.join(ROOT, "config", "lists", "licensed.sample.csv")
REF = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
# English, Check a job offer, Check a recruiter.
CHECK = "2*2*1"


def staff_config(tmp):
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        text = f.read()
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; token = '
                      '"env:STAFF_TOKEN_LAN"; } );', text, flags=re.S)
    assert n == 1
    path = os.path.join(tmp, "staff.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def setup(tmp):
    redis = RedisServer(tmp)
    cfg = staff_config(tmp)
    hl = Hotlined(tmp, redis.port, config=cfg, env={"STAFF_TOKEN_LAN": LAN})
    hl.wait_ready()

    def ctl(*args):
        e = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=LAN)
        p = subprocess.run([HOTLINECTL] + [args[0], "-c", cfg, "--redis",
                            "127.0.0.1:%d" % redis.port] + list(args[1:]),
                           cwd=ROOT, env=e, capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr
    return redis, hl, redis.client(), ctl


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def check(hl, session, typed):
    st, body = at_ussd(hl, session, CHECK)
    eq(st, 200)
    contains(body, "Type the recruiter's company name")
    st, body = at_ussd(hl, session, CHECK + "*" + typed)
    eq(st, 200)
    return body


def import_sample(ctl):
    rc, out, err = ctl("lists", "import", "licensed", SAMPLE, "--key",
                       "company,licence")
    eq(rc, 0, err)
    return out


def test_import_and_each_outcome_by_ussd(tmp):
    redis, hl, r, ctl = setup(tmp)
    out = import_sample(ctl)
    contains(out, "list licensed: version 1: 8 keys, 8 added, 0 removed, "
                  "0 rejected")
    eq(r("HGET", "hl:list:licensed", "cur"), "1")
    # Found: the name typed without accents, legal form or capitals.
    body = check(hl, "u1", "example manpower alpha")
    contains(body, "CON Example Manpower Alpha JSC is on the licensed list "
                   "(001/SAMPLE-GP).")
    # Found by the licence number, written with spaces instead of / and -.
    body = check(hl, "u2", "001 SAMPLE GP")
    contains(body, "Example Manpower Alpha JSC is on the licensed list")
    # The near miss: one letter off is never "licensed", only a question.
    body = check(hl, "u3", "Example Manpower Alpho")
    assert "is on the licensed list" not in body, body
    contains(body, "No exact match. Did you mean Example Manpower Alpha JSC "
                   "(001/SAMPLE-GP)? Fake companies copy real names.\n"
                   "1. Yes, how to check\n2. No, type again")
    st, body = at_ussd(hl, "u3", CHECK + "*Example Manpower Alpho*1")
    contains(body, "CON Ask to see a licence with exactly the name Example "
                   "Manpower Alpha JSC.")
    # Unknown.
    body = check(hl, "u4", "0912 345 678")
    contains(body, "0912 345 678 is not on the licensed list and no one "
                   "reported it.")
    # Nothing that can be looked up: refused, asked again.
    body = check(hl, "u5", "Cong ty TNHH")
    contains(body, "Type the recruiter's company name")
    # The whole walk in one request (no stored state: replayed).
    st, body = at_ussd(hl, "u6", CHECK + "*PT Contoh Tenaga Kerja")
    contains(body, "PT Contoh Tenaga Kerja is on the licensed list")
    metrics = get(hl.url("/metrics"))[1]
    contains(metrics, 'hotline_lookups_total{outcome="found"} 3')
    contains(metrics, 'hotline_lookups_total{outcome="near"} 1')
    contains(metrics, 'hotline_lookups_total{outcome="unknown"} 1')
    contains(metrics, 'hotline_lookup_matches_total{list="licensed"} 4')


def kannel(hl, text, mid, frm="+84933333333"):
    import urllib.parse
    q = urllib.parse.urlencode({"from": frm, "to": "1234", "text": text,
                                "id": mid, "smsc": "fake", "coding": "0",
                                "charset": "UTF-8"})
    return get(hl.url("/sms/kannel?" + q))[1]


def test_lookup_by_sms_and_tag_then_erase(tmp):
    redis, hl, r, ctl = setup(tmp)
    import_sample(ctl)
    eq("Choose language" in kannel(hl, "JOB", "m1"), True)
    for i, k in enumerate(["2", "2", "1"]):
        kannel(hl, k, "m%d" % (i + 2))
    body = kannel(hl, "0912 345 678", "m5")
    contains(body, "0912 345 678 is not on the licensed list")
    # A caller files a help request; staff tag the recruiter's number,
    # web page and chat handle on the case.
    st, body = at_ussd(hl, "c1", "", phone="+84912000001")
    for h in ["2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]:
        st, body = at_ussd(hl, "c1", h, phone="+84912000001")
    ref = REF.search(body).group(1)
    rc, out, err = ctl("cases", "--token", LAN, "tag", ref, "+84 912 345 678",
                       "https://t.me/HighPayJobs")
    eq(rc, 0, err)
    contains(out, "%s: tagged 2 tel:+84912345678 web:t.me/highpayjobs" % ref)
    # The API tags too (a chat handle), once per identifier.
    st, text, _ = post_json(hl.url("/api/cases/%s/tag" % ref),
                            {"identifiers": ["@HighPay_Jobs", "+84912345678"]},
                            headers={"Authorization": "Bearer " + LAN})
    eq(st, 200, text)
    contains(text, "tagged 1")
    st, text, _ = post_json(hl.url("/api/cases/%s/tag" % ref),
                            {"identifiers": ["0912345678"]},
                            headers={"Authorization": "Bearer " + LAN})
    eq(st, 400, "a national number without its country code")
    # The same number, checked again by SMS: reported, with no case shown.
    kannel(hl, "1", "m6")
    body = kannel(hl, "0912-345-678", "m7")
    contains(body, "Warning: 0912-345-678 was reported to us. Reports: 1, "
                   "since 20")
    assert ref not in body
    body = check(hl, "u7", "t.me/highpayjobs")
    contains(body, "Warning: t.me/highpayjobs was reported to us. Reports: 1")
    # The caller asks to be erased: the report goes with the case.
    rc, out, err = ctl("cases", "--token", LAN, "erase", "--phone",
                       "+84912000001")
    eq(rc, 0, err)
    eq(r("EXISTS", "hl:rep:tel:+84912345678"), 0)
    body = check(hl, "u8", "+84 912 345 678")
    contains(body, "is not on the licensed list and no one reported it")
    metrics = get(hl.url("/metrics"))[1]
    contains(metrics, 'hotline_lookups_total{outcome="reported"} 2')


def test_reimport_rollback_export_and_rejects(tmp):
    redis, hl, r, ctl = setup(tmp)
    import_sample(ctl)
    new = write(tmp, "new.csv",
                "company,licence,note\n"
                "Example Manpower Alpha JSC,001/SAMPLE-GP,SAMPLE\n"
                "\"Beta, Sample Recruiting\",004/SAMPLE-GP,SAMPLE\n"
                "Công ty TNHH,005/SAMPLE-GP,SAMPLE\n"
                "Gamma Sample,006/SAMPLE-GP\n"
                "example manpower ALPHA,007/SAMPLE-GP,SAMPLE\n")
    rc, out, err = ctl("lists", "import", "licensed", new, "--key",
                       "company,licence")
    eq(rc, 0, err)
    contains(out, 'rejected line 4: company "Công ty TNHH" gives no key')
    contains(out, "rejected line 5: 2 cells, the header has 3")
    contains(out, "rejected line 6: the same key (id:examplemanpoweralpha) "
                  "as line 2")
    contains(out, "list licensed: version 2: 5 keys, 3 added, 6 removed, "
                  "3 rejected")
    body = check(hl, "v1", "PT Contoh Tenaga Kerja")
    contains(body, "is not on the licensed list", "gone with version 2")
    body = check(hl, "v2", "beta sample recruiting")
    contains(body, "Beta, Sample Recruiting is on the licensed list")
    rc, out, err = ctl("lists", "show", "licensed")
    eq(rc, 0, err)
    contains(out, "version: 2\n  previous: 1\n  keys: 5")
    rc, out, err = ctl("lists", "rollback", "licensed")
    eq(rc, 0, err)
    contains(out, "list licensed: version 1 again")
    body = check(hl, "v3", "PT Contoh Tenaga Kerja")
    contains(body, "PT Contoh Tenaga Kerja is on the licensed list")
    rc, out, err = ctl("lists", "export", "licensed")
    eq(rc, 0, err)
    lines = out.strip().split("\n")
    eq(lines[0], "company,licence,note")
    contains(out, "PT Contoh Tenaga Kerja,002/SAMPLE-GP,SAMPLE DATA - not a "
                  "real company")
    # A file with no usable row, or no usable header, changes nothing.
    bad = write(tmp, "bad.csv", "company;licence\nA;B\n")
    rc, out, err = ctl("lists", "import", "licensed", bad)
    eq(rc, 2, out + err)
    contains(err, 'line 1: column "company;licence" must be letters, digits')
    bad = write(tmp, "bad2.csv", "company,licence\nCong ty,\nJSC,x,y\n")
    rc, out, err = ctl("lists", "import", "licensed", bad)
    eq(rc, 1, out + err)
    contains(err, "no row of %s can be imported; list licensed is "
                  "unchanged" % bad)
    eq(r("HGET", "hl:list:licensed", "cur"), "1")
    # An import keeps the version it replaces (1) and drops the one before
    # (2, rolled back from).
    import_sample(ctl)
    eq([r("EXISTS", "hl:list:licensed:%d" % v) for v in (1, 2, 3)],
       [1, 0, 1])
    eq(r("HMGET", "hl:list:licensed", "cur", "prev"), ["3", "1"])


def test_reimport_while_lookups_run(tmp):
    """Lookups during imports that swap between two lists answer from one
    whole list each: a name only in list A is found with A's licence, a
    name only in B with B's; never a mix, never a miss."""
    redis, hl, r, ctl = setup(tmp)
    rows_a = "".join("Filler Sample %04d,A-%04d,x\n" % (i, i)
                     for i in range(1500))
    a = write(tmp, "a.csv", "company,licence,note\n"
              "Swap Sample Company,111/SAMPLE-A,x\n" + rows_a)
    b = write(tmp, "b.csv", "company,licence,note\n"
              "Swap Sample Company,222/SAMPLE-B,x\n" + rows_a.replace(",A-", ",B-"))
    rc, out, err = ctl("lists", "import", "licensed", a, "--key", "company")
    eq(rc, 0, err)
    stop = threading.Event()
    seen, errors = [], []

    def looker(n):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                body = check(hl, "w%d-%d" % (n, i), "Swap Sample Company")
                m = re.search(r"\((\d+/SAMPLE-[AB])\)", body)
                if not m:
                    errors.append(body)
                else:
                    seen.append(m.group(1))
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=looker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    try:
        for f in [b, a, b]:
            rc, out, err = ctl("lists", "import", "licensed", f, "--key",
                               "company")
            eq(rc, 0, err)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    eq(errors, [], "every lookup found the company in a whole list")
    assert len(seen) >= 4, seen
    eq(set(seen) <= {"111/SAMPLE-A", "222/SAMPLE-B"}, True)
    body = check(hl, "w-last", "Swap Sample Company")
    contains(body, "(222/SAMPLE-B)", "the last import answers")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
