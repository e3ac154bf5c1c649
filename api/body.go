package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
)

// maxDepth bounds the nesting of a request body: the deepest body of the contract is 4 levels
// (data.recipient.iin); a deeper one is an attack on the decoder, not a request.
const maxDepth = 32

// mediaType refuses a body that is not application/json, and any Content-Encoding: the API
// reads plain JSON only, so a compressed or form body is refused before it is read.
func mediaType(r *http.Request) error {
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
			Detail: "request bodies are not accepted with a Content-Encoding; send plain JSON"}
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
			Detail: "the request body must be Content-Type: application/json (UTF-8)"}
	}
	return nil
}

// readBody reads the whole body (bounded by the route's MaxBytesReader).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, malformed("", "a JSON request body is required")
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, malformed("", "the request body could not be read")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, malformed("", "a JSON request body is required")
	}
	return b, nil
}

// frame is an open object or array while scanning.
type frame struct {
	object  bool
	wantKey bool
	keys    map[string]struct{}
	path    string // where the frame is, for error messages
	key     string // the member whose value comes next (objects)
}

// scanJSON refuses nesting deeper than maxDepth and a member given twice in one object
// (encoding/json would keep the last silently: two readers could see two requests). A syntax
// error is left to the decoder, which names it. It walks the bytes itself rather than
// json.Decoder.Token, which allocates for every token (issue 14: most of a write request's
// allocations).
func scanJSON(b []byte) error {
	var stack []frame
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return malformed("", fmt.Sprintf("the body nests deeper than %d levels", maxDepth))
			}
			path := ""
			if n := len(stack); n > 0 {
				top := &stack[n-1]
				path = top.path
				if top.object {
					path = join(top.path, safeName(top.key))
				}
			}
			stack = append(stack, frame{object: c == '{', wantKey: c == '{', path: path})
		case '}', ']':
			if len(stack) == 0 {
				return nil // the decoder reports it
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		case '"':
			end := stringEnd(b, i)
			if end < 0 {
				return nil
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				top := &stack[n-1]
				name := string(b[i+1 : end])
				if bytes.IndexByte(b[i+1:end], '\\') >= 0 {
					if err := json.Unmarshal(b[i:end+1], &name); err != nil {
						return nil
					}
				}
				if _, dup := top.keys[name]; dup {
					f := join(top.path, safeName(name))
					return malformed(f, fmt.Sprintf("member %s is given twice", f))
				}
				if top.keys == nil {
					top.keys = map[string]struct{}{}
				}
				top.keys[name], top.wantKey, top.key = struct{}{}, false, name
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string that opens at b[start], or -1.
func stringEnd(b []byte, start int) int {
	for j := start + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// safeName is a member's name fit for an error message: a name that is not a plain
// identifier could be personal data sent as a key.
func safeName(s string) string {
	if len(s) > 64 || !reFieldName.MatchString(s) {
		return "(a member)"
	}
	return s
}

var (
	jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// exactNames refuses a member whose name matches a field of t only when case is ignored
// (encoding/json's default: "TYPE" would be read as "type"). The contract's names are exact.
func exactNames(prefix string, b []byte, t reflect.Type) error {
	if plainNames(b) && lowerNames(t) {
		return nil // a lower-case ASCII name matches another only if it is that name
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil // the decoder reports it
	}
	return walkNames(prefix, v, t)
}

func walkNames(path string, v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil // decodes itself (times, ids, raw data)
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for k, sub := range obj {
			ft, exact := fields[k]
			if !exact {
				for name := range fields {
					if strings.EqualFold(name, k) {
						f := join(path, safeName(k))
						return malformed(f, fmt.Sprintf("unknown field %s (member names are case-sensitive)", f))
					}
				}
				continue
			}
			if err := walkNames(join(path, k), sub, ft); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for i, sub := range arr {
			if err := walkNames(fmt.Sprintf("%s[%d]", path, i), sub, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for k, sub := range obj {
			if err := walkNames(join(path, safeName(k)), sub, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// plainNames reports whether every member name in b is ASCII without capitals or escapes.
// b is valid JSON (the decoder has read it): a member name is a string followed by ':'.
func plainNames(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		end := stringEnd(b, i)
		if end < 0 {
			return false
		}
		j := end + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j++
		}
		if j < len(b) && b[j] == ':' {
			for _, c := range b[i+1 : end] {
				if c >= 0x80 || c == '\\' || ('A' <= c && c <= 'Z') {
					return false
				}
			}
		}
		i = end
	}
	return true
}

// lowerOf caches lowerNames per type.
var lowerOf sync.Map // reflect.Type → bool

// lowerNames reports whether every member name walkNames would check in t is ASCII without
// capitals.
func lowerNames(t reflect.Type) bool {
	if v, ok := lowerOf.Load(t); ok {
		return v.(bool)
	}
	ok := lowerWalk(t, map[reflect.Type]bool{})
	lowerOf.Store(t, ok)
	return ok
}

func lowerWalk(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if seen[t] || t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Struct:
		for name, ft := range jsonFields(t) {
			for _, c := range []byte(name) {
				if c >= 0x80 || ('A' <= c && c <= 'Z') {
					return false
				}
			}
			if !lowerWalk(ft, seen) {
				return false
			}
		}
	case reflect.Slice, reflect.Array, reflect.Map:
		return lowerWalk(t.Elem(), seen)
	case reflect.Interface:
		return false // not known here: take the full walk
	}
	return true
}

// fieldsOf caches jsonFields per type: every request of a route asks for the same ones.
var fieldsOf sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps a struct's JSON member names to their types, embedded structs included.
// The map is shared: callers must not change it.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsOf.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	defer func() { fieldsOf.Store(t, out) }()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if name == "" && f.Anonymous {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
