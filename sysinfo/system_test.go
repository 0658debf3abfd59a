package sysinfo

import (
	"testing"

	"github.com/shirou/gopsutil/v4/sensors"
	"github.com/stretchr/testify/assert"
)

func TestPickCPUTemperature(t *testing.T) {
	testCases := []struct {
		name   string
		temps  []sensors.TemperatureStat
		want   float64
		wantOK bool
	}{{
		name: "raspberry pi zone",
		temps: []sensors.TemperatureStat{
			{SensorKey: "nvme_composite", Temperature: 38},
			{SensorKey: "cpu-thermal", Temperature: 51.5},
		},
		want:   51.5,
		wantOK: true,
	}, {
		name: "intel package",
		temps: []sensors.TemperatureStat{
			{SensorKey: "acpitz", Temperature: 27.8},
			{SensorKey: "coretemp_package_id_0", Temperature: 45},
		},
		want:   45,
		wantOK: true,
	}, {
		name:   "unknown sensor used as is",
		temps:  []sensors.TemperatureStat{{SensorKey: "board", Temperature: 33}},
		want:   33,
		wantOK: true,
	}, {
		name:   "broken readings",
		temps:  []sensors.TemperatureStat{{SensorKey: "cpu_thermal", Temperature: -273}, {SensorKey: "x", Temperature: 0}},
		wantOK: false,
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := pickCPUTemperature(tc.temps)
			assert.Equal(t, tc.wantOK, ok)
			assert.InDelta(t, tc.want, got, 1e-9)
		})
	}
}
