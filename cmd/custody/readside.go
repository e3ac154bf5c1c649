package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats.go"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/notify"
)

// readDB returns the SQL database of the read models: the SQLite file itself, or a
// database/sql handle over the PostgreSQL store's pool (same schema).
func (b *backend) readDB() (*sql.DB, projections.Dialect, error) {
	switch {
	case b.sqlite != nil:
		return b.sqlite.DB(), projections.SQLite, nil
	case b.pg != nil:
		db := stdlib.OpenDBFromPool(b.pg.Pool())
		b.closers = append(b.closers, db.Close)
		return db, projections.Postgres, nil
	}
	return nil, "", errors.New("no SQL store for the read models")
}

// openProjections opens the read models beside the store, with the notification channel
// named by notifyURL: "" (an in-process Go channel, logged), http(s)://… (a signed webhook,
// secret in CUSTODY_WEBHOOK_SECRET) or nats://… (NATS JetStream).
func openProjections(ctx context.Context, b *backend, svc *commands.Service, notifyURL string, log *slog.Logger,
	with ...func(*projections.Options)) (*projections.Projections, error) {
	db, dialect, err := b.readDB()
	if err != nil {
		return nil, err
	}
	opts := projections.Options{Logger: log, Catalogue: svc.Catalogue(), OfficeHours: svc.OfficeHours(), Calendar: svc.Calendar()}
	if v := os.Getenv("CUSTODY_TRANSMIT_DELAY"); v != "" {
		// How long a status may wait for delivery to ИИС ЦОН before it is overdue (P.9, P.20).
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("CUSTODY_TRANSMIT_DELAY %q: a positive duration such as 1h", v)
		}
		opts.TransmitDelay = d
	}
	for _, f := range with {
		f(&opts)
	}
	switch {
	case notifyURL == "":
	case strings.HasPrefix(notifyURL, "http://"), strings.HasPrefix(notifyURL, "https://"):
		secret := os.Getenv("CUSTODY_WEBHOOK_SECRET")
		if secret == "" {
			return nil, errors.New("a webhook needs its signing secret in CUSTODY_WEBHOOK_SECRET")
		}
		opts.Publisher = &notify.Webhook{URL: notifyURL, Secret: []byte(secret)}
	case strings.HasPrefix(notifyURL, "nats://"):
		nc, err := nats.Connect(notifyURL, nats.Name("custody"))
		if err != nil {
			return nil, fmt.Errorf("connect to NATS: %w", err)
		}
		b.closers = append(b.closers, func() error { nc.Close(); return nil })
		js, err := notify.NewJetStream(ctx, nc, notify.JetStreamConfig{})
		if err != nil {
			return nil, fmt.Errorf("NATS JetStream: %w", err)
		}
		opts.Publisher = js
	default:
		return nil, fmt.Errorf("--notify %q: use http(s)://… (webhook) or nats://… (JetStream)", redact(notifyURL))
	}
	p, err := projections.Open(ctx, db, dialect, b.events, svc, opts)
	if err != nil {
		return nil, fmt.Errorf("read models: %w", err)
	}
	b.closers = append(b.closers, p.Close)
	return p, nil
}

// logDeliveries consumes the in-process channel: the default channel has no outside
// consumer, so delivered notifications are logged (dedup key and channel, never the contact).
func logDeliveries(ctx context.Context, p *projections.Projections, log *slog.Logger) error {
	sub := p.Subscriber()
	if sub == nil {
		return nil
	}
	for _, topic := range []string{projections.ChannelKaspiApp, projections.ChannelSMS1414} {
		msgs, err := sub.Subscribe(ctx, topic)
		if err != nil {
			return err
		}
		go func(topic string, msgs <-chan *message.Message) {
			for m := range msgs {
				log.Info("notification delivered", "channel", topic, "dedup_key", m.Metadata.Get(notify.MetaDedupKey), "message_id", m.UUID)
				m.Ack()
			}
		}(topic, msgs)
	}
	return nil
}

// readiness is /readyz's check: not ready until the read models have caught up
// (Projections.Ready), then "degraded" while the live read models skip quarantined events.
func readiness(p *projections.Projections) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := p.Ready(ctx); err != nil {
			return err
		}
		n, err := p.QuarantineCount(ctx)
		if err != nil {
			return fmt.Errorf("projections: quarantine: %w", err)
		}
		if n > 0 {
			return &api.DegradedError{Quarantined: n,
				Reason: fmt.Sprintf("the read models skip %d quarantined events (custody projections quarantine)", n)}
		}
		return nil
	}
}

// parseMaxLag reads --ready-max-lag: a count of positions, a duration, or both ("1000,5s").
func parseMaxLag(s string) (positions uint64, seconds float64, err error) {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if n, perr := strconv.ParseUint(part, 10, 64); perr == nil && n > 0 {
			positions = n
			continue
		}
		d, derr := time.ParseDuration(part)
		if derr != nil || d <= 0 {
			return 0, 0, fmt.Errorf("%q is neither a positive count of positions nor a duration", part)
		}
		seconds = d.Seconds()
	}
	return positions, seconds, nil
}
