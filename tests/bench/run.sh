#!/bin/sh
# `make bench`: builds the ceiling server, then runs bench.py (see there).
set -eu
B=${B:-build}
cd "$(dirname "$0")/../.."
mkdir -p "$B/bench"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -o "$B/bench/ceiling" tests/bench/ceiling.c \
  $(pkg-config --cflags --libs libevent)
B="$B" exec python3 tests/bench/bench.py "$@"
