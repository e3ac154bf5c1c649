package projections

import (
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/services"
)

// Options configure Projections. The zero value works. Fields are grouped by the part of the
// runner they tune; each default is set by defaults.
type Options struct {
	// Common.
	Logger   *slog.Logger
	Calendar *calendar.Calendar // default calendar.Default()
	// Catalogue and OfficeHours drive application clocks (DOMAIN.md, Other services); nil and
	// zero: the embedded catalogue, Monday–Friday 09:00–18:00.
	Catalogue   *catalogue.Catalogue
	OfficeHours services.OfficeHours
	// Now is the clock of the deadline watch, of "overdue" and of the outbox's retry schedule;
	// tests move it instead of sleeping. Default time.Now.
	Now func() time.Time

	// Applying the log.
	BatchSize        int // events per live batch, default 500
	RebuildBatchSize int // events per rebuild batch, default 5000
	// RebuildUnlogged (PostgreSQL): a rebuild builds UNLOGGED tables, made LOGGED before the
	// switch. Off: with wal_level replica or above, SET LOGGED writes every table to the WAL
	// anyway (see BenchmarkRebuild for the comparison).
	RebuildUnlogged bool
	Poll            time.Duration // how often an idle runner looks at the log without a wake-up, default 500ms
	CacheStreams    int           // streams kept decoded between batches, default 20000

	// Election. LeaseTTL is the SQLite lease's lifetime (renewed every third of it) and, on
	// PostgreSQL, how often the advisory lock's connection is checked (default 6s);
	// ElectionRetry is how often a standing-by process tries to become the runner (default 1s).
	LeaseTTL      time.Duration
	ElectionRetry time.Duration

	// Deadline watch: its interval (default 30s); DisableWatch turns it off.
	WatchInterval time.Duration
	DisableWatch  bool

	// Delivery. Publisher defaults to an in-process Go channel (see Subscriber); Topic maps a
	// channel to a topic (default: the channel name). Poison receives messages that failed
	// MaxAttempts times (default 8), retried with Backoff (default 1s doubling to 10 min).
	Publisher       message.Publisher
	Topic           func(channel string) string
	Poison          message.Publisher
	MaxAttempts     int
	Backoff         func(attempt int) time.Duration
	DeliveryPoll    time.Duration // default 1s
	DisableDelivery bool

	// Notifications' content.
	NotifyMaxAge time.Duration     // triggers older than this when projected are recorded "expired", not sent; 0: no limit
	CONAddresses map[string]string // ЦОН unit → address told after a return (P.34) or a loss (P.25)
	// TransmitDelay: a status undelivered to ИИС ЦОН this long is overdue, default 1h (P.9, P.20).
	TransmitDelay time.Duration

	// Readiness (Ready, /readyz).
	ReadyMaxLagSecs  float64 // Ready fails beyond this many seconds behind, default 5
	ReadyMaxLagCount uint64  // and beyond this many positions behind, default 1000

	// Test hooks (export_test.go).
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
