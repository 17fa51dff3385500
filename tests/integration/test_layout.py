"""The layout's arrows point down only (issue 14, item 8): ctl/, gateway/ ->
staff/ -> core/ -> menus/. No file of core/ includes a header of staff/,
gateway/ or ctl/; none of staff/ one of gateway/ or ctl/; none of menus/
anything of ours outside menus/. Read from the sources' #include lines.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, run  # noqa: E402

LAYERS = ["menus", "core", "staff", "gateway", "ctl"]
BELOW = {"menus": {"menus"}, "core": {"core", "menus"},
         "staff": {"staff", "core", "menus"}}


def headers():
    """Which of our folders each header name lives in."""
    where = {}
    for d in LAYERS:
        for f in os.listdir(os.path.join(ROOT, d)):
            if f.endswith(".h"):
                where[f] = d
    return where


def test_arrows_point_down(tmp):
    where = headers()
    wrong = []
    for d, allowed in BELOW.items():
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if not f.endswith((".c", ".h")):
                continue
            with open(os.path.join(ROOT, d, f)) as fh:
                for n, line in enumerate(fh, 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if m and where.get(os.path.basename(m.group(1)), d) not in allowed:
                        wrong.append("%s/%s:%d includes %s (%s/)" % (
                            d, f, n, m.group(1), where[os.path.basename(m.group(1))]))
    assert not wrong, "arrows pointing up:\n" + "\n".join(wrong)


if __name__ == "__main__":
    run([(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")])
