#!/usr/bin/env bash
# Builds the single executable dist/browsergrid: API, UI assets, views and migrations inside.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_bun
[ -d node_modules ] || bun install --frozen-lockfile
# scripts/build.ts: the bundler settings (why .env/bunfig are never read, which parts of
# dockerode are left out) live there, shared with the tests.
bun scripts/build.ts --outfile dist/browsergrid
