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

// Registry is a registry's summary.
type Registry struct {
	RegistryID   uuid.UUID           `json:"registry_id"`
	Kind         domain.RegistryKind `json:"kind"`
	Status       string              `json:"status"`
	From         domain.Holder       `json:"from"`
	To           domain.Holder       `json:"to"`
	Courier      *domain.Holder      `json:"courier,omitempty"`
	FormedAt     time.Time           `json:"formed_at"`
	HandedOverAt *time.Time          `json:"handed_over_at,omitempty"`
	AcceptedAt   *time.Time          `json:"accepted_at,omitempty"`
	AcceptedBy   *domain.Holder      `json:"accepted_by,omitempty"`
	Counts       LineCounts          `json:"counts"`
	Version      int64               `json:"version"`
}

// LineCounts counts a registry's lines by outcome.
type LineCounts struct {
	Lines    int64 `json:"lines"`
	Accepted int64 `json:"accepted"`
	Missing  int64 `json:"missing"`
	Damaged  int64 `json:"damaged"`
	Extra    int64 `json:"extra"`
}

// Line is one line of a registry: what became of it, and where the document is now.
type Line struct {
	Line           int64          `json:"line"`
	DocumentID     uuid.UUID      `json:"document_id"`
	State          string         `json:"state"` // listed, handed_over, accepted, damaged, missing, extra
	DocumentStatus string         `json:"document_status,omitempty"`
	Holder         *domain.Holder `json:"holder,omitempty"` // the document's holder now
}

// Discrepancy is a line that did not arrive as listed (P.18): who held it last (the giving
// side, charged for a missing line) and who received the registry.
type Discrepancy struct {
	DocumentID uuid.UUID      `json:"document_id"`
	Line       int64          `json:"line"`
	LastHolder *domain.Holder `json:"last_holder,omitempty"`
	Receiver   *domain.Holder `json:"receiver,omitempty"`
	EventID    string         `json:"event_id,omitempty"`
	At         *time.Time     `json:"at,omitempty"`
}

// Reconciliation compares a registry with its acceptance.
type Reconciliation struct {
	Balanced bool          `json:"balanced"` // every line accepted, nothing extra
	Accepted []uuid.UUID   `json:"accepted"`
	Missing  []Discrepancy `json:"missing"`
	Damaged  []Discrepancy `json:"damaged"`
	Extra    []Discrepancy `json:"extra"`
}

// RegistryDetail is a registry with its lines and, once accepted, its reconciliation.
type RegistryDetail struct {
	Registry
	Lines          []Line          `json:"lines"`
	Reconciliation *Reconciliation `json:"reconciliation,omitempty"`
}

// RegistryFilter narrows the registry list (API: kind, unit, date).
type RegistryFilter struct {
	Kind string
	Unit string // the giving, receiving or courier unit
	Org  string // the giving or receiving organisation
	Date string // YYYY-MM-DD (Almaty) the registry was formed
	Page
}

// RegistryList is one page of registries, oldest first.
type RegistryList struct {
	Items      []Registry `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

var registryCols = "registry_id, kind, status, from_org, from_unit, to_org, to_unit, courier, formed_at, handed_at, accepted_at, " +
	"accepted_by, n_lines, n_accepted, n_missing, n_damaged, n_extra, version"

func scanRegistry(s rowScanner) (Registry, error) {
	var (
		r                                  Registry
		id, kind, fo, fu, to, tu, cou, acc string
		formed, handed, accepted           int64
	)
	if err := s.Scan(&id, &kind, &r.Status, &fo, &fu, &to, &tu, &cou, &formed, &handed, &accepted, &acc,
		&r.Counts.Lines, &r.Counts.Accepted, &r.Counts.Missing, &r.Counts.Damaged, &r.Counts.Extra, &r.Version); err != nil {
		return r, err
	}
	r.RegistryID, _ = uuid.Parse(id)
	r.Kind = domain.RegistryKind(kind)
	r.From, r.To = domain.Holder{Org: domain.Org(fo), Unit: fu}, domain.Holder{Org: domain.Org(to), Unit: tu}
	r.Courier, r.AcceptedBy = holder(cou), holder(acc)
	r.FormedAt, r.HandedOverAt, r.AcceptedAt = at(formed), atPtr(handed), atPtr(accepted)
	return r, nil
}

// Registries lists registries by formation time.
func (q *Queries) Registries(ctx context.Context, f RegistryFilter) (RegistryList, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return RegistryList{}, err
	}
	if f.Date != "" {
		if _, err := time.Parse(time.DateOnly, f.Date); err != nil {
			return RegistryList{}, fmt.Errorf("%w: date must be YYYY-MM-DD", ErrMalformed)
		}
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.Org != "" {
		p := arg(f.Org)
		where = append(where, fmt.Sprintf("(from_org = %s OR to_org = %s)", p, p))
	}
	if f.Unit != "" {
		p := arg(f.Unit)
		where = append(where, fmt.Sprintf("(from_unit = %s OR to_unit = %s OR courier LIKE %s)", p, p, arg(`%"unit":`+model.JSON(f.Unit)+`%`)))
	}
	if f.Date != "" {
		where = append(where, "formed_date = "+arg(f.Date))
	}
	var (
		cAt int64
		cID string
	)
	if ok, err := cursor.Decode(f.Cursor, &cAt, &cID); err != nil {
		return RegistryList{}, err
	} else if ok {
		where = append(where, fmt.Sprintf("(formed_at, registry_id) > (%s, %s)", arg(cAt), arg(cID)))
	}
	lim := f.limit()
	query := fmt.Sprintf("SELECT %s FROM %s", registryCols, model.Registries.Name(gen))
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY formed_at, registry_id LIMIT " + arg(lim+1)
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return RegistryList{}, fmt.Errorf("query: registries: %w", err)
	}
	defer rows.Close()
	out := RegistryList{Items: []Registry{}}
	for rows.Next() {
		r, err := scanRegistry(rows)
		if err != nil {
			return RegistryList{}, fmt.Errorf("query: registries: %w", err)
		}
		out.Items = append(out.Items, r)
	}
	if err := rows.Err(); err != nil {
		return RegistryList{}, fmt.Errorf("query: registries: %w", err)
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		last := out.Items[lim-1]
		out.NextCursor = cursor.Encode(model.Micros(last.FormedAt), last.RegistryID.String())
	}
	return out, nil
}

// Registry returns one registry with its lines and reconciliation.
func (q *Queries) Registry(ctx context.Context, id uuid.UUID) (RegistryDetail, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return RegistryDetail{}, err
	}
	row := q.db.QueryRowContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE registry_id = $1", registryCols, model.Registries.Name(gen)), id.String())
	r, err := scanRegistry(row)
	if errors.Is(err, sql.ErrNoRows) {
		return RegistryDetail{}, fmt.Errorf("registry %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return RegistryDetail{}, fmt.Errorf("query: registry: %w", err)
	}
	d := RegistryDetail{Registry: r, Lines: []Line{}}
	rows, err := q.db.QueryContext(ctx, fmt.Sprintf(`SELECT l.line, l.document_id, l.state, COALESCE(d.status, ''),
		COALESCE(d.holder_org, ''), COALESCE(d.holder_unit, ''), COALESCE(d.holder_employee, '')
		FROM %s l LEFT JOIN %s d ON d.document_id = l.document_id WHERE l.registry_id = $1 ORDER BY l.line`,
		model.RegistryLines.Name(gen), model.Documents.Name(gen)), id.String())
	if err != nil {
		return RegistryDetail{}, fmt.Errorf("query: registry lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			l            Line
			doc, o, u, e string
		)
		if err := rows.Scan(&l.Line, &doc, &l.State, &l.DocumentStatus, &o, &u, &e); err != nil {
			return RegistryDetail{}, fmt.Errorf("query: registry lines: %w", err)
		}
		l.DocumentID, _ = uuid.Parse(doc)
		if o != "" {
			l.Holder = &domain.Holder{Org: domain.Org(o), Unit: u, EmployeeID: e}
		}
		d.Lines = append(d.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return RegistryDetail{}, fmt.Errorf("query: registry lines: %w", err)
	}
	if r.AcceptedAt != nil {
		rec, err := q.reconcile(ctx, gen, d)
		if err != nil {
			return RegistryDetail{}, err
		}
		d.Reconciliation = rec
	}
	return d, nil
}

// reconcile sets the registry's lines against its acceptance; the last holder of a line that
// did not arrive comes from the document's own IntakeDiscrepancy (the giving side), else the
// courier who carried the registry, else its giving unit.
func (q *Queries) reconcile(ctx context.Context, gen int64, d RegistryDetail) (*Reconciliation, error) {
	type disc struct {
		giver, receiver *domain.Holder
		event           string
		at              int64
	}
	found := map[string]disc{}
	rows, err := q.db.QueryContext(ctx, fmt.Sprintf(`SELECT document_id, kind, event_id, at, giver, receiver FROM %s
		WHERE registry_id = $1`, model.Discrepancies.Name(gen)), d.RegistryID.String())
	if err != nil {
		return nil, fmt.Errorf("query: discrepancies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			doc, kind, ev, g, rc string
			t                    int64
		)
		if err := rows.Scan(&doc, &kind, &ev, &t, &g, &rc); err != nil {
			return nil, fmt.Errorf("query: discrepancies: %w", err)
		}
		found[doc+"/"+kind] = disc{giver: holder(g), receiver: holder(rc), event: ev, at: t}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: discrepancies: %w", err)
	}
	fallback := d.Courier
	if fallback == nil {
		from := d.From
		fallback = &from
	}
	rec := &Reconciliation{Accepted: []uuid.UUID{}, Missing: []Discrepancy{}, Damaged: []Discrepancy{}, Extra: []Discrepancy{}}
	for _, l := range d.Lines {
		if l.State == "accepted" {
			rec.Accepted = append(rec.Accepted, l.DocumentID)
			continue
		}
		x := Discrepancy{DocumentID: l.DocumentID, Line: l.Line, LastHolder: fallback, Receiver: d.AcceptedBy}
		if f, ok := found[l.DocumentID.String()+"/"+l.State]; ok {
			x.LastHolder, x.Receiver, x.EventID, x.At = f.giver, f.receiver, f.event, atPtr(f.at)
		}
		switch l.State {
		case "missing":
			rec.Missing = append(rec.Missing, x)
		case "damaged":
			rec.Damaged = append(rec.Damaged, x)
		case "extra":
			x.LastHolder = nil
			if f, ok := found[l.DocumentID.String()+"/extra"]; ok {
				x.LastHolder = f.giver
			}
			rec.Extra = append(rec.Extra, x)
		}
	}
	rec.Balanced = len(rec.Missing) == 0 && len(rec.Damaged) == 0 && len(rec.Extra) == 0
	return rec, nil
}
