#!/bin/sh
# Installs the Debian packages hotline needs and does nothing when they are
# all present. Usage: deploy/install-deps.sh [run|test|bench|fuzz|all]
#   run    build and run hotlined (compiler, libraries, redis-server)
#   test   run + what `make test` uses (cmocka, kannel, sentinel, python3,
#          nginx, python3-jsonschema for the payload schemas, chromium and
#          node/npm for the console's browser tests)
#   bench  test + wrk, strace (make bench-cost)
#   fuzz   clang + the sanitizer runtimes for libFuzzer
set -eu
group=${1:-test}

run_pkgs="gcc make pkg-config libevent-dev libhiredis-dev libconfig-dev
 libcurl4-openssl-dev libjansson-dev libssl-dev redis-server redis-tools"
test_pkgs="$run_pkgs libcmocka-dev redis-sentinel kannel kannel-extras python3
 nginx-light valgrind python3-jsonschema chromium nodejs"
# Debian's nodejs leaves npm to its own package; other builds of nodejs
# (e.g. NodeSource's) carry npm and conflict with it: ask only if missing.
command -v npm >/dev/null 2>&1 || test_pkgs="$test_pkgs npm"
bench_pkgs="$test_pkgs wrk curl strace"
fuzz_pkgs="$run_pkgs clang libclang-rt-14-dev"

case "$group" in
  run) want=$run_pkgs ;;
  test) want=$test_pkgs ;;
  bench) want=$bench_pkgs ;;
  fuzz) want=$fuzz_pkgs ;;
  all) want="$bench_pkgs clang libclang-rt-14-dev graphviz" ;;
  *) echo "usage: $0 [run|test|bench|fuzz|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian's packages start their own services; hotline starts its own on
# throwaway ports, so stop the system ones if a package started them.
for svc in redis-server redis-sentinel kannel nginx; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
