#!/usr/bin/env bash
# Runs every Tidewatch test: Go unit, browser and end-to-end tests, then the
# interop suite with the official JavaScript socket.io-client. It installs
# what the tests need first (Chromium from Debian, npm packages), so a fresh
# Debian machine needs nothing but Go, Node.js and root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

bash scripts/ensure-chromium.sh
bash packaging/ensure-tools.sh

log "go vet"
go vet ./...

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './interop/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go test (race detector on)"
go test -race -count=1 -timeout 15m ./...

log "interop: official socket.io-client against the master binary"
bash interop/run.sh
