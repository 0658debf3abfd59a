#!/usr/bin/env bash
# Prepares a freshly flashed Raspberry Pi OS Lite card to become a Tidewatch
# appliance on its first boot. Run it on the computer that flashed the card,
# with the card's boot partition mounted (it is the FAT partition holding
# config.txt; desktops mount it as e.g. /media/$USER/bootfs).
#
# Usage: prepare-card.sh BOOT_PARTITION DEB... [--env FILE]
#   DEB      tidewatch-appliance .deb packages (give arm64 and armhf: the
#            first boot picks the one matching the installed system)
#   --env    optional settings copied to /etc/tidewatch/appliance.env, e.g.
#            TIDEWATCH_MASTER=https://tidewatch.example.com
#            (never put the enrollment token here: enter it on the setup
#            page, which stores it sealed)
#
# It copies the packages and tidewatch-firstboot.sh into a "tidewatch"
# folder on the partition and hooks the script into the card's first boot:
#   - cloud-init images (a "user-data" file on the partition, Raspberry Pi OS
#     releases that use cloud-init): a runcmd entry,
#   - images customised by Raspberry Pi Imager with a "firstrun.sh": a line
#     that registers the script to run at the next boot, after the network
#     is up (firstrun.sh itself runs too early for apt).
# Running it twice changes nothing more.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FOLDER=tidewatch
# RUN_PATH is where the script is seen on the running Pi: Raspberry Pi OS
# mounts the boot partition at /boot/firmware (Bookworm and later).
RUN_PATH=/boot/firmware/$FOLDER/tidewatch-firstboot.sh
MARK="tidewatch-firstboot"

die() {
	printf 'prepare-card.sh: %s\n' "$*" >&2
	exit 1
}

[[ $# -ge 2 ]] || die "usage: prepare-card.sh BOOT_PARTITION DEB... [--env FILE]"
boot=$1
shift
[[ -d $boot ]] || die "$boot is not a directory"
[[ -f $boot/config.txt || -f $boot/cmdline.txt ]] || die "$boot does not look like a Raspberry Pi boot partition (no config.txt or cmdline.txt)"

debs=()
env_file=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--env)
		[[ $# -ge 2 ]] || die "--env needs a file"
		env_file=$2
		shift 2
		;;
	*.deb)
		[[ -f $1 ]] || die "$1: no such file"
		debs+=("$1")
		shift
		;;
	*) die "$1: not a .deb package (or --env FILE)" ;;
	esac
done
[[ ${#debs[@]} -gt 0 ]] || die "no tidewatch-appliance .deb given"

mkdir -p "$boot/$FOLDER"
cp -- "${debs[@]}" "$boot/$FOLDER/"
cp -- "$HERE/tidewatch-firstboot.sh" "$boot/$FOLDER/"
if [[ -n $env_file ]]; then
	if grep -q '^[[:space:]]*TIDEWATCH_TOKEN=' "$env_file"; then
		die "$env_file sets TIDEWATCH_TOKEN: the boot partition is readable by anyone with the card; enter the token on the setup page instead"
	fi
	cp -- "$env_file" "$boot/$FOLDER/appliance.env"
fi

if [[ -f $boot/user-data ]]; then
	if grep -q "$MARK" "$boot/user-data"; then
		echo "user-data already runs the Tidewatch first boot"
	elif grep -q '^runcmd:' "$boot/user-data"; then
		# Add our entry first in the existing list, indented like its items.
		indent=$(sed -n '/^runcmd:/{n;s/^\([[:space:]]*\)-.*/\1/p;q}' "$boot/user-data")
		awk -v item="${indent}- [bash, $RUN_PATH]" '{ print } /^runcmd:/ { print item }' \
			"$boot/user-data" >"$boot/user-data.tidewatch" && mv "$boot/user-data.tidewatch" "$boot/user-data"
		echo "added the Tidewatch first boot to user-data's runcmd"
	else
		printf '\n# Installs the Tidewatch appliance from the %s folder.\nruncmd:\n  - [bash, %s]\n' \
			"$FOLDER" "$RUN_PATH" >>"$boot/user-data"
		echo "added a runcmd with the Tidewatch first boot to user-data"
	fi
elif [[ -f $boot/firstrun.sh ]]; then
	if grep -q "$MARK" "$boot/firstrun.sh"; then
		echo "firstrun.sh already registers the Tidewatch first boot"
	else
		# Before firstrun.sh deletes itself (its own path, whatever the
		# mount point: Imager's script ends with "rm -f .../firstrun.sh").
		line="bash \"\$(dirname \"\$0\")/$FOLDER/tidewatch-firstboot.sh\" --defer || true"
		if grep -q '^rm -f .*firstrun\.sh' "$boot/firstrun.sh"; then
			awk -v line="$line" '/^rm -f .*firstrun\.sh/ && !done { print line; done = 1 } { print }' \
				"$boot/firstrun.sh" >"$boot/firstrun.sh.tidewatch"
		else
			awk -v line="$line" '/^exit 0/ && !done { print line; done = 1 } { print } END { if (!done) print line }' \
				"$boot/firstrun.sh" >"$boot/firstrun.sh.tidewatch"
		fi
		mv "$boot/firstrun.sh.tidewatch" "$boot/firstrun.sh"
		echo "added the Tidewatch first boot to Imager's firstrun.sh"
	fi
else
	die "neither user-data (cloud-init) nor firstrun.sh (Imager) found on $boot: flash the card with Raspberry Pi Imager and its OS customisation (user, Wi-Fi, SSH), then run this again"
fi

echo "ready: put the card in the Pi; the setup page's address appears on its console and in its journal"
