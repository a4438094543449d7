#!/usr/bin/env bash
# Makes sure a Docker engine of version 26 or newer answers on /var/run/docker.sock.
# Idempotent: does nothing when such an engine already answers.
#
# Why 26: Debian 12's docker.io (20.10.24) deadlocks under container churn (moby/moby#42545,
# libnetwork#2649: network controller lock vs network lock); the fix is in 23 and later. On
# Debian 12 this installs Debian 13's docker.io 26.1.5 (and its docker-cli), pinned so that
# nothing else comes from Debian 13: containerd, runc and libc stay Debian 12's. On Debian 13,
# Ubuntu 24.04 and newer the distribution's own docker.io is already >= 26.
# The engine is started with systemd when systemd is PID 1, else as a background dockerd
# (CI containers, no init).
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

MIN_MAJOR=26
engine_answers() { docker info >/dev/null 2>&1; }
engine_major() { docker version --format '{{.Server.Version}}' 2>/dev/null | cut -d. -f1; }
installed_dockerd_major() { dockerd --version 2>/dev/null | sed -E 's/^Docker version ([0-9]+).*/\1/'; }
os_codename() { . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}"; }

# Debian 12 only: make Debian 13 (trixie) known to apt with priority 100, so only packages asked
# for by name (docker.io/trixie) come from it.
add_trixie_source() {
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"
  # The mirror the host already uses for Debian 12.
  local mirror
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -v security | head -n1)
  [ -n "$mirror" ] || die "cannot find the host's Debian mirror in /etc/apt sources"
  as_root sh -c "cat > /etc/apt/sources.list.d/browsergrid-trixie.sources" <<EOS
Types: deb
URIs: ${mirror%/}
Suites: trixie
Components: main
Signed-By: $keyring
EOS
  as_root sh -c "cat > /etc/apt/preferences.d/browsergrid-trixie" <<'EOS'
# BrowserGrid: Debian 13 packages only when asked for by name (docker.io >= 26 on Debian 12).
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOS
}

install_engine() {
  command -v apt-get >/dev/null 2>&1 || die "Docker >= $MIN_MAJOR is missing and apt-get is not available; install Docker manually"
  # Debian splits the client into docker-cli since 26 (only recommended by docker.io).
  local target="docker.io"
  if [ "$(os_codename)" = bookworm ]; then
    say "Debian 12: installing docker.io from Debian 13 (>= $MIN_MAJOR, without the 20.10 network deadlock)"
    add_trixie_source
    target="docker.io/trixie docker-cli/trixie"
  else
    say "installing docker.io with apt-get"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $target \
    || die "apt-get install $target failed"
  if ! command -v docker >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-cli \
      || die "apt-get install docker-cli failed"
  fi
}

stop_background_dockerd() {
  local pid
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = dockerd ] || continue
    pid=${comm#/proc/}; pid=${pid%/comm}
    say "stopping the old dockerd (pid $pid)"
    as_root kill "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 150); do process_running dockerd || return 0; sleep 0.2; done
  die "the old dockerd did not stop"
}

# No procps on minimal images: look at /proc directly.
process_running() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = "$1" ] && return 0
  done
  return 1
}

if command -v docker >/dev/null 2>&1 && engine_answers; then
  major=$(engine_major)
  if [ "${major:-0}" -ge "$MIN_MAJOR" ] 2>/dev/null; then
    say "engine $(docker version --format '{{.Server.Version}}') already answers on $SOCK"
    exit 0
  fi
  say "the running engine is ${major:-unknown}.x: upgrading to >= $MIN_MAJOR"
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 \
  || [ "$(installed_dockerd_major || echo 0)" -lt "$MIN_MAJOR" ] 2>/dev/null; then
  install_engine
fi
[ "$(installed_dockerd_major || echo 0)" -ge "$MIN_MAJOR" ] 2>/dev/null \
  || die "dockerd $(dockerd --version 2>/dev/null) is older than $MIN_MAJOR after the install; install Docker >= $MIN_MAJOR by hand"

# An old engine still running (background dockerd from an earlier run) must make way.
if engine_answers && [ "$(engine_major || echo 0)" -lt "$MIN_MAJOR" ] 2>/dev/null; then
  if [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl restart docker || die "systemctl restart docker failed (see: journalctl -u docker)"
  else
    stop_background_dockerd
  fi
fi

if engine_answers && [ "$(engine_major || echo 0)" -ge "$MIN_MAJOR" ] 2>/dev/null; then
  say "engine $(docker version --format '{{.Server.Version}}') answers after install"
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
