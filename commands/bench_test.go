package commands_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore/sqlite"
)

// BenchmarkDocumentLoad reads a packed document (7 events) on SQLite, without and with the
// stream cache (issue 14).
func BenchmarkDocumentLoad(b *testing.B) {
	for _, n := range []int{0, 4096} {
		b.Run(map[int]string{0: "nocache", 4096: "cache"}[n], func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "e.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := commands.New(st, commands.WithClock(func() time.Time { return now }), commands.WithCache(n))
			doc, _ := journey(b, svc, 5, now.Add(-48*time.Hour), toPacked...)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := svc.Document(context.Background(), doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
