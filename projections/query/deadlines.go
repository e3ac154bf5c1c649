package query

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Overdue is an active document past a deadline of DOMAIN.md, for one charged organisation.
type Overdue struct {
	DocumentID   uuid.UUID      `json:"document_id"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Breach       bool           `json:"breach"`        // false: running out is the next step, no one's fault (cell_storage, con_storage)
	Charged      domain.Org     `json:"org,omitempty"` // the organisation charged ("" for rules that charge no one)
	Deadline     time.Time      `json:"deadline"`      // moved by force majeure for this organisation
	BaseDeadline time.Time      `json:"base_deadline"` // by the table alone
	StartedAt    time.Time      `json:"started_at"`
	StartEvent   uuid.UUID      `json:"start_event_id"`
	OverdueBy    string         `json:"overdue_by"` // a Go duration, e.g. "26h30m0s"
	ForceMajeure []uuid.UUID    `json:"force_majeure,omitempty"`
	State        string         `json:"state"`
	Holder       *domain.Holder `json:"holder,omitempty"` // who holds the document now
	HolderSince  *time.Time     `json:"holder_since,omitempty"`
	// MissedEventID is the watch's DeadlineMissed record, once appended.
	MissedEventID string `json:"missed_event_id,omitempty"`
	// NoticeOwed: a Kaspi-side wait ran out and no DeliveryDelayed told the recipient (P.27),
	// so the platform owes the recipient a notice of the delay.
	NoticeOwed bool   `json:"notice_owed,omitempty"`
	Notice     string `json:"notice,omitempty"`
}

// noticeOwed is what an overdue item says when the recipient was not told of the delay.
const noticeOwed = "P.27: the recipient has not been told of the delay; the platform owes a DeliveryDelayed notice"

// OverdueFilter narrows the overdue list (API: org, rule, unit).
type OverdueFilter struct {
	Org  string // organisation charged
	Rule string // a rule of the deadline table, or an application's step (services.Rules)
	Unit string // the unit holding the document now
	// Region is the document's city (the region a force-majeure period covers).
	Region string
	// Service is the service code of the document or application.
	Service string
	Page
}

// OverdueList is one page of overdue documents, oldest breach first.
type OverdueList struct {
	AsOf       time.Time `json:"as_of"`
	Items      []Overdue `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Overdue lists every running clock whose deadline (force majeure applied) has passed.
func (q *Queries) Overdue(ctx context.Context, f OverdueFilter) (OverdueList, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return OverdueList{}, err
	}
	now := q.now()
	a := &sqlArgs{}
	where := []string{"c.stopped = 0", "c.error = ''", "c.adjusted > 0", "c.adjusted < " + a.add(model.Micros(now))}
	where = append(where, clockFilters(a, f.Org, f.Rule, f.Unit, f.Region)...)
	if f.Service != "" {
		where = append(where, "d.service_code = "+a.add(f.Service))
	}
	src := model.Clocks.Name(gen)
	if f.Rule == RuleTransmission {
		// Asked for by name only: the console's overview counts the clocks alone.
		src = q.withTransmissions(gen)
	}
	return q.clockList(ctx, gen, now, src, where, a, f.Page)
}

// withTransmissions is the clocks table together with the statuses still undelivered to ИИС
// ЦОН and unacknowledged, each as a running clock of Kaspi's due transmitDelay after the
// status (P.9, P.20, P.22(3), P.31), so they page and filter with the overdue clocks.
func (q *Queries) withTransmissions(gen int64) string {
	const cols = "document_id, rule, source, breach, org, adjusted, deadline, start_at, start_event, force_majeure, " +
		"missed_event, notice_owed, stopped, error"
	d := q.transmitDelay.Microseconds()
	return fmt.Sprintf(`(SELECT %s FROM %s
		UNION ALL SELECT t.document_id, '%s', t.source, 1, 'kaspi', t.created_at + %d, t.created_at + %d, t.created_at,
			t.trigger_event, '[]', '', 0, 0, ''
		FROM %s t LEFT JOIN projections_outbox o ON o.dedup_key = t.dedup_key
		WHERE t.ack_event = '' AND COALESCE(o.status, 'pending') <> 'delivered')`,
		cols, model.Clocks.Name(gen), RuleTransmission, d, d, model.Transmissions.Name(gen))
}

// Due is a deadline the watch still has to record: a breach whose deadline passed (while the
// clock ran) on a document that can still take a DeadlineMissed, not recorded yet.
type Due struct {
	DocumentID uuid.UUID
	Rule       deadline.RuleID
	StartEvent uuid.UUID
	Org        domain.Org
	Deadline   time.Time
}

// Due lists up to limit deadlines that passed before now and are not recorded, oldest first.
func (q *Queries) Due(ctx context.Context, now time.Time, limit int) ([]Due, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.db.QueryContext(ctx, fmt.Sprintf(`SELECT document_id, rule, start_event, org, due FROM %s
		WHERE due > 0 AND due < $1 ORDER BY due, document_id, rule, org LIMIT $2`, model.Clocks.Name(gen)),
		model.Micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("query: due deadlines: %w", err)
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var (
			d                  Due
			doc, rule, st, org string
			due                int64
		)
		if err := rows.Scan(&doc, &rule, &st, &org, &due); err != nil {
			return nil, fmt.Errorf("query: due deadlines: %w", err)
		}
		d.DocumentID, _ = uuid.Parse(doc)
		d.StartEvent, _ = uuid.Parse(st)
		d.Rule, d.Org, d.Deadline = deadline.RuleID(rule), domain.Org(org), model.Time(due, time.UTC)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ForceMajeure returns every declared force-majeure period.
func (q *Queries) ForceMajeure(ctx context.Context) ([]deadline.ForceMajeure, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return nil, err
	}
	return LoadForceMajeure(ctx, q.db, gen)
}

// LoadForceMajeure reads generation gen's force-majeure periods, in declaration order.
func LoadForceMajeure(ctx context.Context, db sqldb.Querier, gen int64) ([]deadline.ForceMajeure, error) {
	rows, err := sqldb.ReadRows(ctx, db, model.ForceMajeure, gen, "")
	if err != nil {
		return nil, err
	}
	type withPos struct {
		f   deadline.ForceMajeure
		pos uint64
	}
	var all []withPos
	for _, r := range rows {
		f, pos, err := model.FMFromRow(r)
		if err != nil {
			return nil, err
		}
		all = append(all, withPos{f, pos})
	}
	// Declaration order keeps deadline.Clocks' inputs identical however the rows were read.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].pos < all[j-1].pos; j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	out := make([]deadline.ForceMajeure, len(all))
	for i, w := range all {
		out[i] = w.f
	}
	return out, nil
}
