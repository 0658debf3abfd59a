#!/usr/bin/env bash
# Tidewatch first boot for Raspberry Pi OS Lite: turns a freshly flashed
# card into a Tidewatch appliance. It lives on the card's boot partition, in
# a "tidewatch" folder beside the tidewatch-appliance .deb packages
# (arm64 and/or armhf), and
#   1. installs the package matching this system's architecture, with
#      Chromium from the distribution (apt; dpkg alone when offline),
#   2. copies an optional appliance.env from the same folder to
#      /etc/tidewatch/appliance.env (e.g. TIDEWATCH_MASTER, never the token),
#   3. enables and starts tidewatch-appliance.service,
#   4. shows the setup page's address on the console before login
#      (/etc/issue.d), after login (/etc/update-motd.d, with the one-time
#      setup code) and in the journal (tag tidewatch-firstboot),
#   5. caps the journal's size, as logs are what wears SD cards out.
# When something is missing (no network for Chromium), it runs again at the
# next boot through tidewatch-firstboot.service. Once done it leaves a
# marker and does nothing more.
#
# Usage:
#   tidewatch-firstboot.sh          do it now (cloud-init runcmd, or by hand)
#   tidewatch-firstboot.sh --defer  only register tidewatch-firstboot.service
#                                   to do it at the next boot (Raspberry Pi
#                                   Imager's firstrun.sh, which runs before
#                                   the network and the full system are up)
#
# Environment (for tests and special images): TIDEWATCH_FIRSTBOOT_ROOT is
# prepended to every system path (default: the real root);
# TIDEWATCH_FIRSTBOOT_APT_TRIES is how often "apt-get update" is tried
# (default 12), TIDEWATCH_FIRSTBOOT_APT_WAIT the seconds between tries
# (default 10).
set -euo pipefail

ROOT=${TIDEWATCH_FIRSTBOOT_ROOT:-}
APT_TRIES=${TIDEWATCH_FIRSTBOOT_APT_TRIES:-12}
APT_WAIT=${TIDEWATCH_FIRSTBOOT_APT_WAIT:-10}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")

SERVICE=tidewatch-appliance.service
FIRSTBOOT_UNIT=tidewatch-firstboot.service
DEFAULT_SETUP_PORT=7601
DONE_MARKER=$ROOT/var/lib/tidewatch-firstboot/done
ENV_FILE=$ROOT/etc/tidewatch/appliance.env

# log writes a message to stdout (the journal under systemd, cloud-init's
# log under cloud-init) and, outside systemd, to the journal as well.
log() {
	printf 'tidewatch-firstboot: %s\n' "$*"
	if [[ -z ${INVOCATION_ID:-} ]] && command -v logger >/dev/null; then
		logger -t tidewatch-firstboot -- "$*" || true
	fi
}

die() {
	log "error: $*"
	exit 1
}

# defer registers the one-shot unit that runs this script at boot, once the
# network is online, until it has succeeded. Writing the files by hand
# instead of "systemctl enable" works while systemd is not fully up.
defer() {
	local dir=$ROOT/etc/systemd/system
	mkdir -p "$dir/multi-user.target.wants"
	cat >"$dir/$FIRSTBOOT_UNIT" <<UNIT
[Unit]
Description=Tidewatch appliance first boot (installs the package from the boot partition)
After=network-online.target
Wants=network-online.target
ConditionPathExists=!/var/lib/tidewatch-firstboot/done

[Service]
Type=oneshot
ExecStart=/bin/bash $SELF
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
UNIT
	ln -sf "../$FIRSTBOOT_UNIT" "$dir/multi-user.target.wants/$FIRSTBOOT_UNIT"
	log "registered $FIRSTBOOT_UNIT: the appliance is installed at the next boot"
}

# undefer removes the one-shot unit once its work is done.
undefer() {
	local dir=$ROOT/etc/systemd/system
	if [[ -e $dir/$FIRSTBOOT_UNIT ]]; then
		rm -f "$dir/multi-user.target.wants/$FIRSTBOOT_UNIT" "$dir/$FIRSTBOOT_UNIT"
	fi
}

# pick_deb prints the newest tidewatch-appliance package for architecture $1
# in this script's folder.
pick_deb() {
	local arch=$1 newest
	newest=$(find "$HERE" -maxdepth 1 -name "tidewatch-appliance_*_${arch}.deb" -printf '%f\n' | sort -V | tail -n 1)
	[[ -n $newest ]] || return 1
	printf '%s/%s\n' "$HERE" "$newest"
}

# apt_ready updates the package lists, retrying while the network comes up.
apt_ready() {
	local i
	for ((i = 1; i <= APT_TRIES; i++)); do
		if apt-get update -q; then
			return 0
		fi
		log "apt-get update failed (try $i of $APT_TRIES); waiting for the network"
		sleep "$APT_WAIT"
	done
	return 1
}

# install_deb installs the package with its Chromium recommendation through
# apt, or alone through dpkg when the archive cannot be reached. It returns
# 1 when Chromium could not be installed.
install_deb() {
	local deb=$1
	export DEBIAN_FRONTEND=noninteractive
	if apt_ready && apt-get install -y -q -o Dpkg::Options::=--force-confold "$deb"; then
		return 0
	fi
	log "no package archive: installing $(basename "$deb") without Chromium; trying again at the next boot"
	dpkg --force-confold -i "$deb" || die "dpkg could not install $(basename "$deb")"
	return 1
}

# setup_port prints the setup page's port: TIDEWATCH_SETUP_LISTEN of the
# settings file when set, else the appliance's default.
setup_port() {
	local listen=""
	if [[ -r $ENV_FILE ]]; then
		listen=$(sed -n 's/^[[:space:]]*TIDEWATCH_SETUP_LISTEN=["'\'']\{0,1\}\([^"'\'']*\).*/\1/p' "$ENV_FILE" | tail -n 1)
	fi
	if [[ $listen =~ :([0-9]+)$ ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	else
		printf '%s\n' "$DEFAULT_SETUP_PORT"
	fi
}

# show_url puts the setup page's address where a person with the device
# will look: the console's login banner (agetty fills in \4, the IPv4
# address, and \n, the host name, at each prompt), the message of the day
# after login (with the setup code from the journal; only people who can log
# in see it) and the journal.
show_url() {
	local port=$1
	mkdir -p "$ROOT/etc/issue.d" "$ROOT/etc/update-motd.d"
	cat >"$ROOT/etc/issue.d/tidewatch.issue" <<ISSUE
Tidewatch appliance: open the setup page at http://\\4:$port/ (or http://\\n.local:$port/)
The one-time setup code is shown after login.

ISSUE
	cat >"$ROOT/etc/update-motd.d/60-tidewatch" <<'MOTD'
#!/bin/sh
# Shows the Tidewatch appliance's setup page address and, until the
# appliance is set up, its one-time setup code. Written by
# tidewatch-firstboot.sh.
port=__PORT__
echo
echo "Tidewatch appliance ($(systemctl is-active tidewatch-appliance.service 2>/dev/null || echo unknown))"
for ip in $(hostname -I 2>/dev/null); do
	case "$ip" in
	*:*) echo "  setup page: http://[$ip]:$port/" ;;
	*) echo "  setup page: http://$ip:$port/" ;;
	esac
done
echo "  setup page: http://$(hostname).local:$port/"
code=$(journalctl -u tidewatch-appliance.service -b --no-pager -o cat 2>/dev/null | sed -n 's/.*setup_code=\([A-Z0-9]*\).*/\1/p' | tail -n 1)
if [ -n "$code" ]; then
	echo "  setup code: $code (until the appliance is set up)"
fi
MOTD
	sed -i "s/__PORT__/$port/" "$ROOT/etc/update-motd.d/60-tidewatch"
	chmod 0755 "$ROOT/etc/update-motd.d/60-tidewatch"

	local ips
	ips=$(hostname -I 2>/dev/null || true)
	local ip
	for ip in $ips; do
		[[ $ip == *:* ]] && continue
		log "setup page: http://$ip:$port/"
	done
	log "setup page: http://$(hostname).local:$port/ (the one-time setup code is in: journalctl -u tidewatch-appliance)"
}

# cap_journal bounds the journal on the SD card unless the admin already
# configured it.
cap_journal() {
	local dir=$ROOT/etc/systemd/journald.conf.d
	[[ -e $dir/60-tidewatch.conf ]] && return 0
	mkdir -p "$dir"
	cat >"$dir/60-tidewatch.conf" <<'CONF'
# Written by tidewatch-firstboot.sh: keep the journal small, as logs wear
# SD cards out. Remove this file to get the distribution's defaults back.
[Journal]
SystemMaxUse=64M
RuntimeMaxUse=32M
CONF
}

# firstboot does the work; see the header.
firstboot() {
	if [[ -e $DONE_MARKER ]]; then
		log "already done ($DONE_MARKER exists)"
		undefer
		return 0
	fi
	if [[ -z $ROOT && $(id -u) != 0 ]]; then
		die "must run as root"
	fi

	local arch deb complete=yes
	arch=$(dpkg --print-architecture)
	deb=$(pick_deb "$arch") || die "no tidewatch-appliance_*_${arch}.deb in $HERE; copy the package for this architecture there"
	log "installing $(basename "$deb")"
	# Until it is complete, make sure a reboot tries again.
	defer
	install_deb "$deb" || complete=no

	if [[ -f $HERE/appliance.env ]]; then
		install -D -m 0600 "$HERE/appliance.env" "$ENV_FILE"
		log "settings copied from $HERE/appliance.env"
	fi

	cap_journal
	if command -v systemctl >/dev/null; then
		systemctl enable "$SERVICE" || log "warning: could not enable $SERVICE"
		if [[ -d $ROOT/run/systemd/system ]]; then
			systemctl restart "$SERVICE" || log "warning: could not start $SERVICE"
		fi
	fi
	show_url "$(setup_port)"

	if [[ $complete == yes ]]; then
		mkdir -p "$(dirname "$DONE_MARKER")"
		date -u +%Y-%m-%dT%H:%M:%SZ >"$DONE_MARKER"
		undefer
		log "done"
	fi
}

case "${1:-}" in
"") firstboot ;;
--defer) defer ;;
-h | --help) sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//' ;;
*) die "unknown argument $1 (see --help)" ;;
esac
