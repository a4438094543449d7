# Sourced by scripts/build-images.sh and scripts/build-runner-images.sh: one cached image build.
#   build_cached_image <who> <image> <versioned tag> <hash> <context> [docker build args...]
# Skips the build when <image> carries the label browsergrid.image.hash=<hash> (then only makes
# sure <versioned tag> exists); else builds <image> and <versioned tag> from <context> with the
# extra args, keeping the build log quiet unless the build fails (its last 40 lines, then exit 1).
build_cached_image() {
  local who=$1 image=$2 tagged=$3 hash=$4 context=$5
  shift 5
  local current
  current=$(docker image inspect -f '{{index .Config.Labels "browsergrid.image.hash"}}' "$image" 2>/dev/null || true)
  if [ "$current" = "$hash" ]; then
    docker image inspect "$tagged" >/dev/null 2>&1 || docker tag "$image" "$tagged"
    echo "$who: $image is up to date (hash ${hash:0:12}), skipped"
    return 0
  fi
  echo "$who: building $image (hash ${hash:0:12})"
  local started log size
  started=$(date +%s)
  log=$(mktemp)
  if ! docker build "$@" -t "$image" -t "$tagged" "$context" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "$who: docker build of $image failed" >&2
    exit 1
  fi
  rm -f "$log"
  size=$(docker image inspect -f '{{.Size}}' "$image")
  echo "$who: built $image and $tagged in $(( $(date +%s) - started ))s ($(( size / 1024 / 1024 )) MiB)"
}
