// Package query reads the projections' read models: registries with their reconciliation,
// overdue documents, custody and liability, notifications with their delivery status, and
// what the deadline watch still has to record. Every query reads the live generation (see
// package projections); lists are paginated with opaque cursors. Times come back in
// Asia/Almaty (+05:00). Personal data never comes back: contacts are masked.
package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/internal/cursor"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Errors the read API maps to problem codes.
var (
	ErrNotFound    = errors.New("not found")                            // not_found
	ErrMalformed   = errors.New("malformed query")                      // malformed
	ErrUnavailable = errors.New("read models unavailable: being built") // unavailable
)

// Queries reads the read models of one database.
type Queries struct {
	db  *sql.DB
	now func() time.Time
	// transmitDelay: a status still undelivered to ИИС ЦОН this long after it happened is
	// overdue (P.9, P.20).
	transmitDelay time.Duration
}

// DefaultTransmitDelay is how long a status may wait for delivery to ИИС ЦОН before it is
// listed overdue.
const DefaultTransmitDelay = time.Hour

// New returns the read side over db (the database the projections write).
func New(db *sql.DB) *Queries {
	return &Queries{db: db, now: time.Now, transmitDelay: DefaultTransmitDelay}
}

// WithTransmitDelay sets how long a status may wait for delivery to ИИС ЦОН (default 1 h).
func (q *Queries) WithTransmitDelay(d time.Duration) *Queries {
	c := *q
	if d > 0 {
		c.transmitDelay = d
	}
	return &c
}

// WithClock sets the clock "overdue" is judged by (tests).
func (q *Queries) WithClock(now func() time.Time) *Queries {
	c := *q
	c.now = now
	return &c
}

// live returns the live generation: read it per query, so a rebuild's switch is seen at once.
// The previous generation's tables are kept until the next rebuild, so a query that read the
// old number just before a switch still finds its tables.
func (q *Queries) live(ctx context.Context) (int64, error) {
	g, err := sqldb.Live(ctx, q.db)
	if errors.Is(err, sqldb.ErrNoGeneration) {
		return 0, fmt.Errorf("%w: no read-model generation built yet", ErrUnavailable)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if g.ModelVersion != model.Version {
		return 0, fmt.Errorf("%w: the live generation has model version %d, this code reads %d (rebuild running)",
			ErrUnavailable, g.ModelVersion, model.Version)
	}
	return g.Gen, nil
}

// Page asks for one page of a list.
type Page struct {
	Cursor string // opaque, from the previous page's next_cursor
	Limit  int    // 1–cursor.MaxLimit; anything else is cursor.DefaultLimit (the API refuses it first)
}

func (p Page) limit() int { return cursor.Or(p.Limit) }

func at(us int64) time.Time { return model.Time(us, domain.Almaty) }

func atPtr(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := at(us)
	return &t
}

func holder(s string) *domain.Holder {
	if s == "" {
		return nil
	}
	var h domain.Holder
	if json.Unmarshal([]byte(s), &h) != nil || h.IsZero() {
		return nil
	}
	return &h
}

// heldBy is a document's current holder and since when, from its row; nil when no one holds
// it.
func heldBy(org, unit, employee string, since int64) (*domain.Holder, *time.Time) {
	if org == "" {
		return nil, nil
	}
	return &domain.Holder{Org: domain.Org(org), Unit: unit, EmployeeID: employee}, atPtr(since)
}

func decodeJSON[T any](s string) T {
	var v T
	_ = json.Unmarshal([]byte(s), &v) // written by model.JSON: always valid
	return v
}

// sqlArgs collects a statement's arguments and names their placeholders ($1, $2, ...).
type sqlArgs struct{ vals []any }

func (a *sqlArgs) add(v any) string {
	a.vals = append(a.vals, v)
	return fmt.Sprintf("$%d", len(a.vals))
}

// scanner scans a row of int64 and string values into the given pointers.
type rowScanner interface{ Scan(dest ...any) error }
