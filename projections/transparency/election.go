package transparency

import (
	"context"

	"github.com/custody-ledger/custody/internal/election"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// sequencerLockKey is the first half of the sequencer's PostgreSQL advisory lock (the
// projection runner's is 1886547818).
const sequencerLockKey = 1886547819

// elect blocks until this process is the sequencer, or ctx ends. The tree's size fence keeps
// a leader that lost without noticing from writing anything.
func (s *Sequencer) elect(ctx context.Context) (*election.Term, error) {
	return election.Elect(ctx, election.Config{
		DB: s.log.db, Postgres: s.log.dialect == sqldb.Postgres, LockKey: sequencerLockKey,
		LeaseTable: "tlog_lease", LeaseName: "sequencer", Owner: s.owner,
		TTL: s.opts.LeaseTTL, Retry: s.opts.ElectionRetry, Logger: s.opts.Logger, Who: "transparency",
	})
}
