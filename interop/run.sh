#!/usr/bin/env bash
# Runs the interop suite: the official JavaScript socket.io-client against
# the real tidewatch-master binary.
#
# TIDEWATCH_MASTER_BIN, TIDEWATCH_APPLIANCE_BIN and TIDEWATCH_FAKEDOUYIN_BIN
# may name prebuilt binaries; otherwise each is built once from this
# repository into a temporary directory removed on exit. Installs
# the locked npm dependencies when they are missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$here"

if [ ! -f node_modules/socket.io-client/package.json ]; then
  npm ci --no-audit --no-fund
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# build_once builds ./cmd/$2 unless the variable $1 already names a binary.
build_once() {
  local var=$1 cmd=$2
  if [ -z "${!var:-}" ]; then
    (cd "$root" && go build -o "$tmp/$cmd" "./cmd/$cmd")
    export "$var=$tmp/$cmd"
  fi
}
build_once TIDEWATCH_MASTER_BIN tidewatch-master
build_once TIDEWATCH_APPLIANCE_BIN tidewatch-appliance
build_once TIDEWATCH_FAKEDOUYIN_BIN tidewatch-fakedouyin

npm test
