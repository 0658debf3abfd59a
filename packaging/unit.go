// Package packaging holds Tidewatch's release engineering: the
// cross-compiled release binaries and the .deb packages (packaging/release.sh,
// driven by release.mk), their systemd units, maintainer scripts and nfpm
// configurations, and the Raspberry Pi first-boot recipe (raspberrypi/).
//
// The Go part is small: the unit configuration the appliance package ships,
// so that the package and the appliance's own "install" command render the
// same unit through ossvc.RenderUnit. The tests of this package build the
// packages and install, upgrade and purge them for real.
package packaging

import (
	"github.com/tidewatch/tidewatch/appliance/ossvc"
)

// Account is the system user and group the packaged services run as; the
// packages' postinst scripts create it.
const Account = "tidewatch"

// StateDir is the packages' data directory; the appliance uses it itself
// (ossvc.DefaultDataDir), the master a subdirectory, MasterDataDir.
const StateDir = ossvc.DefaultDataDir

// MasterDataDir is the master's data directory in packaged installs. It
// sits inside StateDir so that both packages share one tree owned by
// Account, while purging one package never deletes the other's data.
const MasterDataDir = StateDir + "/master"

// ApplianceUnitName is the file name of the appliance's systemd unit.
const ApplianceUnitName = ossvc.DefaultServiceName + ".service"

// ApplianceUnit returns the unit configuration of the appliance package:
// ossvc's default binary and data paths, run as Account.
func ApplianceUnit() *ossvc.UnitConfig {
	return &ossvc.UnitConfig{
		BinaryPath: ossvc.DefaultBinaryPath,
		DataDir:    StateDir,
		User:       Account,
		Group:      Account,
	}
}

// RenderApplianceUnit renders the unit the appliance package ships.
func RenderApplianceUnit() (string, error) {
	return ossvc.RenderUnit(ApplianceUnit())
}
