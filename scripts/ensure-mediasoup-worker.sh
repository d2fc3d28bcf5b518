#!/usr/bin/env bash
# Makes sure node_modules/mediasoup has a mediasoup-worker binary.
#
# mediasoup's own postinstall downloads a prebuilt worker from GitHub or builds
# one with wraps fetched from the internet; neither works offline, so the
# project denies that script (package.json allowScripts) and builds the worker
# itself from the npm tarball's sources against Debian libraries
# (scripts/build-mediasoup-worker.sh). The binary is cached outside the clone,
# keyed by mediasoup version and the checksum of the build script and its
# Debian package list, so CI and `npm start`
# rebuild only when either changes (~3.5 minutes on 2 cores). The build links a
# libsrtp2 built on OpenSSL from Debian's source package (~1.5x the SRTP
# capacity of Debian's NSS build) and falls back to the system libsrtp2 when it
# cannot fetch that source; the line "[mediasoup] libsrtp2: …" says which.
set -euo pipefail
cd "$(dirname "$0")/.."

MS_DIR=node_modules/mediasoup
[ -d "$MS_DIR" ] || { echo "[mediasoup] not installed yet; skipping"; exit 0; }
MS_VERSION=$(sed -n 's/^[[:space:]]*"version": "\(.*\)",/\1/p' "$MS_DIR/package.json" | head -1)
# The build script and the Debian packages it builds against (the `build` group).
SCRIPT_SUM=$( (cat scripts/build-mediasoup-worker.sh; sed -n 's/^build://p' scripts/system-packages.txt) | sha256sum | cut -c1-12)
CACHE_ROOT=${MEDIASOUP_WORKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mentor-live}
CACHE_DIR="$CACHE_ROOT/mediasoup-worker-$MS_VERSION-$SCRIPT_SUM"
TARGET="$MS_DIR/worker/out/Release/mediasoup-worker"

if [ ! -x "$CACHE_DIR/mediasoup-worker" ]; then
  # One build at a time per cache (two clones' `npm test` at once would share WORKDIR).
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/build.lock"
  flock 9
fi
if [ ! -x "$CACHE_DIR/mediasoup-worker" ]; then
  BUILD_VERSION=$(sed -n 's/^MS_VERSION=//p' scripts/build-mediasoup-worker.sh)
  if [ "$MS_VERSION" != "$BUILD_VERSION" ]; then
    echo "[mediasoup] the offline build is for mediasoup $BUILD_VERSION, found $MS_VERSION" >&2
    exit 1
  fi
  # Its Debian packages first, where a missing one is said in one line (not in build.log).
  bash scripts/ensure-system-packages.sh build
  echo "[mediasoup] building mediasoup-worker $MS_VERSION into $CACHE_DIR (about 3.5 minutes on 2 cores)"
  mkdir -p "$CACHE_DIR"
  WORKDIR="$CACHE_DIR/work" bash scripts/build-mediasoup-worker.sh > "$CACHE_DIR/build.log" 2>&1 || {
    tail -40 "$CACHE_DIR/build.log" >&2
    echo "[mediasoup] worker build failed; full log: $CACHE_DIR/build.log" >&2
    exit 1
  }
  cp "$CACHE_DIR/work/srtp-backend" "$CACHE_DIR/srtp-backend" 2>/dev/null || true
  grep -F 'WARNING' "$CACHE_DIR/build.log" >&2 || true
  cp "$CACHE_DIR/work/mediasoup-worker" "$CACHE_DIR/mediasoup-worker.tmp"
  mv "$CACHE_DIR/mediasoup-worker.tmp" "$CACHE_DIR/mediasoup-worker"
  rm -rf "$CACHE_DIR/work/src" "$CACHE_DIR/work/build" "$CACHE_DIR/work/libsrtp2-src/src"
fi

if ! cmp -s "$CACHE_DIR/mediasoup-worker" "$TARGET" 2>/dev/null; then
  mkdir -p "$(dirname "$TARGET")"
  # Copy then rename: overwriting a worker binary that is running fails (ETXTBSY).
  cp "$CACHE_DIR/mediasoup-worker" "$TARGET.tmp"
  mv -f "$TARGET.tmp" "$TARGET"
  echo "[mediasoup] worker ready: $TARGET"
  case "$(cat "$CACHE_DIR/srtp-backend" 2>/dev/null)" in
    openssl) echo "[mediasoup] libsrtp2: built on OpenSSL, linked statically" ;;
    system-nss) echo "[mediasoup] libsrtp2: FALLBACK to Debian's libsrtp2 (NSS, ~1.5x less SRTP capacity);" \
      "delete $CACHE_DIR and rerun to retry (build log: $CACHE_DIR/build.log)" >&2 ;;
  esac
fi
