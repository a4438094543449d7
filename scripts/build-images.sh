#!/usr/bin/env bash
# Builds the browser images browsergrid/browser:<flavour> (+ :<flavour>-<version>) from
# browser-image/, on top of the registry-free base. Cached: a flavour is rebuilt only when the
# content hash of browser-image/ differs from the image's `browsergrid.image.hash` label.
# Assumes a Docker engine that answers (run scripts/setup-docker.sh first).
#   usage: scripts/build-images.sh [headless-shell|chromium]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTEXT="$ROOT/browser-image"
REPO=browsergrid/browser
ALL_FLAVOURS=(headless-shell chromium)

die() { echo "build-images: $*" >&2; exit 1; }
say() { echo "build-images: $*"; }

if [ $# -gt 1 ]; then die "usage: $0 [headless-shell|chromium]"; fi
if [ $# -eq 1 ]; then
  case "$1" in headless-shell | chromium) FLAVOURS=("$1") ;; *) die "unknown flavour '$1' (headless-shell | chromium)" ;; esac
else
  FLAVOURS=("${ALL_FLAVOURS[@]}")
fi

docker info >/dev/null 2>&1 || die "Docker does not answer; run scripts/setup-docker.sh first"

VERSION=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/package.json" | head -n1)
[ -n "$VERSION" ] || die "no version in package.json"

bash "$ROOT/scripts/build-base-image.sh"

# sha256 over every file's relative path and content, in a stable order. Includes the base
# image id so a rebuilt base also rebuilds the browser images.
HASH=$(
  cd "$CONTEXT"
  {
    docker image inspect -f '{{.Id}}' browsergrid/debian-base:bookworm
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-64
)

for flavour in "${FLAVOURS[@]}"; do
  image="$REPO:$flavour"
  current=$(docker image inspect -f '{{index .Config.Labels "browsergrid.image.hash"}}' "$image" 2>/dev/null || true)
  if [ "$current" = "$HASH" ]; then
    docker image inspect "$REPO:$flavour-$VERSION" >/dev/null 2>&1 || docker tag "$image" "$REPO:$flavour-$VERSION"
    say "$image is up to date (hash ${HASH:0:12}), skipped"
    continue
  fi
  say "building $image (version $VERSION, hash ${HASH:0:12})"
  started=$(date +%s)
  log=$(mktemp)
  if ! docker build --build-arg "FLAVOUR=$flavour" --build-arg "VERSION=$VERSION" --build-arg "HASH=$HASH" \
      -t "$image" -t "$REPO:$flavour-$VERSION" "$CONTEXT" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "docker build of $image failed"
  fi
  rm -f "$log"
  size=$(docker image inspect -f '{{.Size}}' "$image")
  say "built $image and $REPO:$flavour-$VERSION in $(( $(date +%s) - started ))s ($(( size / 1024 / 1024 )) MiB)"
done

# Images replaced by a rebuild keep their layers alive as dangling images; drop ours.
docker image prune -f --filter "label=browsergrid.image.flavour" >/dev/null 2>&1 || true
