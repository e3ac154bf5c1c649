package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/custody-ledger/custody/projections/transparency"
)

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// openLog opens the verifiable log in the tree's database (backend.openTree).
func openLog(ctx context.Context, b *backend) (*transparency.Log, error) {
	if b.tree == nil {
		if err := b.openTree(ctx); err != nil {
			return nil, err
		}
	}
	return transparency.OpenLog(ctx, b.tree, b.treeSQL)
}

// tlogFlags are serve's flags of the verifiable log.
type tlogFlags struct {
	key, publish *string
	every        *time.Duration
	events       *uint64
}

func addTlogFlags(fs *flag.FlagSet) *tlogFlags {
	return &tlogFlags{
		key:     fs.String("checkpoint-key", envOr("CUSTODY_CHECKPOINT_KEY", ""), "key file of `custody keys checkpoint`; without it the tree is kept but no checkpoint is signed (env CUSTODY_CHECKPOINT_KEY)"),
		publish: fs.String("checkpoint-publish", envOr("CUSTODY_CHECKPOINT_PUBLISH", ""), "hand each checkpoint to a witness: a directory (a file per checkpoint) or an http(s):// webhook (env CUSTODY_CHECKPOINT_PUBLISH)"),
		every:   fs.Duration("checkpoint-every", 10*time.Second, "sign a checkpoint this often when the log grew"),
		events:  fs.Uint64("checkpoint-events", 1000, "or after this many new events"),
	}
}

// startSequencer opens the log and runs its sequencer (or stand-by) until ctx ends; wait
// returns when it has stopped.
func startSequencer(ctx context.Context, b *backend, f *tlogFlags, log *slog.Logger) (l *transparency.Log, wait func(), err error) {
	opts := transparency.Options{Logger: log, CheckpointEvery: *f.every, CheckpointEvents: *f.events}
	if *f.key != "" {
		if opts.Key, err = transparency.LoadKey(*f.key); err != nil {
			return nil, nil, err
		}
	}
	if *f.publish != "" {
		if opts.Publish, err = transparency.NewPublisher(*f.publish); err != nil {
			return nil, nil, err
		}
	}
	if l, err = openLog(ctx, b); err != nil {
		return nil, nil, err
	}
	seq := transparency.NewSequencer(l, b.events, opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := seq.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("transparency sequencer stopped", "err", err)
		}
	}()
	return l, func() { <-done }, nil
}

// cmdSequence runs only the verifiable log's sequencer (or its stand-by) until SIGINT/SIGTERM:
// the tree's work can then run on other hardware than the store's and the API's
// (docs/transparency.md, "The sequencer on a machine of its own").
func cmdSequence(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("sequence", flag.ContinueOnError)
	store, read := storeFlags(fs)
	tf := addTlogFlags(fs)
	tree := treeStoreFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b, err := openBackend(ctx, *store, *read, withTree(*tree))
	if err != nil {
		return err
	}
	defer b.Close()
	_, wait, err := startSequencer(ctx, b, tf, log)
	if err != nil {
		return err
	}
	log.Info("sequencing", "store", redact(*store), "tree", redact(*tree))
	<-ctx.Done()
	wait()
	log.Info("stopped")
	return nil
}

// cmdCheckpointKey makes the checkpoint signing key file and prints its public key.
func cmdCheckpointKey(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keys checkpoint", flag.ContinueOnError)
	origin := fs.String("origin", "custody.ledger/log", "the log's name, first line of every checkpoint")
	path := fs.String("out", "checkpoint.key", "the key file to write (never overwritten)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	file, public, err := transparency.GenerateKey(*origin)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if _, err := f.Write(file); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "checkpoint key written to %s (keep it private); give auditors the public key below\n", *path)
	fmt.Fprintln(out, public)
	return nil
}

// cmdAudit exports an audit bundle from the store, or verifies one offline.
func cmdAudit(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "export":
		return cmdAuditExport(ctx, args[1:], out)
	case "verify":
		return cmdAuditVerify(args[1:], out)
	}
	return errUsage
}

func cmdAuditExport(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	store, read := storeFlags(fs)
	doc := fs.String("document", "", "every event of this document")
	app := fs.String("application", "", "or every event of this application (RAGS services)")
	from := fs.Uint64("from", 0, "or every event from this global position")
	to := fs.Uint64("to", 0, "to this one (default: the latest checkpoint's last)")
	path := fs.String("out", "", "the bundle file (default: stdout)")
	tree := treeStoreFlag(fs)
	var since listFlag
	fs.Var(&since, "since", "add a consistency proof from this tree size (an auditor's earlier checkpoint); repeatable")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	scope := transparency.Scope{From: *from, To: *to}
	for _, f := range []struct {
		name, value string
		id          **uuid.UUID
	}{{"document", *doc, &scope.Document}, {"application", *app, &scope.Application}} {
		if f.value == "" {
			continue
		}
		id, err := uuid.Parse(f.value)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.name, err)
		}
		*f.id = &id
	}
	if _, _, one := scope.Stream(); (!one && scope.From == 0) || scope.Validate() != nil {
		return fmt.Errorf("%w: give one of --document ID, --application ID or --from POSITION [--to POSITION]", errUsage)
	}
	sizes := make([]uint64, len(since))
	for i, s := range since {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("--since %q: %w", s, err)
		}
		sizes[i] = n
	}
	b, err := openBackend(ctx, *store, *read, withTree(*tree))
	if err != nil {
		return err
	}
	defer b.Close()
	l, err := openLog(ctx, b)
	if err != nil {
		return err
	}
	bundle, err := transparency.Export(ctx, b.events, l, scope, sizes...)
	if err != nil {
		return err
	}
	w := out
	if *path != "" {
		f, err := os.Create(*path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(bundle); err != nil {
		return err
	}
	if *path != "" {
		fmt.Fprintf(out, "%d events proved against the checkpoint of size %s written to %s\n",
			len(bundle.Events), strings.Split(bundle.Checkpoint, "\n")[1], *path)
	}
	return nil
}

// cmdAuditVerify checks a bundle with no database: it exits non-zero naming every failure.
func cmdAuditVerify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	pub := fs.String("public-key", "", "the log's public key (note verifier key, or a file holding it); default: the bundle's own")
	var earlier listFlag
	fs.Var(&earlier, "checkpoint", "a signed checkpoint obtained earlier (file); the bundle's must extend it; repeatable")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	var b transparency.Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("bundle %s: %w", pos[0], err)
	}
	var opts transparency.VerifyOptions
	if *pub != "" {
		if opts.PublicKey, err = transparency.ParseVerifier(*pub); err != nil {
			return err
		}
	}
	for _, p := range earlier {
		n, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		opts.Earlier = append(opts.Earlier, n)
	}
	got, err := transparency.VerifyBundle(&b, opts)
	if err != nil {
		return fmt.Errorf("audit bundle %s FAILED:\n%w", pos[0], err)
	}
	if _, kind, one := b.Scope.Stream(); !one {
		fmt.Fprintf(out, "ok: %d events of %s, complete and included in checkpoint %q size %d\n",
			got.Events, b.Scope, got.Checkpoint.Origin, got.Checkpoint.Size)
	} else {
		fmt.Fprintf(out, "ok: %d events of %s, included in checkpoint %q size %d\n",
			got.Events, b.Scope, got.Checkpoint.Origin, got.Checkpoint.Size)
		if got.HeadVersion > 0 {
			fmt.Fprintf(out, "ok: complete: version %d is the %s's last event in the log up to that checkpoint (its stream head, %d streams committed)\n",
				got.HeadVersion, kind, got.Checkpoint.Heads.Streams)
		} else {
			fmt.Fprintf(out, "note: completeness unproven: the checkpoint was signed without stream heads, so it does not show that no event of the %s follows version %d\n",
				kind, b.Events[len(b.Events)-1].Version)
		}
	}
	if got.Redacted > 0 {
		fmt.Fprintf(out, "note: %d events were redacted: their place in the log is proved, their content is not\n", got.Redacted)
	}
	if !got.KeyPinned {
		fmt.Fprintf(out, "note: checked with the bundle's own key %s; pass --public-key to pin the log's key\n", b.PublicKey)
	}
	for _, s := range got.ExtendsSizes {
		fmt.Fprintf(out, "ok: extends the earlier checkpoint of size %d\n", s)
	}
	return nil
}

// treeVerifier picks the key custody verify opens checkpoints with: --public-key, else the
// key file's, else (unpinned) the one stored with the latest checkpoint.
func treeVerifier(ctx context.Context, l *transparency.Log, pub, keyFile string) (note.Verifier, bool, error) {
	switch {
	case pub != "":
		v, err := transparency.ParseVerifier(pub)
		return v, true, err
	case keyFile != "":
		k, err := transparency.LoadKey(keyFile)
		if err != nil {
			return nil, false, err
		}
		return k.Verifier, true, nil
	}
	cp, err := l.Latest(ctx)
	if err != nil {
		return nil, false, err
	}
	v, err := note.NewVerifier(cp.PublicKey)
	return v, false, err
}

// treeFlags are custody verify's flags for the tree check.
type treeFlags struct {
	pub, keyFile *string
	held         listFlag
}

func addTreeFlags(fs *flag.FlagSet) *treeFlags {
	f := &treeFlags{
		pub:     fs.String("public-key", "", "the log's public key (or a file holding it) that checkpoints must be signed with"),
		keyFile: fs.String("checkpoint-key", envOr("CUSTODY_CHECKPOINT_KEY", ""), "or the checkpoint key file (env CUSTODY_CHECKPOINT_KEY)"),
	}
	fs.Var(&f.held, "checkpoint", "also compare with this signed checkpoint (a witness's file); repeatable")
	return f
}

// verifyTree rebuilds the tree from the log and compares it with the latest stored checkpoint
// and the held ones. Without any checkpoint or key there is nothing to compare: nil.
func verifyTree(ctx context.Context, b *backend, f *treeFlags) (*transparency.TreeReport, error) {
	l, err := openLog(ctx, b)
	if err != nil {
		return nil, err
	}
	v, pinned, err := treeVerifier(ctx, l, *f.pub, *f.keyFile)
	if errors.Is(err, transparency.ErrNotFound) && len(f.held) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var held [][]byte
	for _, p := range f.held {
		n, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		held = append(held, n)
	}
	rep, err := transparency.VerifyCheckpoints(ctx, b.events, l, v, held...)
	if err != nil {
		return nil, err
	}
	rep.KeyPinned = pinned
	return &rep, nil
}
