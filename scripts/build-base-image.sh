#!/usr/bin/env bash
# Builds the registry-free base image browsergrid/debian-base:bookworm: debootstrap (minbase)
# from the same Debian mirror the host's apt already uses, then `docker import`. Nothing is pulled
# from an image registry. Idempotent: does nothing when the image exists.
# Requires root (debootstrap) and a Docker engine that answers (run scripts/setup-docker.sh first).
set -euo pipefail

IMAGE=browsergrid/debian-base:bookworm
SUITE=bookworm

die() { echo "build-base-image: $*" >&2; exit 1; }
say() { echo "build-base-image: $*"; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE already exists, nothing to do"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

# Every apt source URI of the host, in order: deb822 `URIs:` lines first, then classic `deb` lines.
host_apt_uris() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*URIs:[[:space:]]*//Ip' "$f" | tr ' \t' '\n\n'
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI suite components...  (options may hold spaces inside the brackets)
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f"
  done
}

URIS=$(host_apt_uris | sed '/^$/d')
MIRROR=$(printf '%s\n' "$URIS" | grep -E '^https?://[^ ]+/debian/?$' | head -n1 || true)
SECURITY=$(printf '%s\n' "$URIS" | grep -E '^https?://[^ ]+/debian-security/?$' | head -n1 || true)
[ -n "$MIRROR" ] || die "no Debian mirror (http(s)://.../debian) found in /etc/apt/sources.list or /etc/apt/sources.list.d/; found: ${URIS:-nothing}"
MIRROR=${MIRROR%/}
SECURITY=${SECURITY%/}
say "mirror: $MIRROR${SECURITY:+ (security: $SECURITY)}"

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } \
    || die "could not install debootstrap"
fi

ROOTFS=$(mktemp -d /var/tmp/browsergrid-rootfs.XXXXXX)
cleanup() {
  # debootstrap mounts /proc and /sys inside the target; a failed run can leave them mounted,
  # and rm -rf must never walk into the host's /proc or /sys.
  local m
  for m in $(awk -v d="$ROOTFS" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$ROOTFS"
}
trap cleanup EXIT

started=$(date +%s)
say "debootstrap --variant=minbase $SUITE into $ROOTFS"
debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
  || { tail -n 30 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; die "debootstrap failed"; }
rm -f "$ROOTFS.log"

# Later `docker build` steps use apt against the same mirror.
{
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  [ -n "$SECURITY" ] && echo "deb $SECURITY $SUITE-security main"
} >"$ROOTFS/etc/apt/sources.list"
rm -f "$ROOTFS"/etc/apt/sources.list.d/*.list "$ROOTFS"/etc/apt/sources.list.d/*.sources

# Small images: no recommends, no docs/man pages/locales (copyright files kept).
cat >"$ROOTFS/etc/apt/apt.conf.d/90browsergrid" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/90browsergrid-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log

say "docker import"
tar -C "$ROOTFS" --numeric-owner -c . \
  | docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
say "built $IMAGE in $(( $(date +%s) - started ))s ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
