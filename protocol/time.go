package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// msThreshold separates seconds from milliseconds: 1e12 seconds is the year
// 33658, while 1e12 milliseconds is September 2001, so any value at or above
// it is read as milliseconds.
const msThreshold = 1e12

// NormalizeUnix turns a Unix timestamp in seconds or milliseconds into
// seconds. It is the one place the project decides which unit a number is in.
func NormalizeUnix(v int64) int64 {
	if v >= msThreshold || v <= -msThreshold {
		return v / 1000
	}
	return v
}

// Timestamp is a Unix time in seconds. It decodes from a JSON number or a
// numeric string in seconds or milliseconds and always encodes as seconds.
type Timestamp int64

// TimestampOf returns t as a Timestamp.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.Unix()) }

// Time returns ts as a time.Time; the zero Timestamp is the zero time.
func (ts Timestamp) Time() time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return time.Unix(int64(ts), 0)
}

// UnmarshalJSON implements json.Unmarshaler.
func (ts *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*ts = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("timestamp: %w", err)
		}
		b = []byte(s)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp: %q is not a number", b)
	}
	if f < 0 || f > 1e15 {
		return fmt.Errorf("timestamp: %v is out of range", f)
	}
	*ts = Timestamp(NormalizeUnix(int64(f)))
	return nil
}
