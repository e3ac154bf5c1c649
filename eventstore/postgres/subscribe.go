package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custody-ledger/custody/eventstore"
)

// Subscribe calls fn for every event with Position > after, in order, exactly once: first
// catching up, then live, until ctx ends or fn fails. It wakes on this process's commits at
// once, on other processes' commits through LISTEN/NOTIFY, and polls as a fallback.
func (s *Store) Subscribe(ctx context.Context, after uint64, fn func(eventstore.Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wake, stop := s.local.Listen()
	defer stop()
	if err := s.startListening(); err != nil {
		return err
	}
	defer s.stopListening()
	return eventstore.Follow(ctx, s, after, wake, s.poll, fn)
}

// committed is called after every append attempt: it wakes this process's subscribers now
// and asks the notifier goroutine to tell the others.
func (s *Store) committed() {
	s.local.Notify()
	select {
	case s.ping <- struct{}{}:
	default: // a NOTIFY is pending already and will cover this commit too
	}
}

// notifyMinInterval coalesces NOTIFYs: at most one per interval, however many commits. Each
// NOTIFY is a transaction of its own: at one per 5ms, under 8 busy writers, they took about 5%
// of the store's database CPU and 10% of this process's (profiled on a loaded machine, issue
// 14). The first commit after a quiet interval is still announced at once; the interval only
// bounds the extra delay of other processes' subscribers under load.
const notifyMinInterval = 20 * time.Millisecond

// notifyLoop sends NOTIFY for local commits on its own connection. The append transaction
// itself does not NOTIFY: PostgreSQL takes a database-wide lock at the commit of every
// transaction that notifies and keeps it across the WAL flush, which would serialise all
// appends. This connection commits asynchronously (synchronous_commit off): a lost
// notification only delays a subscriber until its next poll.
func (s *Store) notifyLoop(ctx context.Context) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ping:
		}
		if conn == nil {
			cfg := s.pool.Config().ConnConfig.Copy()
			cfg.RuntimeParams["synchronous_commit"] = "off"
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err == nil {
				conn = c
			}
		}
		if conn != nil {
			if _, err := conn.Exec(ctx, "SELECT pg_notify($1, '')", s.channel); err != nil {
				_ = conn.Close(context.Background())
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(notifyMinInterval):
		}
	}
}

// startListening starts the LISTEN goroutine with the first subscription.
func (s *Store) startListening() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.listeners++
	if s.listeners == 1 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopListen = cancel
		s.bg.Go(func() { s.listenLoop(ctx) })
	}
	return nil
}

// stopListening stops the LISTEN goroutine with the last subscription.
func (s *Store) stopListening() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners--
	if s.listeners == 0 && s.stopListen != nil {
		s.stopListen()
		s.stopListen = nil
	}
}

// listenLoop turns NOTIFYs from other processes into local wake-ups. While it cannot listen,
// subscribers fall back on polling.
func (s *Store) listenLoop(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err == nil {
				delay = 100 * time.Millisecond
				// Events committed before LISTEN took effect are not announced: read once more.
				s.local.Notify()
				for err == nil {
					_, err = conn.WaitForNotification(ctx)
					if err == nil {
						s.local.Notify()
					}
				}
			}
			_ = conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
