//go:build !linux

package browser

import "time"

// profileProcesses is not implemented outside Linux: memory figures are
// then unavailable and leftovers are left to Chromium.
func profileProcesses(string) []int { return nil }

// processUsage is not implemented outside Linux.
func processUsage(int) (int64, time.Duration, bool) { return 0, 0, false }

// killProfileProcesses is not implemented outside Linux.
func killProfileProcesses(string) int { return 0 }
