package projections

import (
	"time"

	"github.com/google/uuid"
)

// SetFailpoint makes the runner and the dispatcher call f at their failpoints ("after-apply":
// rows written, transaction open; "after-commit": committed, nothing else done yet;
// "after-publish": published, not marked delivered); an error stops the runner there, as a
// crash would.
func SetFailpoint(o *Options, f func(point string) error) { o.failpoint = f }

// OnCommit observes every committed batch: the recorded times of its events and the commit time.
func OnCommit(o *Options, f func(recorded []time.Time, committed time.Time)) { o.onCommit = f }

// SetBulkRows lowers the PostgreSQL bulk path's threshold so small tests take it.
func SetBulkRows(o *Options, n int) { o.bulkRows = n }

// SetPlanHook calls f with every event a batch projects, before projecting it; a test panics
// in it to stand for a projection bug.
func SetPlanHook(o *Options, f func(eventID uuid.UUID)) { o.planHook = f }

// SetCommitBackoff shortens the wait between commits of an event the database refuses.
func SetCommitBackoff(d time.Duration) { commitBackoff = d }
