package transparency_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/transparency"
)

// TestApplicationBundles: an application of the RAGS services (its own stream, not a
// document's) is exported and verified as a document is: complete through its stream head,
// unaltered through its chain hashes and inclusion proofs; each edit is caught, naming the
// application.
func TestApplicationBundles(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		app, other := uuid.New(), uuid.New()
		// The application's 4 events interleaved with a document's and another application's.
		for v := range 4 {
			seedDocs(t, b.store, 1, 1)
			appendTo(t, b.store, domain.ApplicationStream(app), fmt.Sprintf(`{"step":%d}`, v))
			appendTo(t, b.store, domain.ApplicationStream(other), fmt.Sprintf(`{"step":%d}`, v))
		}
		key := testKey(t, "custody.test/log")
		l, seq := sequencer(t, b, transparency.Options{Key: key})
		require.NoError(t, seq.CatchUp(ctx))
		pin := transparency.VerifyOptions{PublicKey: key.Verifier}
		export := func(t *testing.T, scope transparency.Scope) *transparency.Bundle {
			t.Helper()
			bd, err := transparency.Export(ctx, b.store, l, scope)
			require.NoError(t, err)
			raw, err := json.Marshal(bd) // through JSON, as an auditor receives it
			require.NoError(t, err)
			var out transparency.Bundle
			require.NoError(t, json.Unmarshal(raw, &out))
			return &out
		}
		scope := transparency.Scope{Application: &app}

		bd := export(t, scope)
		require.Len(t, bd.Events, 4)
		for _, e := range bd.Events {
			assert.Equal(t, domain.ApplicationStream(app), e.StreamID)
		}
		require.NotNil(t, bd.Head)
		assert.Equal(t, domain.ApplicationStream(app), bd.Head.StreamID)
		got, err := transparency.VerifyBundle(bd, pin)
		require.NoError(t, err)
		assert.Equal(t, 4, got.Events)
		assert.Equal(t, uint64(4), got.HeadVersion, "version 4 is the application's head at the checkpoint")

		cases := []struct {
			name string
			edit func(b *transparency.Bundle)
			want string
		}{
			{"last event dropped", func(b *transparency.Bundle) { b.Events = b.Events[:3] },
				"application " + app.String() + " is incomplete: the bundle ends at version 3"},
			{"event edited", func(b *transparency.Bundle) { b.Events[1].Data = []byte(`{"step":7}`) },
				"its hash does not match its content"},
			{"middle event dropped", func(b *transparency.Bundle) { b.Events = append(b.Events[:1], b.Events[2:]...) },
				"versions 2 to 2 of the stream are missing"},
			{"head withheld", func(b *transparency.Bundle) { b.Head = nil },
				"carries no head of the application's stream"},
			{"another application's events", func(b *transparency.Bundle) { b.Scope.Application = &other },
				"not to application " + other.String()},
			{"called a document's", func(b *transparency.Bundle) { b.Scope.Document, b.Scope.Application = &app, nil },
				"not to document " + app.String()},
			{"two scopes at once", func(b *transparency.Bundle) { b.Scope.Document = &app },
				"not 2 of them"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				bd := export(t, scope)
				tc.edit(bd)
				_, err := transparency.VerifyBundle(bd, pin)
				assert.ErrorContains(t, err, tc.want)
			})
		}

		t.Run("export refuses two scopes", func(t *testing.T) {
			for _, s := range []transparency.Scope{{Document: &app, Application: &app}, {Application: &app, From: 1, To: 3}} {
				_, err := transparency.Export(ctx, b.store, l, s)
				assert.ErrorContains(t, err, "not 2 of them", "%+v", s)
			}
		})

		t.Run("last event deleted from the log after the checkpoint", func(t *testing.T) {
			last := bd.Events[3]
			_, err := b.db.ExecContext(ctx, `DELETE FROM events WHERE position = $1`, last.Position)
			require.NoError(t, err)
			cut := export(t, scope)
			require.Len(t, cut.Events, 3)
			_, err = transparency.VerifyBundle(cut, pin)
			assert.ErrorContains(t, err, fmt.Sprintf("application %s is incomplete: the bundle ends at version 3 (leaf %d) but the stream's head at the checkpoint of size 12 is version 4 (leaf %d)",
				app, cut.Events[2].Index, last.Index))
		})
	})
}
