package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/query"
)

// pages holds each page's template: the layout with the page's "content".
type pages struct{ t map[string]*template.Template }

var funcs = template.FuncMap{
	"t":      func(l lang, key string) string { return tr(l, key) },
	"tk":     func(l lang, prefix string, key any) string { return tr(l, prefix+"."+fmt.Sprint(key)) },
	"te":     eventLabel,
	"span":   spanOf,
	"term":   allowedSpan,
	"tm":     fmtTime,
	"tp":     tpOr,
	"holder": holderLabel,
	"hp":     hpOr,
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
	"q":   link,
	"dur": fmtDuration,
	"add": func(a, b int) int { return a + b },
	"text": func(l lang, n query.Notification) string {
		if l == kk && n.Text.KK != "" {
			return n.Text.KK
		}
		return n.Text.RU
	},
	"uuids": func(ids []uuid.UUID) string {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = id.String()
		}
		return strings.Join(s, ", ")
	},
}

func loadPages() (*pages, error) {
	layout, err := fs.ReadFile(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		body, err := fs.ReadFile(assets, n)
		if err != nil {
			return nil, err
		}
		parts, err := fs.ReadFile(assets, "templates/parts.html")
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(parts))
		}
		if err == nil {
			_, err = t.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// pageData is what every page's template gets.
type pageData struct {
	L      lang
	V      viewer
	Page   string // the page's name, for the menu
	Title  string
	Path   string // the request's path and query, for the language switch
	Signed bool
	D      any
}

// render writes a page; a template error is a 500 with nothing half-written.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, l lang, v viewer, d any) {
	t, ok := c.pages.t[name]
	if !ok {
		c.log.Error("console: no template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	pd := pageData{L: l, V: v, Page: name, Path: r.URL.RequestURI(), Signed: v.Key.ID != "", D: d}
	if err := t.Execute(&buf, pd); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errNotFound and errMalformed are the console's own page errors.
var (
	errNotFound  = errors.New("console: not found")
	errMalformed = errors.New("console: malformed request")
)

// fail answers an error with a page in the user's language; internals stay in the log.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, l lang, err error) {
	status, msg := http.StatusServiceUnavailable, "error.unavailable"
	switch {
	case errors.Is(err, errForbidden):
		status, msg = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, errNotFound), errors.Is(err, query.ErrNotFound), errors.Is(err, eventstore.ErrNotFound):
		status, msg = http.StatusNotFound, "error.notfound"
	case errors.Is(err, errMalformed), errors.Is(err, query.ErrMalformed):
		status, msg = http.StatusBadRequest, "error.malformed"
	default:
		c.log.Error("console: page failed", "path", r.URL.Path, "err", err)
	}
	v := viewerOf(r.Context())
	v.Lang = l
	c.render(w, r, status, "error", l, v, msg)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(domain.Almaty).Format("02.01.2006 15:04")
}

func tpOr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func hpOr(h *domain.Holder) string {
	if h == nil {
		return "—"
	}
	return holderLabel(*h)
}

func holderLabel(h domain.Holder) string {
	parts := []string{string(h.Org)}
	if h.Unit != "" {
		parts = append(parts, h.Unit)
	}
	if h.EmployeeID != "" {
		parts = append(parts, h.EmployeeID)
	}
	return strings.Join(parts, " · ")
}

// fmtDuration shows a duration in days and hours (Go's "26h30m0s" is for machines).
func fmtDuration(l lang, d time.Duration) string {
	if d < 0 {
		d = -d
	}
	u := [3]string{"д", "ч", "мин"}
	if l == kk {
		u = [3]string{"к", "сағ", "мин"}
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%d %s %d %s", days, u[0], hours, u[1])
	case hours > 0:
		return fmt.Sprintf("%d %s %d %s", hours, u[1], mins, u[2])
	}
	return fmt.Sprintf("%d %s", mins, u[2])
}

// link builds a console URL from a path and key/value pairs; empty values are left out.
func link(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// eventLabel is an event type's label, or "" for a type without one (the code is shown anyway).
func eventLabel(l lang, t string) string {
	if _, ok := messages["event."+t]; !ok {
		return ""
	}
	return tr(l, "event."+t)
}
