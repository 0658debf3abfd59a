// Package qrterm prints a QR code image in a terminal. The platform's login
// page hands out its QR as a PNG; a person running the CLI on a server scans
// it from the terminal with the platform's app.
package qrterm

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // decoders for data URLs of these types
	_ "image/jpeg" // (the standard library registers them in init)
	_ "image/png"
	"strings"
)

// quietZone is the margin, in modules, around the code; scanners need it.
const quietZone = 2

// Matrix is a QR code as modules: true is dark.
type Matrix [][]bool

// DecodeDataURL reads a data:image/…;base64 URL into an image.
func DecodeDataURL(u string) (image.Image, error) {
	rest, ok := strings.CutPrefix(u, "data:image/")
	if !ok {
		return nil, errors.New("not a data:image URL")
	}
	_, b64, ok := strings.Cut(rest, ";base64,")
	if !ok {
		return nil, errors.New("data URL is not base64")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("decoding base64: %w", err)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decoding image: %w", err)
	}
	return img, nil
}

// dark reports whether a pixel is a dark module.
func dark(c color.Color) bool {
	g := color.GrayModel.Convert(c).(color.Gray)
	_, _, _, a := c.RGBA()
	return a > 0x8000 && g.Y < 128
}

// Sample turns a rendered QR image into its module matrix: it finds the
// code's bounds, measures a module from the top-left finder pattern (seven
// modules wide) and samples each module's centre.
func Sample(img image.Image) (Matrix, error) {
	b := img.Bounds()
	minX, minY, maxX, maxY := b.Max.X, b.Max.Y, b.Min.X-1, b.Min.Y-1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(img.At(x, y)) {
				minX, minY = min(minX, x), min(minY, y)
				maxX, maxY = max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX < minX {
		return nil, errors.New("image has no dark pixels")
	}
	run := 0
	for x := minX; x <= maxX && dark(img.At(x, minY)); x++ {
		run++
	}
	module := float64(run) / 7
	if module < 1 {
		return nil, errors.New("image does not start with a finder pattern")
	}
	n := int(float64(maxX-minX+1)/module + 0.5)
	if n < 21 || n > 177 {
		return nil, fmt.Errorf("image is %d modules wide; a QR code is 21 to 177", n)
	}
	m := make(Matrix, n)
	for r := range m {
		m[r] = make([]bool, n)
		for c := range m[r] {
			x := minX + int((float64(c)+0.5)*module)
			y := minY + int((float64(r)+0.5)*module)
			m[r][c] = dark(img.At(x, y))
		}
	}
	return m, nil
}

// Render draws the matrix with Unicode half blocks, two module rows per text
// row, with a quiet zone. Terminals are usually dark, so by default light
// modules are drawn as blocks; invert draws dark modules as blocks instead.
func Render(m Matrix, invert bool) string {
	n := len(m) + 2*quietZone
	at := func(r, c int) bool { // true: draw ink here
		r, c = r-quietZone, c-quietZone
		isDark := r >= 0 && c >= 0 && r < len(m) && c < len(m) && m[r][c]
		return isDark == invert
	}
	var sb strings.Builder
	for r := 0; r < n; r += 2 {
		for c := range n {
			top, bottom := at(r, c), r+1 < n && at(r+1, c)
			if r+1 >= n {
				bottom = !invert // the row past the edge is quiet zone
			}
			switch {
			case top && bottom:
				sb.WriteString("█")
			case top:
				sb.WriteString("▀")
			case bottom:
				sb.WriteString("▄")
			default:
				sb.WriteString(" ")
			}
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// RenderDataURL samples a QR data URL and renders it for a terminal.
func RenderDataURL(u string, invert bool) (string, error) {
	img, err := DecodeDataURL(u)
	if err != nil {
		return "", err
	}
	m, err := Sample(img)
	if err != nil {
		return "", err
	}
	return Render(m, invert), nil
}
