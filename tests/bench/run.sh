#!/bin/sh
# `make bench`: builds the ceiling server (bare, and with one EVALSHA per
# request: it links hiredis), the consoles' live-queue reader (N SSE streams
# read by one epoll process) and the in-process menu load timer (the engine's
# sources, menus/menu_*.c, compiled with the node and file-size caps lifted
# so that menus larger than hotlined accepts can be timed too), then runs
# bench.py (see there for every figure and option).
set -eu
B=${B:-build}
cd "$(dirname "$0")/../.."
mkdir -p "$B/bench"
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
  -o "$B/bench/ceiling" tests/bench/ceiling.c \
  $(pkg-config --cflags --libs libevent hiredis)
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra \
  -o "$B/bench/consoles" tests/bench/consoles.c
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra \
  -DLOAD_MAX_NODES=16384 '-DMENU_FILE_MAX=(8 << 20)' -Imenus \
  -o "$B/bench/menuload" tests/bench/menuload.c menus/menu_*.c \
  $(pkg-config --cflags --libs libconfig) -lm
B="$B" exec python3 tests/bench/bench.py "$@"
