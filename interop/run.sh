#!/usr/bin/env bash
# Runs the interop suite: the official JavaScript socket.io-client against
# the real tidewatch-master binary.
#
# TIDEWATCH_MASTER_BIN may name a prebuilt binary; otherwise it is built once
# from this repository into a temporary directory removed on exit. Installs
# the locked npm dependencies when they are missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$here"

if [ ! -f node_modules/socket.io-client/package.json ]; then
  npm ci --no-audit --no-fund
fi

if [ -z "${TIDEWATCH_MASTER_BIN:-}" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$root" && go build -o "$tmp/tidewatch-master" ./cmd/tidewatch-master)
  export TIDEWATCH_MASTER_BIN="$tmp/tidewatch-master"
fi

npm test
