package esdb

import (
	"context"
	"errors"
	"fmt"
	"testing"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/custody-ledger/custody/eventstore"
)

func TestClassifyCode(t *testing.T) {
	cases := []struct {
		code kdb.ErrorCode
		want errKind
	}{
		{kdb.ErrorUnavailable, kindTransient},
		{kdb.ErrorCodeNotLeader, kindTransient},
		{kdb.ErrorCodeDeadlineExceeded, kindTransient},
		{kdb.ErrorAborted, kindTransient},
		{kdb.ErrorCodeResourceNotFound, kindNotFound},
		{kdb.ErrorCodeStreamDeleted, kindDeleted},
		{kdb.ErrorCodeWrongExpectedVersion, kindWrongExpected},
		{kdb.ErrorCodeConnectionClosed, kindClosed},
		{kdb.ErrorCodeAccessDenied, kindOther},
		{kdb.ErrorCodeUnauthenticated, kindOther},
		{kdb.ErrorCodeUnknown, kindOther},
		{kdb.ErrorCodeInternalServer, kindOther},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, classifyCode(c.code), "code %d", c.code)
	}
}

func TestClassifyGRPC(t *testing.T) {
	cases := []struct {
		code codes.Code
		want errKind
	}{
		{codes.Unavailable, kindTransient},
		{codes.DeadlineExceeded, kindTransient},
		{codes.Aborted, kindTransient},
		{codes.ResourceExhausted, kindTransient},
		{codes.NotFound, kindNotFound},
		{codes.PermissionDenied, kindOther},
		{codes.InvalidArgument, kindOther},
		{codes.Internal, kindOther},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, classifyGRPC(c.code), c.code.String())
		// A subscription drop hands the raw status error over, possibly wrapped.
		err := fmt.Errorf("dropped: %w", status.Error(c.code, "x"))
		assert.Equal(t, c.want, classify(err), "wrapped %s", c.code)
	}
	// The client wraps unknown errors in its own type with code Unknown: the gRPC status inside
	// still decides.
	wrapped, _ := kdb.FromError(status.Error(codes.Unavailable, "leader lost"))
	assert.Equal(t, kindTransient, classify(wrapped))
}

func TestMapError(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	assert.NoError(t, mapError(ctx, "op", nil))

	err := mapError(cancelled, "append", status.Error(codes.Canceled, "context canceled"))
	assert.ErrorIs(t, err, context.Canceled, "a context that ended wins over the client's opaque error")
	assert.NotErrorIs(t, err, eventstore.ErrUnavailable)

	err = mapError(ctx, "append", context.DeadlineExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	err = mapError(ctx, "read", status.Error(codes.Unavailable, "no leader"))
	assert.ErrorIs(t, err, eventstore.ErrUnavailable, "unavailable is worth retrying")

	err = mapError(ctx, "read", status.Error(codes.DeadlineExceeded, "slow"))
	assert.ErrorIs(t, err, eventstore.ErrUnavailable, "a server deadline is worth retrying")

	err = mapError(ctx, "read", status.Error(codes.NotFound, "stream"))
	assert.ErrorIs(t, err, eventstore.ErrNotFound)

	err = mapError(ctx, "read", status.Error(codes.PermissionDenied, "acl"))
	assert.NotErrorIs(t, err, eventstore.ErrUnavailable, "a configuration problem is not retried")
	assert.NotErrorIs(t, err, eventstore.ErrNotFound)

	plain := errors.New("boom")
	assert.ErrorIs(t, mapError(ctx, "x", plain), plain, "wrapped with %%w")
}

func TestPartialAppendError(t *testing.T) {
	cause := &eventstore.VersionConflictError{StreamID: "document-2", Expected: eventstore.Exact(3), Actual: 4}
	var err error = &PartialAppendError{
		Applied: []eventstore.AppendResult{{StreamID: "document-1", Version: 2}},
		Failed:  "document-2",
		Err:     cause,
	}
	err = fmt.Errorf("registry: %w", err)
	assert.ErrorIs(t, err, eventstore.ErrUnavailable, "callers retry a partly applied append")
	assert.ErrorIs(t, err, eventstore.ErrVersionConflict, "and still see the cause")
	var vc *eventstore.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, uint64(4), vc.Actual)
	var pe *PartialAppendError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "document-2", pe.Failed)
	assert.Contains(t, err.Error(), "document-1")
	assert.Contains(t, err.Error(), "document-2")
}

func TestPartial(t *testing.T) {
	s := &Store{}
	cause := errors.New("lost")
	states := []partState{{}, {}}
	assert.Same(t, cause, s.partial(states, "document-1", cause), "nothing stored: the error as is")

	states[1].done, states[1].result = true, eventstore.AppendResult{StreamID: "document-2"}
	err := s.partial(states, "document-1", cause)
	var pe *PartialAppendError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, []eventstore.AppendResult{{StreamID: "document-2"}}, pe.Applied)
	assert.ErrorIs(t, err, cause)
}

func TestRetryableDrop(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"server gone", status.Error(codes.Unavailable, "eof"), true},
		{"leader change", fmt.Errorf("subscription: %w", status.Error(codes.Aborted, "leader changed")), true},
		{"unknown", errors.New("failed to initiate subscription"), true},
		{"permission", status.Error(codes.PermissionDenied, "$all"), false},
		{"login", fmt.Errorf("x: %w", status.Error(codes.Unauthenticated, "bad password")), false},
		{"closed store", fmt.Errorf("esdb: subscribe: %w", ErrClosed), false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, retryableDrop(c.err), c.name)
	}
}
