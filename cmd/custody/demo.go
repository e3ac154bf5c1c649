package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
)

// cmdDemo writes the demo data set into the store, through the same commands the API uses,
// whether or not a server is running on it, and prints the keys it made.
func cmdDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	store, read := storeFlags(fs)
	docs := fs.Int("documents", 300, "how many documents")
	df := addDeadlineFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	svcOpts, _, err := df.options()
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, *store, *read)
	if err != nil {
		return err
	}
	defer b.Close()
	return loadDemo(ctx, b, *docs, out, svcOpts...)
}

func loadDemo(ctx context.Context, b *backend, docs int, out io.Writer, opts ...commands.Option) error {
	sum, err := demo.Generate(ctx, commands.New(b.events, opts...), demo.Options{Documents: docs})
	if err != nil {
		return err
	}
	if sum.AlreadyPresent {
		fmt.Fprintln(out, "demo: today's data set is already in the store; nothing written")
	} else {
		fmt.Fprintf(out, "demo: %d documents (%d postomat, %d ЦОН), %d events, %d registries, %s to %s\n",
			sum.Documents, sum.Postomat, sum.CON, sum.Events, sum.Registries,
			sum.Start.Format("2006-01-02"), sum.End.Format("2006-01-02"))
		fmt.Fprintf(out, "      %d collected from postomats, %d returned, %d issued at the ЦОН, %d stored, %d lost, %d missing at acceptance, %d delayed, %d force-majeure day\n",
			sum.Collected, sum.Returned, sum.Issued, sum.Stored, sum.Lost, sum.Missing, sum.Delayed, sum.ForceMajeure)
		fmt.Fprintf(out, "      %d applications of A1–A3 (seed 003): %d refused at the ЦОН, %d extended\n",
			sum.Applications, sum.RefusedAtIntake, sum.Extended)
	}
	c := demo.Almaty
	specs := append(benchUnits(),
		keySpec{domain.RoleGKIssuance, c.GKIssuance.Unit}, keySpec{domain.RoleAuditor, ""},
		keySpec{domain.RoleRAGSOffice, c.RAGS.Unit}, keySpec{domain.RoleRAGSHead, c.RAGS.Unit},
		keySpec{domain.RoleRAGSExecutor, c.RAGS.Unit},
		keySpec{domain.RoleCommission, ""}, keySpec{domain.RoleAdmin, ""})
	secrets, err := mintKeys(ctx, b, specs)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "keys (each shown once):")
	roles := make([]domain.Role, 0, len(secrets))
	for r := range secrets {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	for _, r := range roles {
		unit := ""
		for _, s := range specs {
			if s.role == r {
				unit = s.unit
			}
		}
		fmt.Fprintf(out, "  %-16s %-12s %s\n", r, unit, secrets[r])
	}
	return nil
}
