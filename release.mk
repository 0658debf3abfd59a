# Release targets of Tidewatch: cross-compiled binaries, .deb packages and
# their qemu smoke test. The Makefile includes this file; it also works on
# its own as "make -f release.mk TARGET". The work is done by
# packaging/release.sh (see its header); this file passes the settings on.
#
#   make release        every binary (linux amd64/arm64/armv7 for all three
#                       commands, darwin/arm64 and windows/amd64 for the
#                       master and the CLI) into $(DIST), with SHA256SUMS
#   make deb            the .deb packages (appliance amd64/arm64/armhf,
#                       master amd64/arm64) into $(DIST), with SHA256SUMS
#   make deb-amd64      only the two amd64 packages (quick local check)
#   make release-smoke  run the arm64 and armv7 appliance under qemu

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
DIST    ?= dist

# DEB_VERSION, DEB_REVISION and DEB_MAINTAINER may be set on the command
# line; release.sh derives the version from VERSION otherwise.
TW_RELEASE_ENV := DIST='$(DIST)' VERSION='$(VERSION)' COMMIT='$(COMMIT)' DATE='$(DATE)' \
	$(if $(DEB_VERSION),DEB_VERSION='$(DEB_VERSION)') \
	$(if $(DEB_REVISION),DEB_REVISION='$(DEB_REVISION)') \
	$(if $(DEB_MAINTAINER),DEB_MAINTAINER='$(DEB_MAINTAINER)')
TW_RELEASE := $(TW_RELEASE_ENV) bash packaging/release.sh

.PHONY: release deb deb-amd64 release-smoke

release:
	$(TW_RELEASE) release

deb:
	$(TW_RELEASE) debs

deb-amd64:
	$(TW_RELEASE) deb appliance amd64
	$(TW_RELEASE) deb master amd64
	$(TW_RELEASE) sums

release-smoke:
	$(TW_RELEASE) smoke
