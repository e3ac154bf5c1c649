package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/safe"
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
)

// Options configure Projections. The zero value works.
type Options struct {
	Logger   *slog.Logger
	Calendar *calendar.Calendar // default calendar.Default()
	// Catalogue and OfficeHours drive application clocks (DOMAIN.md, Other services); nil and
	// zero: the embedded catalogue, Monday–Friday 09:00–18:00.
	Catalogue   *catalogue.Catalogue
	OfficeHours services.OfficeHours
	// Now is the clock of the deadline watch, of "overdue" and of the outbox's retry schedule;
	// tests move it instead of sleeping. Default time.Now.
	Now func() time.Time

	BatchSize        int           // events per live batch, default 500
	RebuildBatchSize int           // events per rebuild batch, default 5000
	Poll             time.Duration // how often an idle runner looks at the log without a wake-up, default 500ms
	CacheStreams     int           // streams kept decoded between batches, default 20000

	// Election: the SQLite lease's lifetime (renewed every third of it) and, on PostgreSQL,
	// how often the advisory lock's connection is checked. Default 6s.
	LeaseTTL time.Duration
	// ElectionRetry is how often a standing-by process tries to become the runner, default 1s.
	ElectionRetry time.Duration

	// Watch: the deadline watch's interval (default 30s); DisableWatch turns it off.
	WatchInterval time.Duration
	DisableWatch  bool

	// Delivery. Publisher defaults to an in-process Go channel (see Subscriber); Topic maps a
	// channel to a topic (default: the channel name). Poison receives messages that failed
	// MaxAttempts times (default 8), retried with Backoff (default 1s doubling to 10 min).
	Publisher        message.Publisher
	Topic            func(channel string) string
	Poison           message.Publisher
	MaxAttempts      int
	Backoff          func(attempt int) time.Duration
	DeliveryPoll     time.Duration // default 1s
	DisableDelivery  bool
	NotifyMaxAge     time.Duration     // triggers older than this when projected are recorded "expired", not sent; 0: no limit
	CONAddresses     map[string]string // ЦОН unit → address told after a return (P.34) or a loss (P.25)
	ReadyMaxLagSecs  float64           // Ready fails beyond this many seconds behind, default 5
	ReadyMaxLagCount uint64            // and beyond this many positions behind, default 1000

	failpoint func(point string) error
	planHook  func(eventID uuid.UUID)
	onCommit  func(recorded []time.Time, committed time.Time)
	bulkRows  int
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Calendar == nil {
		o.Calendar = calendar.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.RebuildBatchSize <= 0 {
		o.RebuildBatchSize = 5000
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.CacheStreams <= 0 {
		o.CacheStreams = 20000
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 6 * time.Second
	}
	if o.ElectionRetry <= 0 {
		o.ElectionRetry = time.Second
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = 30 * time.Second
	}
	if o.ReadyMaxLagSecs <= 0 {
		o.ReadyMaxLagSecs = 5
	}
	if o.ReadyMaxLagCount == 0 {
		o.ReadyMaxLagCount = 1000
	}
}

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
	mu         sync.Mutex // serialises CatchUp with itself
	leading    atomic.Bool
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
	p := &Projections{db: db, dialect: dialect, store: store, svc: svc, opts: opts, log: opts.Logger, owner: newOwner()}
	p.metrics = newMetrics(p)
	p.queries = query.New(db).WithClock(opts.Now)
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

// Leading reports whether this process is the elected runner now.
func (p *Projections) Leading() bool { return p.leading.Load() }

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

// Run elects this process the runner (standing by while another is), then follows the log
// into the live read models, runs the deadline watch and delivers notifications, until ctx
// ends (it then returns nil). If leadership is lost it stands by again.
func (p *Projections) Run(ctx context.Context) error {
	for {
		l, err := p.elect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		p.metrics.leader.Set(1)
		p.leading.Store(true)
		p.log.Info("projections: elected runner", "owner", p.owner)
		err = safe.Call(func() error { return p.lead(l.ctx) })
		l.release()
		p.leading.Store(false)
		p.metrics.leader.Set(0)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errStop) {
			return err
		}
		p.log.Warn("projections: standing by", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.opts.ElectionRetry):
		}
	}
}

// errStop wraps a failpoint's error: tests stop the runner where a crash would.
var errStop = errors.New("projections: stopped at a failpoint")

// lead runs the runner's parts until ctx ends or one fails.
func (p *Projections) lead(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := p.ensureLive(ctx); err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	run := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			// A panic in one part ends this term as an error does (the runner stands by and
			// is elected again), never the process.
			err := safe.Call(func() error { return fn(ctx) })
			if err != nil && ctx.Err() == nil {
				once.Do(func() { first = fmt.Errorf("%s: %w", name, err) })
				cancel()
			}
		})
	}
	run("apply", p.follow)
	if !p.opts.DisableWatch {
		run("watch", p.watch.Run)
	}
	if !p.opts.DisableDelivery {
		run("delivery", func(ctx context.Context) error {
			err := p.dispatcher.Run(ctx)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("%w: %w", errStop, err)
			}
			return err
		})
	}
	wg.Wait()
	return first
}

// ensureLive makes sure a live generation of this code's model version exists: the first
// runner creates one (built incrementally while queries already answer, or by a rebuild when
// the log is already long), a runner of newer code rebuilds (queries answer "unavailable"
// meanwhile, since they cannot read the old one).
func (p *Projections) ensureLive(ctx context.Context) error {
	for {
		g, err := sqldb.Live(ctx, p.db)
		if errors.Is(err, sqldb.ErrNoGeneration) {
			// A long log is built the fast way (large batches, indexes at the end); queries
			// answer "unavailable" until it is done, as they would with no tables at all.
			if head, herr := p.store.Head(ctx); herr == nil && head > uint64(p.opts.RebuildBatchSize) {
				if _, err := p.Rebuild(ctx); err != nil {
					return err
				}
				continue
			}
			_, err := sqldb.Create(ctx, p.db, p.dialect, sqldb.StatusLive, time.Now())
			if err != nil && !sqldb.IsLiveExists(err) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if g.ModelVersion != model.Version {
			p.log.Info("projections: read models of another version; rebuilding", "live", g.ModelVersion, "want", model.Version)
			if _, err := p.Rebuild(ctx); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

// follow applies the log to the live generation, batch by batch, until ctx ends. It wakes on
// the store's subscription and polls as a fallback.
func (p *Projections) follow(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	if head, err := p.store.Head(ctx); err == nil {
		go func() {
			_ = safe.Call(func() error {
				return p.store.Subscribe(ctx, head, func(eventstore.Record) error {
					select {
					case wake <- struct{}{}:
					default:
					}
					return nil
				})
			})
		}()
	}
	var a *applier
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := p.stepLive(ctx, &a)
		if errors.Is(err, errStop) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			p.log.Error("projections: batch failed; retrying", "err", err)
			a = nil // the cache may not match the tables any more
			n = 0
		}
		if err == nil && n > 0 {
			continue // look again at once: more may have come while catching up
		}
		t.Reset(p.opts.Poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}

// stepLive applies one batch to the live generation, switching appliers when a rebuild has
// switched generations.
func (p *Projections) stepLive(ctx context.Context, a **applier) (int, error) {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return 0, err
	}
	if g.ModelVersion != model.Version {
		return 0, fmt.Errorf("projections: live generation %d has model version %d, want %d", g.Gen, g.ModelVersion, model.Version)
	}
	if *a == nil || (*a).gen != g.Gen {
		na, err := p.newApplier(ctx, g.Gen)
		if err != nil {
			return 0, err
		}
		*a = na
	}
	n, err := (*a).apply(ctx, p.opts.BatchSize)
	if errors.Is(err, sqldb.ErrFenced) || errors.Is(err, errRetired) {
		p.log.Info("projections: checkpoint moved under this runner; reloading", "generation", g.Gen)
		*a = nil
		return 0, nil
	}
	if err != nil && p.opts.failpoint != nil && errors.Is(err, errFailpointHit) {
		return 0, fmt.Errorf("%w: %w", errStop, err)
	}
	return n, err
}

// errFailpointHit marks errors returned by a failpoint (tests).
var errFailpointHit = errors.New("failpoint")

// CatchUp applies the log to the live generation until it reaches the head, without electing
// (for tools and tests; the checkpoint fence keeps it safe beside a running runner).
func (p *Projections) CatchUp(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureLive(ctx); err != nil {
		return 0, err
	}
	var (
		a     *applier
		total int
	)
	for {
		n, err := p.stepLive(ctx, &a)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Deliver runs one delivery round of the outbox (tools and tests).
func (p *Projections) Deliver(ctx context.Context) (int, error) { return p.dispatcher.DeliverDue(ctx) }

// WatchTick runs one tick of the deadline watch (tools and tests).
func (p *Projections) WatchTick(ctx context.Context) (watch.Result, error) { return p.watch.Tick(ctx) }

// RebuildStats reports a rebuild.
type RebuildStats struct {
	Generation      int64         `json:"generation"`
	Events          int           `json:"events"`
	Position        uint64        `json:"position"`
	Duration        time.Duration `json:"duration"`
	EventsPerSecond float64       `json:"events_per_second"`
	// Where the time went: reading the log, computing rows, writing and committing them,
	// building the deferred indexes; how many rows were written and streams read back.
	Read, Plan, Commit, Index time.Duration
	Rows, StreamReads         int
}

// Rebuild builds every read model from position zero into a new generation of tables and,
// once it has caught up with the head, makes it the live one in one transaction. Queries keep
// answering from the old generation meanwhile; a running runner moves to the new one at its
// next batch. The generation retired before the previous one is dropped (the previous one is
// kept so that a query that just read its number still finds its tables). The outbox is
// shared: a rebuild enqueues nothing that was enqueued before.
func (p *Projections) Rebuild(ctx context.Context) (RebuildStats, error) {
	start := time.Now()
	// A rebuild killed outright leaves its tables behind; one started over a day ago is dead.
	if gens, err := sqldb.Generations(ctx, p.db); err == nil {
		for _, g := range gens {
			if g.Status == sqldb.StatusBuilding && g.CreatedAt.Before(start.Add(-24*time.Hour)) {
				if err := sqldb.Drop(ctx, p.db, g.Gen); err != nil {
					p.log.Warn("projections: drop abandoned generation", "generation", g.Gen, "err", err)
				}
			}
		}
	}
	gen, err := sqldb.Create(ctx, p.db, p.dialect, sqldb.StatusBuilding, start)
	if err != nil {
		return RebuildStats{}, err
	}
	st := RebuildStats{Generation: gen}
	fail := func(err error) (RebuildStats, error) {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := sqldb.Drop(dctx, p.db, gen); derr != nil {
			p.log.Warn("projections: drop unfinished generation", "generation", gen, "err", derr)
		}
		return st, err
	}
	a, err := p.newApplier(ctx, gen)
	if err != nil {
		return fail(err)
	}
	n, err := a.apply(ctx, p.opts.RebuildBatchSize)
	st.Events += n
	if err != nil {
		return fail(fmt.Errorf("projections: rebuild generation %d: %w", gen, err))
	}
	ti := time.Now()
	if err := sqldb.CreateIndexes(ctx, p.db, gen); err != nil {
		return fail(err)
	}
	st.Index = time.Since(ti)
	// Catch up with what was appended while the indexes were built.
	n, err = a.apply(ctx, p.opts.RebuildBatchSize)
	st.Events += n
	if err != nil {
		return fail(fmt.Errorf("projections: rebuild generation %d: %w", gen, err))
	}
	pos, _, err := sqldb.Position(ctx, p.db, gen)
	if err != nil {
		return fail(err)
	}
	prev, prevErr := sqldb.Live(ctx, p.db)
	if err := sqldb.Switch(ctx, p.db, gen, time.Now()); err != nil {
		return fail(err)
	}
	st.Position, st.Duration = pos, time.Since(start)
	st.Read, st.Plan, st.Commit, st.Rows, st.StreamReads = a.stats.read, a.stats.plan, a.stats.commit, a.stats.rows, int(a.stats.streamReads.Load())
	if s := st.Duration.Seconds(); s > 0 {
		st.EventsPerSecond = float64(st.Events) / s
	}
	gens, err := sqldb.Generations(ctx, p.db)
	if err == nil {
		for _, g := range gens {
			if g.Status == sqldb.StatusRetired && (prevErr != nil || g.Gen != prev.Gen) {
				if err := sqldb.Drop(ctx, p.db, g.Gen); err != nil {
					p.log.Warn("projections: drop retired generation", "generation", g.Gen, "err", err)
				}
			}
		}
	}
	p.log.Info("projections: rebuilt", "generation", gen, "events", st.Events, "position", pos,
		"seconds", st.Duration.Seconds(), "events_per_second", int(st.EventsPerSecond))
	return st, nil
}

// Lag is how far the live read models are behind the log.
type Lag struct {
	Generation int64   `json:"generation"`
	Head       uint64  `json:"head"`
	Position   uint64  `json:"position"`
	Positions  uint64  `json:"positions"` // head − position
	Seconds    float64 `json:"seconds"`   // age of the oldest event not applied yet (0 when caught up)
}

// Lag measures the live generation's lag.
func (p *Projections) Lag(ctx context.Context) (Lag, error) {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return Lag{}, err
	}
	head, err := p.store.Head(ctx)
	if err != nil {
		return Lag{}, fmt.Errorf("projections: lag: %w", err)
	}
	l := Lag{Generation: g.Gen, Head: head, Position: g.Position}
	if head > g.Position {
		l.Positions = head - g.Position
		recs, err := p.store.ReadAll(ctx, g.Position, 1)
		if err != nil {
			return Lag{}, fmt.Errorf("projections: lag: %w", err)
		}
		if len(recs) > 0 {
			l.Seconds = max(0, time.Since(recs[0].RecordedAt).Seconds())
		}
	}
	return l, nil
}

// Ready reports whether the read models can serve. A generation first met by this process
// (on its first start, or after a rebuild switched generations) must first reach the head the
// log had when it was met: a bounded lag alone would call nearly empty read models ready
// while the log they must show is short. From then on it must stay within ReadyMaxLagSecs
// and ReadyMaxLagCount of the head. The error says why not.
func (p *Projections) Ready(ctx context.Context) error {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return fmt.Errorf("projections: not ready: %w", err)
	}
	if g.ModelVersion != model.Version {
		return fmt.Errorf("projections: not ready: rebuilding to model version %d", model.Version)
	}
	l, err := p.Lag(ctx)
	if err != nil {
		return fmt.Errorf("projections: not ready: %w", err)
	}
	if ok, target := p.caughtUp(l); !ok {
		return fmt.Errorf("projections: not ready: catching up: the read models (generation %d) are at position %d of %d",
			l.Generation, l.Position, target)
	}
	if l.Seconds > p.opts.ReadyMaxLagSecs || l.Positions > p.opts.ReadyMaxLagCount {
		return fmt.Errorf("projections: not ready: %d positions and %.1fs behind the log (at most %d and %.1fs)",
			l.Positions, l.Seconds, p.opts.ReadyMaxLagCount, p.opts.ReadyMaxLagSecs)
	}
	return nil
}

// readyGate is what Ready remembers of the live generation it met first.
type readyGate struct {
	mu      sync.Mutex
	gen     int64
	target  uint64 // the head when the generation was met
	reached bool
}

// caughtUp reports whether the live generation has reached the head it was first met at.
func (p *Projections) caughtUp(l Lag) (bool, uint64) {
	p.gate.mu.Lock()
	defer p.gate.mu.Unlock()
	if p.gate.gen != l.Generation {
		p.gate.gen, p.gate.target, p.gate.reached = l.Generation, l.Head, false
	}
	if l.Position >= p.gate.target {
		p.gate.reached = true
	}
	return p.gate.reached, p.gate.target
}
