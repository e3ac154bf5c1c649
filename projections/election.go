package projections

import (
	"context"

	"github.com/custody-ledger/custody/internal/election"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// leaderLockKey is the first half of the runner's PostgreSQL advisory lock (see
// internal/election; the transparency sequencer's is 1886547819).
const leaderLockKey = 1886547818

// elect blocks until this process is the runner, or ctx ends. The checkpoint fence
// (sqldb.Advance) keeps batches exactly-once even in the moment a lost leader has not
// noticed yet.
func (p *Projections) elect(ctx context.Context) (*election.Term, error) {
	return election.Elect(ctx, election.Config{
		DB: p.db, Postgres: p.dialect == sqldb.Postgres, LockKey: leaderLockKey,
		LeaseTable: "projections_lease", LeaseName: "runner", Owner: p.owner,
		TTL: p.opts.LeaseTTL, Retry: p.opts.ElectionRetry, Logger: p.log, Who: "projections",
	})
}
