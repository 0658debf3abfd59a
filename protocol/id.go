package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// maxSafeInteger is the largest integer a JSON number survives as a float64;
// larger ids must travel as strings.
const maxSafeInteger = 1<<53 - 1

// ID is an identifier. It encodes as a JSON string and decodes from a string
// or from a small integer; an integer past 2^53 is refused because a
// float64-based decoder on the way may already have changed its digits.
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = ID(s)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// A float such as 1.5e3 or a huge integer.
		return fmt.Errorf("id: %s must be a string or an integer", b)
	}
	if n > maxSafeInteger || n < -maxSafeInteger {
		return fmt.Errorf("id: %d is past 2^53; send it as a string", n)
	}
	*id = ID(strconv.FormatInt(n, 10))
	return nil
}
