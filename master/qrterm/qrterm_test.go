package qrterm

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parse reads a rendering back into modules, the way a scanner sees it.
func parse(t *testing.T, text string, invert bool) Matrix {
	t.Helper()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var rows [][]bool
	for _, l := range lines {
		var top, bottom []bool
		for _, r := range l {
			tp, bt := false, false
			switch r {
			case '█':
				tp, bt = true, true
			case '▀':
				tp = true
			case '▄':
				bt = true
			case ' ':
			default:
				t.Fatalf("unexpected rune %q", r)
			}
			// ink is light unless inverted
			top, bottom = append(top, tp == invert), append(bottom, bt == invert)
		}
		rows = append(rows, top, bottom)
	}
	n := len(rows[0]) - 2*quietZone
	m := make(Matrix, n)
	for r := range m {
		m[r] = rows[r+quietZone][quietZone : quietZone+n]
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		content string
		size    int
		level   qrcode.RecoveryLevel
		invert  bool
	}{
		{"https://www.douyin.com/qr/abc123", 256, qrcode.Medium, false},
		{"tok-" + strings.Repeat("x", 120), 400, qrcode.High, true},
		{"short", 180, qrcode.Low, false},
	}
	for _, tt := range tests {
		t.Run(tt.content[:5], func(t *testing.T) {
			q, err := qrcode.New(tt.content, tt.level)
			require.NoError(t, err)
			png, err := q.PNG(tt.size)
			require.NoError(t, err)
			url := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
			text, err := RenderDataURL(url, tt.invert)
			require.NoError(t, err)
			// go-qrcode's bitmap includes a 4-module quiet zone.
			want := q.Bitmap()
			want = want[4 : len(want)-4]
			for i := range want {
				want[i] = want[i][4 : len(want[i])-4]
			}
			got := parse(t, text, tt.invert)
			require.Equal(t, len(want), len(got))
			for r := range want {
				assert.Equal(t, want[r], []bool(got[r]), "row %d", r)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://x/qr.png", "not a data:image URL"},
		{"data:image/png,raw", "not base64"},
		{"data:image/png;base64,!!!", "decoding base64"},
		{"data:image/png;base64,aGVsbG8=", "decoding image"},
	}
	for _, tt := range tests {
		_, err := RenderDataURL(tt.in, false)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
	}
}
