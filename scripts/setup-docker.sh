#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock. Idempotent: does nothing when
# `docker info` already works. Installs Debian's docker.io when the engine is missing and starts
# it with systemd when systemd is PID 1, else as a background dockerd (CI containers, no init).
set -euo pipefail

SOCK=/var/run/docker.sock
LOG=/var/log/browsergrid-dockerd.log
WAIT_SECONDS=30

die() { echo "setup-docker: $*" >&2; exit 1; }
say() { echo "setup-docker: $*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to: $*"; fi
}

engine_answers() { docker info >/dev/null 2>&1; }

# No procps on minimal images: look at /proc directly.
process_running() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = "$1" ] && return 0
  done
  return 1
}

if command -v docker >/dev/null 2>&1 && engine_answers; then
  say "engine already answers on $SOCK"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "docker is missing and apt-get is not available; install Docker manually"
  say "installing docker.io with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io \
    || die "apt-get install docker.io failed"
fi

if engine_answers; then
  say "engine answers after install"
  exit 0
fi

if [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ] && command -v systemctl >/dev/null 2>&1; then
  say "starting docker with systemctl"
  as_root systemctl start docker || die "systemctl start docker failed (see: journalctl -u docker)"
else
  if process_running dockerd; then
    say "dockerd is running but not answering yet; waiting"
  else
    say "starting dockerd in the background (log: $LOG)"
    as_root sh -c "nohup dockerd >>'$LOG' 2>&1 </dev/null &"
  fi
fi

for _ in $(seq 1 $((WAIT_SECONDS * 10))); do
  if engine_answers; then
    say "engine answers on $SOCK"
    exit 0
  fi
  sleep 0.1
done

[ -f "$LOG" ] && tail -n 20 "$LOG" >&2
die "Docker engine did not answer within ${WAIT_SECONDS}s (log: $LOG)"
