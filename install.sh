#!/bin/sh
# BrowserGrid installer for a fresh Debian/Ubuntu host. Safe to run again (upgrades in place).
#
#   From a checkout:   sudo sh install.sh
#   From a release:    curl -fsSL <release>/install.sh | sudo BROWSERGRID_RELEASE_URL=<archive url> sh
#
# It installs the Docker engine when missing, the browsergrid binary (built from source when
# run inside a checkout, else downloaded from BROWSERGRID_RELEASE_URL), builds the browser
# images, writes /etc/browsergrid/browsergrid.env once, and starts the appliance: a systemd
# unit when systemd runs, otherwise a background process logging to /var/log/browsergrid.log.
set -eu

PREFIX="${PREFIX:-/usr/local}"
SHARE_DIR="$PREFIX/share/browsergrid"
ENV_FILE="/etc/browsergrid/browsergrid.env"
DATA_DIR="${BROWSERGRID_DATA_DIR:-/var/lib/browsergrid}"
LOG_FILE="/var/log/browsergrid.log"
PID_FILE="/run/browsergrid.pid"
SERVICE_USER="browsergrid"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo sh install.sh): it installs packages and a service"
command -v apt-get >/dev/null || die "this installer supports Debian and Ubuntu (apt-get not found)"

need_pkgs=""
for p in curl:curl tar:tar bash:bash nft:nftables; do command -v "${p%%:*}" >/dev/null || need_pkgs="$need_pkgs ${p#*:}"; done
if [ -n "$need_pkgs" ]; then
  say "installing$need_pkgs"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs ca-certificates >/dev/null
fi

# 1. Source of the binary and the browser image recipe.
here=$(cd "$(dirname "$0")" 2>/dev/null && pwd || true)
if [ -n "$here" ] && [ -f "$here/package.json" ] && [ -d "$here/browser-image" ] && [ -f "$here/src/main.ts" ]; then
  SRC="$here"
  say "building browsergrid from the checkout in $SRC"
  bash "$SRC/scripts/build.sh"
  BIN="$SRC/dist/browsergrid"
else
  [ -n "${BROWSERGRID_RELEASE_URL:-}" ] || die "not inside a checkout: set BROWSERGRID_RELEASE_URL to a release archive (browsergrid-<version>-linux-<arch>.tar.gz), or run install.sh from a clone"
  SRC=$(mktemp -d)
  trap 'rm -rf "$SRC"' EXIT
  say "downloading $BROWSERGRID_RELEASE_URL"
  curl -fsSL "$BROWSERGRID_RELEASE_URL" | tar -xz -C "$SRC"
  BIN="$SRC/browsergrid"
  [ -x "$BIN" ] || die "the archive has no browsergrid executable at its top level"
fi

# 2. Docker engine.
say "Docker engine"
bash "$SRC/scripts/setup-docker.sh"

# 3. Binary and image recipe.
say "installing $PREFIX/bin/browsergrid"
install -d "$PREFIX/bin" "$SHARE_DIR"
install -m 0755 "$BIN" "$PREFIX/bin/browsergrid.new"
mv -f "$PREFIX/bin/browsergrid.new" "$PREFIX/bin/browsergrid"
rm -rf "$SHARE_DIR/browser-image" "$SHARE_DIR/runner-image" "$SHARE_DIR/scripts"
cp -R "$SRC/browser-image" "$SRC/runner-image" "$SRC/scripts" "$SHARE_DIR/"
[ -f "$SRC/package.json" ] && cp "$SRC/package.json" "$SHARE_DIR/"

# 4. Browser images (cached: a rebuild happens only when the recipe changed).
say "browser images"
bash "$SHARE_DIR/scripts/build-images.sh"
say "runner images (deployments' scripts)"
bash "$SHARE_DIR/scripts/build-runner-images.sh"

# 5. Service user, data dir, configuration (written once, never overwritten).
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
fi
getent group docker >/dev/null && usermod -aG docker "$SERVICE_USER"
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
install -d -m 0755 /etc/browsergrid
if [ ! -f "$ENV_FILE" ]; then
  cat >"$ENV_FILE" <<EOF
# BrowserGrid configuration (see: browsergrid serve --help). Restart the service after edits.
BROWSERGRID_HOST=${BROWSERGRID_HOST:-127.0.0.1}
BROWSERGRID_PORT=${BROWSERGRID_PORT:-7070}
BROWSERGRID_DATA_DIR=$DATA_DIR
# BROWSERGRID_PUBLIC_URL=https://grid.example.com
# BROWSERGRID_ADMIN_EMAIL=you@example.com
# BROWSERGRID_ADMIN_PASSWORD=change-me-to-something-long
EOF
  chmod 0640 "$ENV_FILE"
  chgrp "$SERVICE_USER" "$ENV_FILE"
fi
# shellcheck disable=SC1090
. "$ENV_FILE"
PORT="${BROWSERGRID_PORT:-7070}"
HOST="${BROWSERGRID_HOST:-127.0.0.1}"
[ "$HOST" = "0.0.0.0" ] && HOST=127.0.0.1

# 6. Start (or restart onto the new binary).
if [ -d /run/systemd/system ]; then
  say "systemd unit browsergrid.service"
  cat >/etc/systemd/system/browsergrid.service <<EOF
[Unit]
Description=BrowserGrid self-hosted browser grid
After=network-online.target docker.service
Wants=network-online.target docker.service

[Service]
User=$SERVICE_USER
Group=$SERVICE_USER
SupplementaryGroups=docker
EnvironmentFile=$ENV_FILE
ExecStart=$PREFIX/bin/browsergrid serve
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=30
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=$DATA_DIR
PrivateTmp=true

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable browsergrid.service >/dev/null 2>&1
  systemctl restart browsergrid.service
else
  say "no systemd: starting in the background (log: $LOG_FILE)"
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    kill -TERM "$(cat "$PID_FILE")"
    i=0; while kill -0 "$(cat "$PID_FILE")" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  fi
  touch "$LOG_FILE" && chown "$SERVICE_USER" "$LOG_FILE"
  # The environment file is exported for the child; runuser drops root for the appliance.
  set -a; . "$ENV_FILE"; set +a
  nohup runuser -u "$SERVICE_USER" -g "$SERVICE_USER" -G docker -- "$PREFIX/bin/browsergrid" serve >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
fi

# 7. Wait until it answers.
i=0
until curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1; do
  i=$((i+1))
  if [ $i -gt 100 ]; then
    echo "BrowserGrid did not answer on http://$HOST:$PORT/healthz within 20 s." >&2
    [ -d /run/systemd/system ] && echo "See: journalctl -u browsergrid -n 50" >&2 || tail -n 20 "$LOG_FILE" >&2
    exit 1
  fi
  sleep 0.2
done

say "BrowserGrid is running: http://$HOST:$PORT"
# /setup answers 200 only while no account exists; it then needs the one-time setup token that
# the server wrote (mode 0600, readable by root and the service user) into its data dir.
DATA_DIR="${BROWSERGRID_DATA_DIR:-$DATA_DIR}"
if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST:$PORT/setup")" = 200 ]; then
  if [ -s "$DATA_DIR/setup-token" ]; then
    echo "First run: open http://$HOST:$PORT/setup?token=$(cat "$DATA_DIR/setup-token") to create the admin account"
    echo "(the token is single-use and also in $DATA_DIR/setup-token and the server's log)"
  else
    echo "First run: open http://$HOST:$PORT/setup and enter the setup token from the server's log"
  fi
  echo "(or on this shell: runuser -u $SERVICE_USER -- env BROWSERGRID_DATA_DIR=$DATA_DIR browsergrid admin create --email you@example.com)"
fi
echo "Check the machine any time with: browsergrid doctor"
