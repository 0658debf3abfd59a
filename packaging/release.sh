#!/usr/bin/env bash
# Cross-compiled release binaries, .deb packages and their smoke test.
# release.mk calls this script; it runs from any directory.
#
# Usage: packaging/release.sh COMMAND [ARGS]
#   release               every binary of every target, then SHA256SUMS
#   binary NAME OS ARCH   one binary (ARCH "arm" means GOARM=7), path on stdout
#   deb PKG DEBARCH       one package: PKG appliance|master, DEBARCH amd64|arm64|armhf
#   debs                  every package, then SHA256SUMS
#   sums                  SHA256SUMS of what dist holds
#   smoke                 run the arm64 and armv7 appliance under qemu user emulation
#   debversion            print the Debian version derived from VERSION
#
# Environment: DIST (default dist), VERSION, COMMIT, DATE (stamped into the
# binaries; defaults from git), DEB_VERSION (default derived from VERSION),
# DEB_REVISION (default 1), DEB_MAINTAINER, NFPM (the nfpm command; default
# runs the pinned version through the Go module proxy), GO (default go).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# NFPM_VERSION is the pinned nfpm release (needs no newer Go than go.mod's).
NFPM_VERSION=v2.48.0

GO=${GO:-go}
DIST=${DIST:-dist}
case "$DIST" in
/*) ;;
*) DIST=$root/$DIST ;;
esac
VERSION=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)}
DATE=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
DEB_REVISION=${DEB_REVISION:-1}
DEB_MAINTAINER=${DEB_MAINTAINER:-Tidewatch maintainers <maintainers@tidewatch.invalid>}
NFPM=${NFPM:-$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION}

# Targets of "release": every Linux target gets every command; darwin and
# windows get the master and the CLI client (the appliance is Linux-only).
LINUX_TARGETS=(linux/amd64 linux/arm64 linux/arm)
OTHER_TARGETS=(darwin/arm64 windows/amd64)
ALL_CMDS=(tidewatch-master tidewatch-appliance tidewatch)
OTHER_CMDS=(tidewatch-master tidewatch)

die() {
	printf 'release.sh: %s\n' "$*" >&2
	exit 1
}

# debversion turns a git-describe VERSION into a Debian upstream version
# that sorts like the tags: v1.2.3 → 1.2.3, v1.2.3-rc1 → 1.2.3~rc1 (before
# 1.2.3), v1.2.3-4-gabc → 1.2.3+git4.abc, an untagged abc → 0.0.0+gitabc;
# "-dirty" becomes "+dirty".
debversion() {
	local v=$1 dirty=""
	if [[ $v == *-dirty ]]; then
		v=${v%-dirty}
		dirty="+dirty"
	fi
	v=${v#v}
	local re='^([0-9]+(\.[0-9]+)*)(-([A-Za-z][0-9A-Za-z.]*))?(-([0-9]+)-g([0-9a-f]+))?$'
	if [[ $v =~ $re ]]; then
		local out=${BASH_REMATCH[1]}
		[[ -n ${BASH_REMATCH[4]} ]] && out+="~${BASH_REMATCH[4]}"
		[[ -n ${BASH_REMATCH[6]} ]] && out+="+git${BASH_REMATCH[6]}.${BASH_REMATCH[7]}"
		v=$out
	elif [[ $v =~ ^[0-9a-f]{4,40}$ ]]; then
		v="0.0.0+git$v"
	else
		# Debian allows only these characters in an upstream version
		# without epoch and revision.
		v="0.0.0+$(printf '%s' "$v" | tr -c '0-9A-Za-z.+~' '.')"
	fi
	printf '%s%s\n' "$v" "$dirty"
}

DEB_VERSION=${DEB_VERSION:-$(debversion "$VERSION")}

# binary_path prints where binary NAME for OS/ARCH goes.
binary_path() {
	local name=$1 os=$2 arch=$3 ext=""
	[[ $arch == arm ]] && arch=armv7
	[[ $os == windows ]] && ext=.exe
	printf '%s/%s-%s-%s%s\n' "$DIST" "$name" "$os" "$arch" "$ext"
}

# build_binary builds one static, stripped, stamped binary.
build_binary() {
	local name=$1 os=$2 arch=$3 out
	out=$(binary_path "$name" "$os" "$arch")
	[[ -d $root/cmd/$name ]] || die "cmd/$name does not exist"
	mkdir -p "$DIST"
	local goarm=""
	[[ $arch == arm ]] && goarm=7
	(
		cd "$root"
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=$goarm "$GO" build -trimpath \
			-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE" \
			-o "$out" "./cmd/$name"
	)
	printf '%s\n' "$out"
}

# sums writes SHA256SUMS over the binaries and packages in DIST.
sums() {
	(
		cd "$DIST"
		shopt -s nullglob
		local files=(tidewatch*-linux-* tidewatch*-darwin-* tidewatch*-windows-* tidewatch*.deb)
		((${#files[@]})) || die "nothing to sum in $DIST"
		sha256sum -- "${files[@]}" >SHA256SUMS
	)
}

# release builds every binary of every target.
release() {
	local target cmd
	for target in "${LINUX_TARGETS[@]}"; do
		for cmd in "${ALL_CMDS[@]}"; do
			build_binary "$cmd" "${target%/*}" "${target#*/}" >/dev/null
		done
	done
	for target in "${OTHER_TARGETS[@]}"; do
		for cmd in "${OTHER_CMDS[@]}"; do
			build_binary "$cmd" "${target%/*}" "${target#*/}" >/dev/null
		done
	done
	sums
}

# goarch_of maps a Debian architecture to GOARCH.
goarch_of() {
	case "$1" in
	amd64 | arm64) printf '%s\n' "$1" ;;
	armhf) printf 'arm\n' ;;
	*) die "unsupported Debian architecture $1" ;;
	esac
}

# deb builds the package of PKG (appliance or master) for DEBARCH.
deb() {
	local pkg=$1 debarch=$2 name goarch work bin
	case "$pkg" in
	appliance | master) name=tidewatch-$pkg ;;
	*) die "unknown package $pkg (want appliance or master)" ;;
	esac
	goarch=$(goarch_of "$debarch")
	bin=$(build_binary "$name" linux "$goarch")

	if [[ -z ${tmp_root:-} ]]; then
		tmp_root=$(mktemp -d)
		trap 'rm -rf "$tmp_root"' EXIT
	fi
	work=$(mktemp -d -p "$tmp_root")
	if [[ $pkg == appliance ]]; then
		# The unit is whatever the appliance itself renders, never a copy.
		(cd "$root" && "$GO" run ./packaging/cmd/genunit -o "$work/$name.service")
	fi
	# The build date, not the clock, dates the changelog and the files, so
	# the same commit and DATE give the same package.
	local epoch
	epoch=$(date -u -d "$DATE" +%s 2>/dev/null || date -u +%s)
	cat >"$work/changelog.yml" <<CHG
- semver: $DEB_VERSION-$DEB_REVISION
  date: $(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
  packager: $DEB_MAINTAINER
  deb:
    urgency: medium
    distributions: [stable]
  changes:
    - note: "Tidewatch $VERSION (commit $COMMIT)."
CHG
	local out=$DIST/${name}_${DEB_VERSION}-${DEB_REVISION}_${debarch}.deb
	rm -f "$out"
	# nfpm expands variables only in some fields, not in file sources or
	# scripts: those are relative to the work directory.
	cp "$bin" "$work/bin"
	ln -s "$here" "$work/pkg"
	(
		cd "$work"
		SOURCE_DATE_EPOCH=$epoch TW_ARCH=$debarch TW_VERSION=$DEB_VERSION TW_REVISION=$DEB_REVISION TW_MAINTAINER=$DEB_MAINTAINER \
			$NFPM package --config "$here/nfpm/$pkg.yaml" --packager deb --target "$out" >&2
	)
	printf '%s\n' "$out"
}

# debs builds every package.
debs() {
	local a
	for a in amd64 arm64 armhf; do deb appliance "$a" >/dev/null; done
	for a in amd64 arm64; do deb master "$a" >/dev/null; done
	sums
}

# qemu_for prints the qemu user emulator for a GOARCH.
qemu_for() {
	local q
	for q in "qemu-$1-static" "qemu-$1"; do
		if command -v "$q" >/dev/null; then
			printf '%s\n' "$q"
			return 0
		fi
	done
	die "qemu-$1-static not found; install it with: apt-get install qemu-user-static"
}

# smoke runs the arm64 and armv7 appliance under qemu: --version must name
# VERSION and selftest must print a JSON object.
smoke() {
	local arch qemu bin out
	for arch in arm64 arm; do
		bin=$(build_binary tidewatch-appliance linux "$arch")
		case "$arch" in
		arm64) qemu=$(qemu_for aarch64) ;;
		arm) qemu=$(qemu_for arm) ;;
		esac
		out=$("$qemu" "$bin" --version)
		[[ $out == *"$VERSION"* ]] || die "$(basename "$bin") --version printed \"$out\", want $VERSION"
		out=$("$qemu" "$bin" selftest)
		[[ $out == \{* ]] || die "$(basename "$bin") selftest printed \"$out\", want a JSON object"
		printf 'smoke ok: %s (%s)\n' "$(basename "$bin")" "$qemu"
	done
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
release) release ;;
binary)
	[[ $# -eq 3 ]] || die "usage: binary NAME OS ARCH"
	build_binary "$@"
	;;
deb)
	[[ $# -eq 2 ]] || die "usage: deb PKG DEBARCH"
	deb "$@"
	;;
debs) debs ;;
sums) sums ;;
smoke) smoke ;;
debversion) printf '%s\n' "$DEB_VERSION" ;;
*) die "usage: release.sh release|binary|deb|debs|sums|smoke|debversion (see the header)" ;;
esac
