"""hotlinectl menu check|simulate|graph, as an operator uses them (docs/menus.md
section 11): what the commands print for the shipped menu and for a broken
one, a scripted walk of the English help path, the duress exit, the graph.

Every command runs from the repository root with relative paths, the way the
guide shows them, so the file names in the output are the ones an operator
typed.
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import HOTLINECTL, ROOT, contains, eq, run  # noqa: E402

SHIPPED = "config/menus/hotline.cfg"
# "---- ussd page 1/1 · 148/182 GSM-7 ----"
PAGE_RE = re.compile(r"^---- (ussd|sms) page (\d+)/(\d+) \u00b7 (\d+)/(\d+) "
                     r"(GSM-7|UCS-2)\b.*----$", re.M)


def ctl(*args, stdin=""):
    """Runs hotlinectl ARGS with stdin (a pipe, so never a terminal);
    returns (exit status, stdout, stderr)."""
    p = subprocess.run([HOTLINECTL] + list(args), input=stdin, cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30, encoding="utf-8")
    return p.returncode, p.stdout, p.stderr


def shipped_nodes():
    """Node names of the shipped menu, in file order."""
    with open(os.path.join(ROOT, SHIPPED), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^  (\w+) = \{\s*$", text, re.M)


def pages(out):
    """The pages of a simulate transcript: [(channel, page, pages, units,
    limit, enc, text)]."""
    res = []
    heads = list(PAGE_RE.finditer(out))
    for h in heads:
        body = out[h.end() + 1:]
        body = body[:body.index("\n-----")]
        res.append((h.group(1), int(h.group(2)), int(h.group(3)),
                    int(h.group(4)), int(h.group(5)), h.group(6), body))
    return res


def line_of(path, needle):
    """1-based number of the line of path that contains needle."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise AssertionError("%r not in %s" % (needle, path))


# ---- check ---------------------------------------------------------------

def test_check_shipped_menus_clean(tmp):
    files = sorted(os.path.relpath(p, ROOT) for p in
                   glob.glob(os.path.join(ROOT, "config", "menus", "*.cfg")))
    assert len(files) >= 2, "no shipped menus"
    rc, out, err = ctl("menu", "check", "-c", "config/hotlined.cfg", *files)
    eq(out, "", "check prints nothing for the shipped menus on the shipped "
       "channels")
    eq(err, "", "and nothing on stderr")
    eq(rc, 0, "exit status of a valid menu")
    # -c without FILE: every menu of the config's menus directory.
    rc, out, err = ctl("menu", "check", "-c", "config/hotlined.cfg")
    eq((rc, out, err), (0, "", ""), "the menus directory is clean")


FINAL_WARNING = ("%s:%d: node %s: warning: final screen needs 2 pages in vi "
                 "on channel %s (80 characters a page, UCS-2): callers must "
                 "press 98 to read the rest before the session ends; shorten "
                 "it to one page")
VI_FINAL = ["send", "job_advice", "c_hotline", "c_police"]


def test_check_judges_every_channel(tmp):
    path = os.path.join(ROOT, SHIPPED)
    lines = {n: line_of(path, "  %s = {" % n) for n in VI_FINAL}
    # Without -c: USSD and SMS, folded and not. Only unfolded USSD (80 UCS-2
    # characters a page) needs a second page for the Vietnamese endings.
    rc, out, err = ctl("menu", "check", SHIPPED)
    eq(rc, 0, "warnings only")
    eq(out.splitlines(), [FINAL_WARNING % (SHIPPED, lines[n], n, "ussd")
                          for n in VI_FINAL], "one warning per final screen")
    # -c: the channels of a config, by name; only those serving the menu.
    with open(os.path.join(ROOT, "config", "hotlined.cfg")) as f:
        cfg = f.read()
    cfg = cfg.replace('{ name = "hubtel";   dialect = "hubtel-ussd";  '
                      'path = "/ussd/hubtel";\n    menu = "hotline"; '
                      'timeout = 180; fold = true; }',
                      '{ name = "hubtel";   dialect = "hubtel-ussd";  '
                      'path = "/ussd/hubtel";\n    menu = "hotline"; '
                      'timeout = 180; fold = false; }')
    assert "fold = false" in cfg, "the shipped hubtel channel changed"
    conf = os.path.join(tmp, "hotlined.cfg")
    with open(conf, "w") as f:
        f.write(cfg)
    rc, out, err = ctl("menu", "check", "-c", conf, SHIPPED,
                       "config/menus/disguised.cfg")
    eq(rc, 0)
    eq(out.splitlines(), [FINAL_WARNING % (SHIPPED, lines[n], n, "hubtel")
                          for n in VI_FINAL], "named by the channel")
    # A screen nobody can page through is an error, on that channel.
    bad = "tests/menus/bad_final_no_more.cfg"
    rc, out, err = ctl("menu", "check", bad)
    eq(rc, 1, "an error\n" + out)
    eq(out, "%s:%d: node advice: screen needs 2 pages in vi on channel ussd "
       "but nav.more is not set: callers can never read past page 1; add "
       "more = \"98\"; to nav or shorten the screen\n"
       % (bad, line_of(os.path.join(ROOT, bad), "  advice = {")), "the error")
    # A config that cannot be read.
    rc, out, err = ctl("menu", "check", "-c", "/nonexistent.cfg", SHIPPED)
    eq(rc, 1)
    contains(out, "/nonexistent.cfg")


BROKEN = """\
name = "broken";
languages = [ "en" ];
start = "main";
nav = { back = "0"; home = "00"; };
strings = { back = "Back"; home = "Main menu"; invalid = "Invalid."; };
nodes = {
  main = {
    type = "menu";
    text = "What do you need?";
    options = (
      { key = "1"; label = "Job advice"; next = "fee"; },
      { key = "1"; label = "Rights"; next = "fee"; },
      { key = "2"; label = "Help now"; next = "wher"; }
    );
  };
  fee = {
    type = "end";
    text = "Never pay a recruitment fee.";
  };
};
"""


def test_check_reports_dangling_next_and_duplicate_key(tmp):
    path = os.path.join(tmp, "broken.cfg")
    with open(path, "w") as f:
        f.write(BROKEN)
    rc, out, err = ctl("menu", "check", path)
    eq(rc, 1, "exit status of a menu with errors\n" + out + err)
    lines = out.splitlines()
    dangling = "%s:%d: node main: " % (path, line_of(path, '"wher"'))
    dup = "%s:%d: node main: " % (path, line_of(path, '"Rights"'))
    hits = [l for l in lines if l.startswith(dangling) and "wher" in l]
    eq(len(hits), 1, "one line for the dangling next, at its line:\n" + out)
    hits = [l for l in lines if l.startswith(dup) and "1" in l[len(dup):]]
    eq(len(hits), 1, "one line for the duplicate key 1, at its line:\n" + out)
    for l in lines:
        assert re.match(re.escape(path) + r":\d+: ", l), "not FILE:LINE: " + l
    errors = [l for l in lines if "warning:" not in l]
    eq(len(errors), 2, "exactly the two errors:\n" + out)


def test_check_screens_lists_every_screen(tmp):
    rc, out, err = ctl("menu", "check", "--screens", SHIPPED)
    eq(rc, 0, "exit status\n" + err)
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) > 2 and "ussd+fold:" in line:
            rows[(f[0], f[1])] = line
    for node in shipped_nodes():
        for lang in ("vi", "en", "id"):
            assert (node, lang) in rows, "no row for %s %s:\n%s" % (
                node, lang, out)
            row = rows[(node, lang)]
            contains(row, "ussd:", "every row has the unfolded column")
            contains(row, "sms+fold:", "every row has the SMS column")
            assert "DOES NOT FIT" not in row, "shipped screen misfits: " + row
    # Folded Vietnamese is plain GSM-7 with a USSD page of 182; unfolded it
    # needs UCS-2 (80 a page).
    for node in shipped_nodes():
        row = rows[(node, "vi")]
        m = re.search(r"ussd\+fold: (\d+) pages? (GSM-7|UCS-2) (\d+)/(\d+)",
                      row)
        assert m, "ussd+fold cell unreadable: " + row
        eq((m.group(2), m.group(4)), ("GSM-7", "182"), "folded vi: " + row)
        assert int(m.group(3)) <= 182, row
    contains(rows[("main", "vi")], "ussd: ", "")
    m = re.search(r"ussd: (\d+) pages? (\S+) (\d+)/(\d+)", rows[("main", "vi")])
    eq((m.group(2), m.group(4)), ("UCS-2", "80"),
       "unfolded Vietnamese main screen is UCS-2: " + rows[("main", "vi")])


# ---- simulate ------------------------------------------------------------

def test_simulate_english_help_path(tmp):
    rc, out, err = ctl("menu", "simulate", SHIPPED, "--channel", "ussd",
                       "--fold", stdin="2\n1\nHanoi\n1\n2\n")
    eq(rc, 0, "exit status\n" + out + err)
    ps = pages(out)
    eq(len(ps), 6, "six screens: language, main, where, danger, callsafe, "
       "send\n" + out)
    for ch, page, npages, units, limit, enc, text in ps:
        eq((ch, page, npages, enc, limit), ("ussd", 1, 1, "GSM-7", 182),
           "one GSM-7 USSD page:\n" + text)
        assert units <= 182, "page of %d units:\n%s" % (units, text)
        assert units >= len(text), "units %d < text %d" % (units, len(text))
    want = ["Choose language", "What do you need?", "Where are you now?",
            "Are you in danger", "Is it safe", "Sent. Your reference is SIM"]
    for (_, _, _, _, _, _, text), w in zip(ps, want):
        contains(text, w, "screens in order")
    contains(ps[1][6], "1. Get help now", "main lists its options")
    contains(ps[2][6], "0. Back", "nav lines after the first screen")
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith("[forward: queue=urgent fields: "), last
    for kv in ("location=Hanoi", "in_danger=yes", "safe_to_call=no",
               "callback=none"):
        contains(last, kv, "the filed fields")
    contains(last, "(simulated: nothing was filed", "")
    assert out.rstrip("\n").splitlines()[-3].startswith(
        "Sent. Your reference is SIM123."), out


def test_simulate_vietnamese_folded_and_sms(tmp):
    rc, out, err = ctl("menu", "simulate", SHIPPED, "--lang", "vi",
                       "--channel", "sms", "--fold", stdin="1\n")
    eq(rc, 0, "exit status\n" + err)
    ps = pages(out)
    eq(len(ps), 2, out)
    contains(ps[1][6], "Ban can gi? Bam 99", "folded Vietnamese")
    for p in ps:
        eq((p[0], p[5]), ("sms", "GSM-7"), "folded SMS page")
    eq(out.rstrip("\n").splitlines()[-1], "[input ended]", "EOF ends it")


def test_simulate_quit_is_the_duress_exit(tmp):
    rc, out, err = ctl("menu", "simulate", SHIPPED, "--lang", "en",
                       "--channel", "ussd", "--fold", stdin="2\n1\n99\n")
    eq(rc, 0, "exit status\n" + err)
    ps = pages(out)
    contains(ps[-1][6], "Thank you. Goodbye.", "the neutral goodbye")
    eq(ps[-1][6].strip(), "Thank you. Goodbye.", "and nothing else on it")
    eq(out.rstrip("\n").splitlines()[-1], "[duress exit]", "")


def test_simulate_invalid_answer_and_unknown_language(tmp):
    rc, out, err = ctl("menu", "simulate", SHIPPED, "--lang", "en",
                       stdin="2\n7\n")
    eq(rc, 0, err)
    ps = pages(out)
    eq(len(ps), 3, out)
    contains(ps[2][6], "Invalid. Try again.", "a wrong key is refused")
    contains(ps[2][6], "What do you need?", "on the same screen")
    rc, out, err = ctl("menu", "simulate", SHIPPED, "--lang", "xx", stdin="")
    eq(rc, 2, "unknown language is a usage error")
    contains(err, "xx", "the error names the language")


# ---- graph and usage -----------------------------------------------------

def test_graph_has_every_option(tmp):
    rc, out, err = ctl("menu", "graph", SHIPPED)
    eq(rc, 0, err)
    assert out.startswith("digraph"), out[:100]
    for key, nxt in (("1", "where"), ("2", "jobs"), ("3", "rights"),
                     ("4", "contacts")):
        contains(out, '"main" -> "%s" [label="%s"]' % (nxt, key),
                 "an edge per option of main")
    contains(out, '"where" -> "danger" [label="input"]', "input edge")
    contains(out, '"check" -> "check_near" [label="near"]', "lookup edges")
    for node in shipped_nodes():
        assert re.search(r'^\s*"%s" \[label=' % node, out, re.M), node
    with open(os.path.join(ROOT, SHIPPED), encoding="utf-8") as f:
        nexts = len(re.findall(r"^[^#\n]*\b(?:next|found|reported|unknown|"
                               r"near|error) = \"", f.read(), re.M))
    edges = len(re.findall(r" -> ", out))
    eq(edges, nexts + 1, "one edge per next (and lookup outcome), plus the "
       "start arrow")
    eq(out.rstrip().count("{"), out.rstrip().count("}"), "balanced braces")


def test_usage(tmp):
    rc, out, err = ctl("--help")
    eq(rc, 0, "")
    contains(out, "menu check", "usage names the commands")
    rc, out, err = ctl("menu", "--help")
    eq(rc, 0, "")
    contains(out, "menu simulate", "")
    rc, out, err = ctl("frobnicate")
    eq(rc, 2, "unknown command")
    contains(err, "usage:", "usage on stderr")
    rc, out, err = ctl("menu", "check")
    eq(rc, 2, "check without a file")


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
