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
# shellcheck source=image-build.sh
. "$ROOT/scripts/image-build.sh"

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
  build_cached_image build-images "$REPO:$flavour" "$REPO:$flavour-$VERSION" "$HASH" "$CONTEXT" \
    --build-arg "FLAVOUR=$flavour" --build-arg "VERSION=$VERSION" --build-arg "HASH=$HASH"
done

# Images replaced by a rebuild keep their layers alive as dangling images; drop ours.
docker image prune -f --filter "label=browsergrid.image.flavour" >/dev/null 2>&1 || true
