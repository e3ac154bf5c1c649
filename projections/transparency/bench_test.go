package transparency_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// The benchmarks measure in rounds inside one run (run them with -benchtime=1x) and report
// the median and the range of the rounds; contenders alternate within each round.
const rounds = 3

type stat []float64

func (s stat) summary() (median, lo, hi float64) {
	c := slices.Clone(s)
	slices.Sort(c)
	return c[len(c)/2], c[0], c[len(c)-1]
}

func (s stat) String() string {
	m, lo, hi := s.summary()
	return fmt.Sprintf("%.0f (%.0f–%.0f)", m, lo, hi)
}

func percentile(d []time.Duration, p float64) time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return c[min(len(c)-1, int(float64(len(c))*p))]
}

// measuring holds the file named by CUSTODY_BENCH_LOCK (flock(2), as flock(1) takes it) while
// a figure is measured, so processes sharing the machine do not measure at once while the data
// is generated outside it. It returns the release.
func measuring(b *testing.B) func() {
	path := os.Getenv("CUSTODY_BENCH_LOCK")
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(b, err)
	require.NoError(b, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	b.Logf("measuring from %s (load %s)", time.Now().UTC().Format(time.TimeOnly), loadavg())
	return func() {
		b.Logf("measured until %s (load %s)", time.Now().UTC().Format(time.TimeOnly), loadavg())
		_ = f.Close() // releases the lock
	}
}

func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(raw))[:3], " ")
}

func benchBackends(b *testing.B, fn func(b *testing.B, open func(testing.TB) backend)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, sqliteBackend) })
	b.Run("postgres", func(b *testing.B) { fn(b, pgBackend) })
}

// appendLoad appends single events from writers goroutines for d and returns appends/s.
func appendLoad(b *testing.B, s eventstore.Store, writers int, d time.Duration) float64 {
	rate, _, _ := appendLoadCPU(b, s, writers, d)
	return rate
}

// appendLoadCPU is appendLoad that also returns the CPU time (user and system) per append, in
// µs, of this process and of the PostgreSQL server's processes on this machine (0 when there
// are none).
func appendLoadCPU(b *testing.B, s eventstore.Store, writers int, d time.Duration) (rate, cpu, server float64) {
	var n atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	cpu0, server0 := processCPU(b), serverCPU()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := appendNewStream(s, "bench-"); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed, used, served := time.Since(start), processCPU(b)-cpu0, serverCPU()-server0
	per := func(t time.Duration) float64 { return float64(t.Microseconds()) / float64(n.Load()) }
	return float64(n.Load()) / elapsed.Seconds(), per(used), per(served)
}

// serverCPU is the CPU time used so far by the processes named postgres on this machine (the
// test database's server; its backends live as long as the pool's connections), from
// /proc/PID/stat; 0 where there is no /proc.
func serverCPU() time.Duration {
	var all time.Duration
	for _, t := range serverCPUByDatabase() {
		all += t
	}
	return all
}

// serverCPUByDatabase is serverCPU by the database each backend's session is in; "" holds
// the server's own processes (WAL writer, checkpointer, ...).
func serverCPUByDatabase() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, p := range postgresProcesses() {
		out[p.db] += p.cpu
	}
	return out
}

// pgProcess is one of this machine's PostgreSQL processes.
type pgProcess struct {
	pid, ppid int
	cpu       time.Duration // user and system, so far
	db        string        // the session's database, from the process title; "" for the server's own
}

// postgresProcesses lists the processes named postgres, from /proc (none where there is none).
func postgresProcesses() []pgProcess {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []pgProcess
	for _, dir := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(dir))
		comm, ppid, cpu, ok := procStat(pid)
		if !ok || comm != "postgres" {
			continue
		}
		title, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		out = append(out, pgProcess{pid: pid, ppid: ppid, cpu: cpu, db: sessionDatabase(string(title))})
	}
	return out
}

// procStat reads a process's command name, parent and CPU time from /proc/PID/stat; ok is
// false when it has exited meanwhile.
func procStat(pid int) (comm string, ppid int, cpu time.Duration, ok bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, 0, false
	}
	open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	// After the command: state, then fields 4 onwards; ppid is field 4, utime and stime 14, 15.
	f := strings.Fields(string(raw[end+1:]))
	if len(f) < 13 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return string(raw[open+1 : end]), ppid, time.Duration(u+st) * time.Second / 100, true // USER_HZ
}

// sessionDatabase is the database in a backend's process title, "" for other processes.
func sessionDatabase(title string) string {
	f := strings.Fields(strings.ReplaceAll(strings.TrimPrefix(title, "postgres:"), "\x00", " "))
	if len(f) > 0 && strings.HasSuffix(f[0], ":") { // the cluster's name (Debian sets one)
		f = f[1:]
	}
	if len(f) >= 3 && (strings.Contains(f[2], "(") || f[2] == "[local]") {
		return f[1]
	}
	return ""
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppendWithSequencer: single-event appends from 8 writers, with and without the
// sequencer following the log and signing checkpoints, alternating in each round (5 rounds:
// the paired ratio is noisy). A round with the sequencer starts once it has caught up with
// the log. A warm-up load first takes the store past the empty file, whose first seconds of
// appends are faster than any later ones and would bias the first round.
func BenchmarkAppendWithSequencer(b *testing.B) {
	const rounds = 5
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		key := testKey(b, "bench/log")
		var without, with, ratio, cpuWithout, cpuWith, seqCPU, srvWithout, srvWith, seqSrv stat
		appendLoad(b, be.store, 8, 3*time.Second)
		defer measuring(b)()
		for r := range rounds {
			for i := range 2 {
				seq := (r+i)%2 == 1 // rotate which goes first
				var stop func()
				if seq {
					stop = runCaughtUp(b, be, key)
				}
				rate, cpu, srv := appendLoadCPU(b, be.store, 8, 3*time.Second)
				if seq {
					stop()
					with, cpuWith, srvWith = append(with, rate), append(cpuWith, cpu), append(srvWith, srv)
				} else {
					without, cpuWithout, srvWithout = append(without, rate), append(cpuWithout, cpu), append(srvWithout, srv)
				}
			}
			ratio = append(ratio, 100*with[r]/without[r])
			seqCPU = append(seqCPU, cpuWith[r]-cpuWithout[r])
			seqSrv = append(seqSrv, srvWith[r]-srvWithout[r])
		}
		b.Logf("appends/s, 8 writers: without %s, with sequencer %s; with/without %% %s", without, with, ratio)
		b.Logf("this process's CPU µs per append: without %s, with sequencer %s; the sequencer's share, with - without: %s",
			cpuWithout, cpuWith, seqCPU)
		if be.dialect == projections.Postgres {
			b.Logf("the PostgreSQL server's CPU µs per append: without %s, with sequencer %s; the sequencer's share: %s",
				srvWithout, srvWith, seqSrv)
		}
		m, _, _ := without.summary()
		b.ReportMetric(m, "appends/s-without")
		m, _, _ = with.summary()
		b.ReportMetric(m, "appends/s-with")
		m, _, _ = ratio.summary()
		b.ReportMetric(m, "with/without-%")
		m, _, _ = seqCPU.summary()
		b.ReportMetric(m, "sequencer-cpu-µs/append")
	})
}

// BenchmarkAppendLatencyWithSequencer: single-event appends paced at 1,000/s by 8 writers
// (the rate of the checkpoint-lag goal, well under what either store can take), with and
// without the sequencer, alternating in each of 5 rounds of 5 s: what an append's latency
// pays for the sequencer when the machine is not saturated.
func BenchmarkAppendLatencyWithSequencer(b *testing.B) {
	const rounds, rate, writers, d = 5, 1000, 8, 5 * time.Second
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		key := testKey(b, "bench/log")
		var p50 [2]stat
		var p99 [2]stat
		var ratio stat
		pacedLoad(b, be.store, rate, writers, 2*time.Second)
		defer measuring(b)()
		for r := range rounds {
			for i := range 2 {
				seq := (r + i) % 2 // rotate which goes first
				var stop func()
				if seq == 1 {
					stop = runCaughtUp(b, be, key)
				}
				lat := pacedLoad(b, be.store, rate, writers, d)
				if stop != nil {
					stop()
				}
				p50[seq] = append(p50[seq], float64(percentile(lat, 0.5).Microseconds()))
				p99[seq] = append(p99[seq], float64(percentile(lat, 0.99).Microseconds()))
			}
			ratio = append(ratio, 100*p99[1][r]/p99[0][r])
		}
		b.Logf("append latency at %d/s, 8 writers, µs: without p50 %s p99 %s; with sequencer p50 %s p99 %s; p99 with/without %% %s",
			rate, p50[0], p99[0], p50[1], p99[1], ratio)
		m, _, _ := p99[0].summary()
		b.ReportMetric(m, "p99-µs-without")
		m, _, _ = p99[1].summary()
		b.ReportMetric(m, "p99-µs-with")
		m, _, _ = ratio.summary()
		b.ReportMetric(m, "p99-with/without-%")
	})
}

// appendNewStream appends one event to a new stream named prefix and a fresh UUID: the
// benchmarks' append, the pattern of a document's first event.
func appendNewStream(s eventstore.Store, prefix string) error {
	_, err := eventstore.AppendOne(context.Background(), s, prefix+uuid.NewString(), eventstore.NoStream,
		eventstore.EventData{ID: uuid.New(), Type: "Bench", SchemaVersion: 1, Data: []byte(`{"n":1}`)})
	return err
}

// pacedLoad appends single events to new streams at rate per second from writers goroutines
// for d, and returns each append's latency.
func pacedLoad(b *testing.B, s eventstore.Store, rate, writers int, d time.Duration) []time.Duration {
	start := time.Now()
	lat := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			interval := time.Second * time.Duration(writers) / time.Duration(rate)
			for next := start.Add(interval * time.Duration(w) / time.Duration(writers)); next.Sub(start) < d; next = next.Add(interval) {
				time.Sleep(time.Until(next))
				t0 := time.Now()
				if err := appendNewStream(s, "paced-"); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	return slices.Concat(lat...)
}

// runCaughtUp runs a sequencer signing with key until the returned stop, and returns once it
// has caught up with the log.
func runCaughtUp(b *testing.B, be backend, key *transparency.Key) (stop func()) {
	l, s := sequencer(b, be, transparency.Options{Key: key})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	caughtUp(b, be, l)
	return func() { cancel(); <-done }
}

// caughtUp waits until the tree holds every event in the log: a round with the sequencer
// measures the steady state, not the catch-up of the events appended while it was stopped
// (the previous round's), which a sequencer that is always running never has to do at once.
func caughtUp(b *testing.B, be backend, l *transparency.Log) {
	ctx := context.Background()
	var last uint64
	require.NoError(b, be.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&last))
	waitFor(b, "the sequencer to catch up", func() bool {
		_, at, err := l.Size(ctx)
		require.NoError(b, err)
		return at >= last
	})
}

// prefill appends n events, 100 to a stream, so they are quick to write.
func prefill(b *testing.B, s eventstore.Store, n int) {
	ctx := context.Background()
	for done := 0; done < n; done += 100 {
		evs := make([]eventstore.EventData, min(100, n-done))
		for i := range evs {
			evs[i] = eventstore.EventData{ID: uuid.New(), Type: "Bench", SchemaVersion: 1, Data: []byte(`{"n":1}`)}
		}
		_, err := eventstore.AppendOne(ctx, s, "bench-"+uuid.NewString(), eventstore.NoStream, evs...)
		require.NoError(b, err)
	}
}

// resetTree forgets the tree so a sequencer builds it again from position zero.
func resetTree(b testing.TB, be backend) {
	for _, q := range []string{`DELETE FROM tlog_tiles`, `DELETE FROM tlog_runs`, `DELETE FROM tlog_checkpoints`} {
		_, err := be.tree.Exec(q)
		require.NoError(b, err)
	}
	_, err := be.tree.Exec(`UPDATE tlog_state SET size = 0, position = 0, compact = $1`, []byte{})
	require.NoError(b, err)
}

// BenchmarkSequencerCatchUp: how fast a sequencer builds the tree of a 100,000-event log,
// reading it from the store.
func BenchmarkSequencerCatchUp(b *testing.B) {
	const events = 100_000
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		prefill(b, be.store, events)
		key := testKey(b, "bench/log")
		var rate stat
		defer measuring(b)()
		for range rounds {
			_, seq := sequencer(b, be, transparency.Options{Key: key})
			resetTree(b, be)
			start := time.Now()
			require.NoError(b, seq.CatchUp(context.Background()))
			rate = append(rate, events/time.Since(start).Seconds())
		}
		b.Logf("catch-up of %d events, events/s: %s", events, rate)
		m, _, _ := rate.summary()
		b.ReportMetric(m, "events/s")
	})
}

// BenchmarkCheckpointLag: appends paced at 1,000/s by 8 writers with the sequencer running at
// its defaults (a checkpoint each 1000 events or 10 s). The lag of an event is from its
// acknowledgement to the first checkpoint covering it; it is measured for the events of an 8 s
// window, and the load goes on until a checkpoint covers them (a steady rate, not its end).
func BenchmarkCheckpointLag(b *testing.B) {
	const rate, writers, window = 1000, 8, 8 * time.Second
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		key := testKey(b, "bench/log")
		var p50s, p99s, reached stat
		defer measuring(b)()
		for range rounds {
			type covered struct {
				position uint64
				at       time.Time
			}
			var (
				mu   sync.Mutex
				cps  []covered
				acks = make([][]covered, writers)
			)
			_, seq := sequencer(b, be, transparency.Options{Key: key, OnCheckpoint: func(s transparency.Signed) {
				mu.Lock()
				cps = append(cps, covered{s.Position, time.Now()})
				mu.Unlock()
			}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = seq.Run(ctx) }()
			start := time.Now()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					interval := time.Second * writers / rate
					for next := start; ; next = next.Add(interval) {
						select {
						case <-stop:
							return
						case <-time.After(time.Until(next)):
						}
						res, err := eventstore.AppendOne(context.Background(), be.store, "lag-"+uuid.NewString(), eventstore.NoStream,
							eventstore.EventData{ID: uuid.New(), Type: "Bench", SchemaVersion: 1, Data: []byte(`{}`)})
						if err != nil {
							b.Error(err)
							return
						}
						if at := time.Now(); at.Sub(start) < window {
							mu.Lock()
							acks[w] = append(acks[w], covered{res.Records[0].Position, at})
							mu.Unlock()
						}
					}
				})
			}
			time.Sleep(window)
			mu.Lock()
			all := slices.Concat(acks...)
			mu.Unlock()
			last := slices.MaxFunc(all, func(a, c covered) int { return cmp.Compare(a.position, c.position) }).position
			waitFor(b, "a checkpoint covering the window", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(cps) > 0 && cps[len(cps)-1].position >= last
			})
			close(stop)
			wg.Wait()
			cancel()
			<-done
			all = slices.Concat(acks...)
			lags := make([]time.Duration, 0, len(all))
			for _, a := range all {
				i := slices.IndexFunc(cps, func(c covered) bool { return c.position >= a.position })
				lags = append(lags, cps[i].at.Sub(a.at))
			}
			p50s = append(p50s, float64(percentile(lags, 0.5).Milliseconds()))
			p99s = append(p99s, float64(percentile(lags, 0.99).Milliseconds()))
			reached = append(reached, float64(len(all))/window.Seconds())
		}
		b.Logf("checkpoint lag at %d appends/s asked (reached %s/s): p50 %s ms, p99 %s ms", rate, reached, p50s, p99s)
		m, _, _ := p99s.summary()
		b.ReportMetric(m, "lag-p99-ms")
	})
}

// synthetic is a log of n generated records, served like a store's global log.
type synthetic uint64

func (n synthetic) ReadAll(_ context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	var out []eventstore.Record
	for p := after + 1; p <= uint64(n) && len(out) < limit; p++ {
		r := eventstore.Record{StreamID: fmt.Sprintf("document-%d", p/7), Version: p%7 + 1, Position: p, EventID: uuid.New()}
		r.Hash[0], r.Hash[1], r.Hash[2] = byte(p), byte(p>>8), byte(p>>16)
		out = append(out, r)
	}
	return out, nil
}

// BenchmarkInclusionProof1M: the database work of GET /v1/proofs/inclusion (the latest
// checkpoint, the position's leaf index, the proof's nodes), and of GET /v1/proofs/consistency
// (the latest checkpoint, the proof's nodes), alternating, on a tree of one million leaves,
// built by the sequencer from a generated log.
func BenchmarkInclusionProof1M(b *testing.B) {
	const size = 1_000_000
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		ctx := context.Background()
		l, err := transparency.OpenLog(ctx, be.tree, be.dialect)
		require.NoError(b, err)
		start := time.Now()
		seq := transparency.NewSequencer(l, synthetic(size), transparency.Options{Key: testKey(b, "bench/log")})
		require.NoError(b, seq.CatchUp(ctx))
		b.Logf("built a tree of %d leaves in %.1fs (%.0f leaves/s)", size, time.Since(start).Seconds(), size/time.Since(start).Seconds())
		// Baselines, interleaved with the proofs: one trivial query, and CPU work of about a
		// proof's median (SHA-256 of 256 KiB), whose tails are the machine's (2 cores shared
		// by many processes), not the tree's.
		var p50s, p99s, con50, con99, base50, base99, cpu50, cpu99 stat
		block := make([]byte, 256<<10)
		defer measuring(b)()
		for range rounds {
			lat := make([]time.Duration, 0, 2000)
			conLat := make([]time.Duration, 0, 2000)
			baseLat := make([]time.Duration, 0, 2000)
			cpuLat := make([]time.Duration, 0, 2000)
			for range 2000 {
				t0 := time.Now()
				var one int
				require.NoError(b, be.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
				baseLat = append(baseLat, time.Since(t0))
				t0 = time.Now()
				_ = sha256.Sum256(block)
				cpuLat = append(cpuLat, time.Since(t0))
				pos := 1 + rand.Uint64N(size)
				t0 = time.Now()
				cp, err := l.Latest(ctx)
				require.NoError(b, err)
				idx, err := l.Index(ctx, pos)
				require.NoError(b, err)
				_, err = l.InclusionProof(ctx, idx, cp.Size)
				require.NoError(b, err)
				lat = append(lat, time.Since(t0))
				// GET /v1/proofs/consistency?from=M: from M to the latest checkpoint.
				t0 = time.Now()
				cp, err = l.Latest(ctx)
				require.NoError(b, err)
				_, err = l.ConsistencyProof(ctx, 1+rand.Uint64N(cp.Size-1), cp.Size)
				require.NoError(b, err)
				conLat = append(conLat, time.Since(t0))
			}
			con50 = append(con50, float64(percentile(conLat, 0.5).Microseconds()))
			con99 = append(con99, float64(percentile(conLat, 0.99).Microseconds()))
			p50s = append(p50s, float64(percentile(lat, 0.5).Microseconds()))
			p99s = append(p99s, float64(percentile(lat, 0.99).Microseconds()))
			base50 = append(base50, float64(percentile(baseLat, 0.5).Microseconds()))
			base99 = append(base99, float64(percentile(baseLat, 0.99).Microseconds()))
			cpu50 = append(cpu50, float64(percentile(cpuLat, 0.5).Microseconds()))
			cpu99 = append(cpu99, float64(percentile(cpuLat, 0.99).Microseconds()))
		}
		b.Logf("on %d leaves, µs: inclusion proof p50 %s, p99 %s; consistency proof p50 %s, p99 %s; baselines: SELECT 1 p50 %s, p99 %s; SHA-256 of 256 KiB p50 %s, p99 %s",
			size, p50s, p99s, con50, con99, base50, base99, cpu50, cpu99)
		m, _, _ := p99s.summary()
		b.ReportMetric(m, "p99-µs")
		m, _, _ = con99.summary()
		b.ReportMetric(m, "consistency-p99-µs")
	})
}
