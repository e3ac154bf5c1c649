package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// shutdownGrace is how long in-flight requests may take to finish after SIGTERM.
const shutdownGrace = 20 * time.Second

// cmdServe runs the HTTP API until SIGINT/SIGTERM, then lets in-flight requests finish.
func cmdServe(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	store, read := storeFlags(fs)
	listen := fs.String("listen", envOr("CUSTODY_LISTEN", ":8080"), "HTTP address (env CUSTODY_LISTEN)")
	withDemo := fs.Bool("demo", false, "load the demo data set first and print its keys")
	df := addDeadlineFlags(fs)
	notifyURL := fs.String("notify", envOr("CUSTODY_NOTIFY", ""), "notification channel: empty (in-process), http(s)://… webhook, nats://… JetStream (env CUSTODY_NOTIFY)")
	maxLag := fs.String("ready-max-lag", envOr("CUSTODY_READY_MAX_LAG", "1000,5s"), "/readyz fails when the read models are more than this many positions or this long behind the log (env CUSTODY_READY_MAX_LAG)")
	pprofAddr := fs.String("pprof", envOr("CUSTODY_PPROF", ""), "address serving Go's profiles at /debug/pprof/ (e.g. 127.0.0.1:6060); off when empty (env CUSTODY_PPROF)")
	tf := addTlogFlags(fs)
	tree := treeStoreFlag(fs)
	sequence := fs.Bool("sequencer", true, "run the verifiable log's sequencer (or its stand-by) in this process; false where `custody sequence` runs it elsewhere (the checkpoint flags then belong there)")
	limits := addLimitFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	lagCount, lagSecs, err := parseMaxLag(*maxLag)
	if err != nil {
		return fmt.Errorf("%w: --ready-max-lag: %v", errUsage, err)
	}
	svcOpts, cat, err := df.options()
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, *store, *read, withTree(*tree))
	if err != nil {
		return err
	}
	defer b.Close()
	if *pprofAddr != "" {
		stop, err := servePprof(ctx, *pprofAddr, log)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		defer stop()
	}
	if *withDemo {
		if err := loadDemo(ctx, b, 300, out, svcOpts...); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	ks, err := b.keyStore(ctx)
	if err != nil {
		return err
	}
	svc := commands.New(b.events, svcOpts...)
	proj, err := openProjections(ctx, b, svc, *notifyURL, log, func(o *projections.Options) {
		o.ReadyMaxLagCount, o.ReadyMaxLagSecs = lagCount, lagSecs
	})
	if err != nil {
		return err
	}
	// The verifiable log's sequencer (or its stand-by) runs beside the API until shutdown,
	// unless it runs in a process of its own; the API serves proofs from the tree either way.
	var tl *transparency.Log
	if *sequence {
		seqCtx, stopSeq := context.WithCancel(context.WithoutCancel(ctx))
		var waitSeq func()
		tl, waitSeq, err = startSequencer(seqCtx, b, tf, log)
		if err != nil {
			stopSeq()
			return err
		}
		defer func() { stopSeq(); waitSeq() }()
	} else {
		if tl, err = openLog(ctx, b); err != nil {
			return err
		}
		log.Info("transparency: the sequencer runs in another process (--sequencer=false)")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(proj.Metrics()...)
	con, err := openConsole(ks, proj, tl, b, cat, log)
	if err != nil {
		return err
	}
	handler, err := api.New(api.Config{Service: svc, Keys: ks, Logger: log, Metrics: reg, Ready: readiness(proj),
		ReadModels: proj.Queries(), Console: con, Transparency: tl, StoreTimeout: limits.storeTimeout})
	if err != nil {
		return err
	}
	// The projection runner (or its stand-by), the deadline watch and the notification
	// delivery run beside the API until shutdown.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- proj.Run(runCtx) }()
	go con.Run(runCtx)
	defer func() {
		stopRun()
		if err := <-runDone; err != nil {
			log.Error("projections stopped", "err", err)
		}
	}()
	if err := logDeliveries(runCtx, proj, log); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	l, err := limits.listen(*listen)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", l.Addr().String(), "store", redact(*store))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
