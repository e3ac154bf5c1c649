package esdb

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// DefaultIDIndexPrefix starts the names of the id-index streams (one per event id, see the
// package documentation). It must not fall under any category.
const DefaultIDIndexPrefix = "custody-eventid-"

// Query parameters of the --store URL that belong to this adapter; they are removed before the
// rest is handed to the client's parser (which would only warn about them).
const (
	paramNamespace  = "custodynamespace"
	paramCategories = "custodycategories"
)

type config struct {
	namespace     string
	categories    []string
	idIndexPrefix string
	now           func() time.Time
	logger        *slog.Logger
	// logStart, when set, is a $all position before which no event of this store can exist
	// (a namespace created after it). Reads start there instead of at the start of $all.
	logStart *kdb.Position
	// appendAttempts bounds the re-reads of a contended stream for Any/StreamExists appends.
	appendAttempts int
	backoffMin     time.Duration
	backoffMax     time.Duration
	// parallel bounds the concurrent id-index requests of one append.
	parallel int
}

// Option configures a Store.
type Option func(*config)

// WithNamespace prefixes every stream name on the server with ns, so that several ledgers (or
// test runs) can share one cluster without seeing each other's events. Port stream ids do not
// carry the namespace.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithCategories names the stream-name prefixes of the ledger's streams (the caller's, e.g.
// domain.StreamPrefixes(): this package knows nothing of the domain). Only streams under them
// are written, read in the global log and delivered to subscribers. With no prefixes at all,
// every stream under the namespace is the ledger's (a namespace is then required).
func WithCategories(prefixes ...string) Option {
	return func(c *config) { c.categories = append([]string(nil), prefixes...) }
}

// WithIDIndexPrefix replaces DefaultIDIndexPrefix.
func WithIDIndexPrefix(p string) Option { return func(c *config) { c.idIndexPrefix = p } }

// WithClock replaces time.Now as the source of RecordedAt (tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger for the adapter and the client library (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithResubscribeBackoff bounds the wait before a dropped subscription is re-established; the
// wait doubles from min up to max and resets after every delivered event.
func WithResubscribeBackoff(minWait, maxWait time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = minWait, maxWait }
}

// withLogStart is for tests on a shared server: a fresh namespace has nothing before pos.
func withLogStart(pos kdb.Position) Option { return func(c *config) { c.logStart = &pos } }

func newConfig(opts []Option) (config, error) {
	c := config{
		idIndexPrefix:  DefaultIDIndexPrefix,
		now:            time.Now,
		appendAttempts: 16,
		backoffMin:     100 * time.Millisecond,
		backoffMax:     5 * time.Second,
		parallel:       16,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if strings.HasPrefix(c.namespace, "$") {
		return fmt.Errorf("esdb: namespace %q: names starting with $ are the server's", c.namespace)
	}
	if c.namespace == "" && len(c.categories) == 0 {
		return fmt.Errorf("esdb: no categories and no namespace: every stream of the server would be the ledger's")
	}
	for _, p := range c.categories {
		if p == "" || strings.HasPrefix(p, "$") {
			return fmt.Errorf("esdb: category %q: must be non-empty and not start with $", p)
		}
	}
	if c.idIndexPrefix == "" || strings.HasPrefix(c.idIndexPrefix, "$") {
		return fmt.Errorf("esdb: id index prefix %q: must be non-empty and not start with $", c.idIndexPrefix)
	}
	// The id index must stay out of the global log, and no ledger stream may look like it.
	idx := c.idIndexPrefix + c.namespace
	for _, p := range c.filterPrefixes() {
		if strings.HasPrefix(idx, p) || strings.HasPrefix(p, idx) {
			return fmt.Errorf("esdb: id index prefix %q overlaps the stream prefix %q", idx, p)
		}
	}
	if c.backoffMin <= 0 || c.backoffMax < c.backoffMin {
		return fmt.Errorf("esdb: resubscribe backoff %s..%s", c.backoffMin, c.backoffMax)
	}
	return nil
}

// filterPrefixes are the server stream-name prefixes of the ledger's streams: the $all filter.
func (c *config) filterPrefixes() []string {
	if len(c.categories) == 0 {
		return []string{c.namespace}
	}
	out := make([]string, len(c.categories))
	for i, p := range c.categories {
		out[i] = c.namespace + p
	}
	return out
}

// splitStoreURL separates this adapter's query parameters from the client's connection string.
// It works on the raw text because gossip-seed lists (esdb://a:2113,b:2113) are not valid URLs.
// KurrentDB's newer clients spell the scheme kurrentdb://; the v4 client knows it as esdb://.
func splitStoreURL(raw string) (client string, opts []Option, err error) {
	for _, scheme := range []string{"kurrentdb+discover://", "kurrentdb://"} {
		if rest, ok := strings.CutPrefix(raw, scheme); ok {
			raw = strings.Replace(scheme, "kurrentdb", "esdb", 1) + rest
			break
		}
	}
	base, query, found := strings.Cut(raw, "?")
	if !found {
		return raw, nil, nil
	}
	var keep []string
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		val, uerr := url.QueryUnescape(v)
		if uerr != nil {
			return "", nil, fmt.Errorf("esdb: connection string parameter %s: %w", k, uerr)
		}
		switch strings.ToLower(k) {
		case paramNamespace:
			opts = append(opts, WithNamespace(val))
		case paramCategories:
			var cats []string
			for _, c := range strings.Split(val, ",") {
				if c = strings.TrimSpace(c); c != "" {
					cats = append(cats, c)
				}
			}
			opts = append(opts, WithCategories(cats...))
		default:
			keep = append(keep, kv)
		}
	}
	if len(keep) == 0 {
		return base, opts, nil
	}
	return base + "?" + strings.Join(keep, "&"), opts, nil
}

// parseConnection parses the --store URL into the client's configuration and our options.
func parseConnection(raw string) (*kdb.Configuration, []Option, error) {
	client, opts, err := splitStoreURL(raw)
	if err != nil {
		return nil, nil, err
	}
	conf, err := kdb.ParseConnectionString(client)
	if err != nil {
		return nil, nil, fmt.Errorf("esdb: connection string: %w", err)
	}
	// Appends are checked against reads of the same streams and the global log must not lag
	// behind what was acknowledged: every operation goes to the leader.
	if conf.NodePreference != kdb.NodePreferenceLeader {
		return nil, nil, fmt.Errorf("esdb: connection string: nodePreference=%v: the ledger reads its own writes and needs the leader", conf.NodePreference)
	}
	return conf, opts, nil
}

// clientLogger routes the client library's log lines to slog. The library logs every failed
// call at error level (including expected version conflicts), so they go to Debug; warnings stay
// warnings.
func clientLogger(l *slog.Logger) kdb.LoggingFunc {
	return func(level kdb.LogLevel, format string, args ...any) {
		// Some call sites pass their variadic arguments on as one slice.
		if len(args) == 1 {
			if inner, ok := args[0].([]any); ok {
				args = inner
			}
		}
		lvl := slog.LevelDebug
		if level == kdb.LogWarn {
			lvl = slog.LevelWarn
		}
		l.Log(context.Background(), lvl, "esdb client: "+fmt.Sprintf(format, args...))
	}
}
