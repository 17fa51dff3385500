#!/bin/sh
# deploy/local-env.sh DIR: makes sure DIR/hotline.env exists (mode 0600)
# with what `make run` and hotlinectl need on a developer's machine:
#   HOTLINE_PEPPER            DIR/pepper's (made once, so session keys
#                             survive restarts)
#   HOTLINE_DEMO_STAFF_TOKEN  the token of the config's `demo` staff member
#   HOTLINE_STAFF_TOKEN       the same, so `hotlinectl cases` acts as demo
# Made once and kept; prints nothing. hotlinectl reads var/hotline.env
# (from the directory it runs in) for those of them not set in its
# environment. Never used by an installed hotline (deploy/install.sh).
set -eu
dir=${1:-var}
mkdir -p "$dir"
umask 077
[ -s "$dir/pepper" ] || od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$dir/pepper"
if [ ! -s "$dir/hotline.env" ]; then
  token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  {
    echo "HOTLINE_PEPPER=$(cat "$dir/pepper")"
    echo "HOTLINE_DEMO_STAFF_TOKEN=demo-$token"
    echo "HOTLINE_STAFF_TOKEN=demo-$token"
  } > "$dir/hotline.env.tmp"
  mv "$dir/hotline.env.tmp" "$dir/hotline.env"
fi
