package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// finishWorkers is how many tables Finish works on at once on PostgreSQL: each CREATE INDEX
// and VACUUM runs on one core, and the machine the issue measures on has two.
const finishWorkers = 2

// Finish makes a generation built without its secondary indexes ready to be switched to: it
// creates the indexes a generation being built does without (see model.Index) and, on
// PostgreSQL, gives the planner what a freshly built generation lacks: statistics (without
// them it guesses a third of a table for a range, and scans the hand-overs of today's
// intervals sequentially) and the visibility map (without it an index-only scan reads the heap
// row by row: the console's counts over the clocks and the documents), by VACUUM (ANALYZE) of
// each table and, when the build filled it (outbox), of the outbox; autovacuum keeps them up
// after that. On PostgreSQL the tables are finished finishWorkers at a time, largest first,
// on connections of their own; SQLite has one writer, and its planner does without analysis.
func Finish(ctx context.Context, db *sql.DB, d Dialect, gen int64, outbox bool) error {
	type job struct {
		name  string
		stmts []string
	}
	// Largest first (in the demo data set), so that the last table a worker takes is a small one.
	order := append([]*model.Table{model.Clocks, model.Intervals, model.Transmissions, model.Notifications,
		model.AppSteps, model.Documents}, model.Tables...)
	var jobs []job
	seen := map[*model.Table]bool{}
	for _, t := range order {
		if !seen[t] {
			seen[t] = true
			jobs = append(jobs, job{name: t.Name(gen), stmts: t.IndexDDL(gen, false)})
		}
	}
	if d != Postgres {
		for _, j := range jobs {
			for _, stmt := range j.stmts {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("projections: index %s: %w", j.name, err)
				}
			}
		}
		return nil
	}
	for i := range jobs {
		jobs[i].stmts = append(jobs[i].stmts, "VACUUM (ANALYZE) "+jobs[i].name)
	}
	if outbox {
		jobs = append([]job{{name: "projections_outbox", stmts: []string{"VACUUM (ANALYZE) projections_outbox"}}}, jobs...)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range finishWorkers {
		wg.Go(func() {
			for j := range queue {
				for _, stmt := range j.stmts {
					if _, err := db.ExecContext(ctx, stmt); err != nil {
						once.Do(func() { first = fmt.Errorf("projections: finish %s: %w", j.name, err); cancel() })
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return first
}
