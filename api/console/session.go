package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/custody-ledger/custody/api/keys"
)

const (
	sessionCookie = "custody_session"
	langCookie    = "custody_lang"
	// maxSessions bounds the memory sign-ins can take; the oldest session goes first.
	maxSessions = 10000
)

// session is one signed-in browser. The key's secret is kept so that every page can check the
// key again: a revoked key ends its sessions at once.
type session struct {
	secret  string
	key     keys.Key
	expires time.Time
	created time.Time
}

// sessions are held in memory, by the SHA-256 of their token (a leaked map holds no cookie).
// A restart signs everyone out; several servers each have their own sessions.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, ttl: ttl, now: now}
}

// open makes a session and returns its token: 256 random bits.
func (s *sessions) open(secret string, k keys.Key) (string, time.Time) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	ss := &session{secret: secret, key: k, created: now, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if len(s.m) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for h, x := range s.m {
			if at.IsZero() || x.created.Before(at) {
				oldest, at = h, x.created
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(token))] = ss
	return token, ss.expires
}

func (s *sessions) sweep(now time.Time) {
	for h, x := range s.m {
		if !now.Before(x.expires) {
			delete(s.m, h)
		}
	}
}

func (s *sessions) get(token string) (*session, bool) {
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.m[h]
	if !ok {
		return nil, false
	}
	if !s.now().Before(x.expires) {
		delete(s.m, h)
		return nil, false
	}
	return x, true
}

func (s *sessions) close(token string) {
	s.mu.Lock()
	delete(s.m, sha256.Sum256([]byte(token)))
	s.mu.Unlock()
}

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
	s, ok := c.sessions.get(ck.Value)
	if !ok {
		return viewer{}, errNoSession
	}
	k, err := c.cfg.Keys.Authenticate(r.Context(), s.secret)
	if errors.Is(err, keys.ErrUnauthenticated) {
		c.sessions.close(ck.Value) // revoked: the session ends with the key
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
	token, exp := c.sessions.open(secret, k)
	c.setCookie(w, r, sessionCookie, token, exp)
	c.log.Info("console: signed in", "key_id", k.ID, "role", k.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.fail(w, r, langOf(r), errForbidden)
		return
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.close(ck.Value)
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
