#!/usr/bin/env bash
# Installs the Debian packages that the packaging tests and release targets
# use, when they are missing: lintian (package checks), qemu-user-static
# (running arm64/armv7 binaries), dpkg-dev, shellcheck, adduser. Needs root
# or sudo; without either it prints the apt-get command and exits 1.
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

# tool:package pairs; qemu-user-static brings both emulators.
wanted=(
	lintian:lintian
	qemu-aarch64-static:qemu-user-static
	qemu-arm-static:qemu-user-static
	dpkg-architecture:dpkg-dev
	shellcheck:shellcheck
	adduser:adduser
)

missing=()
for pair in "${wanted[@]}"; do
	tool=${pair%%:*}
	pkg=${pair#*:}
	if ! command -v "$tool" >/dev/null 2>&1; then
		case " ${missing[*]} " in
		*" $pkg "*) ;;
		*) missing+=("$pkg") ;;
		esac
	fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) != 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "missing: ${missing[*]}; install them with: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	sudo=sudo
fi
echo "installing ${missing[*]} (Debian packages)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
