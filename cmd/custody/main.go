// Command custody runs the custody ledger: the HTTP server, key management, the demo data set,
// replay and verification of streams, and the HTTP load generator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `custody: an event-sourced ledger of who holds a civil-registration document.

Usage:
  custody serve   [--store URL] [--read-store URL] [--listen ADDR] [--notify URL] [--demo]
                  [--tree-store URL] [--sequencer=false]
  custody sequence [--store URL] [--tree-store URL] [--checkpoint-key FILE] [--checkpoint-publish DIR|URL]
  custody keys    create --org ORG --unit UNIT --role ROLE [--store URL]
  custody keys    list [--store URL]
  custody keys    revoke ID [--store URL]
  custody keys    checkpoint [--origin NAME] [--out FILE]
  custody demo    [--store URL] [--documents N]
  custody replay  DOCUMENT_ID [--store URL]
  custody verify  [--store URL] [--stream NAME] [--public-key KEY] [--checkpoint FILE]... [--tree-store URL]
  custody audit   export (--document ID | --application ID | --from P [--to Q]) [--since SIZE] [--out FILE] [--store URL] [--tree-store URL]
  custody audit   verify BUNDLE [--public-key KEY] [--checkpoint FILE]...
  custody rebuild [--store URL]
  custody projections quarantine [--store URL]
  custody bench   --url URL --store URL [--concurrency N] [--duration D]

Stores (--store, env CUSTODY_STORE; default sqlite:./data/custody.db):
  sqlite:PATH             the embedded store, one file
  postgres://...          PostgreSQL
  esdb://... / kurrentdb://...  KurrentDB (EventStoreDB); read models and keys then go to
                          --read-store (env CUSTODY_READ_STORE), an sqlite: or postgres:// URL

The verifiable log's tree (--tree-store, env CUSTODY_TREE_STORE) lives beside the read models
unless a postgres:// or sqlite: URL puts it elsewhere; then every process of the log names it.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			if err != errUsage { // say which flag, then how to use them
				fmt.Fprintln(os.Stderr, "custody:", err)
			}
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "custody:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	log := newLogger(stderr)
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, log)
	case "keys":
		return cmdKeys(ctx, args[1:], stdout)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout)
	case "replay":
		return cmdReplay(ctx, args[1:], stdout)
	case "verify":
		return cmdVerify(ctx, args[1:], stdout)
	case "audit":
		return cmdAudit(ctx, args[1:], stdout)
	case "sequence":
		return cmdSequence(ctx, args[1:], log)
	case "rebuild":
		return cmdRebuild(ctx, args[1:], stdout, log)
	case "projections":
		return cmdProjections(ctx, args[1:], stdout, log)
	case "bench":
		return cmdBench(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return errUsage
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if v := os.Getenv("CUSTODY_LOG_LEVEL"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
