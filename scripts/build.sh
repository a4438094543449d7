#!/usr/bin/env bash
# Builds the single executable dist/browsergrid: API, UI assets, views and migrations inside.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_bun
[ -d node_modules ] || bun install --frozen-lockfile
mkdir -p dist
bun build --compile --minify --bytecode --sourcemap=none src/main.ts --outfile dist/browsergrid
ls -l dist/browsergrid | awk '{printf "dist/browsergrid: %.1f MiB\n", $5/1048576}'
