package api

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanJSON walks the bytes itself: strings that hold brackets, quotes or escapes must not
// confuse it, escaped names are compared decoded, and names repeat freely across objects.
func TestScanJSON(t *testing.T) {
	nest := func(n int) string { return strings.Repeat(`[`, n) + `1` + strings.Repeat(`]`, n) }
	for _, tc := range []struct {
		name, body, field string
		refused           bool
	}{
		{"plain", `{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, "", false},
		{"brackets and quotes inside strings", `{"a":"{[\"}]","b":"\\"}`, "", false},
		{"duplicate", `{"a":1,"b":2,"a":3}`, "a", true},
		{"duplicate, one name escaped", `{"type":1,"ty\u0070e":2}`, "type", true},
		{"duplicate in a nested object", `{"data":{"x":{"city":1,"city":2}}}`, "data.x.city", true},
		{"duplicate in an object in an array", `{"lines":[{"id":1,"id":2}]}`, "lines.id", true},
		{"a value equal to a key is no key", `{"a":"b","b":"a"}`, "", false},
		{"32 levels", nest(32), "", false},
		{"33 levels", nest(33), "", true},
		{"syntax errors are the decoder's", `{"a":1,"a`, "", false},
		{"many members", many(40, ""), "", false},
		{"many members, the last twice", many(40, `,"m3":0`), "data.m3", true},
		{"many members, one escaped twice", many(40, `,"m\u0033":0`), "data.m3", true},
		{"names free again after an object closes", `{"a":{"b":1,"c":{"b":2}},"b":{"a":1},"c":[{"b":1},{"b":1}]}`, "", false},
		{"path past an array", `{"x":[[{"y":{"z":1,"z":2}}]]}`, "x.y.z", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := scanJSON([]byte(tc.body))
			if !tc.refused {
				assert.NoError(t, err)
				return
			}
			var e *Error
			if assert.ErrorAs(t, err, &e) {
				assert.Equal(t, tc.field, e.Field)
			}
		})
	}
}

func many(n int, tail string) string {
	var b strings.Builder
	b.WriteString(`{"data":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"m` + strconv.Itoa(i) + `":{"a":1,"b":2}`)
	}
	return b.String() + tail + `}}`
}

// A body of the contract's shape is scanned without allocating (issue 14).
func TestScanJSONAllocatesNothing(t *testing.T) {
	body := []byte(`{"document_id":"0b6a9b8e-58c4-4f06-8a55-3d0f0b5e8c21","event_id":"5a1e3d3c-1f59-4c8e-9a77-3f1c2b7a0d11",` +
		`"type":"DeliveryRequested","occurred_at":"2026-03-26T05:10:00Z","actor":{"org":"kaspi","unit":"U-1","employee_id":"E-1"},` +
		`"data":{"service_code":"X","recipient":{"iin":"950107000000","phone":"+77000000000","name":"A"},"lines":[{"id":1},{"id":2}]}}`)
	require.NoError(t, scanJSON(body))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = scanJSON(body) }))
}

// exactNames skips its walk only when no member name can fold onto another: every name plain
// ASCII lower case, in the body and in the type.
func TestExactNamesShortcut(t *testing.T) {
	for body, plain := range map[string]bool{
		`{"type":"TYPE","data":{"city":"X"}}`: true, // values may be anything
		`{"TYPE":1}`:                          false,
		`{"ty\u0070e":1}`:                     false, // an escape could spell a capital
		"{\"\u212aey\":1}":                    false, // the Kelvin sign folds onto k
		`{"a" : {"b":1}}`:                     true,
	} {
		assert.Equal(t, plain, plainNames([]byte(body)), body)
	}
	type inner struct {
		City string `json:"city"`
	}
	type lower struct {
		Data inner `json:"data"`
	}
	type untagged struct{ Data inner }
	assert.True(t, lowerNames(reflect.TypeOf(lower{})))
	assert.False(t, lowerNames(reflect.TypeOf(untagged{})), "Go's own field name has a capital")
	err := exactNames("", []byte("{\"\u212aity\":1}"), reflect.TypeOf(struct {
		Kity string `json:"kity"`
	}{}))
	assert.Error(t, err, "the Kelvin sign takes the full walk, which refuses it")
}

// decode takes exactly one JSON value: white space may follow it, nothing else.
func TestDecodeOneValue(t *testing.T) {
	type body struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"one value", `{"a":1}`, true},
		{"trailing white space", "{\"a\":1} \t\r\n ", true},
		{"leading white space", " \n{\"a\":1}", true},
		{"a second object", `{"a":1}{"a":2}`, false},
		{"a second value after space", `{"a":1} 2`, false},
		{"trailing garbage", `{"a":1} x`, false},
		{"trailing comma", `{"a":1},`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			var v body
			err := decode(r, &v)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, 1, v.A)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "the body holds more than one JSON value", e.Detail)
		})
	}
}
