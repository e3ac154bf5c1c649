package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/election"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/notify"
	"github.com/custody-ledger/custody/projections/query"
	"github.com/custody-ledger/custody/projections/watch"
)

// Dialect names the SQL database the read models live in.
type Dialect = sqldb.Dialect

// Dialects.
const (
	SQLite   = sqldb.SQLite
	Postgres = sqldb.Postgres
)

// Notification channels, which are also the default Watermill topics.
const (
	ChannelKaspiApp = model.ChannelKaspiApp
	ChannelSMS1414  = model.ChannelSMS1414
	// ChannelIISCON carries the statuses Kaspi passes to ИИС ЦОН (P.9, P.20, P.22(3), P.31).
	ChannelIISCON = model.ChannelIISCON
)

// Projections builds and serves the read models of one database.
type Projections struct {
	db      *sql.DB
	dialect Dialect
	store   eventstore.Store
	svc     *commands.Service
	opts    Options
	log     *slog.Logger
	owner   string

	queries    *query.Queries
	dispatcher *notify.Dispatcher
	watch      *watch.Watch
	channel    *gochannel.GoChannel // the default publisher, when no other was given
	metrics    *metrics
	mu         sync.Mutex                    // serialises CatchUp with itself
	term       atomic.Pointer[election.Term] // while this process is the runner
	gate       readyGate
}

// Open prepares the projections on db (the event store's own database: sqlite.Store.DB(), or
// stdlib.OpenDBFromPool(postgres.Store.Pool()); or a separate database for a KurrentDB store)
// and applies the migrations of the global tables. svc is the write side the deadline watch
// appends through (it may be nil when the watch is disabled). Nothing runs until Run.
func Open(ctx context.Context, db *sql.DB, dialect Dialect, store eventstore.Store, svc *commands.Service, opts Options) (*Projections, error) {
	if !dialect.Valid() {
		return nil, fmt.Errorf("projections: unknown dialect %q", dialect)
	}
	if svc == nil && !opts.DisableWatch {
		return nil, errors.New("projections: the deadline watch needs a commands.Service (or DisableWatch)")
	}
	opts.defaults()
	if err := sqldb.Migrate(ctx, db, dialect); err != nil {
		return nil, err
	}
	p := &Projections{db: db, dialect: dialect, store: store, svc: svc, opts: opts, log: opts.Logger, owner: election.NewOwner()}
	p.metrics = newMetrics(p)
	p.queries = query.New(db).WithClock(opts.Now).WithTransmitDelay(opts.TransmitDelay)
	pub := opts.Publisher
	if pub == nil {
		p.channel = gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, watermill.NewSlogLogger(opts.Logger))
		pub = p.channel
	}
	p.dispatcher = &notify.Dispatcher{DB: db, Publisher: pub, Topic: opts.Topic, Poison: opts.Poison, MaxAttempts: opts.MaxAttempts,
		Backoff: opts.Backoff, Now: opts.Now, Poll: opts.DeliveryPoll, Logger: opts.Logger,
		Delivered: p.metrics.delivered, Failed: p.metrics.deliveryFailed, Poisoned: p.metrics.poisoned}
	if opts.failpoint != nil {
		p.dispatcher.Failpoint = opts.failpoint
	}
	p.dispatcher.Init()
	p.watch = &watch.Watch{Source: p.queries, Service: svc, Calendar: opts.Calendar, Hours: opts.OfficeHours, Now: opts.Now,
		Interval: opts.WatchInterval, Logger: opts.Logger, Appended: p.metrics.watchAppended}
	return p, nil
}

// Close releases the in-process channel, if Open made it.
func (p *Projections) Close() error {
	if p.channel != nil {
		return p.channel.Close()
	}
	return nil
}

func (p *Projections) failpoint(point string) error {
	if p.opts.failpoint == nil {
		return nil
	}
	if err := p.opts.failpoint(point); err != nil {
		return fmt.Errorf("%w at %s: %w", errFailpointHit, point, err)
	}
	return nil
}

func (p *Projections) conAddress(unit string) string { return p.opts.CONAddresses[unit] }

// Leading reports whether this process is the elected runner now: false from the moment its
// term ends (a lost lock, an expired lease), even while its parts are still winding down.
func (p *Projections) Leading() bool {
	t := p.term.Load()
	return t != nil && t.Held()
}

// Queries returns the read side.
func (p *Projections) Queries() *query.Queries { return p.queries }

// Metrics returns the collectors to register: lag (positions and seconds), batches, apply
// delay, leadership, deliveries and the watch.
func (p *Projections) Metrics() []prometheus.Collector { return p.metrics.collectors() }

// Subscriber returns the in-process channel notifications are published on when no other
// Publisher was configured (topics kaspi_app and sms_1414), else nil.
func (p *Projections) Subscriber() message.Subscriber {
	if p.channel == nil {
		return nil
	}
	return p.channel
}

// Deliver runs one delivery round of the outbox (tools and tests).
func (p *Projections) Deliver(ctx context.Context) (int, error) { return p.dispatcher.DeliverDue(ctx) }

// WatchTick runs one tick of the deadline watch (tools and tests).
func (p *Projections) WatchTick(ctx context.Context) (watch.Result, error) { return p.watch.Tick(ctx) }
