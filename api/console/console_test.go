package console_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api/console"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
	"github.com/custody-ledger/custody/projections/transparency"
)

// fixture is a console over the demo data set on SQLite, its read models caught up.
type fixture struct {
	con     *console.Console
	keys    *keys.Memory
	secrets map[domain.Role]string
	ids     map[domain.Role]string
	q       *query.Queries
	store   *sqlite.Store
	now     time.Time
	sum     demo.Summary
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// newFixture builds the data set once per test binary: generating it is the slow part.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture(t.TempDir()) })
	require.NoError(t, fixErr)
	return fix
}

func buildFixture(dir string) (*fixture, error) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, domain.Almaty)
	s, err := sqlite.Open(ctx, filepath.Join(dir, "custody.db"))
	if err != nil {
		return nil, err
	}
	svc := commands.New(s, commands.WithClock(func() time.Time { return now }))
	sum, err := demo.Generate(ctx, svc, demo.Options{Documents: 120, PerDay: 20, Now: now})
	if err != nil {
		return nil, err
	}
	if err := disputeTheLoss(ctx, svc, s, now); err != nil {
		return nil, err
	}
	p, err := projections.Open(ctx, s.DB(), projections.SQLite, s, nil, projections.Options{DisableWatch: true,
		DisableDelivery: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if _, err := p.CatchUp(ctx); err != nil {
		return nil, err
	}
	q := p.Queries().WithClock(func() time.Time { return now })
	tl, err := transparency.OpenLog(ctx, s.DB(), projections.SQLite)
	if err != nil {
		return nil, err
	}
	keyFile, _, err := transparency.GenerateKey("test.custody/log")
	if err != nil {
		return nil, err
	}
	key, err := transparency.ParseKey(keyFile)
	if err != nil {
		return nil, err
	}
	if err := transparency.NewSequencer(tl, s, transparency.Options{Key: key, Logger: slog.New(slog.DiscardHandler)}).CatchUp(ctx); err != nil {
		return nil, err
	}
	ks := keys.NewMemory()
	f := &fixture{keys: ks, secrets: map[domain.Role]string{}, ids: map[domain.Role]string{}, q: q, store: s, now: now, sum: sum}
	for role, unit := range map[domain.Role]string{domain.RoleAuditor: "", domain.RoleCommission: "",
		domain.RoleGKCourier: "GK-ALA-CR1", domain.RoleKaspiPlatform: "KASPI-APP", domain.RoleKaspiIntake: "KSP-ALA-IN1",
		domain.RoleRAGS: "RAGS-ALA-01"} {
		secret, k, err := ks.Create(ctx, domain.OrgOf(role), unit, role)
		if err != nil {
			return nil, err
		}
		f.secrets[role], f.ids[role] = secret, k.ID
	}
	f.con, err = console.New(console.Config{Keys: ks, Reads: q, Store: s, Now: func() time.Time { return now }, Transparency: tl,
		Logger: slog.New(slog.DiscardHandler),
		Lag:    func(context.Context) (console.Lag, error) { return console.Lag{Positions: 0}, nil }})
	return f, err
}

// browser is a cookie-keeping client of a test server that does not follow redirects.
type browser struct {
	t    *testing.T
	srv  *httptest.Server
	http *http.Client
}

func newBrowser(t *testing.T, h http.Handler, useTLS bool) *browser {
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	jar := &jarless{}
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if tr, ok := c.Transport.(*http.Transport); ok && useTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test server's own certificate
	}
	return &browser{t: t, srv: srv, http: c}
}

// jarless is a cookie jar that keeps cookies regardless of the Secure flag (tests run over
// plain HTTP too) so the flags themselves can be checked on the responses.
type jarless struct {
	mu sync.Mutex
	m  map[string]*http.Cookie
}

func (j *jarless) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m == nil {
		j.m = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.m, c.Name)
			continue
		}
		j.m[c.Name] = c
	}
}

func (j *jarless) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.http.Get(b.srv.URL + path)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return res, string(body)
}

func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.srv.URL)
	res, err := b.http.Do(req)
	require.NoError(b.t, err)
	_ = res.Body.Close()
	return res
}

func (b *browser) signIn(secret, next string) *http.Response {
	b.t.Helper()
	return b.post("/console/signin", url.Values{"key": {secret}, "next": {next}})
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "custody_session" {
			return c
		}
	}
	return nil
}

func TestSignInSessionCookie(t *testing.T) {
	f := newFixture(t)
	for _, useTLS := range []bool{false, true} {
		b := newBrowser(t, f.con, useTLS)
		res := b.signIn(f.secrets[domain.RoleAuditor], "/console/overdue")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/console/overdue", res.Header.Get("Location"))
		c := sessionCookie(res)
		require.NotNil(t, c)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
		assert.Equal(t, useTLS, c.Secure, "Secure exactly when served over TLS")
		assert.Equal(t, 8*3600, c.MaxAge, "sessions last 8 hours")
		assert.Regexp(t, `^[A-Za-z0-9_-]{43}$`, c.Value, "256 random bits")
		assert.NotContains(t, c.Value, f.secrets[domain.RoleAuditor])
		res, body := b.get("/console/overdue")
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, `id="overdue"`)
	}
}

func TestSignInRefusals(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.con, false)
	res, body := b.get("/console/")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	assert.Equal(t, "/console/signin?next=%2Fconsole%2F", res.Header.Get("Location"))

	res = b.signIn("ck_0000000000000000_"+strings.Repeat("A", 43), "/console/")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Nil(t, sessionCookie(res))

	// The Kaspi platform is an integration: it has no console.
	res = b.signIn(f.secrets[domain.RoleKaspiPlatform], "/console/")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Nil(t, sessionCookie(res))

	// A form posted from another site is refused.
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/console/signin",
		strings.NewReader(url.Values{"key": {f.secrets[domain.RoleAuditor]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err := b.http.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Nil(t, sessionCookie(res))
}

func TestNextStaysInTheConsole(t *testing.T) {
	f := newFixture(t)
	for next, want := range map[string]string{
		"/console/registries?kind=dispatch": "/console/registries?kind=dispatch",
		"https://evil.example/":             "/console/",
		"//evil.example/console/":           "/console/",
		"/console/\\evil":                   "/console/",
		"/v1/feed":                          "/console/",
		"":                                  "/console/",
	} {
		b := newBrowser(t, f.con, false)
		res := b.signIn(f.secrets[domain.RoleAuditor], next)
		assert.Equal(t, want, res.Header.Get("Location"), next)
	}
}

func TestRevokedKeyEndsSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret, k, err := f.keys.Create(ctx, "", "", domain.RoleAuditor)
	require.NoError(t, err)
	b := newBrowser(t, f.con, false)
	b.signIn(secret, "/console/")
	res, _ := b.get("/console/liability")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, f.keys.Revoke(ctx, k.ID))
	res, _ = b.get("/console/liability")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the next page sends the browser to sign in")
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/console/signin"))
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.con, false)
	first := sessionCookie(b.signIn(f.secrets[domain.RoleCommission], "/console/"))
	require.NotNil(t, first)
	res := b.post("/console/signout", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	c := sessionCookie(res)
	require.NotNil(t, c)
	assert.Negative(t, c.MaxAge, "the cookie is cleared")
	// The old token no longer opens anything, even if a browser kept it.
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/console/liability", nil)
	req.AddCookie(&http.Cookie{Name: "custody_session", Value: first.Value})
	res, err := b.http.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.con, false)
	res, body := b.get("/console/signin")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	assert.NotContains(t, body, "<script", "the console has no script")
}

// TestRoleScope: overseers read everything; a unit's key reads its organisation's part and
// cannot widen it through the query string.
func TestRoleScope(t *testing.T) {
	f := newFixture(t)
	gk := newBrowser(t, f.con, false)
	gk.signIn(f.secrets[domain.RoleGKCourier], "/console/")
	res, _ := gk.get("/console/")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/overdue", res.Header.Get("Location"))
	for _, p := range []string{"/console/documents", "/console/notifications", "/console/disputes"} {
		res, _ := gk.get(p)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, p)
	}
	res, body := gk.get("/console/overdue?org=kaspi")
	require.Equal(t, http.StatusOK, res.StatusCode)
	all, err := f.q.Overdue(context.Background(), query.OverdueFilter{Org: "gk", Page: query.Page{Limit: 1000}})
	require.NoError(t, err)
	assert.Equal(t, len(all.Items), rowCount(body, "overdue"), "the GK key sees GK's overdue list whatever it asks")
	assert.NotContains(t, body, ">Kaspi</td>")

	// A registry with no end at Kaspi does not exist for a Kaspi key.
	kaspi := newBrowser(t, f.con, false)
	kaspi.signIn(f.secrets[domain.RoleKaspiIntake], "/console/")
	// The services of seed 003 are RAGS's and GK's business, as in the API (api/scope.go).
	res, _ = kaspi.get("/console/services")
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "Kaspi reads no application's compliance")
	_, body = kaspi.get("/console/overdue")
	assert.NotContains(t, body, `href="/console/services"`, "nor is it linked for Kaspi")
	res, _ = gk.get("/console/services")
	assert.Equal(t, http.StatusOK, res.StatusCode, "GK runs the ЦОН's steps")
	regs, err := f.q.Registries(context.Background(), query.RegistryFilter{Page: query.Page{Limit: 1000}})
	require.NoError(t, err)
	var outside string
	for _, r := range regs.Items {
		if r.From.Org != domain.OrgKaspi && r.To.Org != domain.OrgKaspi && (r.Courier == nil || r.Courier.Org != domain.OrgKaspi) {
			outside = r.RegistryID.String()
		}
	}
	require.NotEmpty(t, outside, "the demo has registries between RAGS and GK")
	res, _ = kaspi.get("/console/registries/" + outside)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a registry outside the scope does not exist for the key")
	aud := newBrowser(t, f.con, false)
	aud.signIn(f.secrets[domain.RoleAuditor], "/console/")
	res, _ = aud.get("/console/registries/" + outside)
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// Documents: one of the ЦОН route never met Kaspi, so a Kaspi key does not see it. RAGS
	// held every document first; a delivered one's case file lists to RAGS none of its
	// registries, which ran between GK and Kaspi.
	docs, err := f.q.Documents(context.Background(), query.DocumentFilter{Page: query.Page{Limit: 1000}})
	require.NoError(t, err)
	con := ""
	for _, d := range docs.Items {
		if d.Method == string(domain.MethodCON) {
			con = d.DocumentID.String()
		}
	}
	require.NotEmpty(t, con)
	res, _ = kaspi.get("/console/documents/" + con)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = aud.get("/console/documents/" + con)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	collected, err := f.q.Documents(context.Background(), query.DocumentFilter{State: string(domain.StatusCollected)})
	require.NoError(t, err)
	require.NotEmpty(t, collected.Items)
	doc := "/console/documents/" + collected.Items[0].DocumentID.String() + "/case"
	rags := newBrowser(t, f.con, false)
	rags.signIn(f.secrets[domain.RoleRAGS], "/console/")
	_, every := aud.get(doc)
	res, mine := rags.get(doc)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Positive(t, rowCount(every, "case-registries"))
	assert.Zero(t, rowCount(mine, "case-registries"), "a registry between GK and Kaspi is not RAGS's to read")
}

func TestLanguageSwitch(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.con, false)
	b.signIn(f.secrets[domain.RoleAuditor], "/console/")
	_, body := b.get("/console/overdue")
	assert.Contains(t, body, `lang="ru"`)
	assert.Contains(t, body, "Просрочки")
	res, _ := b.get("/console/lang?to=kk&next=%2Fconsole%2Foverdue")
	assert.Equal(t, "/console/overdue", res.Header.Get("Location"))
	_, body = b.get("/console/overdue")
	assert.Contains(t, body, `lang="kk"`)
	assert.Contains(t, body, "Мерзімі өткендер")
	res, _ = b.get("/console/lang?to=ru&next=https%3A%2F%2Fevil.example")
	assert.Equal(t, "/console/", res.Header.Get("Location"))
}

var rowRE = regexp.MustCompile(`(?s)<table id="([a-z-]+)">.*?</table>`)

// rowCount counts the body rows of the table with the given id (an "empty" row counts 0).
func rowCount(body, id string) int {
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		if m[1] != id {
			continue
		}
		tb := m[0][strings.Index(m[0], "<tbody>"):]
		return strings.Count(tb, "<tr") - strings.Count(tb, `<td colspan`)
	}
	return -1
}

// disputeTheLoss records the commission's dispute over the demo's lost document, resolved.
func disputeTheLoss(ctx context.Context, svc *commands.Service, s *sqlite.Store, now time.Time) error {
	recs, err := s.ReadAll(ctx, 0, 0)
	if err != nil {
		return err
	}
	var lost uuid.UUID
	for _, r := range recs {
		if r.Type == string(domain.DocumentLost) {
			e, err := domain.Decode(r.Data)
			if err != nil {
				return err
			}
			lost = e.DocumentID
		}
	}
	commission := domain.Actor{Role: domain.RoleCommission}
	opened, err := svc.OpenDispute(ctx, commission, uuid.New(), now.Add(-2*time.Hour), domain.DisputeOpenedData{
		DocumentIDs: []uuid.UUID{lost}, Parties: []domain.Org{domain.OrgGK, domain.OrgKaspi}, Subject: "who lost the envelope"})
	if err != nil {
		return err
	}
	_, err = svc.ResolveDispute(ctx, commission, opened.DocumentID, uuid.New(), now.Add(-time.Hour),
		domain.DisputeResolvedData{ProtocolNumber: "PR-7", Decision: "GK answers for the envelope", ChargedTo: []domain.Org{domain.OrgGK}})
	return err
}

// TestSessionsSharedAcrossConsoles: two consoles on one database (two servers) share their
// sessions, which outlive a restart; a sign-out or a revoke in one ends the session there at
// once and in the other within a second (keys.Lifetime).
func TestSessionsSharedAcrossConsoles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stores := map[string]func(t *testing.T) func() keys.StoreWithSessions{
		"sqlite": func(t *testing.T) func() keys.StoreWithSessions {
			path := filepath.Join(t.TempDir(), "custody.db")
			return func() keys.StoreWithSessions {
				es, err := sqlite.Open(ctx, path)
				require.NoError(t, err)
				t.Cleanup(func() { _ = es.Close() })
				s, err := keys.NewSQLite(ctx, es.DB())
				require.NoError(t, err)
				return keys.NewCached(s)
			}
		},
		"postgres": func(t *testing.T) func() keys.StoreWithSessions {
			url := pgtest.Schema(t)
			return func() keys.StoreWithSessions {
				pool, err := pgxpool.New(ctx, url)
				require.NoError(t, err)
				t.Cleanup(pool.Close)
				s, err := keys.NewPostgres(ctx, pool)
				require.NoError(t, err)
				return keys.NewCached(s)
			}
		},
	}
	for name, opener := range stores {
		t.Run(name, func(t *testing.T) {
			open := opener(t)
			server := func(ks keys.StoreWithSessions) *browser {
				con, err := console.New(console.Config{Keys: ks, Reads: f.q, Store: f.store, Now: func() time.Time { return f.now },
					Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				return newBrowser(t, con, false)
			}
			ksA, ksB := open(), open()
			a, b := server(ksA), server(ksB)
			secret, k, err := ksA.Create(ctx, "", "", domain.RoleAuditor)
			require.NoError(t, err)
			page := func(on *browser, token string) int {
				req, err := http.NewRequest(http.MethodGet, on.srv.URL+"/console/disputes", nil)
				require.NoError(t, err)
				req.AddCookie(&http.Cookie{Name: "custody_session", Value: token})
				res, err := on.http.Do(req)
				require.NoError(t, err)
				_ = res.Body.Close()
				return res.StatusCode
			}
			signIn := func() string {
				c := sessionCookie(a.signIn(secret, "/console/"))
				require.NotNil(t, c)
				require.Equal(t, http.StatusOK, page(a, c.Value))
				require.Equal(t, http.StatusOK, page(b, c.Value), "the other server knows the session")
				return c.Value
			}
			withinASecond := func(token, why string) {
				assert.Eventually(t, func() bool { return page(b, token) == http.StatusSeeOther }, 1500*time.Millisecond,
					50*time.Millisecond, why)
			}

			token := signIn()
			restarted := server(open())
			assert.Equal(t, http.StatusOK, page(restarted, token), "a restart keeps the session")

			res := a.post("/console/signout", nil)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Equal(t, http.StatusSeeOther, page(a, token), "signed out at once where it was done")
			withinASecond(token, "and within a second on the other server")

			token = signIn()
			require.NoError(t, ksA.Revoke(ctx, k.ID))
			assert.Equal(t, http.StatusSeeOther, page(a, token), "a revoke ends the key's sessions at once in its process")
			withinASecond(token, "and within a second on the other server")
		})
	}
}
