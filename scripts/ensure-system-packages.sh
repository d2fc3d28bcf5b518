#!/usr/bin/env bash
# Makes sure the Debian packages of the given groups of
# scripts/system-packages.txt are installed: nothing to do when they are;
# apt-get install when the user is root or has password-less sudo; otherwise
# ONE line saying exactly what to install, and exit 1. Not on Debian (no
# dpkg-query), it checks the commands the run and browser groups provide
# and says what is missing the same way.
#
#   bash scripts/ensure-system-packages.sh run browser     # (npm test)
#
# MENTOR_LIVE_SKIP_BROWSER=1 leaves the browser group out (the tests then run
# without the browser tests, and say so loudly).
set -euo pipefail
LIST="$(cd "$(dirname "$0")" && pwd)/system-packages.txt"
[ $# -gt 0 ] || { echo "usage: $0 build|run|browser|ci ..." >&2; exit 2; }

wanted=""
for group in "$@"; do
  if [ "$group" = browser ] && [ "${MENTOR_LIVE_SKIP_BROWSER:-}" = 1 ]; then
    echo "[packages] MENTOR_LIVE_SKIP_BROWSER=1: not installing the browser group (Chromium); browser tests will NOT run" >&2
    continue
  fi
  line=$(sed -n "s/^$group:[[:space:]]*//p" "$LIST")
  [ -n "$line" ] || { echo "[packages] no group '$group' in $LIST" >&2; exit 2; }
  wanted="$wanted $line"
done
[ -n "$wanted" ] || exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: the package names differ; check the commands that matter.
  missing=""
  for p in $wanted; do
    case "$p" in
      ffmpeg) command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing="$missing FFmpeg(ffmpeg,ffprobe)" ;;
      redis-server) command -v redis-server >/dev/null || missing="$missing Redis(redis-server)" ;;
      chromium) [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing="$missing Chromium(or set CHROMIUM_PATH)" ;;
      coturn) command -v turnserver >/dev/null || missing="$missing coturn(turnserver)" ;;
      haproxy) command -v haproxy >/dev/null || missing="$missing HAProxy(haproxy)" ;;
      fonts-*) ;;
      *) missing="$missing $p" ;;
    esac
  done
  [ -z "$missing" ] && exit 0
  echo "[packages] not a Debian system (no dpkg-query): install with your package manager:$missing (Debian names:$wanted), then rerun" >&2
  exit 1
fi

missing=""
for p in $wanted; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "[packages] missing Debian packages; run this, then rerun the command: sudo apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "[packages] missing Debian packages and no apt-get; install:$missing" >&2
  exit 1
}

echo "[packages] apt-get install$missing"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in $(seq 1 30); do
  if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >"$log" 2>&1; then
    exit 0
  fi
  if grep -qi 'could not get lock\|unable to acquire the dpkg' "$log"; then
    echo "[packages] another apt-get holds the lock; retrying in 10 s ($attempt/30)"
    sleep 10
  elif [ "$attempt" = 1 ]; then
    echo "[packages] apt-get install failed; refreshing the package index once (apt-get update)"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update >"$log" 2>&1 || true
  else
    break
  fi
done
tail -15 "$log" >&2
echo "[packages] apt-get install failed (above); install by hand: sudo apt-get install -y --no-install-recommends$missing" >&2
exit 1
