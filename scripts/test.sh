#!/usr/bin/env bash
# The one command that sets up this machine and runs every test: installs Bun, the Docker
# engine (and starts dockerd when nothing answers), Chromium for UI/client tests, the OpenAPI
# validator and fuzzer, builds the browser and runner images, then type-checks, checks the import rules
# (scripts/check-imports.ts) and runs `bun test`.
# Idempotent; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_bun
log "installing JavaScript dependencies"
bun install --frozen-lockfile >/dev/null

if [ ! -x /usr/bin/chromium ]; then log "installing Chromium (for UI and client tests)"; apt_install chromium fonts-liberation; fi
command -v socat >/dev/null || apt_install socat
command -v /usr/sbin/sshd >/dev/null || apt_install openssh-server
# The egress e2e tests read and delete nftables tables themselves (the grid needs nft too).
command -v nft >/dev/null || apt_install nftables

# The chromedp client test (test/clients/chromedp) runs a Go program; its modules come from the
# Go module proxy. This kind of machine ships Go in /usr/local/go.
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || die "Go 1.21 or newer is needed for the chromedp client test (test/clients/chromedp)"
log "Go modules for the chromedp client test"
(cd test/clients/chromedp && "$GO" mod download)

# The API document's validator and fuzzer (test/e2e/openapi.e2e.test.ts), pinned, in a venv
# under ~/.cache; its linter (@redocly/cli) is a devDependency.
log "OpenAPI tools"
bash scripts/openapi-tools.sh

log "Docker engine"
bash scripts/setup-docker.sh
log "browser images"
bash scripts/build-images.sh
log "runner images"
bash scripts/build-runner-images.sh

log "type check"
bunx tsc --noEmit -p .

log "import rules"
bun scripts/check-imports.ts

log "bun test"
mkdir -p test-results
set +e
bun test --timeout 120000 "$@" 2>&1 | tee test-results/bun-test.log
status=${PIPESTATUS[0]}
set -e
count() { { grep -Eo "^ *[0-9]+ $1\$" test-results/bun-test.log || true; } | tail -1 | tr -dc 0-9; }
pass=$(count pass)
fail=$(count fail)
skip=$(count skip)
echo
echo "bun: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
if [ "${pass:-0}" = 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
