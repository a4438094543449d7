#!/bin/bash
# BrowserGrid browser container entrypoint (runs under tini as uid 1000).
#
# Contract:
#   CDP (HTTP /json/* and WebSocket) on the container's own address, TCP port 9222.
#   Chromium itself binds 127.0.0.1:9223 only (it ignores --remote-debugging-address); a socat
#   relay forwards 0.0.0.0:9222 → 127.0.0.1:9223. Nothing else listens.
#   Settings (all optional): BG_PROXY_SERVER (→ --proxy-server), BG_WINDOW_WIDTH, BG_WINDOW_HEIGHT (→ --window-size, default 1280x720),
#   BG_USER_AGENT (→ --user-agent), BG_LANG (BCP 47, e.g. de-DE → --lang, --accept-lang, LANGUAGE,
#   LANG), TZ (IANA zone, read by Chromium itself). Container command = extra Chromium flags.
#   The container exits when Chromium exits (with Chromium's exit status), so the grid sees a
#   crash or OOM kill as a `die` event.
#   BG_PROFILE_HANDOFF=1 (a session with a profile): the profile directory is a size-capped
#   tmpfs volume that the grid can fill and read only while the container runs. Chromium starts
#   once the grid has put the profile and then the file browsergrid-profile-ready into it
#   (within 30 s, else exit 64). After a clean exit (status 0: the grid's Browser.close before a
#   profile save) the container stays up to 30 s more so the grid can read the profile; a crash
#   still ends it at once.
#
# Why --no-sandbox: Chromium's sandbox needs unprivileged user namespaces or CAP_SYS_ADMIN, which
# Docker's default seccomp profile and CapDrop=ALL deny. Giving the container SYS_ADMIN (or an
# unconfined seccomp profile) would weaken the outer boundary that matters more. Instead the
# container is the sandbox: non-root uid, all capabilities dropped, no-new-privileges, seccomp,
# memory/pids limits, read-only root, its own ICC-less network behind the grid's egress filter.
set -euo pipefail

fail() { echo "browsergrid-entrypoint: $*" >&2; exit 64; }

case "${BG_FLAVOUR:-headless-shell}" in
  headless-shell) chrome=(/usr/lib/chromium/chromium-headless-shell) ;;
  chromium) chrome=(/usr/lib/chromium/chromium --headless=new) ;;
  *) fail "unknown BG_FLAVOUR '${BG_FLAVOUR}'" ;;
esac

width=${BG_WINDOW_WIDTH:-1280}
height=${BG_WINDOW_HEIGHT:-720}
[[ $width =~ ^[1-9][0-9]{1,4}$ && $height =~ ^[1-9][0-9]{1,4}$ ]] \
  || fail "BG_WINDOW_WIDTH/BG_WINDOW_HEIGHT must be integers (got '$width'x'$height')"

args=(
  --remote-debugging-address=127.0.0.1
  --remote-debugging-port=9223
  --user-data-dir=/home/browser/profile
  --window-size="$width,$height"
  --no-sandbox
  --no-first-run
  --no-default-browser-check
  --disable-background-networking
  --disable-component-update
  --disable-sync
  --disable-default-apps
  --disable-domain-reliability
  --disable-breakpad
  --disable-crash-reporter
  --disable-client-side-phishing-detection
  --disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater
  --metrics-recording-only
  --no-pings
  --password-store=basic
  --disable-gpu
  --mute-audio
  --hide-scrollbars
)

if [[ -n ${BG_USER_AGENT:-} ]]; then
  args+=("--user-agent=$BG_USER_AGENT")
fi

if [[ -n ${BG_LANG:-} ]]; then
  [[ $BG_LANG =~ ^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$ ]] || fail "BG_LANG must be a BCP 47 tag (got '$BG_LANG')"
  args+=("--lang=$BG_LANG" "--accept-lang=$BG_LANG")
  posix=${BG_LANG//-/_}
  export LANGUAGE=$posix LANG=$posix.UTF-8
fi

# The grid's proxy relay (sessions with a proxy): an address, never credentials. Loopback stays
# direct (<-loopback> is not given) and QUIC is off so every byte of page traffic takes the relay.
if [[ -n ${BG_PROXY_SERVER:-} ]]; then
  # In a variable: brackets inside [[ =~ ]] literals are parsed by the shell before the regex engine.
  proxy_re='^http://(\[[0-9a-fA-F:]{2,45}\]|[0-9.]{7,15}):[0-9]{1,5}$'
  [[ $BG_PROXY_SERVER =~ $proxy_re ]] || fail "BG_PROXY_SERVER must be http://<ip>:<port> (got '$BG_PROXY_SERVER')"
  args+=("--proxy-server=$BG_PROXY_SERVER" --disable-quic)
  # WebRTC sends STUN/ICE UDP straight past the proxy unless told not to (headless-shell reads the first switch, full Chromium the second).
  args+=(--force-webrtc-ip-handling-policy=disable_non_proxied_udp --webrtc-ip-handling-policy=disable_non_proxied_udp)
fi

# Extra flags from the container command; never let them re-open what the grid closes.
for extra in "$@"; do
  case "$extra" in
    --remote-allow-origins* | --remote-debugging-* | --user-data-dir* | --enable-remote-extensions* | --load-extension*)
      fail "flag not allowed: ${extra%%=*}" ;;
  esac
done

handoff=${BG_PROFILE_HANDOFF:-}
if [[ $handoff == 1 ]]; then
  marker=/home/browser/profile/browsergrid-profile-ready
  for ((i = 0; i < 1500; i++)); do
    [[ -e $marker ]] && break
    sleep 0.02
  done
  [[ -e $marker ]] || fail "the grid did not hand over the profile within 30 s"
  rm -f -- "$marker"
fi

socat TCP-LISTEN:9222,fork,reuseaddr,nodelay TCP:127.0.0.1:9223,nodelay &
"${chrome[@]}" "${args[@]}" "$@" about:blank &
chrome_pid=$!

# Whichever dies first (normally Chromium) ends the container with its status.
status=0
wait -n || status=$?
if [[ $handoff == 1 && $status == 0 ]] && ! kill -0 "$chrome_pid" 2>/dev/null; then
  sleep 30 # the grid reads the profile now, then removes the container
fi
exit "$status"
