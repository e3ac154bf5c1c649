package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/internal/cursor"
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
	Org     string // organisation charged
	Rule    string // a rule of the deadline table, or an application's step (services.Rules)
	Unit    string // the unit holding the document now
	Service string // the service code of the document or application
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
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{"c.stopped = 0", "c.error = ''", "c.adjusted > 0", "c.adjusted < " + arg(model.Micros(now))}
	if f.Org != "" {
		where = append(where, "c.org = "+arg(f.Org))
	}
	if f.Rule != "" {
		where = append(where, "c.rule = "+arg(f.Rule))
	}
	if f.Unit != "" {
		where = append(where, "d.holder_unit = "+arg(f.Unit))
	}
	if f.Service != "" {
		where = append(where, "d.service_code = "+arg(f.Service))
	}
	var (
		cAdj                int64
		cDoc, cRule, cStart string
		cOrg                string
	)
	if ok, err := cursor.Decode(f.Cursor, &cAdj, &cDoc, &cRule, &cStart, &cOrg); err != nil {
		return OverdueList{}, err
	} else if ok {
		where = append(where, fmt.Sprintf("(c.adjusted, c.document_id, c.rule, c.start_event, c.org) > (%s, %s, %s, %s, %s)",
			arg(cAdj), arg(cDoc), arg(cRule), arg(cStart), arg(cOrg)))
	}
	lim := f.limit()
	query := fmt.Sprintf(`SELECT c.document_id, c.rule, c.source, c.breach, c.org, c.adjusted, c.deadline, c.start_at, c.start_event,
		c.force_majeure, c.missed_event, c.notice_owed, d.status, d.holder_org, d.holder_unit, d.holder_employee, d.holder_since
		FROM %s c JOIN %s d ON d.document_id = c.document_id WHERE %s
		ORDER BY c.adjusted, c.document_id, c.rule, c.start_event, c.org LIMIT %s`,
		model.Clocks.Name(gen), model.Documents.Name(gen), strings.Join(where, " AND "), arg(lim+1))
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return OverdueList{}, fmt.Errorf("query: overdue: %w", err)
	}
	defer rows.Close()
	out := OverdueList{AsOf: now.In(domain.Almaty), Items: []Overdue{}}
	for rows.Next() {
		var (
			o                                  Overdue
			doc, org, start, fm, ho, hu, he    string
			breach, adj, base, started, hsince int64
			owed                               int64
		)
		if err := rows.Scan(&doc, &o.Rule, &o.Source, &breach, &org, &adj, &base, &started, &start, &fm, &o.MissedEventID, &owed,
			&o.State, &ho, &hu, &he, &hsince); err != nil {
			return OverdueList{}, fmt.Errorf("query: overdue: %w", err)
		}
		o.DocumentID, _ = uuid.Parse(doc)
		o.StartEvent, _ = uuid.Parse(start)
		o.Breach, o.Charged = breach == 1, domain.Org(org)
		o.Deadline, o.BaseDeadline, o.StartedAt = at(adj), at(base), at(started)
		o.OverdueBy = now.Sub(o.Deadline).Round(time.Second).String()
		if owed == 1 {
			o.NoticeOwed, o.Notice = true, noticeOwed
		}
		for _, s := range decodeJSON[[]string](fm) {
			if id, err := uuid.Parse(s); err == nil {
				o.ForceMajeure = append(o.ForceMajeure, id)
			}
		}
		if ho != "" {
			o.Holder = &domain.Holder{Org: domain.Org(ho), Unit: hu, EmployeeID: he}
			o.HolderSince = atPtr(hsince)
		}
		out.Items = append(out.Items, o)
	}
	if err := rows.Err(); err != nil {
		return OverdueList{}, fmt.Errorf("query: overdue: %w", err)
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		l := out.Items[lim-1]
		out.NextCursor = cursor.Encode(model.Micros(l.Deadline), l.DocumentID.String(), l.Rule, l.StartEvent.String(), string(l.Charged))
	}
	return out, nil
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
