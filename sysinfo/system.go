package sysinfo

import (
	"context"
	"runtime"
	"strings"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/sensors"
)

// Names of the system figures, used in log messages.
const (
	figureMemory      = "memory"
	figureLoad        = "load"
	figureTemperature = "temperature"
	figureDisk        = "disk"
	figureUptime      = "uptime"
)

// cpuSensorHints are substrings of the sensor keys gopsutil reports for the
// CPU, most specific first: the Raspberry Pi's thermal zone ("cpu-thermal",
// hwmon "cpu_thermal"), Intel's package sensor, AMD's, and the ACPI zone
// many mini PCs expose.
var cpuSensorHints = []string{"cpu", "soc", "x86_pkg_temp", "coretemp_package", "k10temp", "coretemp", "acpitz"}

// machineCPUs returns the number of logical CPUs of the machine, falling
// back to the ones this process may use.
func machineCPUs(ctx context.Context) int {
	n, err := cpu.CountsWithContext(ctx, true)
	if err != nil || n <= 0 {
		return runtime.NumCPU()
	}

	return n
}

// fillSystem sets the machine-wide figures. s.mu must be held.
func (s *Sampler) fillSystem(ctx context.Context, sys *System) {
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		s.warnOnce(ctx, figureMemory, err)
	} else {
		sys.TotalMemoryMB = float64(vm.Total) / bytesPerMB
		sys.AvailableMemoryMB = float64(vm.Available) / bytesPerMB
		sys.UsedMemoryMB = float64(vm.Total-min(vm.Available, vm.Total)) / bytesPerMB
	}

	if avg, err := load.AvgWithContext(ctx); err != nil {
		s.warnOnce(ctx, figureLoad, err)
	} else {
		sys.Load1, sys.Load5, sys.Load15 = avg.Load1, avg.Load5, avg.Load15
	}

	if up, err := host.UptimeWithContext(ctx); err != nil {
		s.warnOnce(ctx, figureUptime, err)
	} else {
		sys.UptimeSeconds = up
	}

	if du, err := disk.UsageWithContext(ctx, s.dataDir); err != nil {
		s.warnOnce(ctx, figureDisk, err)
	} else {
		sys.DiskFreeMB = float64(du.Free) / bytesPerMB
	}

	sys.CPUTemperatureC = s.cpuTemperature(ctx)
}

// cpuTemperature returns the CPU temperature, or nil when there is no
// sensor.
func (s *Sampler) cpuTemperature(ctx context.Context) *float64 {
	temps, err := sensors.TemperaturesWithContext(ctx)
	// gopsutil returns the sensors it could read together with warnings
	// about the others, so an error with readings is still usable.
	if len(temps) == 0 {
		if err != nil {
			s.warnOnce(ctx, figureTemperature, err)
		} else if !s.warned[figureTemperature] {
			s.warned[figureTemperature] = true
			s.logger.InfoContext(ctx, "no temperature sensor")
		}

		return nil
	}

	t, ok := pickCPUTemperature(temps)
	if !ok {
		return nil
	}

	return &t
}

// pickCPUTemperature chooses the CPU's reading among temps: the first sensor
// matching the most specific hint, else the first plausible reading.
func pickCPUTemperature(temps []sensors.TemperatureStat) (float64, bool) {
	for _, hint := range cpuSensorHints {
		for _, t := range temps {
			if strings.Contains(strings.ToLower(t.SensorKey), hint) && plausibleTemperature(t.Temperature) {
				return t.Temperature, true
			}
		}
	}
	for _, t := range temps {
		if plausibleTemperature(t.Temperature) {
			return t.Temperature, true
		}
	}

	return 0, false
}

// plausibleTemperature rejects readings of absent or broken sensors, which
// drivers report as 0, negative or absurd values.
func plausibleTemperature(c float64) bool {
	return c > 0 && c < 150
}
