package projections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/notify"
)

// recorder is a Watermill publisher that remembers every message, as a consumer would see them.
type recorder struct {
	mu   sync.Mutex
	keys map[string]int
	n    int
	fail func(*message.Message) error
}

func newRecorder() *recorder { return &recorder{keys: map[string]int{}} }

func (r *recorder) Publish(_ string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		if r.fail != nil {
			if err := r.fail(m); err != nil {
				return err
			}
		}
		r.keys[m.Metadata.Get(notify.MetaDedupKey)]++
		r.n++
	}
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) snapshot() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.keys))
	for k, v := range r.keys {
		out[k] = v
	}
	return out, r.n
}

var errCrash = errors.New("crash")

// runUntilDone runs a runner until it stops at a failpoint (returns true) or has applied the
// whole log and emptied the outbox (returns false).
func runUntilDone(t *testing.T, p *projections.Projections, b backend) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			require.ErrorIs(t, err, errCrash)
			return true
		case <-tick.C:
			l, err := p.Lag(ctx)
			if err != nil || l.Positions > 0 {
				continue
			}
			var pending int
			require.NoError(t, b.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projections_outbox WHERE status = 'pending'`).Scan(&pending))
			if pending == 0 {
				cancel()
				err := <-done
				if errors.Is(err, errCrash) {
					return true
				}
				require.NoError(t, err)
				return false
			}
		case <-ctx.Done():
			t.Fatal("the runner did not finish")
		}
	}
}

// TestCrashBetweenWriteAndAnythingElse kills the runner, over and over, right after the
// read-model rows are written (transaction still open), right after the commit, and right
// after a message is published (not yet marked delivered). Restarted each time, it ends with
// the same tables as a clean rebuild, every notification delivered, none lost, and no
// dedup key delivered twice except once per crash after publishing (which the key lets the
// consumer drop).
func TestCrashBetweenWriteAndAnythingElse(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	for _, point := range []string{"after-apply", "after-commit", "after-publish"} {
		t.Run(point, func(t *testing.T) {
			backends(t, func(t *testing.T, mk func(testing.TB) backend) {
				b := mk(t)
				load(t, b.store, recs)
				pub := newRecorder()
				var crashes int
				for round := 1; ; round++ {
					var hits atomic.Int64
					o := projections.Options{Publisher: pub, BatchSize: 40, Poll: 10 * time.Millisecond,
						DeliveryPoll: 10 * time.Millisecond, ElectionRetry: 10 * time.Millisecond, Now: func() time.Time { return demoNow }}
					every := int64(round * round) // crash later and later, so each life gets further
					projections.SetFailpoint(&o, func(p string) error {
						if p == point && hits.Add(1) == every {
							return errCrash
						}
						return nil
					})
					p := open(t, b, nil, o)
					crashed := runUntilDone(t, p, b)
					require.NoError(t, p.Close())
					if !crashed {
						break
					}
					crashes++
					require.Less(t, round, 400, "no progress")
				}
				assert.Positive(t, crashes)

				// The tables equal a clean build.
				p := open(t, b, nil, projections.Options{Publisher: newRecorder(), Now: func() time.Time { return demoNow }})
				got := dump(t, b.db, liveGen(t, b.db))
				st, err := p.Rebuild(context.Background())
				require.NoError(t, err)
				assert.Equal(t, got, dump(t, b.db, st.Generation))

				// None lost: every notification of the read model was delivered; none twice
				// unless a crash came between publishing and marking.
				var want []string
				// The outbox carries the notifications and the statuses passed to ИИС ЦОН alike.
				messages := fmt.Sprintf(`(SELECT dedup_key FROM rm%d_notifications UNION ALL SELECT dedup_key FROM rm%d_transmissions) m`,
					st.Generation, st.Generation)
				rows, err := b.db.Query(fmt.Sprintf(`SELECT dedup_key FROM %s WHERE dedup_key IN
					(SELECT dedup_key FROM projections_outbox WHERE status = 'delivered')`, messages))
				require.NoError(t, err)
				for rows.Next() {
					var k string
					require.NoError(t, rows.Scan(&k))
					want = append(want, k)
				}
				require.NoError(t, rows.Close())
				var total, undelivered int
				require.NoError(t, b.db.QueryRow(`SELECT COUNT(*) FROM `+messages).Scan(&total))
				require.NoError(t, b.db.QueryRow(`SELECT COUNT(*) FROM projections_outbox WHERE status <> 'delivered'`).Scan(&undelivered))
				assert.Zero(t, undelivered)
				assert.Len(t, want, total, "every notification delivered")
				keys, n := pub.snapshot()
				assert.Len(t, keys, total, "each dedup key reached the consumer")
				repeats := n - len(keys)
				if point == "after-publish" {
					assert.LessOrEqual(t, repeats, crashes, "at most one repeat per crash between publish and mark")
				} else {
					assert.Zero(t, repeats, "no notification twice")
				}
			})
		})
	}
}
