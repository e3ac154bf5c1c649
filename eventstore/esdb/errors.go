package esdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/custody-ledger/custody/eventstore"
)

var (
	// ErrStreamDeleted says a ledger stream was deleted or tombstoned on the server, which the
	// ledger never does: an operator's action that lost data. It is not ErrNotFound on purpose.
	ErrStreamDeleted = errors.New("esdb: stream deleted on the server")
	// ErrClosed is returned by calls on a closed Store.
	ErrClosed = errors.New("esdb: store closed")
)

// PartialAppendError says an AppendMulti wrote some of its parts and not the others: the server
// has no multi-stream transaction (before KurrentDB 25.1), so parts are appended one by one.
// It matches eventstore.ErrUnavailable, so callers retry, and also the cause (a version conflict
// on a remaining part, a lost connection, ...). Retrying the same request (same streams and
// event ids, any expected versions) writes only what is missing and returns every part's result.
type PartialAppendError struct {
	Applied []eventstore.AppendResult // the parts stored, in no particular order
	Failed  string                    // the stream whose append failed
	Err     error                     // why
}

func (e *PartialAppendError) Error() string {
	done := make([]string, len(e.Applied))
	for i, r := range e.Applied {
		done[i] = r.StreamID
	}
	return fmt.Sprintf("esdb: multi-stream append partly applied (stored: %s; failed: %s): %v",
		strings.Join(done, ", "), e.Failed, e.Err)
}

func (e *PartialAppendError) Unwrap() []error { return []error{eventstore.ErrUnavailable, e.Err} }

// errKind is how the adapter treats a client error.
type errKind int

const (
	kindOther errKind = iota
	kindTransient
	kindNotFound
	kindDeleted
	kindWrongExpected
	kindClosed
)

// classifyCode maps a client error code to a kind. Leader changes surface as NotLeader (the
// client then reconnects to the new leader by itself), Unavailable or Aborted; all are worth
// retrying, as are deadlines.
func classifyCode(c kdb.ErrorCode) errKind {
	switch c {
	case kdb.ErrorUnavailable, kdb.ErrorCodeNotLeader, kdb.ErrorCodeDeadlineExceeded, kdb.ErrorAborted:
		return kindTransient
	case kdb.ErrorCodeResourceNotFound:
		return kindNotFound
	case kdb.ErrorCodeStreamDeleted:
		return kindDeleted
	case kdb.ErrorCodeWrongExpectedVersion:
		return kindWrongExpected
	case kdb.ErrorCodeConnectionClosed:
		return kindClosed
	}
	return kindOther
}

// classifyGRPC maps a raw gRPC status (subscription drops are not wrapped by the client).
func classifyGRPC(c codes.Code) errKind {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted:
		return kindTransient
	case codes.NotFound:
		return kindNotFound
	}
	return kindOther
}

func classify(err error) errKind {
	var ke *kdb.Error
	if errors.As(err, &ke) {
		if k := classifyCode(ke.Code()); k != kindOther {
			return k
		}
	}
	if st, ok := status.FromError(err); ok {
		return classifyGRPC(st.Code())
	}
	// status.FromError does not look through wrapping; the client wraps gRPC errors in its own.
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return classifyGRPC(se.GRPCStatus().Code())
	}
	return kindOther
}

// mapError turns a client error into the port's errors. A context that ended wins: the client
// reports cancellation as an opaque gRPC error, and callers match context.Canceled.
func mapError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("esdb: %s: %w", op, ctxErr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("esdb: %s: %w", op, err)
	}
	switch classify(err) {
	case kindTransient:
		return eventstore.Unavailable(fmt.Errorf("esdb: %s: %w", op, err))
	case kindNotFound:
		return fmt.Errorf("esdb: %s: %w (%w)", op, eventstore.ErrNotFound, err)
	case kindDeleted:
		return fmt.Errorf("esdb: %s: %w (%w)", op, ErrStreamDeleted, err)
	case kindClosed:
		return fmt.Errorf("esdb: %s: %w (%w)", op, ErrClosed, err)
	}
	return fmt.Errorf("esdb: %s: %w", op, err)
}

func isWrongExpected(err error) bool { return classify(err) == kindWrongExpected }
func isNotFound(err error) bool      { return classify(err) == kindNotFound }
func isTransient(err error) bool {
	return classify(err) == kindTransient || errors.Is(err, eventstore.ErrUnavailable)
}
