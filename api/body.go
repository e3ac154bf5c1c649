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
	first   int                 // where the object's members start in scanJSON's members
	set     map[string]struct{} // the names, once an object has more than linearNames
	in      member              // the member whose value this frame is (its parent an object)
}

// member is a member name as it appears in the body: raw, between its quotes.
type member struct {
	raw     []byte
	escaped bool
}

// name is the member's name decoded.
func (m member) name() string {
	if !m.escaped {
		return string(m.raw)
	}
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, m.raw...), '"'), &s); err != nil {
		return string(m.raw)
	}
	return s
}

func (m member) same(o member) bool {
	if !m.escaped && !o.escaped {
		return bytes.Equal(m.raw, o.raw)
	}
	return m.name() == o.name()
}

// linearNames: up to this many members an object's names are compared one by one (no
// allocation); past it they go into a map, so a body of many members stays linear.
const linearNames = 16

// scanJSON refuses nesting deeper than maxDepth and a member given twice in one object
// (encoding/json would keep the last silently: two readers could see two requests). A syntax
// error is left to the decoder, which names it. It walks the bytes itself rather than
// json.Decoder.Token, which allocates for every token, and keeps names as slices of the body
// and paths unbuilt until an error needs them (issue 14: most of a write request's
// allocations).
func scanJSON(b []byte) error {
	var (
		stackBuf   [maxDepth]frame
		membersBuf [64]member
		stack      = stackBuf[:0]
		members    = membersBuf[:0] // the names of the open objects, innermost last
		next       member           // the last name read: the member whose value comes next
	)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return malformed("", fmt.Sprintf("the body nests deeper than %d levels", maxDepth))
			}
			f := frame{object: c == '{', wantKey: c == '{', first: len(members)}
			if n := len(stack); n > 0 && stack[n-1].object {
				f.in = next
			}
			stack = append(stack, f)
		case '}', ']':
			n := len(stack)
			if n == 0 {
				return nil // the decoder reports it
			}
			members = members[:stack[n-1].first]
			stack = stack[:n-1]
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
				m := member{raw: b[i+1 : end], escaped: bytes.IndexByte(b[i+1:end], '\\') >= 0}
				if dup(top, members[top.first:], m) {
					f := join(pathOf(stack), safeName(m.name()))
					return malformed(f, fmt.Sprintf("member %s is given twice", f))
				}
				members = append(members, m)
				top.wantKey, next = false, m
			}
			i = end
		}
	}
	return nil
}

// dup reports whether m names a member the object top already has (its members so far).
func dup(top *frame, members []member, m member) bool {
	if top.set == nil && len(members) < linearNames {
		for _, o := range members {
			if o.same(m) {
				return true
			}
		}
		return false
	}
	if top.set == nil {
		top.set = make(map[string]struct{}, 2*linearNames)
		for _, o := range members {
			top.set[o.name()] = struct{}{}
		}
	}
	name := m.name()
	if _, ok := top.set[name]; ok {
		return true
	}
	top.set[name] = struct{}{}
	return false
}

// pathOf names where the innermost open frame is, for error messages: its members' names
// from the outermost down (array elements add nothing).
func pathOf(stack []frame) string {
	path := ""
	for i := 1; i < len(stack); i++ {
		if stack[i-1].object {
			path = join(path, safeName(stack[i].in.name()))
		}
	}
	return path
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
