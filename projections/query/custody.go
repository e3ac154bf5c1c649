package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/internal/cursor"
	"github.com/custody-ledger/custody/projections/internal/model"
)

// Interval is one stretch of custody.
type Interval struct {
	Holder     domain.Holder `json:"holder"`
	From       time.Time     `json:"from"`
	To         *time.Time    `json:"to,omitempty"`
	OpenedBy   string        `json:"opened_by"`
	OpenedType string        `json:"opened_type"`
	ClosedBy   string        `json:"closed_by,omitempty"`
	ClosedType string        `json:"closed_type,omitempty"`
}

// Charge is one attribution of liability, with the events and rule behind it.
type Charge struct {
	DocumentID    uuid.UUID     `json:"document_id"`
	Org           domain.Org    `json:"org"`
	Kind          string        `json:"kind"` // loss, deadline_missed, missing_line
	Rule          string        `json:"rule"`
	Source        string        `json:"source"`
	At            time.Time     `json:"at"`
	Holder        domain.Holder `json:"holder"`
	EventIDs      []uuid.UUID   `json:"event_ids"`
	Reasons       []string      `json:"reasons"`
	ForCommission bool          `json:"for_commission,omitempty"`
	CorrectedBy   string        `json:"corrected_by,omitempty"`
	// SupersededBy names the force-majeure periods that moved this missed deadline after the
	// watch recorded it: the record is kept and shown, but no longer counts (issue 10 §5).
	SupersededBy []uuid.UUID `json:"superseded_by,omitempty"`
}

// Clock is a deadline clock of a document, per charged organisation.
type Clock struct {
	Rule          string     `json:"rule"`
	Source        string     `json:"source"`
	Breach        bool       `json:"breach"`
	Org           domain.Org `json:"org,omitempty"`
	StartedAt     time.Time  `json:"started_at"`
	Deadline      *time.Time `json:"deadline,omitempty"`
	BaseDeadline  *time.Time `json:"base_deadline,omitempty"`
	Stopped       bool       `json:"stopped"`
	StoppedAt     *time.Time `json:"stopped_at,omitempty"`
	StopType      string     `json:"stop_type,omitempty"`
	Error         string     `json:"error,omitempty"` // the deadline cannot be known (e.g. outside the calendar's years)
	MissedEventID string     `json:"missed_event_id,omitempty"`
}

// Dispute is the commission's record about a document (P.36).
type Dispute struct {
	DisputeID  uuid.UUID    `json:"dispute_id"`
	OpenedAt   time.Time    `json:"opened_at"`
	Parties    []domain.Org `json:"parties"`
	Subject    string       `json:"subject"`
	Status     string       `json:"status"`
	ResolvedAt *time.Time   `json:"resolved_at,omitempty"`
	Protocol   string       `json:"protocol_number,omitempty"`
	Decision   string       `json:"decision,omitempty"`
	ChargedTo  []domain.Org `json:"charged_to,omitempty"`
}

// Custody is a document's custody intervals and liability with its reasons.
type Custody struct {
	DocumentID  uuid.UUID      `json:"document_id"`
	State       string         `json:"state"`
	Holder      *domain.Holder `json:"holder,omitempty"`
	HolderSince *time.Time     `json:"holder_since,omitempty"`
	Version     int64          `json:"version"`
	Flags       domain.Flags   `json:"flags"`
	Intervals   []Interval     `json:"intervals"`
	Liability   []Charge       `json:"liability"`
	Deadlines   []Clock        `json:"deadlines"`
	Disputes    []Dispute      `json:"disputes"`
}

// Custody returns a document's custody and liability.
func (q *Queries) Custody(ctx context.Context, id uuid.UUID) (Custody, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return Custody{}, err
	}
	c := Custody{DocumentID: id, Intervals: []Interval{}, Liability: []Charge{}, Deadlines: []Clock{}, Disputes: []Dispute{}}
	var (
		ho, hu, he, flags string
		since             int64
	)
	err = q.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT status, holder_org, holder_unit, holder_employee, holder_since, version, flags
		FROM %s WHERE document_id = $1`, model.Documents.Name(gen)), id.String()).Scan(&c.State, &ho, &hu, &he, &since, &c.Version, &flags)
	if errors.Is(err, sql.ErrNoRows) {
		return Custody{}, fmt.Errorf("document %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Custody{}, fmt.Errorf("query: custody: %w", err)
	}
	c.Holder, c.HolderSince = heldBy(ho, hu, he, since)
	c.Flags = decodeJSON[domain.Flags](flags)
	if err := q.each(ctx, fmt.Sprintf(`SELECT holder_org, holder_unit, holder_employee, from_at, to_at, opened_by, opened_type,
		closed_by, closed_type FROM %s WHERE document_id = $1 ORDER BY seq`, model.Intervals.Name(gen)), []any{id.String()},
		func(s rowScanner) error {
			var (
				iv      Interval
				o, u, e string
				f, t    int64
			)
			if err := s.Scan(&o, &u, &e, &f, &t, &iv.OpenedBy, &iv.OpenedType, &iv.ClosedBy, &iv.ClosedType); err != nil {
				return err
			}
			iv.Holder, iv.From, iv.To = domain.Holder{Org: domain.Org(o), Unit: u, EmployeeID: e}, at(f), atPtr(t)
			c.Intervals = append(c.Intervals, iv)
			return nil
		}); err != nil {
		return Custody{}, fmt.Errorf("query: custody intervals: %w", err)
	}
	if err := q.each(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE document_id = $1 ORDER BY seq`, chargeCols, model.Charges.Name(gen)),
		[]any{id.String()}, func(s rowScanner) error {
			ch, err := scanCharge(s)
			c.Liability = append(c.Liability, ch)
			return err
		}); err != nil {
		return Custody{}, fmt.Errorf("query: custody liability: %w", err)
	}
	if err := q.each(ctx, fmt.Sprintf(`SELECT rule, source, breach, org, start_at, adjusted, deadline, stopped, stopped_at, stop_type,
		error, missed_event FROM %s WHERE document_id = $1 ORDER BY start_at, rule, org`, model.Clocks.Name(gen)),
		[]any{id.String()}, func(s rowScanner) error {
			var (
				k                                      Clock
				org                                    string
				breach, st, adj, base, stopped, stopAt int64
			)
			if err := s.Scan(&k.Rule, &k.Source, &breach, &org, &st, &adj, &base, &stopped, &stopAt, &k.StopType, &k.Error, &k.MissedEventID); err != nil {
				return err
			}
			k.Breach, k.Org, k.StartedAt, k.Deadline, k.BaseDeadline = breach == 1, domain.Org(org), at(st), atPtr(adj), atPtr(base)
			k.Stopped, k.StoppedAt = stopped == 1, atPtr(stopAt)
			c.Deadlines = append(c.Deadlines, k)
			return nil
		}); err != nil {
		return Custody{}, fmt.Errorf("query: custody deadlines: %w", err)
	}
	if err := q.each(ctx, fmt.Sprintf(`SELECT %s FROM %s dd JOIN %s x ON x.dispute_id = dd.dispute_id WHERE dd.document_id = $1
		ORDER BY x.opened_at, x.dispute_id`, disputeCols("x"), model.DisputeDocuments.Name(gen), model.Disputes.Name(gen)),
		[]any{id.String()}, func(s rowScanner) error {
			d, err := scanDispute(s)
			c.Disputes = append(c.Disputes, d)
			return err
		}); err != nil {
		return Custody{}, fmt.Errorf("query: custody disputes: %w", err)
	}
	return c, nil
}

func (q *Queries) each(ctx context.Context, query string, args []any, fn func(rowScanner) error) error {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// disputeCols are the columns scanDispute reads, of the disputes table aliased as alias.
func disputeCols(alias string) string {
	cols := []string{"dispute_id", "opened_at", "parties", "subject", "status", "resolved_at", "protocol", "decision", "charged_to"}
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// scanDispute reads disputeCols, then any extra destinations.
func scanDispute(s rowScanner, extra ...any) (Dispute, error) {
	var (
		d                   Dispute
		id, parties, charge string
		opened, resolved    int64
	)
	if err := s.Scan(append([]any{&id, &opened, &parties, &d.Subject, &d.Status, &resolved, &d.Protocol, &d.Decision, &charge},
		extra...)...); err != nil {
		return d, err
	}
	d.DisputeID, _ = uuid.Parse(id)
	d.OpenedAt, d.ResolvedAt = at(opened), atPtr(resolved)
	d.Parties, d.ChargedTo = decodeJSON[[]domain.Org](parties), decodeJSON[[]domain.Org](charge)
	return d, nil
}

const chargeCols = "document_id, org, kind, rule, source, at, holder, event_ids, reasons, for_commission, corrected_by, superseded_by"

// scanCharge reads chargeCols, then any extra destinations.
func scanCharge(s rowScanner, extra ...any) (Charge, error) {
	var (
		c                       Charge
		doc, org, h, ev, rs, sb string
		t, fc                   int64
	)
	if err := s.Scan(append([]any{&doc, &org, &c.Kind, &c.Rule, &c.Source, &t, &h, &ev, &rs, &fc, &c.CorrectedBy, &sb},
		extra...)...); err != nil {
		return c, err
	}
	c.SupersededBy = decodeJSON[[]uuid.UUID](sb)
	c.DocumentID, _ = uuid.Parse(doc)
	c.Org, c.At, c.ForCommission = domain.Org(org), at(t), fc == 1
	if hp := holder(h); hp != nil {
		c.Holder = *hp
	}
	c.EventIDs, c.Reasons = decodeJSON[[]uuid.UUID](ev), decodeJSON[[]string](rs)
	return c, nil
}

// OrgLiability sums an organisation's live charges (corrected and superseded ones not counted).
type OrgLiability struct {
	Org             domain.Org `json:"org"`
	Losses          int64      `json:"losses"`
	DeadlinesMissed int64      `json:"deadlines_missed"`
	MissingLines    int64      `json:"missing_lines"`
	ForCommission   int64      `json:"for_commission"`
}

// LiabilityFilter narrows the liability report (API: org, from, to).
type LiabilityFilter struct {
	Org      string
	From, To time.Time // zero: open
	Rule     string    // a deadline rule or an application's step
	Service  string    // the service code of the document or application
	Page
}

// LiabilityReport lists losses and missed deadlines charged to each organisation, with the
// charges (paginated, oldest first) and their reasons.
type LiabilityReport struct {
	From          *time.Time     `json:"from,omitempty"`
	To            *time.Time     `json:"to,omitempty"`
	Organisations []OrgLiability `json:"organisations"`
	Charges       []Charge       `json:"charges"`
	NextCursor    string         `json:"next_cursor,omitempty"`
}

// Liability returns the liability report.
func (q *Queries) Liability(ctx context.Context, f LiabilityFilter) (LiabilityReport, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return LiabilityReport{}, err
	}
	a := &sqlArgs{}
	where := []string{"1 = 1"}
	if f.Org != "" {
		where = append(where, "org = "+a.add(f.Org))
	}
	if f.Rule != "" {
		where = append(where, "rule = "+a.add(f.Rule))
	}
	if f.Service != "" {
		where = append(where, fmt.Sprintf("document_id IN (SELECT document_id FROM %s WHERE service_code = %s)",
			model.Documents.Name(gen), a.add(f.Service)))
	}
	rep := LiabilityReport{Organisations: []OrgLiability{}, Charges: []Charge{}}
	if !f.From.IsZero() {
		where = append(where, "at >= "+a.add(model.Micros(f.From)))
		t := f.From.In(domain.Almaty)
		rep.From = &t
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+a.add(model.Micros(f.To)))
		t := f.To.In(domain.Almaty)
		rep.To = &t
	}
	base := strings.Join(where, " AND ")
	sumArgs := append([]any(nil), a.vals...)
	if err := q.each(ctx, fmt.Sprintf(`SELECT org,
		SUM(CASE WHEN kind = 'loss' THEN 1 ELSE 0 END), SUM(CASE WHEN kind = 'deadline_missed' THEN 1 ELSE 0 END),
		SUM(CASE WHEN kind = 'missing_line' THEN 1 ELSE 0 END), SUM(for_commission)
		FROM %s WHERE %s AND corrected_by = '' AND superseded_by = '' GROUP BY org ORDER BY org`, model.Charges.Name(gen), base), sumArgs,
		func(s rowScanner) error {
			var o OrgLiability
			var org string
			if err := s.Scan(&org, &o.Losses, &o.DeadlinesMissed, &o.MissingLines, &o.ForCommission); err != nil {
				return err
			}
			o.Org = domain.Org(org)
			rep.Organisations = append(rep.Organisations, o)
			return nil
		}); err != nil {
		return LiabilityReport{}, fmt.Errorf("query: liability: %w", err)
	}
	var (
		cAt  int64
		cDoc string
		cSeq int64
	)
	if ok, err := cursor.Decode(f.Cursor, &cAt, &cDoc, &cSeq); err != nil {
		return LiabilityReport{}, err
	} else if ok {
		where = append(where, fmt.Sprintf("(at, document_id, seq) > (%s, %s, %s)", a.add(cAt), a.add(cDoc), a.add(cSeq)))
	}
	lim := f.limit()
	type keyed struct {
		Charge
		seq int64
	}
	var page []keyed
	if err := q.each(ctx, fmt.Sprintf(`SELECT %s, seq FROM %s WHERE %s ORDER BY at, document_id, seq LIMIT %s`,
		chargeCols, model.Charges.Name(gen), strings.Join(where, " AND "), a.add(lim+1)), a.vals,
		func(s rowScanner) error {
			var k keyed
			var err error
			k.Charge, err = scanCharge(s, &k.seq)
			if err != nil {
				return err
			}
			page = append(page, k)
			return nil
		}); err != nil {
		return LiabilityReport{}, fmt.Errorf("query: liability: %w", err)
	}
	if len(page) > lim {
		page = page[:lim]
		l := page[lim-1]
		rep.NextCursor = cursor.Encode(model.Micros(l.At), l.DocumentID.String(), l.seq)
	}
	for _, k := range page {
		rep.Charges = append(rep.Charges, k.Charge)
	}
	return rep, nil
}
