#!/usr/bin/env bash
# Runs every Tidewatch test: Go unit, browser and end-to-end tests, then the
# interop suite with the official JavaScript socket.io-client. It installs
# what the tests need first (Chromium from Debian, npm packages), so a fresh
# Debian machine needs nothing but Go, Node.js and root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# ensure_chromium installs Debian's chromium when no browser is on PATH.
ensure_chromium() {
	if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
		return
	fi
	log "installing chromium (Debian package)"
	local sudo=""
	if [ "$(id -u)" != 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "chromium is missing; install it with: apt-get install chromium" >&2
			exit 1
		fi
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

ensure_chromium

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
