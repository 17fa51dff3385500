"""Kannel end to end: Debian's real bearerbox and smsbox, with the fake SMSC
from kannel-extras (fakesmsc) playing the phone, call hotlined's
/sms/kannel get-url exactly as deploy/kannel/kannel.conf configures it; the
caller walks the help path by SMS and the request is read back from Redis.

Skipped (with the reason printed) only when Kannel is not installed.
"""
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, free_port, get, eq, contains,  # noqa: E402
                     run, wait_for, _procs)

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
PHONE = "+84955555555"
GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$", re.M)
SHORT = "1234"

CONF = """
group = core
admin-port = {admin}
admin-password = test-admin
admin-interface = 127.0.0.1
smsbox-port = {smsbox}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-level = 1
log-file = "{tmp}/bearerbox.log"

group = smsc
smsc = fake
smsc-id = fake
port = {fake}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-level = 1
log-file = "{tmp}/smsbox.log"

group = sms-service
keyword = default
get-url = "http://127.0.0.1:{hl}/sms/kannel?from=%p&to=%P&text=%a&id=%I&smsc=%i&coding=%c&charset=%C"
max-messages = 10
concatenation = true
omit-empty = true
catch-all = true

group = sendsms-user
username = staff
password = staff-secret
"""


def have_kannel():
    return all(os.path.exists(p) for p in (BEARERBOX, SMSBOX, FAKESMSC))


class Kannel:
    def __init__(self, tmp, hl_port):
        self.tmp = tmp
        self.ports = {"admin": free_port(), "smsbox": free_port(),
                      "fake": free_port(), "sendsms": free_port(),
                      "hl": hl_port, "tmp": tmp}
        self.conf = os.path.join(tmp, "kannel.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(**self.ports))
        log = open(os.path.join(tmp, "kannel.out"), "ab")
        self.bb = subprocess.Popen([BEARERBOX, "-v", "4", self.conf], cwd=tmp,
                                   stdout=log, stderr=log)
        _procs.append(self.bb)
        wait_for(lambda: self._admin_up(), 15, what="bearerbox admin port")
        self.sb = subprocess.Popen([SMSBOX, "-v", "4", self.conf], cwd=tmp,
                                   stdout=log, stderr=log)
        _procs.append(self.sb)
        wait_for(lambda: "smsbox" in self._status(), 15,
                 what="smsbox connected to bearerbox")

    def _status(self):
        try:
            return get("http://127.0.0.1:%d/status.txt?password=test-admin" %
                       self.ports["admin"], timeout=2)[1]
        except OSError:
            return ""

    def _admin_up(self):
        return self._status() != ""

    def phone_sends(self, text, timeout=15):
        """fakesmsc sends one SMS from PHONE and prints what comes back;
        returns the decoded reply text (several parts joined)."""
        msg = "%s %s text %s" % (PHONE, SHORT, text)
        out_path = os.path.join(self.tmp, "fakesmsc-%f.out" % time.time())
        out = open(out_path, "wb")
        p = subprocess.Popen([FAKESMSC, "-H", "127.0.0.1", "-r",
                              str(self.ports["fake"]), "-i", "0.1", "-m", "1",
                              msg], stdout=out, stderr=subprocess.STDOUT)
        _procs.append(p)

        def replies():
            with open(out_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            return GOT.findall(text)
        try:
            wait_for(replies, timeout, what="a reply at the fake SMSC")
            time.sleep(0.3)         # further parts of a long reply
            parts = replies()
        finally:
            p.kill()
            p.wait(timeout=5)
            out.close()
        # fakesmsc's line protocol shows each reply up to its first newline
        # (a limit of the fake SMSC, not of a real SMPP link).
        return "\n".join(urllib.parse.unquote_plus(body) if kind != "text"
                         else body for _src, _dst, kind, body in parts)


def test_kannel_help_walk_by_sms(tmp):
    if not have_kannel():
        print("skip: Kannel (kannel, kannel-extras) is not installed")
        return
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    k = Kannel(tmp, hl.port)
    first = k.phone_sends("HELP")
    contains(first, "Choose language", "the menu reached the phone")
    contains(k.phone_sends("2"), "What do you need?")
    contains(k.phone_sends("1"), "Where are you now?")
    contains(k.phone_sends("Hanoi"), "Are you in danger")
    contains(k.phone_sends("1"), "safe for us to call you back")
    last = k.phone_sends("2")
    contains(last, "Sent. Your reference is ")
    r = redis.client()
    entries = r.xrange("hl:q:urgent")
    eq(len(entries), 1, "one help request")
    eq(entries[0][1]["channel"], "kannel")
    eq(entries[0][1]["f:location"], "Hanoi")
    contains(last, entries[0][1]["ref"], "the reference the phone got")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
