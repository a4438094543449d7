#!/usr/bin/env bash
# Builds the runner images browsergrid/runner:<runtime> (+ :<runtime>-<version>) from
# runner-image/ (one context, a Dockerfile per runtime), on top of the registry-free base.
# Pinned versions: Bun from scripts/lib.sh, playwright-core and puppeteer-core from package.json,
# Python playwright below. Cached: a runtime is rebuilt only when the content hash of its files
# in runner-image/ and the pins differs from the image's `browsergrid.image.hash` label.
# Assumes a Docker engine that answers (run scripts/setup-docker.sh first).
#   usage: scripts/build-runner-images.sh [bun|python]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTEXT="$ROOT/runner-image"
REPO=browsergrid/runner
ALL_RUNTIMES=(bun python)
# Python's playwright, same release line as the playwright-core the grid is tested with.
PLAYWRIGHT_PY_VERSION=1.65.1

die() { echo "build-runner-images: $*" >&2; exit 1; }
say() { echo "build-runner-images: $*"; }

if [ $# -gt 1 ]; then die "usage: $0 [bun|python]"; fi
if [ $# -eq 1 ]; then
  case "$1" in bun | python) RUNTIMES=("$1") ;; *) die "unknown runtime '$1' (bun | python)" ;; esac
else
  RUNTIMES=("${ALL_RUNTIMES[@]}")
fi

docker info >/dev/null 2>&1 || die "Docker does not answer; run scripts/setup-docker.sh first"

pin() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$ROOT/package.json" | head -n1; }
VERSION=$(pin version)
PLAYWRIGHT_CORE_VERSION=$(pin playwright-core)
PUPPETEER_CORE_VERSION=$(pin puppeteer-core)
BUN_VERSION=$(. "$ROOT/scripts/lib.sh"; echo "$BUN_VERSION")
for v in VERSION PLAYWRIGHT_CORE_VERSION PUPPETEER_CORE_VERSION BUN_VERSION; do
  [ -n "${!v}" ] || die "no $v found (package.json, scripts/lib.sh)"
done

bash "$ROOT/scripts/build-base-image.sh"

# sha256 over the base image id, the pins and every file's relative path and content, of the
# runtime's own directory and the shared files at the top of runner-image/: a change to one
# runtime does not rebuild the other.
hash_of() {
  (
    cd "$CONTEXT"
    {
      docker image inspect -f '{{.Id}}' browsergrid/debian-base:bookworm
      echo "bun=$BUN_VERSION playwright-core=$PLAYWRIGHT_CORE_VERSION puppeteer-core=$PUPPETEER_CORE_VERSION playwright-py=$PLAYWRIGHT_PY_VERSION"
      { find . -maxdepth 1 -type f -print0; find "./$1" -type f -print0; } | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-64
  )
}

# The build context: runner-image/ plus the build host's own certificate authorities
# (/usr/local/share/ca-certificates), which only the fetch stages trust, so builds behind a
# TLS-inspecting proxy reach npm and PyPI. Not part of the hash: they never reach an image.
BUILD_CONTEXT=$(mktemp -d)
trap 'rm -rf "$BUILD_CONTEXT"' EXIT
cp -R "$CONTEXT/." "$BUILD_CONTEXT/"
mkdir -p "$BUILD_CONTEXT/build-ca"
touch "$BUILD_CONTEXT/build-ca/.keep"
for ca in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$ca" ] && cp "$ca" "$BUILD_CONTEXT/build-ca/"
done

# shellcheck source=image-build.sh
. "$ROOT/scripts/image-build.sh"
for runtime in "${RUNTIMES[@]}"; do
  HASH=$(hash_of "$runtime")
  build_cached_image build-runner-images "$REPO:$runtime" "$REPO:$runtime-$VERSION" "$HASH" "$BUILD_CONTEXT" \
    -f "$CONTEXT/$runtime/Dockerfile" \
    --build-arg "VERSION=$VERSION" --build-arg "HASH=$HASH" \
    --build-arg "BUN_VERSION=$BUN_VERSION" --build-arg "PLAYWRIGHT_CORE_VERSION=$PLAYWRIGHT_CORE_VERSION" \
    --build-arg "PUPPETEER_CORE_VERSION=$PUPPETEER_CORE_VERSION" --build-arg "PLAYWRIGHT_PY_VERSION=$PLAYWRIGHT_PY_VERSION"
done

# Images replaced by a rebuild keep their layers alive as dangling images; drop ours.
docker image prune -f --filter "label=browsergrid.image.runtime" >/dev/null 2>&1 || true
