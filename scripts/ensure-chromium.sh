#!/usr/bin/env bash
# Makes sure a Chromium is on PATH: installs Debian's chromium package when
# none is, or, without root, stops with the exact command to run.
set -euo pipefail

for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		exit 0
	fi
done

if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		exec sudo "$0"
	fi
	echo "Chromium is missing. Install it with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
	exit 1
fi

echo "installing chromium (Debian package)…" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
