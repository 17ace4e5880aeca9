#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the inspector's browser tests (playwright-core
# drives it; it never downloads a browser of its own). Idempotent: quick when already there.
# Needs root (CI and the dev machines run as root); prints what it did on stderr.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and this is not root: run 'apt-get install -y chromium'" >&2
  exit 1
fi
echo "ensure-chromium: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
test -x /usr/bin/chromium
