package api

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// maxOffset is the widest UTC offset in use (Kiribati, +14:00; the other side reaches -12:00):
// anything wider, +24:00 included, is a typo, not a place.
const maxOffset = 14 * time.Hour

// parseTime is the API's one RFC 3339 parser: every time of a request (occurred_at, as_of,
// force-majeure periods, liability bounds) goes through it, and the times inside an event's
// data through checkTime. "" is the zero time unless required.
func parseTime(field, s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, malformed(field, field+" is required (RFC 3339 with offset)")
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, malformed(field, field+" must be an RFC 3339 time with offset, e.g. 2026-03-16T09:00:00+05:00")
	}
	return t, checkTime(field, t)
}

// checkTime refuses what time.Parse lets through but no answer can carry: an offset beyond
// ±14:00, and a moment whose year in UTC or in Almaty leaves 0001–9999 (RFC 3339's range),
// which encoding/json then cannot write (the feed's 500 of issue 10 §2).
func checkTime(field string, t time.Time) error {
	if _, off := t.Zone(); time.Duration(off)*time.Second > maxOffset || time.Duration(-off)*time.Second > maxOffset {
		return malformed(field, field+": the UTC offset must lie within ±14:00")
	}
	for _, y := range []int{t.UTC().Year(), almaty(t).Year()} {
		if y < 1 || y > 9999 {
			return malformed(field, field+": the moment lies outside the years 0001–9999")
		}
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// payloadTimes checks every time of a decoded payload with checkTime, naming it by its JSON
// path (data.new_date). The paths are built only when a time fails: a valid payload is
// walked without allocating (issue 14).
func payloadTimes(path string, v reflect.Value) error {
	if walkTimes("", v, false) == nil {
		return nil
	}
	return walkTimes(path, v, true)
}

// walkTimes is payloadTimes's walk; named says whether to build the paths.
func walkTimes(path string, v reflect.Value, named bool) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkTimes(path, v.Elem(), named)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			p := path
			if named {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if err := walkTimes(p, v.Index(i), named); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if v.Type() == timeType {
			var t time.Time
			if v.CanAddr() {
				t = *v.Addr().Interface().(*time.Time) // a pointer in the interface: no copy on the heap
			} else {
				t = v.Interface().(time.Time)
			}
			if t.IsZero() {
				return nil
			}
			return checkTime(path, t)
		}
		for _, f := range timeFieldsOf(v.Type()) {
			p := path
			if named && f.name != "" {
				p = path + "." + f.name
			}
			if err := walkTimes(p, v.Field(f.index), named); err != nil {
				return err
			}
		}
	}
	return nil
}

// timeField is a struct field walkTimes enters: its index and its JSON name ("" for an
// embedded struct, whose fields are its parent's).
type timeField struct {
	index int
	name  string
}

var timeFields sync.Map // reflect.Type → []timeField

func timeFieldsOf(t reflect.Type) []timeField {
	if fs, ok := timeFields.Load(t); ok {
		return fs.([]timeField)
	}
	var fs []timeField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case name != "":
		case !f.Anonymous:
			name = f.Name
		}
		fs = append(fs, timeField{index: i, name: name})
	}
	timeFields.Store(t, fs)
	return fs
}
