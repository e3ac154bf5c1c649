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

// Overdue lists every running clock whose deadline (force majeure applied) has passed, and every
// status still undelivered to ИИС ЦОН transmitDelay after it (rule iis_con_transmission, Kaspi).
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
	lim := f.Page.limit()
	// Two reads, each in the order of its own index, merged here: the clocks (index in the
	// overdue list's order) and the statuses still undelivered to ИИС ЦОН (the outbox's partial
	// index of undelivered ИИС ЦОН messages by time). Each read stops after a page, so the first
	// page costs two short index scans however long the list is; a UNION ALL of the two sorted
	// every late status first (1.7 s at 1M events, reverted in 55ea437). Asked for by its
	// rule, a transmission is no clock: the clocks are not read.
	transmissions := (f.Rule == "" || f.Rule == RuleTransmission) && (f.Org == "" || f.Org == string(domain.OrgKaspi))
	if !transmissions { // another rule, or another organisation's (Kaspi alone passes statuses)
		return q.clockList(ctx, gen, now, model.Clocks.Name(gen), where, a, f.Page)
	}
	if f.Rule == RuleTransmission {
		return q.lateTransmissions(ctx, gen, now, f)
	}
	clocks, err := q.clockList(ctx, gen, now, model.Clocks.Name(gen), where, a, f.Page)
	if err != nil {
		return OverdueList{}, err
	}
	late, err := q.lateTransmissions(ctx, gen, now, f)
	if err != nil {
		return OverdueList{}, err
	}
	out := OverdueList{AsOf: now.In(domain.Almaty), Items: mergeOverdue(clocks.Items, late.Items)}
	if len(out.Items) > lim || clocks.NextCursor != "" || late.NextCursor != "" {
		out.Items = out.Items[:min(lim, len(out.Items))]
		out.NextCursor = overdueCursor(out.Items[len(out.Items)-1])
	}
	return out, nil
}

// overdueCursor is the keyset cursor after item o: the overdue list's order (deadline,
// document, rule, start event, organisation), a unique key in both of its sources.
func overdueCursor(o Overdue) string {
	return cursor.Encode(model.Micros(o.Deadline), o.DocumentID.String(), o.Rule, o.StartEvent.String(), string(o.Charged))
}

// overdueLess is the overdue list's order, as the SQL reads sort it (byte order of the text
// columns: the read models' databases use C collation and the ids are lower-case uuids).
func overdueLess(x, y Overdue) bool {
	if c := x.Deadline.Compare(y.Deadline); c != 0 {
		return c < 0
	}
	for _, p := range [][2]string{{x.DocumentID.String(), y.DocumentID.String()}, {x.Rule, y.Rule},
		{x.StartEvent.String(), y.StartEvent.String()}, {string(x.Charged), string(y.Charged)}} {
		if p[0] != p[1] {
			return p[0] < p[1]
		}
	}
	return false
}

// mergeOverdue merges two lists sorted in the overdue list's order.
func mergeOverdue(x, y []Overdue) []Overdue {
	out := make([]Overdue, 0, len(x)+len(y))
	for len(x) > 0 && len(y) > 0 {
		if overdueLess(y[0], x[0]) {
			out, y = append(out, y[0]), y[1:]
		} else {
			out, x = append(out, x[0]), x[1:]
		}
	}
	return append(append(out, x...), y...)
}

// lateTransmissions is a page of the statuses still undelivered to ИИС ЦОН and unacknowledged
// transmitDelay after the status (P.9, P.20, P.22(3), P.31), each an overdue item of Kaspi's
// due transmitDelay after the status, in the overdue list's order from f's cursor.
//
// It reads the outbox's partial index of undelivered ИИС ЦОН messages
// (projections_outbox_iis_con_late: time, document, dedup key; the dedup key orders a document's
// statuses as their event ids do) in batches: a batch is a query on the outbox alone, ordered as
// the index and limited, which both databases answer by walking the index whatever their
// statistics say (joined in one query, PostgreSQL without statistics sorted all 92,000 late
// statuses of a 300,000-event ledger: 3.5 s); the batch's rows are then joined with their
// transmission and document, and those acknowledged or filtered out are skipped. Batches grow
// until the page is full or the index ends.
func (q *Queries) lateTransmissions(ctx context.Context, gen int64, now time.Time, f OverdueFilter) (OverdueList, error) {
	d := q.transmitDelay.Microseconds()
	lim := f.Page.limit()
	// The last outbox key read: (created_at, document_id, dedup_key), the index's order.
	var (
		kAt        int64
		kDoc, kKey string
		after      bool
	)
	var (
		cAdj                      int64
		cDoc, cRule, cStart, cOrg string
	)
	if ok, err := cursor.Decode(f.Page.Cursor, &cAdj, &cDoc, &cRule, &cStart, &cOrg); err != nil {
		return OverdueList{}, err
	} else if ok {
		kAt, kDoc, kKey, after = cAdj-d, cDoc, transmissionBound(cDoc, cRule, cStart, cOrg), true
	}
	out := OverdueList{AsOf: now.In(domain.Almaty), Items: []Overdue{}}
	for batch := lim + 1; ; batch = min(4*batch, 10_000) {
		a := &sqlArgs{}
		// The partial index's own terms, as literals, so that both databases match it.
		inner := []string{"channel = '" + model.ChannelIISCON + "'", "status <> 'delivered'", "created_at < " + a.add(model.Micros(now)-d)}
		if after {
			from := a.add(kAt) // the first term bounds the scan; the row comparison is the exact order
			inner = append(inner, "created_at >= "+from, fmt.Sprintf("(created_at, document_id, dedup_key) > (%s, %s, %s)", from, a.add(kDoc), a.add(kKey)))
		}
		keep := append([]string{"t.ack_event = ''", "d.document_id IS NOT NULL"}, clockFilters(a, "", "", f.Unit, f.Region)...)
		if f.Service != "" {
			keep = append(keep, "d.service_code = "+a.add(f.Service))
		}
		n := 0
		if err := q.each(ctx, fmt.Sprintf(`SELECT o.created_at, o.document_id, o.dedup_key, CASE WHEN %s THEN 1 ELSE 0 END,
			COALESCE(t.source, ''), COALESCE(t.trigger_event, ''), COALESCE(d.status, ''), COALESCE(d.holder_org, ''),
			COALESCE(d.holder_unit, ''), COALESCE(d.holder_employee, ''), COALESCE(d.holder_since, 0)
			FROM (SELECT created_at, document_id, dedup_key FROM projections_outbox WHERE %s
				ORDER BY created_at, document_id, dedup_key LIMIT %s) o
			LEFT JOIN %s t ON t.dedup_key = o.dedup_key LEFT JOIN %s d ON d.document_id = o.document_id
			ORDER BY o.created_at, o.document_id, o.dedup_key`,
			strings.Join(keep, " AND "), strings.Join(inner, " AND "), a.add(batch),
			model.Transmissions.Name(gen), model.Documents.Name(gen)), a.vals,
			func(s rowScanner) error {
				var (
					o                 Overdue
					start, ho, hu, he string
					hsince, kept      int64
				)
				if err := s.Scan(&kAt, &kDoc, &kKey, &kept, &o.Source, &start, &o.State, &ho, &hu, &he, &hsince); err != nil {
					return err
				}
				n, after = n+1, true
				if kept == 0 || len(out.Items) > lim {
					return nil
				}
				o.DocumentID, _ = uuid.Parse(kDoc)
				o.StartEvent, _ = uuid.Parse(start)
				o.Rule, o.Breach, o.Charged = RuleTransmission, true, domain.OrgKaspi
				o.StartedAt, o.Deadline = at(kAt), at(kAt+d)
				o.BaseDeadline = o.Deadline
				o.OverdueBy = now.Sub(o.Deadline).Round(time.Second).String()
				if ho != "" {
					o.Holder, o.HolderSince = &domain.Holder{Org: domain.Org(ho), Unit: hu, EmployeeID: he}, atPtr(hsince)
				}
				out.Items = append(out.Items, o)
				return nil
			}); err != nil {
			return OverdueList{}, fmt.Errorf("query: late transmissions: %w", err)
		}
		if len(out.Items) > lim || n < batch {
			break
		}
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		out.NextCursor = overdueCursor(out.Items[lim-1])
	}
	return out, nil
}

// transmissionBound turns the overdue list's cursor (after document doc, rule, start event,
// organisation) into the outbox key a late status of doc must exceed: its dedup key
// (model.DedupKey: doc/event/channel) orders doc's statuses as their event ids do.
func transmissionBound(doc, rule, start, org string) string {
	switch {
	case rule < RuleTransmission: // every late status of doc comes after
		return ""
	case rule > RuleTransmission: // none does: '0' follows '/', so this is above every doc/… key
		return doc + "0"
	case org < string(domain.OrgKaspi): // the status of that start event too
		return doc + "/" + start + "/"
	default:
		return doc + "/" + start + "/" + model.ChannelIISCON
	}
}

// lateTransmissionCount counts the statuses lateTransmissions lists (no filter), by the same
// index and joins, so that the console's overview count equals the overdue list.
func (q *Queries) lateTransmissionCount(ctx context.Context, gen int64, now time.Time) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM projections_outbox o
		JOIN %s t ON t.dedup_key = o.dedup_key JOIN %s d ON d.document_id = o.document_id
		WHERE o.channel = '%s' AND o.status <> 'delivered' AND t.ack_event = '' AND o.created_at < $1`,
		model.Transmissions.Name(gen), model.Documents.Name(gen), model.ChannelIISCON),
		model.Micros(now)-q.transmitDelay.Microseconds()).Scan(&n); err != nil {
		return 0, fmt.Errorf("query: late transmissions: %w", err)
	}
	return n, nil
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
