package transparency_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// BenchmarkAppendWithSequencerApart is BenchmarkAppendWithSequencer for the deployment that
// keeps the tree in a database of its own and runs `custody sequence` on other hardware
// (docs/transparency.md, "The sequencer on a machine of its own"), emulated on this machine
// by CPU affinity: this process (the 8 writers), the store's database sessions and the
// server's own processes on CPU 0; the `custody sequence` process and the tree's database
// sessions on CPU 1. Rounds without the sequencer stop that process (SIGSTOP); rounds with it
// start once it has caught up. A third contender, a busy loop on CPU 1, is the control: on a
// virtual machine the two CPUs are not two machines, and any work on one slows the other.
// With CUSTODY_BENCH_TREE_PG naming a second PostgreSQL server on this machine, the tree is
// kept there and that whole server runs on CPU 1; otherwise it is a database of the test
// server, whose WAL both then share. Either way both "machines" share the disk and the memory
// bus, so the ratios are lower bounds of what the deployment gives. It needs the right to set
// the server's CPU affinity (root), and skips without it; the affinity is restored at the end
// (after a benchmark killed midway: taskset -a -p -c 0-1 PID for each postgres process).
func BenchmarkAppendWithSequencerApart(b *testing.B) {
	const rounds = 5
	if runtime.GOOS != "linux" || runtime.NumCPU() < 2 {
		b.Skip("needs Linux and two CPUs to stand for two machines")
	}
	be, storeURL, treeURL := pgApart(b, os.Getenv("CUSTODY_BENCH_TREE_PG"))
	ctx := context.Background()
	treeName, treeServer := currentDatabase(be.tree), postmaster(b, be.tree)
	apart := treeServer != postmaster(b, be.db)
	b.Logf("the tree in database %s on a server of its own: %t", treeName, apart)

	dir := b.TempDir()
	bin := filepath.Join(dir, "custody")
	build := exec.Command("go", "build", "-o", bin, "github.com/custody-ledger/custody/cmd/custody")
	build.Stderr = os.Stderr
	require.NoError(b, build.Run())
	file, _, err := transparency.GenerateKey("bench/log")
	require.NoError(b, err)
	keyFile := filepath.Join(dir, "checkpoint.key")
	require.NoError(b, os.WriteFile(keyFile, file, 0o600))

	var all unix.CPUSet // every CPU this process may use, restored at the end
	require.NoError(b, unix.SchedGetaffinity(0, &all))
	if err := pinPostgres(func(int, int, string) *unix.CPUSet { return &all }); err != nil {
		b.Skipf("cannot set the PostgreSQL server's CPU affinity from here: %v", err)
	}
	b.Cleanup(func() {
		require.NoError(b, pinProcess(os.Getpid(), &all))
		require.NoError(b, pinPostgres(func(int, int, string) *unix.CPUSet { return &all }))
	})
	require.NoError(b, pinProcess(os.Getpid(), oneCPU(0)))
	onCPU := func(pid, ppid int, db string) *unix.CPUSet {
		if apart && (pid == treeServer || ppid == treeServer) || !apart && db == treeName {
			return oneCPU(1)
		}
		return oneCPU(0)
	}

	seq := exec.Command("taskset", "-c", "1", bin, "sequence", "--store", storeURL, "--tree-store", treeURL,
		"--checkpoint-key", keyFile)
	seq.Env = append(os.Environ(), "CUSTODY_LOG_LEVEL=WARN")
	seq.Stderr = os.Stderr
	require.NoError(b, seq.Start())
	b.Cleanup(func() { _ = seq.Process.Signal(syscall.SIGCONT); _ = seq.Process.Kill(); _ = seq.Wait() })
	l, err := transparency.OpenLog(ctx, be.tree, projections.Postgres)
	require.NoError(b, err)

	// The control: a busy loop on CPU 1 instead of the sequencer, which shows what any work
	// on the other CPU costs the appends on this machine (they are not two machines).
	busy := exec.Command("taskset", "-c", "1", "sh", "-c", "while :; do :; done")
	require.NoError(b, busy.Start())
	b.Cleanup(func() { _ = busy.Process.Kill(); _ = busy.Wait() })

	var without, with, control, ratio, controlRatio, versus stat
	require.NoError(b, busy.Process.Signal(syscall.SIGSTOP))
	appendLoad(b, be.store, 8, 3*time.Second) // warm-up
	caughtUp(b, be, l)
	defer measuring(b)()
	for r := range rounds {
		for i := range 3 {
			contender := (r + i) % 3 // rotate which goes first
			require.NoError(b, seq.Process.Signal(syscall.SIGSTOP))
			require.NoError(b, busy.Process.Signal(syscall.SIGSTOP))
			switch contender {
			case 1:
				require.NoError(b, seq.Process.Signal(syscall.SIGCONT))
				caughtUp(b, be, l)
			case 2:
				require.NoError(b, busy.Process.Signal(syscall.SIGCONT))
			}
			require.NoError(b, pinPostgres(onCPU)) // sessions opened since the last round too
			rate := appendLoad(b, be.store, 8, 3*time.Second)
			switch contender {
			case 0:
				without = append(without, rate)
			case 1:
				with = append(with, rate)
			case 2:
				control = append(control, rate)
			}
		}
		ratio = append(ratio, 100*with[r]/without[r])
		controlRatio = append(controlRatio, 100*control[r]/without[r])
		versus = append(versus, 100*with[r]/control[r])
	}
	require.NoError(b, busy.Process.Signal(syscall.SIGSTOP))
	require.NoError(b, seq.Process.Signal(syscall.SIGCONT))
	b.Logf("appends/s, 8 writers on CPU 0: without %s, with `custody sequence` on CPU 1 %s, with a busy loop on CPU 1 %s",
		without, with, control)
	b.Logf("with the sequencer ÷ without %% %s; with the busy loop ÷ without %% %s; with the sequencer ÷ with the busy loop %% %s",
		ratio, controlRatio, versus)
	m, _, _ := ratio.summary()
	b.ReportMetric(m, "with/without-%")
	m, _, _ = controlRatio.summary()
	b.ReportMetric(m, "busy-loop/without-%")
	m, _, _ = versus.summary()
	b.ReportMetric(m, "with/busy-loop-%")
}

// pgApart is a PostgreSQL store with the tree in a database of its own, on the server
// treeServer names or else on the test server, and their URLs.
func pgApart(t testing.TB, treeServer string) (be backend, storeURL, treeURL string) {
	storeURL, treeURL = pgtest.Schema(t), pgtest.Database(t)
	if treeServer != "" {
		treeURL = pgtest.DatabaseAt(t, treeServer)
	}
	s, err := postgres.Open(context.Background(), storeURL)
	require.NoError(t, err)
	db := stdlib.OpenDBFromPool(s.Pool())
	tree, err := sql.Open("pgx", treeURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tree.Close(); _ = db.Close(); _ = s.Close() })
	return backend{store: s, db: db, tree: tree, dialect: projections.Postgres}, storeURL, treeURL
}

// pgTreeApartBackend is pgBackend with the tree in a database of its own.
func pgTreeApartBackend(t testing.TB) backend {
	be, _, _ := pgApart(t, "")
	return be
}

func oneCPU(cpu int) *unix.CPUSet {
	var set unix.CPUSet
	set.Set(cpu)
	return &set
}

// pinProcess sets the CPU affinity of every thread of pid.
func pinProcess(pid int, set *unix.CPUSet) error {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/[0-9]*")
	for _, task := range tasks {
		tid, _ := strconv.Atoi(filepath.Base(task))
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("thread %d: %w", tid, err)
		}
	}
	return nil
}

// pinPostgres sets the CPU affinity of this machine's PostgreSQL processes by their pid, their
// parent's and the database their session is in ("" for the server's own processes).
func pinPostgres(where func(pid, ppid int, db string) *unix.CPUSet) error {
	for _, p := range postgresProcesses() {
		if err := unix.SchedSetaffinity(p.pid, where(p.pid, p.ppid, p.db)); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("postgres process %d: %w", p.pid, err)
		}
	}
	return nil
}

// postmaster is the pid of the server db's sessions run under (their parent process).
func postmaster(t testing.TB, db *sql.DB) int {
	var backend int
	require.NoError(t, db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend))
	_, ppid, _, ok := procStat(backend)
	require.True(t, ok, "the backend %d is a process of this machine", backend)
	return ppid
}
