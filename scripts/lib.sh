# Shared shell helpers for scripts/*.sh: install what is missing, idempotently.
BUN_VERSION="${BUN_VERSION:-1.4.5}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand (Debian/Ubuntu expected)"
  if [ "$apt_updated" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Bun comes from the npm registry (the only place this machine reaches that ships it).
ensure_bun() {
  if command -v bun >/dev/null && [ "$(bun --version 2>/dev/null)" = "$BUN_VERSION" ]; then return; fi
  if ! command -v npm >/dev/null; then log "installing Node.js/npm (to fetch Bun)"; apt_install nodejs npm; fi
  log "installing bun $BUN_VERSION"
  npm install -g --silent "bun@$BUN_VERSION" >/dev/null 2>&1 || npm install -g "bun@$BUN_VERSION"
  hash -r
  bun --version >/dev/null 2>&1 || die "bun did not install; try: npm install -g bun@$BUN_VERSION"
}
