package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/transparency"
)

// storeFlags registers --store and --read-store on fs.
func storeFlags(fs *flag.FlagSet) (store, read *string) {
	store = fs.String("store", envOr("CUSTODY_STORE", defaultStore), "event store URL (env CUSTODY_STORE)")
	read = fs.String("read-store", envOr("CUSTODY_READ_STORE", ""), "keys and read models for a KurrentDB store (env CUSTODY_READ_STORE)")
	return store, read
}

// parse parses flags that may come before or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	fs.SetOutput(io.Discard)
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// cmdReplay prints every event of a document and the state after it.
func cmdReplay(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	store, read := storeFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	id, err := uuid.Parse(pos[0])
	if err != nil {
		return fmt.Errorf("document id: %w", err)
	}
	b, err := openBackend(ctx, *store, *read)
	if err != nil {
		return err
	}
	defer b.Close()
	_, stored, err := commands.New(b.events).Document(ctx, id)
	if err != nil {
		return err
	}
	s := domain.State{DocumentID: id, Status: domain.StatusNew}
	enc := json.NewEncoder(out)
	for _, st := range stored {
		s = domain.Evolve(s, st.Event)
		holder := "-"
		if s.Holder != nil {
			holder = fmt.Sprintf("%s/%s", s.Holder.Org, s.Holder.Unit)
		}
		fmt.Fprintf(out, "v%-3d pos %-8d %s  %-26s -> %-20s holder %s\n", st.Version, st.Position,
			st.Event.OccurredAt.In(domain.Almaty).Format(time.RFC3339), st.Event.Type, s.Status, holder)
	}
	s.Recipient = nil // personal data stays out of terminals and logs
	return enc.Encode(s)
}

// cmdVerify recomputes the hash chains of the whole log (or one stream).
func cmdVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	store, read := storeFlags(fs)
	stream := fs.String("stream", "", "verify only this stream (e.g. document-<uuid>)")
	tf := addTreeFlags(fs)
	treeURL := treeStoreFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b, err := openBackend(ctx, *store, *read, withTree(*treeURL))
	if err != nil {
		return err
	}
	defer b.Close()
	var rep eventstore.Report
	if *stream != "" {
		rep, err = eventstore.VerifyStream(ctx, b.events, *stream)
	} else {
		rep, err = eventstore.VerifyAll(ctx, b.events)
	}
	if err != nil {
		return err
	}
	// The whole log is also checked against the signed checkpoints (docs/transparency.md).
	var tree *transparency.TreeReport
	if *stream == "" {
		if tree, err = verifyTree(ctx, b, tf); err != nil {
			return err
		}
	}
	if err := json.NewEncoder(out).Encode(struct {
		eventstore.Report
		Tree *transparency.TreeReport `json:"tree,omitempty"`
	}{rep, tree}); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("hash chain broken at %s version %d: %s", rep.Break.StreamID, rep.Break.Version, rep.Break.Reason)
	}
	if tree != nil && !tree.OK {
		return fmt.Errorf("the log does not match its signed checkpoints: %s", tree.Failure)
	}
	return nil
}

// cmdRebuild builds every read model from position zero into fresh tables and switches to
// them once caught up; a running server keeps answering from the old ones meanwhile.
func cmdRebuild(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	store, read := storeFlags(fs)
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
	p, err := openProjections(ctx, b, commands.New(b.events, svcOpts...), "", log)
	if err != nil {
		return err
	}
	start := time.Now()
	stats, err := p.Rebuild(ctx)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(out, "rebuilt the read models: %+v in %.1fs\n", stats, secs)
	if n, err := p.QuarantineCount(ctx); err == nil && n > 0 {
		fmt.Fprintf(out, "%d events quarantined (custody projections quarantine lists them)\n", n)
	}
	return nil
}

// cmdProjections: "quarantine" lists the events the live read models skip because they could
// not project them (position, stream, version, type, error; never the payload), one JSON
// object a line.
func cmdProjections(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("projections", flag.ContinueOnError)
	store, read := storeFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "quarantine" {
		return errUsage
	}
	b, err := openBackend(ctx, *store, *read)
	if err != nil {
		return err
	}
	defer b.Close()
	p, err := openProjections(ctx, b, commands.New(b.events), "", log)
	if err != nil {
		return err
	}
	q, err := p.Quarantine(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	for _, e := range q {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}
