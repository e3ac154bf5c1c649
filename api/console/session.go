package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custody-ledger/custody/api/keys"
)

const (
	sessionCookie = "custody_session"
	langCookie    = "custody_lang"
)

// secure says whether cookies get the Secure flag: the request came over TLS, or the console
// is configured to sit behind a TLS-terminating proxy.
func (c *Console) secure(r *http.Request) bool { return r.TLS != nil || c.cfg.SecureCookies }

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.secure(r)}
	if expires.IsZero() {
		ck.MaxAge = -1
	} else {
		ck.Expires, ck.MaxAge = expires, max(1, int(expires.Sub(c.now()).Seconds()))
	}
	http.SetCookie(w, ck)
}

// viewer is who is looking at a page.
type viewer struct {
	Key   keys.Key
	Scope scope
	Lang  lang
}

type viewerKey struct{}

func viewerOf(ctx context.Context) viewer {
	v, _ := ctx.Value(viewerKey{}).(viewer)
	return v
}

var errNoSession = errors.New("console: not signed in")

// signedIn wraps a page: no valid session, an expired one or a revoked key sends the browser
// to the sign-in page (and back afterwards); a role without a console gets 403.
func (c *Console) signedIn(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := c.viewer(r)
		if err != nil {
			if errors.Is(err, errNoSession) {
				c.setCookie(w, r, sessionCookie, "", time.Time{})
				http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, langOf(r), err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, v))
		if err := h(w, r); err != nil {
			c.fail(w, r, v.Lang, err)
		}
	}
}

func (c *Console) viewer(r *http.Request) (viewer, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return viewer{}, errNoSession
	}
	// Unknown, expired, signed out or its key revoked: the store tells them apart from
	// nothing else.
	k, _, err := c.cfg.Keys.Session(r.Context(), ck.Value, c.now())
	if errors.Is(err, keys.ErrUnauthenticated) {
		return viewer{}, errNoSession
	}
	if err != nil {
		return viewer{}, err
	}
	sc, ok := scopeOf(k)
	if !ok {
		return viewer{}, errForbidden
	}
	return viewer{Key: k, Scope: sc, Lang: langOf(r)}, nil
}

// sameOrigin refuses a form posted from another site (SameSite=Strict already keeps the
// session cookie off such a request; this also covers sign-in).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == "" // no Origin: an older browser or a non-browser client
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// localPath keeps a redirect target on this site and in the console: a path, no scheme, no
// host, no "//" or backslash tricks.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/console/"
	}
	return next
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	if _, err := c.viewer(r); err == nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", langOf(r), viewer{Lang: langOf(r)}, signinData{Next: localPath(r.URL.Query().Get("next"))})
}

type signinData struct {
	Next  string
	Error string
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	l := langOf(r)
	if !sameOrigin(r) {
		c.fail(w, r, l, errForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	secret := strings.TrimSpace(r.PostFormValue("key"))
	next := localPath(r.PostFormValue("next"))
	k, err := c.cfg.Keys.Authenticate(r.Context(), secret)
	if err != nil {
		status, msg := http.StatusUnauthorized, "signin.bad"
		if !errors.Is(err, keys.ErrUnauthenticated) {
			status, msg = http.StatusServiceUnavailable, "error.unavailable"
			c.log.Error("console: sign-in", "err", err)
		}
		c.render(w, r, status, "signin", l, viewer{Lang: l}, signinData{Next: next, Error: msg})
		return
	}
	if _, ok := scopeOf(k); !ok {
		c.render(w, r, http.StatusForbidden, "signin", l, viewer{Lang: l}, signinData{Next: next, Error: "signin.norole"})
		return
	}
	now := c.now()
	exp := now.Add(c.cfg.SessionTTL)
	token, err := c.cfg.Keys.OpenSession(r.Context(), k.ID, now, exp)
	if err != nil {
		status, msg := http.StatusUnauthorized, "signin.bad" // revoked since Authenticate
		if !errors.Is(err, keys.ErrUnauthenticated) {
			status, msg = http.StatusServiceUnavailable, "error.unavailable"
			c.log.Error("console: open session", "err", err)
		}
		c.render(w, r, status, "signin", l, viewer{Lang: l}, signinData{Next: next, Error: msg})
		return
	}
	c.setCookie(w, r, sessionCookie, token, exp)
	c.log.Info("console: signed in", "key_id", k.ID, "role", k.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.fail(w, r, langOf(r), errForbidden)
		return
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := c.cfg.Keys.CloseSession(r.Context(), ck.Value); err != nil {
			c.fail(w, r, langOf(r), err)
			return
		}
	}
	c.setCookie(w, r, sessionCookie, "", time.Time{})
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// setLang switches the language (a cookie) and goes back where the user was.
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	l := parseLang(r.URL.Query().Get("to"))
	c.setCookie(w, r, langCookie, string(l), c.now().Add(365*24*time.Hour))
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}
