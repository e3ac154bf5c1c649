package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custody-ledger/custody/internal/safe"
)

// Metadata keys set on every message.
const (
	MetaDedupKey   = "dedup_key"
	MetaChannel    = "channel"
	MetaDocumentID = "document_id"
	MetaAttempt    = "attempt"
)

// PoisonTopic is the topic the poison publisher receives failed messages on.
const PoisonTopic = "notifications.poison"

// Dispatcher delivers pending outbox rows through a Watermill publisher, oldest trigger first,
// and marks each delivered; a failure is retried with exponential backoff and, after
// MaxAttempts, the row becomes poison and goes to the Poison publisher (if any). Exactly one
// dispatcher should run per database (the elected projections runner runs it); a second one
// would only cause repeats, which the dedup key lets consumers drop.
type Dispatcher struct {
	DB        *sql.DB
	Publisher message.Publisher
	// Topic maps a channel (kaspi_app, sms_1414) to the topic published on; default: the
	// channel itself.
	Topic func(channel string) string
	// Poison receives messages that failed MaxAttempts times, on PoisonTopic (optional).
	Poison      message.Publisher
	MaxAttempts int                             // default 8
	Backoff     func(attempt int) time.Duration // default 1s·2^(attempt-1), at most 10 min
	Now         func() time.Time                // default time.Now
	Batch       int                             // rows per round, default 100
	Poll        time.Duration                   // default 1s
	Logger      *slog.Logger
	// Failpoint, when set, is called at "after-publish" (published, not yet marked); an error
	// stops the dispatcher there, as a crash would.
	Failpoint func(point string) error

	Delivered, Failed, Poisoned prometheus.Counter // optional

	wake chan struct{}
}

func (d *Dispatcher) defaults() {
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 8
	}
	if d.Backoff == nil {
		d.Backoff = func(a int) time.Duration {
			b := time.Second << min(a-1, 10)
			return min(b, 10*time.Minute)
		}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Batch <= 0 {
		d.Batch = 100
	}
	if d.Poll <= 0 {
		d.Poll = time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Topic == nil {
		d.Topic = func(ch string) string { return ch }
	}
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
	}
}

// Wake asks a running dispatcher to look at the outbox now (after a batch enqueued rows).
func (d *Dispatcher) Wake() {
	if d.wake == nil {
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Init prepares the dispatcher's defaults; Run calls it, callers that Wake before Run do too.
func (d *Dispatcher) Init() { d.defaults() }

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		var n int
		err := safe.Call(func() (err error) { n, err = d.DeliverDue(ctx); return err })
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, errFailpoint) {
				return err
			}
			d.Logger.Warn("notify: delivery round failed", "err", err)
		}
		if n == d.Batch {
			continue
		}
		t.Reset(d.Poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-t.C:
		}
	}
}

var errFailpoint = errors.New("notify: failpoint")

type pending struct {
	key, doc, channel, payload string
	attempts                   int
}

// DeliverDue delivers the rows due now, one round, and returns how many it tried.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	d.defaults()
	now := d.Now()
	rows, err := d.DB.QueryContext(ctx, `SELECT dedup_key, document_id, channel, payload, attempts FROM projections_outbox
		WHERE status = $1 AND next_attempt_at <= $2 ORDER BY position, dedup_key LIMIT $3`, StatusPending, now.UnixMicro(), d.Batch)
	if err != nil {
		return 0, fmt.Errorf("notify: read outbox: %w", err)
	}
	var due []pending
	for rows.Next() {
		var p pending
		var a int64
		if err := rows.Scan(&p.key, &p.doc, &p.channel, &p.payload, &a); err != nil {
			rows.Close()
			return 0, fmt.Errorf("notify: read outbox: %w", err)
		}
		p.attempts = int(a)
		due = append(due, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("notify: read outbox: %w", err)
	}
	for _, p := range due {
		if err := d.deliver(ctx, p); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

func (d *Dispatcher) message(p pending, attempt int) *message.Message {
	m := message.NewMessage(p.key, []byte(p.payload))
	m.Metadata.Set(MetaDedupKey, p.key)
	m.Metadata.Set(MetaChannel, p.channel)
	m.Metadata.Set(MetaDocumentID, p.doc)
	m.Metadata.Set(MetaAttempt, fmt.Sprint(attempt))
	return m
}

func (d *Dispatcher) deliver(ctx context.Context, p pending) error {
	attempt := p.attempts + 1
	m := d.message(p, attempt)
	m.SetContext(ctx)
	// A publisher that panics fails this attempt, like one that returns an error.
	perr := safe.Call(func() error { return d.Publisher.Publish(d.Topic(p.channel), m) })
	now := d.Now()
	if perr == nil {
		if d.Failpoint != nil {
			if err := d.Failpoint("after-publish"); err != nil {
				return fmt.Errorf("%w: %w", errFailpoint, err)
			}
		}
		// The raw contact is needed only to notify: clear it once delivered. The mark outlives
		// a shutdown (ctx cancelled right after publishing), so stopping causes no repeat;
		// only a real crash here does, and the dedup key lets the consumer drop it.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := d.DB.ExecContext(mctx, `UPDATE projections_outbox SET status = $1, delivered_at = $2, attempts = $3,
			payload = '', last_error = '' WHERE dedup_key = $4 AND status = $5`,
			StatusDelivered, now.UnixMicro(), attempt, p.key, StatusPending); err != nil {
			return fmt.Errorf("notify: mark %s delivered: %w", p.key, err)
		}
		if d.Delivered != nil {
			d.Delivered.Inc()
		}
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if d.Failed != nil {
		d.Failed.Inc()
	}
	// Log the key (ids only), never the payload: it holds the recipient's contact.
	d.Logger.Warn("notify: delivery failed", "dedup_key", p.key, "channel", p.channel, "attempt", attempt, "err", perr)
	if attempt >= d.MaxAttempts {
		if d.Poison != nil {
			pm := d.message(p, attempt)
			pm.Metadata.Set("error", perr.Error())
			if err := d.Poison.Publish(PoisonTopic, pm); err != nil {
				return fmt.Errorf("notify: poison %s: %w", p.key, err)
			}
		}
		if d.Poisoned != nil {
			d.Poisoned.Inc()
		}
		_, err := d.DB.ExecContext(ctx, `UPDATE projections_outbox SET status = $1, attempts = $2, last_error = $3
			WHERE dedup_key = $4 AND status = $5`, StatusPoison, attempt, truncate(perr.Error()), p.key, StatusPending)
		if err != nil {
			return fmt.Errorf("notify: mark %s poison: %w", p.key, err)
		}
		return nil
	}
	_, err := d.DB.ExecContext(ctx, `UPDATE projections_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3
		WHERE dedup_key = $4 AND status = $5`, attempt, now.Add(d.Backoff(attempt)).UnixMicro(), truncate(perr.Error()), p.key, StatusPending)
	if err != nil {
		return fmt.Errorf("notify: reschedule %s: %w", p.key, err)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}
