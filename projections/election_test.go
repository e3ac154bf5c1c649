package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/projections"
)

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type runner struct {
	p      *projections.Projections
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, b backend) *runner {
	t.Helper()
	o := projections.Options{Publisher: newRecorder(), BatchSize: 64, Poll: 20 * time.Millisecond, DeliveryPoll: 20 * time.Millisecond,
		ElectionRetry: 50 * time.Millisecond, LeaseTTL: 600 * time.Millisecond, Now: func() time.Time { return demoNow }}
	p := open(t, b, nil, o)
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func leaders(rs ...*runner) int {
	n := 0
	for _, r := range rs {
		if r.p.Leading() {
			n++
		}
	}
	return n
}

// TestOneRunnerAndTakeover: of two runners on one database one leads, the other stands by;
// when the leader dies (PostgreSQL: its lock connection is killed; SQLite: it stops and frees
// its lease) the other takes over within seconds and the tables come out exactly as a rebuild.
func TestOneRunnerAndTakeover(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	half := len(recs) / 2
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		b := mk(t)
		load(t, b.store, recs[:half])
		a, c := start(t, b), start(t, b)
		oneLeader := func() bool { return leaders(a, c) == 1 }
		waitFor(t, 5*time.Second, "one leader", oneLeader)
		// Never two at once. (Under load the lease may pass to the other runner, so for a
		// moment none may lead.)
		for until := time.Now().Add(300 * time.Millisecond); time.Now().Before(until); time.Sleep(5 * time.Millisecond) {
			require.LessOrEqual(t, leaders(a, c), 1, "at most one runner is active")
		}
		waitFor(t, 5*time.Second, "one leader", oneLeader)
		lead, standby := a, c
		if c.p.Leading() {
			lead, standby = c, a
		}
		waitFor(t, 10*time.Second, "caught up", func() bool {
			l, err := lead.p.Lag(context.Background())
			return err == nil && l.Positions == 0
		})

		killed := time.Now()
		if b.dialect == projections.Postgres {
			// The leader's process dies: the server drops its session and the lock with it.
			var ok bool
			require.NoError(t, b.db.QueryRow(`SELECT pg_terminate_backend(pid) FROM pg_locks
				WHERE locktype = 'advisory' AND classid = 1886547818 AND objsubid = 2 AND granted
				AND objid = hashtext(current_schema())::oid`).Scan(&ok))
			require.True(t, ok)
		} else {
			lead.cancel()
			<-lead.done
			lead.done <- nil // for the cleanup
		}
		waitFor(t, 5*time.Second, "the standby takes over", standby.p.Leading)
		t.Logf("%s: takeover after %s", b.name, time.Since(killed).Round(time.Millisecond))
		load(t, b.store, recs[half:]) // the log goes on after the takeover
		waitFor(t, 10*time.Second, "caught up after takeover", func() bool {
			l, err := standby.p.Lag(context.Background())
			return err == nil && l.Positions == 0
		})
		time.Sleep(100 * time.Millisecond)
		assert.LessOrEqual(t, leaders(a, c), 1)

		got := dump(t, b.db, liveGen(t, b.db))
		st, err := standby.p.Rebuild(context.Background())
		require.NoError(t, err)
		assert.Equal(t, got, dump(t, b.db, st.Generation), "no event applied twice or skipped across the takeover")
	})
}
