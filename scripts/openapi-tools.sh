#!/usr/bin/env bash
# The Python tools that check the API document (test/e2e/openapi.e2e.test.ts), pinned, in a
# virtualenv outside the repository: openapi-spec-validator and schemathesis (which needs
# Python 3.9 or newer; 3.11 here). Idempotent: a venv whose stamp names these versions is kept.
# The linter (@redocly/cli) is a devDependency and comes with `bun install`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

VALIDATOR_VERSION=0.9.0
SCHEMATHESIS_VERSION=4.32.5
VENV="${BROWSERGRID_OPENAPI_TOOLS:-$HOME/.cache/browsergrid/openapi-tools}"
STAMP="openapi-spec-validator==$VALIDATOR_VERSION schemathesis==$SCHEMATHESIS_VERSION"

if [ -x "$VENV/bin/schemathesis" ] && [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$STAMP" ]; then exit 0; fi
command -v python3 >/dev/null || apt_install python3
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || die "schemathesis $SCHEMATHESIS_VERSION needs Python 3.9 or newer"
python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
log "installing $STAMP into $VENV"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check $STAMP
echo "$STAMP" > "$VENV/.stamp"
