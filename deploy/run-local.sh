#!/bin/sh
# `make run`: a local redis-server (data in var/, AOF on) on 127.0.0.1:6379
# unless one answers there already, then hotlined with the shipped config on
# 127.0.0.1:8080 in the foreground. Ctrl-C stops both.
set -eu
B=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p var
REDIS_PORT=${REDIS_PORT:-6379}
started_redis=""
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/var" \
    --appendonly yes --appendfsync everysec --daemonize yes \
    --pidfile "$PWD/var/redis.pid" --logfile "$PWD/var/redis.log"
  started_redis=1
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
# A local pepper (var/pepper, so session keys survive restarts) and the
# token of the config's demo staff member, in var/hotline.env: hotlinectl
# reads the same file, so the README's `hotlinectl cases` lines work as
# printed. A HOTLINE_PEPPER of your own wins (export it for hotlinectl too).
sh deploy/local-env.sh var
own_pepper=${HOTLINE_PEPPER:-}
set -a
. var/hotline.env
set +a
[ -n "$own_pepper" ] && HOTLINE_PEPPER=$own_pepper
export HOTLINE_PEPPER HOTLINE_DEMO_STAFF_TOKEN
export AT_BASE_URL=${AT_BASE_URL:-https://api.sandbox.africastalking.com}
export AT_USERNAME=${AT_USERNAME:-sandbox}
# A demo staff account for the console, only while hotlined listens on
# loopback: a new random password at every start, printed below.
listen=$(sed -n 's/^listen *= *"\([^"]*\)".*/\1/p' config/hotlined.cfg)
demo_pw=""
case "$listen" in
  127.*|localhost:*|"[::1]":*)
    demo_pw=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
    ctl="$B/hotlinectl staff -c config/hotlined.cfg --redis 127.0.0.1:$REDIS_PORT"
    if ! printf '%s\n' "$demo_pw" | $ctl passwd demo --password-stdin >/dev/null 2>&1 &&
       ! printf '%s\n' "$demo_pw" | $ctl add demo --role supervisor --password-stdin >/dev/null; then
      echo "run-local: could not create the demo staff account" >&2
      demo_pw=""
    fi
    $ctl enable demo >/dev/null 2>&1 || true
    ;;
esac
# The SAMPLE list of licensed companies that "Check a recruiter" searches
# (config/lists/README.md: not real companies). An operator's real list,
# once imported, is never overwritten by it.
if ! redis-cli -p "$REDIS_PORT" exists hl:list:licensed | grep -q 1; then
  "$B/hotlinectl" lists -c config/hotlined.cfg --redis "127.0.0.1:$REDIS_PORT" \
    import licensed config/lists/licensed.sample.csv --key company,licence ||
    echo "run-local: the sample list was not imported" >&2
fi
cleanup() {
  [ -n "$started_redis" ] && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
cat <<MSG

hotline is starting on http://127.0.0.1:8080 (Redis on 127.0.0.1:$REDIS_PORT)
with $(nproc) workers, one per core (per-worker series in /metrics)

Try a USSD call as Africa's Talking would make it (each request sends the
whole history in text=):
  curl -s -d 'sessionId=demo1&serviceCode=*384*123%23&phoneNumber=%2B84901234567&text=' http://127.0.0.1:8080/ussd/africastalking
  curl -s -d 'sessionId=demo1&serviceCode=*384*123%23&phoneNumber=%2B84901234567&text=2' http://127.0.0.1:8080/ussd/africastalking
Check a recruiter's number (2 = English, 2 = Check a job offer, 1 = Check a
recruiter, then the number; SAMPLE list: config/lists/):
  curl -s -d 'sessionId=demo2&serviceCode=*384*123%23&phoneNumber=%2B84901234567&text=2*2*1*0912345678' http://127.0.0.1:8080/ussd/africastalking
Walk the same menu offline:   $B/hotlinectl menu simulate config/menus/hotline.cfg --lang en
Health and metrics:           curl -s http://127.0.0.1:8080/readyz ; curl -s http://127.0.0.1:8080/metrics
Help requests in Redis:       redis-cli -p $REDIS_PORT XRANGE hl:q:urgent - +

MSG
if [ -n "$demo_pw" ]; then
  cat <<MSG
Staff console:                http://127.0.0.1:8080/console/
  sign in as demo (a supervisor), password: $demo_pw
  (a demo account for this machine only; a new password at every start)

MSG
fi
# One worker per core (--workers 0; the shipped file says 1): a supervisor
# and $(nproc) workers on the one port; Ctrl-C stops them all.
"$B/hotlined" -c config/hotlined.cfg --redis "127.0.0.1:$REDIS_PORT" --workers 0
