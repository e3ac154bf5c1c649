// Package console is the ledger's web console for supervisors, auditors and the dispute
// commission, served by `custody serve` itself at / and /console/: server-rendered HTML from
// embedded html/template files and one stylesheet, charts drawn as SVG on the server, no
// script at all (the Content-Security-Policy is default-src 'none'), and printable forms as
// A4 print CSS and as PDFs generated in Go with an embedded Cyrillic font.
//
// Sign-in takes an API key and opens a session (a random token in an HttpOnly, SameSite=Strict
// cookie, Secure behind TLS, 8 hours), stored next to the keys (keys.Sessions: the token's
// SHA-256, never the key's secret), so every server on the database shares it and a restart
// keeps it. Every page looks the session up with its key; revoking the key ends its sessions
// (at once through this process's keys.Cached, within keys.Lifetime elsewhere). Pages read only the read models
// (package projections/query) and, for one document, its own stream (events, hashes and the
// chain check); no page writes anything to the ledger.
package console

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/query"
	"github.com/custody-ledger/custody/projections/transparency"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// Reader is the read side the console's pages read: the API's read models and the console's
// own counts (implemented by *query.Queries).
type Reader interface {
	api.ReadModels
	Overview(ctx context.Context) (query.Overview, error)
	Documents(ctx context.Context, f query.DocumentFilter) (query.DocumentList, error)
	DueSoon(ctx context.Context, f query.DueSoonFilter) (query.OverdueList, error)
	Deliveries(ctx context.Context) ([]query.ChannelCount, error)
	Disputes(ctx context.Context, p query.Page) ([]query.DisputeSummary, error)
	ForceMajeure(ctx context.Context) ([]deadline.ForceMajeure, error)
}

var _ Reader = (*query.Queries)(nil)

// Lag is how far the read models are behind the log.
type Lag struct {
	Positions uint64
	Seconds   float64
}

// Config is what the console needs.
type Config struct {
	Keys  keys.StoreWithSessions // required: sign-in, and the sessions checked on every page
	Reads Reader                 // required
	Store eventstore.Store       // required: a document's or registry's own stream
	// Transparency is the verifiable log: the case file shows each event's inclusion proof
	// against the latest signed checkpoint; nil: the case file names the proof route instead.
	Transparency *transparency.Log
	// Catalogue is the services the services page reports on; nil: catalogue.Default().
	Catalogue *catalogue.Catalogue
	// Lag reports the projections' lag; nil: not shown.
	Lag    func(ctx context.Context) (Lag, error)
	Logger *slog.Logger
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
	// SessionTTL is a session's lifetime; 0: 8 hours.
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure even when the request did not come over TLS here (a
	// TLS-terminating proxy in front).
	SecureCookies bool
	// CacheTTL is how long the overview's counts and the deliveries by channel are served
	// before a background refresh (see cached); 0: 10 seconds, negative: never cached. Both
	// are read from indexes (tens of milliseconds of CPU at 1M events, issue 15); the cache
	// keeps a page from waiting on them when the machine is loaded.
	CacheTTL time.Duration
	// VerifyEvery is how often Run re-verifies the whole ledger's hash chains; 0: 15 minutes.
	VerifyEvery time.Duration
}

// Console serves the console's pages.
type Console struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	pages *pages
	mux   *http.ServeMux

	overviewCache   cached[query.Overview]
	deliveriesCache cached[[]query.ChannelCount]

	mu     sync.Mutex
	verify *verification // the last whole-ledger check, nil before the first
}

// verification is the result of one whole-ledger check.
type verification struct {
	At     time.Time
	Report eventstore.Report
	Err    string
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Keys == nil || cfg.Reads == nil || cfg.Store == nil {
		return nil, errors.New("console: Config.Keys, Reads and Store are required")
	}
	c := &Console{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		c.cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.CacheTTL == 0 {
		c.cfg.CacheTTL = 10 * time.Second
	}
	if cfg.VerifyEvery <= 0 {
		c.cfg.VerifyEvery = 15 * time.Minute
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	c.pages = p
	c.mux = c.routes()
	return c, nil
}

// ServeHTTP serves / and everything under /console/.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No script, no frames, no third party: the pages need only their own stylesheet.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// Run re-verifies the whole ledger's hash chains now and then, until ctx ends; the overview
// shows the last result (a page never walks the whole log itself).
func (c *Console) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.VerifyEvery)
	defer t.Stop()
	for {
		c.verifyLedger(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Console) verifyLedger(ctx context.Context) {
	rep, err := eventstore.VerifyAll(ctx, c.cfg.Store)
	if ctx.Err() != nil {
		return
	}
	v := &verification{At: c.now(), Report: rep}
	if err != nil {
		v.Err = err.Error()
		c.log.Warn("console: ledger verification failed", "err", err)
	}
	c.mu.Lock()
	c.verify = v
	c.mu.Unlock()
}

func (c *Console) lastVerification() *verification {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verify
}
