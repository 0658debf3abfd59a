package browser

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithDefaultsMergesMemoryFlags(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]any
		want  map[string]any
	}{
		{"defaults", nil, DefaultMemoryFlags()},
		{
			"extra wins and adds",
			map[string]any{"js-flags": "--optimize-for-size", "mute-audio": true},
			map[string]any{"disable-gpu-compositing": true, "disable-software-rasterizer": true, "js-flags": "--optimize-for-size", "mute-audio": true},
		},
		{
			"false removes a default",
			map[string]any{"disable-gpu-compositing": false},
			map[string]any{"disable-gpu-compositing": false, "disable-software-rasterizer": true, "js-flags": DefaultMemoryFlags()["js-flags"]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before map[string]any
			if tt.extra != nil {
				before = map[string]any{}
				for k, v := range tt.extra {
					before[k] = v
				}
			}
			c := Config{ExtraFlags: tt.extra}
			got := c.withDefaults()
			assert.Equal(t, tt.want, got.ExtraFlags)
			assert.Equal(t, before, c.ExtraFlags, "the caller's map is not changed")
		})
	}
}
