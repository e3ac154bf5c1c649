package domain

import (
	"fmt"

	"github.com/google/uuid"
)

// CheckDuplicateOf checks a repeat certificate's DocumentIssued against the document it
// replaces (P.26): that one must have been lost and its application cancelled (P.22–P.24),
// and, once a duplicate was requested, the repeat must be that duplicate. orig is the state of
// the document named by duplicate_of (StatusNew when no such document exists).
func CheckDuplicateOf(orig State, dup uuid.UUID) error {
	refuse := func(reason string) error {
		return &TransitionError{State: StatusNew, Event: DocumentIssued, Allowed: []EventType{DocumentIssued}, Reason: reason}
	}
	switch orig.Status {
	case StatusCancelled, StatusDuplicateIssued:
	case StatusNew:
		return refuse(fmt.Sprintf("duplicate_of names no document (%s): a repeat certificate replaces a lost and cancelled one (P.26)", orig.DocumentID))
	default:
		return refuse(fmt.Sprintf("duplicate_of names a document in state %s: only a lost document whose application was cancelled "+
			"is replaced by a repeat certificate (P.24, P.26)", orig.Status))
	}
	if orig.Duplicate != nil && *orig.Duplicate != dup {
		return refuse(fmt.Sprintf("the duplicate requested for %s is %s, not this document (P.26)", orig.DocumentID, *orig.Duplicate))
	}
	return nil
}
