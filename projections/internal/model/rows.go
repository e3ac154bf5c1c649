package model

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Row is one row's values in column order: int64 or string.
type Row []any

// Key is the row's primary key as one string.
func (t *Table) Key(r Row) string {
	if t.PK == 1 {
		return keyPart(r[0])
	}
	parts := make([]string, t.PK)
	for i := range parts {
		parts[i] = keyPart(r[i])
	}
	return strings.Join(parts, "\x00")
}

func keyPart(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	panic("model: row value of unsupported type")
}

// Equal reports whether two rows hold the same values.
func (r Row) Equal(o Row) bool {
	if len(r) != len(o) {
		return false
	}
	for i := range r {
		if r[i] != o[i] {
			return false
		}
	}
	return true
}

// Rows is the set of rows a stream owns, by table and key.
type Rows map[*Table]map[string]Row

// Add puts a row in the set.
func (rs Rows) Add(t *Table, r Row) {
	if len(r) != len(t.Cols) {
		panic("model: row of " + t.Base + " has the wrong width")
	}
	m := rs[t]
	if m == nil {
		m = map[string]Row{}
		rs[t] = m
	}
	m[t.Key(r)] = r
}

// Count returns how many rows the set holds.
func (rs Rows) Count() int {
	n := 0
	for _, m := range rs {
		n += len(m)
	}
	return n
}

// Change is what to write for one row: Row to upsert, or Delete (Row then holds at least the
// key columns). Insert marks an upsert of a key the rows diffed against did not have: when
// those are exactly what the table holds, the row is new there and may be inserted without a
// conflict check.
type Change struct {
	Table  *Table
	Key    string
	Row    Row
	Delete bool
	Insert bool
}

// Diff lists the changes that turn before into after: upserts of new and changed rows and
// deletions of rows that disappeared.
func Diff(before, after Rows, emit func(Change)) {
	for t, am := range after {
		bm := before[t]
		for k, r := range am {
			b, ok := bm[k]
			if ok && b.Equal(r) {
				continue
			}
			emit(Change{Table: t, Key: k, Row: r, Insert: !ok})
		}
	}
	for t, bm := range before {
		am := after[t]
		for k, r := range bm {
			if _, ok := am[k]; !ok {
				emit(Change{Table: t, Key: k, Row: r, Delete: true})
			}
		}
	}
}

// Micros stores a time: Unix microseconds, 0 for the zero time.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Time reads a stored time back, in Asia/Almaty; 0 gives the zero time.
func Time(us int64, loc *time.Location) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).In(loc)
}

// JSON encodes v for a text column. Go's encoder is deterministic (struct order, sorted map
// keys), which the byte-for-byte rebuild comparison relies on.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("model: encode " + err.Error()) // only our own types are encoded
	}
	return string(b)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
