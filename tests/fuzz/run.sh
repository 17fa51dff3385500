#!/bin/sh
# `make fuzz`: builds every libFuzzer target in tests/fuzz with clang and
# ASan/UBSan, replays its regressions (tests/fuzz/regressions/TARGET/*, the
# inputs that once crashed: each must now pass), then fuzzes it for
# FUZZ_SECONDS (default 30) from its seed corpus (tests/fuzz/corpus/TARGET).
# New corpus entries go to a temporary directory, never into the tree.
# Prints each target's executions; exits non-zero if any target crashed.
# A crash leaves its input in $B/fuzz/crashes/: copy it into regressions/.
set -u
B=${B:-build}
SECS=${FUZZ_SECONDS:-30}
cd "$(dirname "$0")/../.."
out="$B/fuzz"
mkdir -p "$out/crashes"
CC=${FUZZ_CC:-clang}
PKGS="libconfig jansson libcrypto"
FLAGS="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
 -Imenus -Icore -Igateway $(pkg-config --cflags $PKGS)"
SRC="menus/menu_*.c gateway/dialect*.c gateway/frame.c core/form.c"
failed=0
total=0
for t in tests/fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  total=$((total + 1))
  # shellcheck disable=SC2086
  if ! $CC $FLAGS -o "$out/$name" "$t" $SRC $(pkg-config --libs $PKGS) 2>"$out/$name.build.log"; then
    echo "$name: build failed"; cat "$out/$name.build.log"; failed=$((failed + 1)); continue
  fi
  reg="tests/fuzz/regressions/$name"
  if [ -d "$reg" ] && [ -n "$(ls "$reg" 2>/dev/null)" ]; then
    if ! "$out/$name" "$reg"/* >"$out/$name.reg.log" 2>&1; then
      echo "$name: a regression input fails again"; tail -30 "$out/$name.reg.log"
      failed=$((failed + 1)); continue
    fi
  fi
  work=$(mktemp -d)
  seeds="tests/fuzz/corpus/$name"
  mkdir -p "$seeds"
  if "$out/$name" -max_total_time="$SECS" -max_len=4096 -timeout=10 \
       -rss_limit_mb=1024 -artifact_prefix="$out/crashes/$name-" -print_final_stats=1 \
       "$work" "$seeds" >"$out/$name.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
    echo "$name: ok, ${runs:-?} executions in ${SECS}s"
  else
    echo "$name: CRASH (input saved under $out/crashes/)"; tail -40 "$out/$name.log"
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
echo "fuzz: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
