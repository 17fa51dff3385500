#!/bin/sh
# Runs hotline's tests and ends with one line a runner understands:
#   N passed, N failed
# Usage: B=build sh tests/run.sh [unit|integration|browser|faults|all]
# Unit tests are the cmocka binaries in $B/tests/; integration tests are
# tests/integration/test_*.py, each starting its own redis-server and hotlined
# on free loopback ports in a temporary directory; browser tests are
# tests/browser/run.py (the staff console in Debian's chromium, the npm
# packages installed by `npm ci` on first use; screenshots in $B/browser/).
set -u
B=${B:-build}
what=${1:-all}
passed=0
failed=0
failures=""

count_cmocka() {  # $1 = log file; adds its summary to the totals
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

count_plain() {   # $1 = log file with a closing "N passed, N failed" line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

logdir=$(mktemp -d "${TMPDIR:-/tmp}/hotline-tests.XXXXXX")

if [ "$what" = all ] || [ "$what" = unit ]; then
  for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    echo "== unit: $name"
    log="$logdir/$name.log"
    if ! timeout 300 "$t" >"$log" 2>&1; then
      rc=$?
      grep -qE '^\[  FAILED  \]' "$log" || { failed=$((failed + 1)); }
      failures="$failures $name(rc=$rc)"
    fi
    cat "$log"
    count_cmocka "$log"
  done
fi

run_py() {  # $1 = glob of python test files
  for t in $1; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .py)
    echo "== $(basename "$(dirname "$t")"): $name"
    log="$logdir/$name.log"
    if ! B="$B" timeout 900 python3 "$t" >"$log" 2>&1; then
      rc=$?
      grep -qE '^[0-9]+ passed, [0-9]+ failed' "$log" || failed=$((failed + 1))
      failures="$failures $name(rc=$rc)"
    fi
    cat "$log"
    count_plain "$log"
  done
}

if [ "$what" = all ] || [ "$what" = integration ]; then
  run_py "tests/integration/test_*.py"
fi
if [ "$what" = all ] || [ "$what" = browser ]; then
  run_py "tests/browser/run.py"
fi
if [ "$what" = faults ]; then
  run_py "tests/integration/faults_*.py"
fi

rm -rf "$logdir"
[ -n "$failures" ] && echo "failing:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$failures" ]
