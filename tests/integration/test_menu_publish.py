"""Menus published to Redis (docs/menus.md "Publishing"), with two hotlined
on one redis-server, as an operator and callers meet them:

- `hotlinectl menu publish` stores a new version; both gateways serve it to
  new sessions within 1 s (measured, printed); hotline_menu_version agrees.
- A session begun before the publish ends on the old version, whichever
  gateway each step reaches.
- A broken menu is refused with the checker's line; nothing changes.
- A rollback restores the old screens on both gateways; versions lists who,
  note and the rollback; diff names the changed texts.
- A gateway restarted while a version is published is not ready until it
  read it, and then serves it.
- Without accounts a publish needs a staff token; a staff account (hash
  hl:staff:NAME) must have the operator role.
- The funnel of a scripted set of walks (some dropping, some invalid, one
  back, one duress exit) is exactly what `menu funnel` and /metrics show;
  the gateways write it within ~1 s, before they exit on SIGTERM, and
  neither lose nor double a count when Redis stops answering a flush.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, get, eq, contains, run,  # noqa: E402
                     wait_for, HOTLINECTL, ROOT, PEPPER)
from test_gateway import kannel_get  # noqa: E402


def sms_key(s):
    """The SMS session key of kannel_get's default number."""
    keys = [k for k in s.r("KEYS", "hl:s:{kannel:*") if ":" in k]
    assert len(keys) == 1, keys
    return keys[0]

LAN = "lan-token-0123456789abcdef"
SHIPPED = os.path.join(ROOT, "config", "menus", "hotline.cfg")
OLD_MAIN = "What do you need? Press 99"
NEW_MAIN = "How can we help? Press 99"
OLD_WHERE = "Where are you now?"
NEW_WHERE = "Which town are you in?"
PINNED = "+84907770001"


def staff_config(tmp):
    with open(os.path.join(ROOT, "config", "hotlined.cfg"), encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(r"staff = \(.*?\n\);", 'staff = ( { name = "lan"; token = '
                      '"env:STAFF_TOKEN_LAN"; } );', text, flags=re.S)
    assert n == 1, "the shipped config has a staff list"
    text = text.replace('menus = "config/menus"',
                        'menus = "%s"' % os.path.join(ROOT, "config", "menus"))
    path = os.path.join(tmp, "staff.cfg")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def variant(tmp, name, *pairs):
    """The shipped menu with each (old, new) text replaced, as FILE."""
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(tmp, name)
    os.makedirs(path)
    path = os.path.join(path, "hotline.cfg")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class Setup:
    def __init__(self, tmp):
        self.tmp = tmp
        self.cfg = staff_config(tmp)
        self.redis = RedisServer(tmp)
        env = {"STAFF_TOKEN_LAN": LAN}
        self.a = Hotlined(tmp, self.redis.port, config=self.cfg, env=env,
                          name="gw-a")
        self.b = Hotlined(tmp, self.redis.port, config=self.cfg, env=env,
                          name="gw-b")
        self.a.wait_ready()
        self.b.wait_ready()
        self.r = self.redis.client()
        self.n = 0

    def ctl(self, *args, token=LAN, stdin="", group="menu"):
        env = dict(os.environ, HOTLINE_PEPPER=PEPPER, STAFF_TOKEN_LAN=LAN)
        env.pop("HOTLINE_STAFF_TOKEN", None)
        if token:
            env["HOTLINE_STAFF_TOKEN"] = token
        if group == "menu":
            argv = [HOTLINECTL, "menu", args[0], "-c", self.cfg, "--redis",
                    "127.0.0.1:%d" % self.redis.port] + list(args[1:])
        else:
            argv = [HOTLINECTL, group, "-c", self.cfg, "--redis",
                    "127.0.0.1:%d" % self.redis.port] + list(args)
        p = subprocess.run(argv, cwd=ROOT, env=env, input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, encoding="utf-8")
        return p.returncode, p.stdout, p.stderr

    def walk(self, hl, steps, sid=None):
        """A new AT session walked through steps on hl; the last screen."""
        self.n += 1
        sid = sid or "ATUid_pub_%d" % self.n
        body = None
        for i in range(len(steps) + 1):
            # Each walk from its own number: a number that dropped a walk
            # is offered it back on its next call (resume_s).
            st, body = at_ussd(hl, sid, "*".join(steps[:i]),
                               phone="+8490555%04d" % self.n)
            eq(st, 200)
        return body

    def version(self, hl):
        m = re.search(r'^hotline_menu_version\{menu="hotline"\} (\d+)$',
                      get(hl.url("/metrics"))[1], re.M)
        return int(m.group(1)) if m else None


def main_screen(s, hl):
    return s.walk(hl, ["2"])


def test_publish_follow_pin_refuse_rollback_restart(tmp):
    s = Setup(tmp)
    eq((s.version(s.a), s.version(s.b)), (0, 0), "no version: the file")
    contains(main_screen(s, s.a), OLD_MAIN)
    # A caller begins on the file's menu, before any publish.
    old = "ATUid_pinned"
    for h in ["", "2"]:
        st, body = at_ussd(s.a, old, h, phone=PINNED)
    contains(body, OLD_MAIN)

    v1 = variant(tmp, "v1", ("What do you need? Press 99", "How can we help? Press 99"),
                 ("Where are you now? Write", "Which town are you in? Write"))
    t0 = time.time()
    rc, out, err = s.ctl("publish", v1, "--note", "clearer main screen")
    eq(rc, 0, err)
    contains(out, "published hotline version 1 by lan")
    t_cli = time.time()
    seen = {}

    def both_serve():
        for name, hl in (("a", s.a), ("b", s.b)):
            if name not in seen and NEW_MAIN in main_screen(s, hl):
                seen[name] = time.time() - t_cli
        return len(seen) == 2
    wait_for(both_serve, 5, step=0.01, what="both gateways serve version 1")
    print("    publish -> served: gateway a %.3f s, b %.3f s after the CLI "
          "returned (CLI %.3f s)" % (seen["a"], seen["b"], t_cli - t0))
    assert max(seen.values()) < 1.0, seen
    eq((s.version(s.a), s.version(s.b)), (1, 1), "hotline_menu_version agrees")

    # The caller who began before it goes on on the old screens, on both.
    st, body = at_ussd(s.b, old, "2*1", phone=PINNED)
    contains(body, OLD_WHERE, "pinned session on gateway b")
    st, body = at_ussd(s.a, old, "2*1*Phnom Penh", phone=PINNED)
    contains(body, "Are you in danger", "pinned session on gateway a")
    eq(s.r("HGET", "hl:s:{at-ussd:%s}" % old, "mv"), "0")
    # A new caller meets the new screens on both.
    for hl in (s.a, s.b):
        contains(s.walk(hl, ["2", "1"]), NEW_WHERE)

    # A broken menu is refused: the checker's line, nothing changes.
    broken = variant(tmp, "broken", ('next = "danger";', 'next = "dangre";'))
    rc, out, err = s.ctl("publish", broken)
    eq(rc, 1)
    contains(err, "node where: next \"dangre\"")
    contains(err, "not published")
    eq(s.r("GET", "hl:menu:hotline:current"), "1")
    eq(s.r("GET", "hl:menu:hotline:n"), "1")
    time.sleep(0.3)
    for hl in (s.a, s.b):
        contains(main_screen(s, hl), NEW_MAIN)

    # Version 2, then back to version 1's screens.
    v2 = variant(tmp, "v2", ("What do you need? Press 99", "Tell us what you need. Press 99"))
    eq(s.ctl("publish", v2)[0], 0)
    wait_for(lambda: "Tell us what" in main_screen(s, s.b), 2,
             what="version 2 served")
    rc, out, err = s.ctl("diff", "hotline", "1", "2")
    eq(rc, 0, err)
    contains(out, '~ node main: text [en]: "How can we help? Press 99 at any '
                  'time to close this." -> "Tell us what you need. Press 99 at '
                  'any time to close this."')
    contains(out, '~ node where: text [en]: "Which town are you in?')
    rc, out, err = s.ctl("rollback", "hotline", "--note", "v2 confused callers")
    eq(rc, 0, err)
    contains(out, "rolled hotline back to version 1: now version 3 by lan")
    t_rb = time.time()
    wait_for(lambda: all(NEW_MAIN in main_screen(s, hl) for hl in (s.a, s.b)),
             2, step=0.01, what="rollback served on both")
    print("    rollback -> served on both within %.3f s" % (time.time() - t_rb))
    assert time.time() - t_rb < 1.0
    eq((s.version(s.a), s.version(s.b)), (3, 3))
    rc, out, err = s.ctl("versions", "hotline")
    eq(rc, 0, err)
    lines = out.splitlines()
    assert re.match(r"^\* 3 +\S+ \S+ +lan +[0-9a-f]{12} v2 confused callers "
                    r"\(rollback to v1\)$", lines[1]), lines[1]
    assert re.match(r"^  1 .* lan +[0-9a-f]{12} clearer main screen$",
                    lines[3]), lines[3]
    rc, out, err = s.ctl("show", "hotline@3")
    with open(v1, encoding="utf-8") as f:
        eq(out, f.read(), "version 3 is version 1's file")

    # A gateway restarted now serves version 3 from its first answer.
    s.b.stop()
    s.b.start()
    s.b.wait_ready()
    contains(main_screen(s, s.b), NEW_MAIN, "restarted gateway")
    eq(s.version(s.b), 3)
    contains(s.b.log(), "menu hotline: serving version 3 (published by lan)")


def test_who_may_publish(tmp):
    s = Setup(tmp)
    v1 = variant(tmp, "v1", ("What do you need? Press 99", "How can we help? Press 99"))
    rc, out, err = s.ctl("publish", v1, token=None)
    eq(rc, 1)
    contains(err, "publishing needs an operator")
    rc, out, err = s.ctl("publish", v1, token="not-a-staff-token-000")
    eq(rc, 1)
    # Staff accounts (hotlinectl staff): the role decides, the password
    # proves it is them.
    for name, role, pw in (("minh", "staff", "minh-password-1"),
                           ("thu", "operator", "thu-password-12")):
        rc, out, err = s.ctl("add", name, "--role", role, "--password-stdin",
                             "--scrypt-ln", "10", stdin=pw + "\n",
                             group="staff", token=None)
        eq(rc, 0, err)
    rc, out, err = s.ctl("publish", v1, "--as", "minh", "--password-stdin",
                         token=None, stdin="minh-password-1\n")
    eq(rc, 1)
    contains(err, "minh is staff; publishing needs the operator role")
    rc, out, err = s.ctl("publish", v1, "--as", "thu", "--password-stdin",
                         token=None, stdin="not-her-password\n")
    eq(rc, 1)
    contains(err, "wrong password for thu")
    eq(s.r("GET", "hl:menu:hotline:current"), None, "nothing published")
    rc, out, err = s.ctl("publish", v1, "--as", "thu", "--password-stdin",
                         token=None, stdin="thu-password-12\n")
    eq(rc, 0, err)
    contains(out, "published hotline version 1 by thu")
    eq(s.r("HGET", "hl:menu:hotline:v:1", "by"), "thu")
    rc, out, err = s.ctl("publish", v1, token=LAN)
    contains(out, "unchanged: version 1 is this file")
    eq(s.r("GET", "hl:menu:hotline:n"), "1")
    # The README's one command: every shipped menu, each its next version.
    rc, out, err = s.ctl("publish", os.path.join(ROOT, "config", "menus",
                                                 "disguised.cfg"), SHIPPED,
                         "--as", "thu", "--password-stdin", token=None,
                         stdin="thu-password-12\n")
    eq(rc, 0, err)
    eq(out, "published disguised version 1 by thu\n"
            "published hotline version 2 by thu\n")
    # A disabled account publishes nothing.
    eq(s.ctl("disable", "thu", group="staff", token=None)[0], 0)
    rc, out, err = s.ctl("rollback", "hotline", "--as", "thu",
                         "--password-stdin", token=None,
                         stdin="thu-password-12\n")
    eq(rc, 1)
    contains(err, "account thu is disabled")
    wait_for(lambda: re.search(r'^hotline_menu_version\{menu="disguised"\} 1$',
                               get(s.b.url("/metrics"))[1], re.M), 2,
             what="disguised version 1 on gateway b")
    contains(main_screen(s, s.b), OLD_MAIN, "the shipped file again")


# The scripted walks of the funnel test (AT histories), and what each
# counts. Language screen: "language" in vi (the default) until chosen.
WALKS = [
    # complete: language -> main -> jobs (a menu) -> job_fee (a menu) ...
    ["2", "1", "Phnom Penh", "1", "2"],     # files a help request: send ends
    ["2"],                                  # drops at main
    ["2", "7", "1"],                        # invalid at main, drops at where
    ["2", "1", "0", "2"],                   # back at where, drops at jobs
    ["2", "99"],                            # duress exit at main
    ["5"],                                  # invalid at language, drops there
]


def expected_funnel():
    e = {}

    def add(node, lang, ev, n=1):
        e[(node, lang, ev)] = e.get((node, lang, ev), 0) + n
    # every walk visits language (vi) first
    add("language", "vi", "visit", 6)
    add("language", "vi", "left", 5)
    add("language", "vi", "invalid", 1)
    add("main", "en", "visit", 5 + 1)       # the back walk returns to main
    add("main", "en", "left", 3 + 1 + 1)    # to where (3), jobs (1), duress (1)
    add("main", "en", "invalid", 1)
    add("main", "en", "duress", 1)
    add("where", "en", "visit", 3)
    add("where", "en", "left", 2)
    add("where", "en", "back", 1)
    add("danger", "en", "visit", 1)
    add("danger", "en", "left", 1)
    add("callsafe", "en", "visit", 1)
    add("callsafe", "en", "left", 1)
    add("send", "en", "visit", 1)
    add("send", "en", "left", 1)
    add("jobs", "en", "visit", 1)
    return e


def funnel_walks(s):
    """Publishes version 1 and walks WALKS on it, alternating gateways."""
    v1 = variant(s.tmp, "v1", ("What do you need? Press 99",
                               "How can we help? Press 99"))
    eq(s.ctl("publish", v1)[0], 0)
    wait_for(lambda: (s.version(s.a), s.version(s.b)) == (1, 1), 2,
             what="version 1 on both")
    for i, steps in enumerate(WALKS):
        sid = "ATUid_funnel_%d" % i
        for k in range(len(steps) + 1):
            st, body = at_ussd((s.a, s.b)[k % 2], sid, "*".join(steps[:k]),
                               phone="+8490666%04d" % i)
            eq(st, 200)
        if steps == ["2", "99"]:
            assert body.startswith("END"), body
        # a retry of the last step counts nothing
        at_ussd(s.a, sid, "*".join(steps), phone="+8490666%04d" % i)


def funnel_hash(s):
    got = {}
    for f, n in s.r.hgetall("hl:menu:hotline:f:1").items():
        node, lang, ev = f.split("|")
        got[(node, lang, ev)] = int(n)
    return got


def funnel_exact(s, what, want=None):
    """The funnel reaches Redis within ~1 s of the steps (each gateway
    flushes its counts once a second), and then stays exact."""
    want = want or expected_funnel()
    wait_for(lambda: funnel_hash(s) == want, 4, what=what + ": flushed")
    time.sleep(1.5)             # a second flush adds nothing
    eq(funnel_hash(s), want, what)


def test_funnel_counts_exactly(tmp):
    s = Setup(tmp)
    funnel_walks(s)
    funnel_exact(s, "funnel hash")
    # The CLI's table: one row per node and language.
    rc, out, err = s.ctl("funnel", "hotline")
    eq(rc, 0, err)
    rows = {}
    for line in out.splitlines()[2:]:
        c = line.split()
        rows[(c[0], c[1])] = [int(x) for x in c[2:]]
    #                          VISITS INVALID BACK HOME DURESS DROPPED
    eq(rows[("language", "vi")], [6, 1, 0, 0, 0, 1])
    eq(rows[("main", "en")], [6, 1, 0, 0, 1, 1])
    eq(rows[("where", "en")], [3, 0, 1, 0, 0, 1])
    eq(rows[("jobs", "en")], [1, 0, 0, 0, 0, 1])
    eq(rows[("send", "en")], [1, 0, 0, 0, 0, 0])
    # Nothing in the funnel names a number or a session.
    for k in s.r("KEYS", "hl:menu:*"):
        for f in s.r.hgetall(k) if ":f:" in k else {}:
            assert "+84" not in f and "ATUid" not in f, f
    # /metrics of either gateway shows the same totals (read from Redis;
    # a scrape shows what the previous one read).
    for hl in (s.a, s.b):
        get(hl.url("/metrics"))

        def shows():
            text = get(hl.url("/metrics"))[1]
            return ('hotline_menu_funnel_total{menu="hotline",version="1",'
                    'node="main",lang="en",event="visit"} 6' in text and
                    'hotline_menu_funnel_total{menu="hotline",version="1",'
                    'node="main",lang="en",event="duress"} 1' in text)
        wait_for(shows, 3, what="funnel in /metrics")


def test_funnel_flushed_on_sigterm(tmp):
    """A gateway stopped (SIGTERM) right after the walks writes the counts
    it holds before it exits: the funnel is exact at once."""
    s = Setup(tmp)
    funnel_walks(s)
    eq(s.a.stop(), 0, "gw-a exits cleanly")
    eq(s.b.stop(), 0, "gw-b exits cleanly")
    eq(funnel_hash(s), expected_funnel(), "funnel after SIGTERM")
    for hl in (s.a, s.b):
        assert "funnel counts not written" not in hl.log(), hl.log()


def test_funnel_survives_redis_outage(tmp):
    """Redis stops answering a flush past the command deadline (CLIENT
    PAUSE), so the flush times out and is sent again, and Redis runs every
    copy when it comes back; or long enough that the connection drops:
    no count is lost or doubled."""
    s = Setup(tmp)
    funnel_walks(s)
    wait_for(lambda: funnel_hash(s) == expected_funnel(), 4,
             what="the walks flushed")
    # one more first screen on each gateway, its count held when Redis
    # stops answering
    for i, hl in enumerate((s.a, s.b)):
        eq(at_ussd(hl, "ATUid_out_%d" % i, "", phone="+849077700%02d" % i)[0],
           200)
    # Redis holds writes for 1.5 s: a flush sent then times out
    # (timeout_ms 250) and is kept; it is sent again under the same token
    # (whether Redis ran the first copy, its reply lost, or dropped it with
    # the connection) and counted once
    s.r("CLIENT", "PAUSE", "1500", "WRITE")
    time.sleep(1.6)
    want = expected_funnel()
    want[("language", "vi", "visit")] += 2
    funnel_exact(s, "funnel after the outage", want)
    # 3.5 s: three timeouts in a row drop the connection; the batch goes
    # again on the next one
    for i, hl in enumerate((s.a, s.b)):
        eq(at_ussd(hl, "ATUid_out2_%d" % i, "",
                   phone="+849077701%02d" % i)[0], 200)
    s.r("CLIENT", "PAUSE", "3500", "ALL")
    time.sleep(3.6)
    want[("language", "vi", "visit")] += 2
    funnel_exact(s, "funnel after the longer outage", want)
    eq(len(s.r("KEYS", "hl:fc:*")) > 0, True, "flush tokens kept a while")
    for k in s.r("KEYS", "hl:fc:*"):
        assert 0 < s.r("TTL", k) <= 3600, k


def test_bad_version_keeps_last_good(tmp):
    """A version that does not pass the gateway's own check (here: its text
    altered in Redis, so the checksum fails) is not served; /readyz says
    so; the last good version stays."""
    s = Setup(tmp)
    v1 = variant(tmp, "v1", ("What do you need? Press 99", "How can we help? Press 99"))
    eq(s.ctl("publish", v1)[0], 0)
    wait_for(lambda: s.version(s.a) == 1, 2, what="version 1")
    v2 = variant(tmp, "v2", ("What do you need? Press 99", "Tell us what you need. Press 99"))
    s.r("MULTI")
    s.r("INCR", "hl:menu:hotline:n")
    s.r("HSET", "hl:menu:hotline:v:2", "text", open(v2).read() + "#", "sum",
        "0" * 64, "by", "mallory")
    s.r("SET", "hl:menu:hotline:current", "2")
    s.r("EXEC")
    s.r("PUBLISH", "hl:menu:published", "hotline 2")

    def says(hl):
        st, body = get(hl.url("/readyz"))[:2]
        return st == 200 and "menu hotline: version 2 not served" in body
    for hl in (s.a, s.b):
        wait_for(lambda: says(hl), 2, what="/readyz detail")
    st, body = get(s.b.url("/readyz"))[:2]
    contains(body, "(its text does not match its checksum); serving version 1")
    contains(main_screen(s, s.a), NEW_MAIN)
    eq(s.version(s.a), 1)
    contains(get(s.b.url("/metrics"))[1],
             'hotline_menu_refused_version{menu="hotline"} 2\n')
    contains(s.a.log(), "menu hotline: published version 2 not served, still "
                        "serving version 1")


def test_evicted_version_restarts_cleanly_and_backstop(tmp):
    """A session on a version no longer loaded (MPUB_KEEP newer ones were
    published since) starts again on the start screen of the current one,
    and its next answer goes on from there. A version made current without
    a pub/sub message (a lost message) is followed by the periodic check."""
    s = Setup(tmp)
    v1 = variant(tmp, "v1", ("What do you need? Press 99", "How can we help? Press 99"))
    eq(s.ctl("publish", v1)[0], 0)
    wait_for(lambda: s.version(s.a) == 1, 2, what="version 1")
    sid = "ATUid_evicted"
    at_ussd(s.a, sid, "", phone=PINNED)
    contains(at_ussd(s.a, sid, "2", phone=PINNED)[1], NEW_MAIN)
    for i in range(2, 6):   # versions 2..5: version 1 is unloaded
        vi = variant(tmp, "v%d" % i, ("What do you need? Press 99",
                                       "Need %d? Press 99" % i))
        eq(s.ctl("publish", vi)[0], 0)
        wait_for(lambda: s.version(s.a) == i, 2, what="version %d" % i)
    contains(s.a.log(), "menu hotline: version 1 unloaded")
    st, body = at_ussd(s.a, sid, "2*1", phone=PINNED)
    eq(st, 200)
    # The first screen of a new walk on version 5: as for any number that
    # dropped a walk, its place is offered back (resume_s).
    assert body.startswith("CON 1. Continue where you were"), body
    st, body = at_ussd(s.a, sid, "2*1*1", phone=PINNED)
    assert body.startswith("CON Need 5? Press 99"), body
    eq(s.r("HGET", "hl:s:{at-ussd:%s}" % sid, "mv"), "5")

    # By SMS: a walk on an unloaded version starts again while it would
    # have resumed; once idle past sms_resume_s, silence (threat model T18).
    eq(kannel_get(s.a, "HELP", "e1")[1].startswith("Chon ngon ngu"), True)
    eq(s.r("HGET", sms_key(s), "mv"), "5")
    s.r("HSET", sms_key(s), "mv", "1")      # as if begun on version 1
    st, body, _ = kannel_get(s.b, "2", "e2")
    assert body.startswith("Chon ngon ngu"), body
    eq(s.r("HGET", sms_key(s), "mv"), "5")
    contains(kannel_get(s.b, "2", "e3")[1], "Need 5? Press 99")
    s.r("HSET", sms_key(s), "mv", "1", "t", "1000")   # idle for years
    eq(kannel_get(s.a, "1", "e4")[:2], (200, ""), "idle: nothing sent")

    # The backstop: version 6 stored and made current with no message.
    v6 = variant(tmp, "v6", ("What do you need? Press 99", "Six? Press 99"))
    text = open(v6, encoding="utf-8").read()
    import hashlib
    s.r("HSET", "hl:menu:hotline:v:6", "text", text, "sum",
        hashlib.sha256(text.encode()).hexdigest(), "by", "lan")
    s.r("SET", "hl:menu:hotline:n", "6")
    s.r("SET", "hl:menu:hotline:current", "6")
    t0 = time.time()
    wait_for(lambda: s.version(s.a) == 6 and s.version(s.b) == 6, 15,
             step=0.2, what="the periodic check")
    print("    without a message: followed after %.1f s" % (time.time() - t0))
    contains(main_screen(s, s.b), "Six? Press 99")


if __name__ == "__main__":
    run([
        ("test_publish_follow_pin_refuse_rollback_restart",
         test_publish_follow_pin_refuse_rollback_restart),
        ("test_who_may_publish", test_who_may_publish),
        ("test_funnel_counts_exactly", test_funnel_counts_exactly),
        ("test_funnel_flushed_on_sigterm", test_funnel_flushed_on_sigterm),
        ("test_funnel_survives_redis_outage",
         test_funnel_survives_redis_outage),
        ("test_bad_version_keeps_last_good", test_bad_version_keeps_last_good),
        ("test_evicted_version_restarts_cleanly_and_backstop",
         test_evicted_version_restarts_cleanly_and_backstop),
    ])
