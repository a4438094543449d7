#!/bin/sh
# Runs a deployment's entry file with this image's runtime (BG_RUNTIME). Contract with the grid
# (src/providers/docker-runner.ts): the bundle is in /home/runner/app before the container
# starts, the entry is the one argument (a path relative to the app dir), files the script
# writes to /home/runner/output are collected after it exits, and the container's exit code is
# the script's.
set -eu
if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "browsergrid-runner: expected exactly one argument, the entry file (relative to /home/runner/app)" >&2
  exit 64
fi
entry=$1
case "$entry" in
  /* | ../* | */../* | *"/.." | ..) echo "browsergrid-runner: entry must be a path inside the app, got '$entry'" >&2; exit 64 ;;
esac
cd /home/runner/app
if [ ! -f "$entry" ]; then
  echo "browsergrid-runner: entry file '$entry' is not in the bundle" >&2
  exit 66
fi
case "$BG_RUNTIME" in
  bun) exec /usr/local/bin/bun run "./$entry" ;;
  python) exec python3 "./$entry" ;;
  *) echo "browsergrid-runner: unknown runtime '$BG_RUNTIME'" >&2; exit 70 ;;
esac
