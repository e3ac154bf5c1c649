package eventstore

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Sentinel errors; match with errors.Is. The typed errors below wrap them.
var (
	ErrVersionConflict   = errors.New("eventstore: version conflict")
	ErrDuplicateConflict = errors.New("eventstore: event id reused with different content")
	ErrNotFound          = errors.New("eventstore: stream not found")
	// ErrUnavailable marks a failure worth retrying (connection lost, busy, leader change).
	ErrUnavailable = errors.New("eventstore: unavailable")
	// ErrInvalid marks a request the store refuses as malformed (empty stream id, no events,
	// a stream named twice in one AppendMulti).
	ErrInvalid = errors.New("eventstore: invalid request")
)

// VersionConflictError says the stream was not at the expected version.
type VersionConflictError struct {
	StreamID string
	Expected ExpectedVersion
	Actual   uint64 // the stream's current version
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("eventstore: version conflict on %s: expected %s, current version %d",
		e.StreamID, e.Expected, e.Actual)
}

func (e *VersionConflictError) Unwrap() error { return ErrVersionConflict }

// DuplicateConflictError says an event id is already stored with different content
// (or in another stream, or as part of a different append).
type DuplicateConflictError struct {
	EventID  uuid.UUID
	StreamID string // the stream that holds the stored event
}

func (e *DuplicateConflictError) Error() string {
	return fmt.Sprintf("eventstore: event %s already stored in %s with different content", e.EventID, e.StreamID)
}

func (e *DuplicateConflictError) Unwrap() error { return ErrDuplicateConflict }

// Unavailable wraps err so that errors.Is(err, ErrUnavailable) holds.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &unavailableError{err: err}
}

type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return "eventstore: unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

func (v ExpectedVersion) String() string {
	switch {
	case v == Any:
		return "any"
	case v == StreamExists:
		return "stream exists"
	case v == NoStream:
		return "no stream"
	case v > 0:
		return fmt.Sprintf("version %d", int64(v))
	default:
		return fmt.Sprintf("invalid(%d)", int64(v))
	}
}

// Check reports whether a stream at version current satisfies v, as a VersionConflictError.
func (v ExpectedVersion) Check(stream string, current uint64) error {
	ok := false
	switch {
	case v == Any:
		ok = true
	case v == StreamExists:
		ok = current > 0
	case v >= 0:
		ok = uint64(v) == current
	}
	if ok {
		return nil
	}
	return &VersionConflictError{StreamID: stream, Expected: v, Actual: current}
}
