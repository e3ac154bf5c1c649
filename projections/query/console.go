package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/internal/cursor"
	"github.com/custody-ledger/custody/projections/internal/model"
)

// The console's queries (api/console): counts for the overview, the documents behind each
// count, due-soon clocks and the disputes. Like the others they read only the live
// generation's tables.

// Count is one bar of a chart: a key (a status, an organisation, a rule) and its number.
type Count struct {
	Key string `json:"key"`
	N   int64  `json:"n"`
}

// Overview holds the console's first-page counts.
type Overview struct {
	AsOf      time.Time `json:"as_of"`
	Documents int64     `json:"documents"`
	ByState   []Count   `json:"by_state"`
	// ByHolder counts documents still in someone's custody (not in a terminal state) by the
	// organisation holding them.
	ByHolder []Count `json:"by_holder"`
	// Overdue counts running clocks past their deadline (the rows of Overdue).
	Overdue       int64   `json:"overdue"`
	OverdueByRule []Count `json:"overdue_by_rule"`
	OverdueByOrg  []Count `json:"overdue_by_org"`
	// HandOversToday counts custody intervals opened since midnight in Almaty.
	HandOversToday int64 `json:"hand_overs_today"`
	// LossesThisMonth counts loss charges since the first of the month (Almaty), not corrected.
	LossesThisMonth int64 `json:"losses_this_month"`
	// DeliveryFailures counts notifications by failed delivery status (poison, undeliverable,
	// expired).
	DeliveryFailures []Count `json:"delivery_failures"`
}

// FailedDelivery lists the outbox statuses that mean a notification did not reach its
// recipient.
var FailedDelivery = []string{"poison", "undeliverable", "expired"}

// terminal lists the states in which no organisation answers for the document any more.
var terminal = []domain.Status{domain.StatusCollected, domain.StatusIssuedToRecipient, domain.StatusStored,
	domain.StatusCancelled, domain.StatusDuplicateIssued}

// Today is midnight of t's day in Almaty.
func Today(t time.Time) time.Time {
	y, m, d := t.In(domain.Almaty).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, domain.Almaty)
}

// MonthStart is the first of t's month in Almaty.
func MonthStart(t time.Time) time.Time {
	y, m, _ := t.In(domain.Almaty).Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, domain.Almaty)
}

// Overview counts what the console's first page shows.
func (q *Queries) Overview(ctx context.Context) (Overview, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return Overview{}, err
	}
	now := q.now()
	o := Overview{AsOf: now.In(domain.Almaty), ByState: []Count{}, ByHolder: []Count{}, OverdueByRule: []Count{},
		OverdueByOrg: []Count{}, DeliveryFailures: []Count{}}
	docs := model.Documents.Name(gen)
	byHolder := map[string]int64{}
	isTerminal := map[string]bool{}
	for _, s := range terminal {
		isTerminal[string(s)] = true
	}
	// One scan of the documents gives both charts.
	if err := q.each(ctx, fmt.Sprintf(`SELECT status, holder_org, COUNT(*) FROM %s GROUP BY status, holder_org
		ORDER BY status, holder_org`, docs), nil, func(s rowScanner) error {
		var (
			st, org string
			n       int64
		)
		if err := s.Scan(&st, &org, &n); err != nil {
			return err
		}
		o.Documents += n
		if k := len(o.ByState); k > 0 && o.ByState[k-1].Key == st {
			o.ByState[k-1].N += n
		} else {
			o.ByState = append(o.ByState, Count{Key: st, N: n})
		}
		if !isTerminal[st] && org != "" {
			byHolder[org] += n
		}
		return nil
	}); err != nil {
		return Overview{}, fmt.Errorf("query: overview documents: %w", err)
	}
	o.ByHolder = sortedCounts(byHolder)
	byRule, byOrg := map[string]int64{}, map[string]int64{}
	// The overdue list joins the clocks with their documents; the count needs no join: a
	// stream writes its clocks together with its row in the documents table (documents and
	// applications alike, model.Document and model.Application), so every clock has one. The
	// clocks' (stopped, error, adjusted, ..., rule, ..., org) index covers it. Late statuses
	// are counted below.
	if err := q.each(ctx, fmt.Sprintf(`SELECT c.rule, c.org, COUNT(*) FROM %s c
		WHERE c.stopped = 0 AND c.error = '' AND c.adjusted > 0 AND c.adjusted < $1 GROUP BY c.rule, c.org`,
		model.Clocks.Name(gen)),
		[]any{model.Micros(now)}, func(s rowScanner) error {
			var (
				rule, org string
				n         int64
			)
			if err := s.Scan(&rule, &org, &n); err != nil {
				return err
			}
			o.Overdue += n
			byRule[rule] += n
			if org != "" {
				byOrg[org] += n
			}
			return nil
		}); err != nil {
		return Overview{}, fmt.Errorf("query: overview overdue: %w", err)
	}
	// Statuses still undelivered to ИИС ЦОН are overdue items of Kaspi's too (issue 11).
	if n, err := q.lateTransmissionCount(ctx, gen, now); err != nil {
		return Overview{}, err
	} else if n > 0 {
		o.Overdue, byRule[RuleTransmission], byOrg[string(domain.OrgKaspi)] = o.Overdue+n, byRule[RuleTransmission]+n, byOrg[string(domain.OrgKaspi)]+n
	}
	o.OverdueByRule, o.OverdueByOrg = sortedCounts(byRule), sortedCounts(byOrg)
	if err := q.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE from_at >= $1`, model.Intervals.Name(gen)),
		model.Micros(Today(now))).Scan(&o.HandOversToday); err != nil {
		return Overview{}, fmt.Errorf("query: overview hand-overs: %w", err)
	}
	if err := q.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE at >= $1 AND kind = 'loss' AND corrected_by = ''`,
		model.Charges.Name(gen)), model.Micros(MonthStart(now))).Scan(&o.LossesThisMonth); err != nil {
		return Overview{}, fmt.Errorf("query: overview losses: %w", err)
	}
	for _, st := range FailedDelivery {
		var n int64
		// Only this generation's notifications: the outbox outlives generations.
		if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projections_outbox WHERE status = $1`, st).Scan(&n); err != nil {
			return Overview{}, fmt.Errorf("query: overview deliveries: %w", err)
		}
		if n > 0 {
			o.DeliveryFailures = append(o.DeliveryFailures, Count{Key: st, N: n})
		}
	}
	return o, nil
}

// sortedCounts orders counts by number, largest first, then by key.
func sortedCounts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, N: n})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].N > out[j-1].N || out[j].N == out[j-1].N && out[j].Key < out[j-1].Key); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// DocumentSummary is one row of a documents list.
type DocumentSummary struct {
	DocumentID   uuid.UUID      `json:"document_id"`
	State        string         `json:"state"`
	Method       string         `json:"method,omitempty"`
	City         string         `json:"city,omitempty"`
	Holder       *domain.Holder `json:"holder,omitempty"`
	HolderSince  *time.Time     `json:"holder_since,omitempty"`
	LastOccurred *time.Time     `json:"last_occurred,omitempty"`
	Version      int64          `json:"version"`
}

// DocumentFilter narrows the documents list; each field names the count of the overview it
// stands behind.
type DocumentFilter struct {
	State     string
	HolderOrg string // with Active: documents held by this organisation now
	// Active keeps documents not in a terminal state (the "by holder" chart counts those).
	Active bool
	// HandedSince keeps documents with a custody interval opened at or after this time.
	HandedSince time.Time
	// LostSince keeps documents with a loss charge (not corrected) at or after this time.
	LostSince time.Time
	Page
}

// DocumentList is one page of documents, by id.
type DocumentList struct {
	Items      []DocumentSummary `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// Documents lists documents by id.
func (q *Queries) Documents(ctx context.Context, f DocumentFilter) (DocumentList, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return DocumentList{}, err
	}
	a := &sqlArgs{}
	where := []string{"1 = 1"}
	if f.State != "" {
		where = append(where, "d.status = "+a.add(f.State))
	}
	if f.HolderOrg != "" {
		where = append(where, "d.holder_org = "+a.add(f.HolderOrg))
	}
	if f.Active {
		ph := make([]string, len(terminal))
		for i, s := range terminal {
			ph[i] = a.add(string(s))
		}
		where = append(where, "d.status NOT IN ("+strings.Join(ph, ", ")+")")
	}
	if !f.HandedSince.IsZero() {
		where = append(where, fmt.Sprintf("EXISTS (SELECT 1 FROM %s i WHERE i.document_id = d.document_id AND i.from_at >= %s)",
			model.Intervals.Name(gen), a.add(model.Micros(f.HandedSince))))
	}
	if !f.LostSince.IsZero() {
		where = append(where, fmt.Sprintf(`EXISTS (SELECT 1 FROM %s c WHERE c.document_id = d.document_id AND c.kind = 'loss'
			AND c.corrected_by = '' AND c.at >= %s)`, model.Charges.Name(gen), a.add(model.Micros(f.LostSince))))
	}
	var cID string
	if ok, err := cursor.Decode(f.Cursor, &cID); err != nil {
		return DocumentList{}, err
	} else if ok {
		where = append(where, "d.document_id > "+a.add(cID))
	}
	lim := f.limit()
	out := DocumentList{Items: []DocumentSummary{}}
	if err := q.each(ctx, fmt.Sprintf(`SELECT d.document_id, d.status, d.method, d.city, d.holder_org, d.holder_unit,
		d.holder_employee, d.holder_since, d.last_occurred, d.version FROM %s d WHERE %s ORDER BY d.document_id LIMIT %s`,
		model.Documents.Name(gen), strings.Join(where, " AND "), a.add(lim+1)), a.vals, func(s rowScanner) error {
		var (
			d                  DocumentSummary
			id, o, u, e        string
			since, last, versn int64
		)
		if err := s.Scan(&id, &d.State, &d.Method, &d.City, &o, &u, &e, &since, &last, &versn); err != nil {
			return err
		}
		d.DocumentID, _ = uuid.Parse(id)
		d.Version, d.LastOccurred = versn, atPtr(last)
		d.Holder, d.HolderSince = heldBy(o, u, e, since)
		out.Items = append(out.Items, d)
		return nil
	}); err != nil {
		return DocumentList{}, fmt.Errorf("query: documents: %w", err)
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		out.NextCursor = cursor.Encode(out.Items[lim-1].DocumentID.String())
	}
	return out, nil
}

// DueSoonFilter narrows the clocks running out soon.
type DueSoonFilter struct {
	Org, Rule, Unit, Region string
	Within                  time.Duration // from now; 0: 24 hours
	Page
}

// DueSoon lists running clocks (force majeure applied) whose deadline falls within the next
// Within, soonest first, in the shape of the overdue list (OverdueBy is negative: time left).
func (q *Queries) DueSoon(ctx context.Context, f DueSoonFilter) (OverdueList, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return OverdueList{}, err
	}
	if f.Within <= 0 {
		f.Within = 24 * time.Hour
	}
	now := q.now()
	a := &sqlArgs{}
	where := []string{"c.stopped = 0", "c.error = ''", "c.adjusted >= " + a.add(model.Micros(now)),
		"c.adjusted < " + a.add(model.Micros(now.Add(f.Within)))}
	where = append(where, clockFilters(a, f.Org, f.Rule, f.Unit, f.Region)...)
	return q.clockList(ctx, gen, now, model.Clocks.Name(gen), where, a, f.Page)
}

// clockFilters narrows a clocks-and-documents join (aliases c and d).
func clockFilters(a *sqlArgs, org, rule, unit, region string) []string {
	var where []string
	if org != "" {
		where = append(where, "c.org = "+a.add(org))
	}
	if rule != "" {
		where = append(where, "c.rule = "+a.add(rule))
	}
	if unit != "" {
		where = append(where, "d.holder_unit = "+a.add(unit))
	}
	if region != "" {
		where = append(where, "d.city = "+a.add(region))
	}
	return where
}

// clockList reads a page of clocks (from src: the clocks table, or a query with its columns)
// joined with their documents, by deadline.
func (q *Queries) clockList(ctx context.Context, gen int64, now time.Time, src string, where []string, a *sqlArgs, p Page) (OverdueList, error) {
	var (
		cAdj                int64
		cDoc, cRule, cStart string
		cOrg                string
	)
	if ok, err := cursor.Decode(p.Cursor, &cAdj, &cDoc, &cRule, &cStart, &cOrg); err != nil {
		return OverdueList{}, err
	} else if ok {
		where = append(where, fmt.Sprintf("(c.adjusted, c.document_id, c.rule, c.start_event, c.org) > (%s, %s, %s, %s, %s)",
			a.add(cAdj), a.add(cDoc), a.add(cRule), a.add(cStart), a.add(cOrg)))
	}
	lim := p.limit()
	out := OverdueList{AsOf: now.In(domain.Almaty), Items: []Overdue{}}
	if err := q.each(ctx, fmt.Sprintf(`SELECT c.document_id, c.rule, c.source, c.breach, c.org, c.adjusted, c.deadline, c.start_at,
		c.start_event, c.force_majeure, c.missed_event, c.notice_owed, d.status, d.holder_org, d.holder_unit, d.holder_employee,
		d.holder_since
		FROM %s c JOIN %s d ON d.document_id = c.document_id WHERE %s
		ORDER BY c.adjusted, c.document_id, c.rule, c.start_event, c.org LIMIT %s`,
		src, model.Documents.Name(gen), strings.Join(where, " AND "), a.add(lim+1)), a.vals,
		func(s rowScanner) error {
			var (
				o                                  Overdue
				doc, org, start, fm, ho, hu, he    string
				breach, adj, base, started, hsince int64
				owed                               int64
			)
			if err := s.Scan(&doc, &o.Rule, &o.Source, &breach, &org, &adj, &base, &started, &start, &fm, &o.MissedEventID,
				&owed, &o.State, &ho, &hu, &he, &hsince); err != nil {
				return err
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
			o.Holder, o.HolderSince = heldBy(ho, hu, he, hsince)
			out.Items = append(out.Items, o)
			return nil
		}); err != nil {
		return OverdueList{}, fmt.Errorf("query: clocks: %w", err)
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		l := out.Items[lim-1]
		out.NextCursor = cursor.Encode(model.Micros(l.Deadline), l.DocumentID.String(), l.Rule, l.StartEvent.String(), string(l.Charged))
	}
	return out, nil
}

// DisputeSummary is a dispute with the documents it is about.
type DisputeSummary struct {
	Dispute
	DocumentIDs []uuid.UUID `json:"document_ids"`
}

// Disputes lists the commission's disputes, newest first (at most Page.Limit; no cursor: the
// pilot opens few).
func (q *Queries) Disputes(ctx context.Context, p Page) ([]DisputeSummary, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return nil, err
	}
	out := []DisputeSummary{}
	if err := q.each(ctx, fmt.Sprintf(`SELECT %s, x.document_ids FROM %s x ORDER BY x.opened_at DESC, x.dispute_id LIMIT $1`,
		disputeCols("x"), model.Disputes.Name(gen)), []any{p.limit()},
		func(s rowScanner) error {
			var docs string
			d, err := scanDispute(s, &docs)
			if err != nil {
				return err
			}
			out = append(out, DisputeSummary{Dispute: d, DocumentIDs: decodeJSON[[]uuid.UUID](docs)})
			return nil
		}); err != nil {
		return nil, fmt.Errorf("query: disputes: %w", err)
	}
	return out, nil
}

// ChannelCount is how many notifications of one channel are in one delivery status.
type ChannelCount struct {
	Channel string `json:"channel"`
	Status  string `json:"status"`
	N       int64  `json:"n"`
	// Retried counts those delivered or tried more than once.
	Retried int64 `json:"retried"`
}

// Deliveries counts the outbox by channel and delivery status.
func (q *Queries) Deliveries(ctx context.Context) ([]ChannelCount, error) {
	if _, err := q.live(ctx); err != nil {
		return nil, err
	}
	out := []ChannelCount{}
	// Grouped in the order of the outbox's (status, channel, ..., attempts) index, which covers it.
	if err := q.each(ctx, `SELECT channel, status, COUNT(*), SUM(CASE WHEN attempts > 1 THEN 1 ELSE 0 END)
		FROM projections_outbox GROUP BY status, channel ORDER BY channel, status`, nil, func(s rowScanner) error {
		var c ChannelCount
		if err := s.Scan(&c.Channel, &c.Status, &c.N, &c.Retried); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("query: deliveries: %w", err)
	}
	return out, nil
}
