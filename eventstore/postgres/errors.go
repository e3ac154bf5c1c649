package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custody-ledger/custody/eventstore"
)

// SQLSTATEs this package cares about.
const (
	codeUniqueViolation = "23505"
	codeSerialization   = "40001"
	codeDeadlock        = "40P01"
	codeQueryCanceled   = "57014"
)

// retryable reports whether a failed operation may simply be tried again: the connection
// broke, the server is restarting or busy, or a transaction lost a race (serialization
// failure, deadlock). Appends are safe to retry even when the first attempt committed before
// its connection broke: the retry finds the event ids and returns the original result.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeSerialization, codeDeadlock,
			"57P01", "57P02", "57P03", // admin shutdown, crash shutdown, cannot connect now
			"53300", "53400": // too many connections, configuration limit exceeded
			return true
		}
		return pgErr.Code[:2] == "08" // connection exception
	}
	return connectionError(err)
}

// connectionError reports whether err means the connection (not the statement) failed.
func connectionError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return pgconn.SafeToRetry(err) || errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err)
}

// mapErr turns a driver error into the port's vocabulary: the caller's own context ending
// stays a context error; what is worth retrying later becomes eventstore.Unavailable.
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeQueryCanceled {
		return eventstore.Unavailable(err) // statement_timeout on the server
	}
	if retryable(err) || errors.Is(err, context.DeadlineExceeded) {
		return eventstore.Unavailable(err)
	}
	return err
}

// maxAttempts bounds the internal retries of one operation.
const maxAttempts = 6

// retry runs op until it succeeds, fails for good, or maxAttempts have failed retryably.
func retry[T any](ctx context.Context, op func() (T, error)) (T, error) {
	var zero T
	delay := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := op()
		if err == nil || !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			if err != nil {
				return zero, mapErr(ctx, err)
			}
			return v, nil
		}
		// Races (deadlock, stream created concurrently) clear at once; a server restarting
		// needs longer, hence the doubling.
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, mapErr(ctx, err)
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
