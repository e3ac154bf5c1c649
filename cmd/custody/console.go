package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/custody-ledger/custody/api/console"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// openConsole builds the web console over the read models. CUSTODY_SECURE_COOKIES=1 marks its
// cookies Secure when a TLS-terminating proxy stands in front (over TLS here they always are).
func openConsole(ks keys.StoreWithSessions, proj *projections.Projections, tl *transparency.Log, b *backend, cat *catalogue.Catalogue, log *slog.Logger) (*console.Console, error) {
	return console.New(console.Config{Keys: ks, Reads: proj.Queries(), Store: b.events, Logger: log, Transparency: tl, Catalogue: cat,
		SecureCookies: os.Getenv("CUSTODY_SECURE_COOKIES") == "1",
		Lag: func(ctx context.Context) (console.Lag, error) {
			l, err := proj.Lag(ctx)
			return console.Lag{Positions: l.Positions, Seconds: l.Seconds}, err
		}})
}
