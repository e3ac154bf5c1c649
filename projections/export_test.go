package projections

import "time"

// SetFailpoint makes the runner and the dispatcher call f at their failpoints ("after-apply":
// rows written, transaction open; "after-commit": committed, nothing else done yet;
// "after-publish": published, not marked delivered); an error stops the runner there, as a
// crash would.
func SetFailpoint(o *Options, f func(point string) error) { o.failpoint = f }

// OnCommit observes every committed batch: the recorded times of its events and the commit time.
func OnCommit(o *Options, f func(recorded []time.Time, committed time.Time)) { o.onCommit = f }

// SetBulkRows lowers the PostgreSQL bulk path's threshold so small tests take it.
func SetBulkRows(o *Options, n int) { o.bulkRows = n }
