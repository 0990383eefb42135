#!/usr/bin/env bash
# Installs what taskio's tests, bench and demo need on a fresh Debian 12 machine (as root):
# the real runtimes (runsc, runc), a static busybox for container rootfs, conmon for the log
# bench, tini's static build (`run --init`), procps (`top ID [ps OPTIONS]` runs the host's ps;
# Debian's container images leave it out), and the npm packages from the lockfile. Safe to run
# again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(runsc runc busybox-static conmon tini procps)
missing=()
for p in "${debs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit
fi
