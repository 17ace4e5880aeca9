#!/usr/bin/env bash
# Makes sure the chaos harness's system tools are installed: iproute2 (`ip netns`, veth, bridge)
# and iptables (DROP rules, `-m statistic` packet loss). Idempotent: quick when already there.
# Needs root (the harness creates network namespaces, so it runs as root anyway; CI does).
set -euo pipefail
missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-netns-tools: ${missing[*]} missing and this is not root: run 'apt-get install -y ${missing[*]}'" >&2
  exit 1
fi
echo "ensure-netns-tools: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "${missing[@]}" >&2
command -v ip >/dev/null && command -v iptables >/dev/null
