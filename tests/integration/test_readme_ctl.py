"""The README's `hotlinectl cases` lines work as printed after `make run`
(issue 14, item 7): a folder laid out as the repository (build/, config/,
staff/, var/), var/ made by deploy/local-env.sh as `make run` makes it,
hotlined started with var/hotline.env's variables as `make run` starts it
(the shipped config, its Redis port changed to the test's), a help request
filed with the README's curl walk; then each `build/hotlinectl cases` line
of the README's block is run by sh in that folder, with no HOTLINE_PEPPER
or staff token in the environment, only the example reference and cursor
replaced. Each must succeed, print what it says, and print nothing of
hotlined's (no channel or menu warnings).
"""
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RedisServer, Hotlined, at_ussd, eq, contains, run,  # noqa: E402
                     ROOT, BIN)

PHONE = "+84901234567"          # the README's curl walk and its erase line
WALK = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]
REF = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")


def readme_lines():
    """The `build/hotlinectl cases` lines of the README's block that
    starts the case commands."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    block = next(b for b in blocks if "build/hotlinectl cases claim" in b)
    return [ln for ln in block.splitlines() if ln.startswith("build/hotlinectl cases")]


def layout(tmp, redis_port):
    """tmp/run: the repository's folders hotlinectl and hotlined use
    (links), its own config/hotlined.cfg (the shipped one, Redis port
    changed) and var/ made by deploy/local-env.sh."""
    top = os.path.join(tmp, "run")
    os.makedirs(os.path.join(top, "config"))
    os.symlink(BIN, os.path.join(top, "build"))
    os.symlink(os.path.join(ROOT, "staff"), os.path.join(top, "staff"))
    for d in ("menus", "lists"):
        os.symlink(os.path.join(ROOT, "config", d), os.path.join(top, "config", d))
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        cfg = f.read()
    cfg, n = re.subn(r"^  port = 6379;", "  port = %d;" % redis_port, cfg, flags=re.M)
    eq(n, 1, "the Redis port of the shipped config")
    with open(os.path.join(top, "config", "hotlined.cfg"), "w") as f:
        f.write(cfg)
    p = subprocess.run(["sh", os.path.join(ROOT, "deploy", "local-env.sh"), "var"],
                       cwd=top, capture_output=True, text=True, timeout=30)
    eq((p.returncode, p.stdout, p.stderr), (0, "", ""), "local-env.sh")
    env = {}
    with open(os.path.join(top, "var", "hotline.env")) as f:
        for line in f:
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    eq(sorted(env), ["HOTLINE_DEMO_STAFF_TOKEN", "HOTLINE_PEPPER", "HOTLINE_STAFF_TOKEN"])
    eq(stat.S_IMODE(os.stat(os.path.join(top, "var", "hotline.env")).st_mode), 0o600)
    return top, env


def clean_env():
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("HOTLINE_") and not k.startswith("STAFF_TOKEN")}
    return e


def sh(top, line):
    p = subprocess.run(["sh", "-c", line], cwd=top, env=clean_env(),
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_readme_case_lines_work_as_printed(tmp):
    redis = RedisServer(tmp)
    top, env = layout(tmp, redis.port)
    # as make run starts hotlined: var/hotline.env's variables
    hl = Hotlined(top, redis.port, config=os.path.join(top, "config", "hotlined.cfg"),
                  env=env)
    hl.wait_ready()
    refs = []
    for i in range(2):
        body = ""
        for text in WALK:
            st, body = at_ussd(hl, "readme%d" % i, text, phone=PHONE)
            eq(st, 200)
        refs.append(REF.search(body).group(1))
    ref = refs[0]
    lines = readme_lines()
    assert len(lines) >= 10, lines
    cursor = None
    for line in lines:
        cmd = line.split("  #")[0].strip().replace("K7M3QX", ref)
        if "--cursor C" in cmd:
            assert cursor, "the line before printed no cursor"
            cmd = cmd.replace("--cursor C", "--cursor " + cursor)
        rc, out, err = sh(top, cmd)
        what = "%s\n  stdout: %r\n  stderr: %r" % (line, out, err)
        eq(rc, 0, what)
        verb = cmd.split()[2]
        if verb == "list" and "--limit 1" in cmd:
            m = re.fullmatch(r"next: (\S+)\n", err)
            assert m, what
            cursor = m.group(1)
            eq(out.count("\n"), 2, what)     # the header and one case
        else:
            eq(err, "", "nothing but hotlinectl's own output: " + what)
        if verb == "list":
            assert ref in out or refs[1] in out, what
        elif verb == "show":
            assert out.startswith("Safe to call back: NO"), what
            assert PHONE in out, what      # staff at the terminal see it
        elif verb in ("claim", "release", "resolve"):
            done = {"claim": "claimed", "release": "released",
                    "resolve": "resolved"}[verb]
            eq(out, "%s %s\n" % (done, ref), what)
        elif verb == "note":
            eq(out, "noted %s\n" % ref, what)
        elif verb == "tag":
            contains(out, "%s: tagged 2" % ref, what)
        elif verb == "erase":
            contains(out, "spool var/spool.jsonl: removed 0 help requests", what)
            contains(out, "2 cases", what)
    case = redis.client().hgetall("hl:case:" + ref)
    eq(case, {}, "erased")
    hl.stop()


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
