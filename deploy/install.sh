#!/bin/sh
# Installs a built hotline on this host: the hotline user, the binaries, the
# systemd units, and — only where they do not exist yet — the config, the
# menus and the secrets file. Re-running it upgrades the binaries and units
# and never overwrites what the sysadmin edited.
#
#   make && sudo deploy/install.sh [BUILD_DIR]      (BUILD_DIR: build)
#
# It starts and restarts nothing: deploy/README.md says when to do what.
# DESTDIR=/some/dir installs under that root instead (no user is created,
# systemctl is not called): that is how tests/integration/test_deploy.py
# checks it.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
D=${DESTDIR:-}
BIN=$D/usr/local/bin
ETC=$D/etc/hotline
UNITS=$D/etc/systemd/system
DOC=$D/usr/local/share/doc/hotline
SHARE=$D/usr/local/share/hotline

for f in "$B/hotlined" "$B/hotlinectl"; do
  [ -x "$f" ] || { echo "install: $f is missing: run make first" >&2; exit 1; }
done

if [ -z "$D" ]; then
  [ "$(id -u)" = 0 ] || { echo "install: run as root" >&2; exit 1; }
  if ! getent passwd hotline >/dev/null; then
    adduser --system --group --home /var/lib/hotline --no-create-home \
      --shell /usr/sbin/nologin hotline
  fi
fi

mkdir -p "$BIN" "$ETC" "$UNITS" "$DOC/deploy" "$D/var/lib/hotline"
# New binaries by rename: a running hotlined keeps its old file.
for f in hotlined hotlinectl; do
  cp "$B/$f" "$BIN/.$f.new"
  chmod 0755 "$BIN/.$f.new"
  mv -f "$BIN/.$f.new" "$BIN/$f"
done
for u in hotlined.service hotlined@.service; do
  install -m 0644 "deploy/$u" "$UNITS/$u"
done
# The staff console's files: replaced on every install, like the binaries.
mkdir -p "$SHARE"
rm -rf "$SHARE/.console.new"
mkdir -p "$SHARE/.console.new"
cp staff/console/* "$SHARE/.console.new/"
chmod 0644 "$SHARE/.console.new/"*
rm -rf "$SHARE/console"
mv "$SHARE/.console.new" "$SHARE/console"
cp -R deploy/README.md deploy/nginx deploy/redis deploy/kannel \
  deploy/prometheus deploy/hotlined.env.example "$DOC/deploy/"
chmod 0700 "$D/var/lib/hotline"

# The config: the shipped reference with the installed menus directory,
# without make run's demo staff member.
# Everything else in it is what the runbook has you review.
if [ ! -e "$ETC/hotlined.cfg" ]; then
  sed -e 's|^menus = "config/menus";|menus = "/etc/hotline/menus";|' \
    -e 's|^  dir = "staff/console";|  dir = "/usr/local/share/hotline/console";|' \
    -e '/^  { name = "demo"; token = "env:HOTLINE_DEMO_STAFF_TOKEN"; demo = true; }$/d' \
    config/hotlined.cfg > "$ETC/hotlined.cfg"
  chmod 0644 "$ETC/hotlined.cfg"
  echo "install: wrote $ETC/hotlined.cfg (review it: deploy/README.md)"
fi
if [ ! -d "$ETC/menus" ]; then
  mkdir -p "$ETC/menus"
  cp config/menus/*.cfg "$ETC/menus/"
  echo "install: copied the shipped menus to $ETC/menus"
fi
# Secrets: root-only; systemd reads it before dropping privileges. A fresh
# random pepper, everything else to fill in.
if [ ! -e "$ETC/hotlined.env" ]; then
  umask 077
  pepper=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  sed "s|^HOTLINE_PEPPER=.*|HOTLINE_PEPPER=$pepper|" \
    deploy/hotlined.env.example > "$ETC/hotlined.env"
  chmod 0600 "$ETC/hotlined.env"
  echo "install: wrote $ETC/hotlined.env with a new HOTLINE_PEPPER (fill in the rest)"
fi
# Upgrades drop no call: when one process's listening socket closes, the
# kernel hands connections waiting in its accept queue to another process
# on the port instead of resetting them (Linux 5.14+; harmless before).
mkdir -p "$D/etc/sysctl.d"
echo "net.ipv4.tcp_migrate_req = 1" > "$D/etc/sysctl.d/60-hotline.conf"
if [ -z "$D" ]; then
  sysctl -q -p /etc/sysctl.d/60-hotline.conf || true
  chown root:root "$ETC/hotlined.env"
  chown hotline:hotline /var/lib/hotline
  systemctl daemon-reload
fi
echo "install: done. Next: deploy/README.md, \"Configure\"."
