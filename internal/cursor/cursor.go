// Package cursor is the one format of the API's opaque page cursors and its one limit rule.
// A cursor is the last row's sort key, JSON-encoded and base64url'd: clients cannot read
// meaning into it, and every list (streams, the feed, the read models) continues the same way.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
)

// Page sizes: a list answers DefaultLimit items unless asked for 1–MaxLimit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

var (
	// ErrMalformed is a cursor this server did not give.
	ErrMalformed = errors.New("cursor is not one this server gave")
	// ErrLimit is a limit outside 1–MaxLimit or not a whole number.
	ErrLimit = errors.New("limit must be a whole number from 1 to 1000")
)

// Encode makes a cursor of a sort key's values.
func Encode(vals ...any) string {
	b, _ := json.Marshal(vals) // strings and numbers only: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode fills dest (pointers) from a cursor; "" is no cursor (false). A cursor with another
// number of values or types than dest is ErrMalformed.
func Decode(c string, dest ...any) (bool, error) {
	if c == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return false, ErrMalformed
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != len(dest) {
		return false, ErrMalformed
	}
	for i, d := range dest {
		if err := json.Unmarshal(raw[i], d); err != nil {
			return false, ErrMalformed
		}
	}
	return true, nil
}

// Limit reads a limit parameter: "" is DefaultLimit, 1–MaxLimit is itself, anything else is
// ErrLimit (never silently capped, so a client learns its pages are smaller than it asked).
func Limit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, ErrLimit
	}
	return n, nil
}

// Or returns n if it is a valid limit, else DefaultLimit (callers inside the process).
func Or(n int) int {
	if n < 1 || n > MaxLimit {
		return DefaultLimit
	}
	return n
}
