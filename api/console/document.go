package console

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/query"
	"github.com/custody-ledger/custody/projections/transparency"
)

// maxEvents bounds the events a document page lists (a document has a few dozen).
const maxEvents = 1000

// eventRow is one stored event as the console shows it: no payload beyond the non-personal
// fields of summaryFields.
type eventRow struct {
	Version, Position uint64
	EventID           uuid.UUID
	Type              string
	Actor             domain.Actor
	OccurredAt        time.Time
	RecordedAt        time.Time
	Hash, PrevHash    string
	Summary           string
	payload           domain.Payload
	event             domain.Event
}

// streamHead is the ledger's hash of what a page or a form prints: the last event of the
// stream it shows.
type streamHead struct {
	Stream   string
	Version  uint64
	Position uint64
	Hash     string
}

// summaryFields are the payload fields the console shows; the recipient's contact is never
// among them (so nothing personal reaches a page or a printed form).
var summaryFields = []string{"registry_id", "kind", "line", "method", "city", "postomat_id", "cell_id",
	"envelope_label", "seal_number", "act_number", "cause", "rule", "source", "new_date", "reason", "corrects",
	"duplicate_document_id", "note", "damaged"}

var holderFields = []string{"from", "to", "last_seen", "holder", "giver", "receiver"}

func summarise(p domain.Payload) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	var parts []string
	for _, k := range holderFields {
		var h domain.Holder
		if raw, ok := m[k]; ok && json.Unmarshal(raw, &h) == nil && !h.IsZero() {
			parts = append(parts, k+": "+holderLabel(h))
		}
	}
	for _, k := range summaryFields {
		raw, ok := m[k]
		if !ok || string(raw) == `""` || string(raw) == "null" || string(raw) == "false" {
			continue
		}
		parts = append(parts, k+": "+strings.Trim(string(raw), `"`))
	}
	return strings.Join(parts, "; ")
}

// readStream reads a stream's events (at most maxEvents) for a page.
func (c *Console) readStream(ctx context.Context, stream string) ([]eventRow, error) {
	recs, err := c.cfg.Store.ReadStream(ctx, stream, 1, maxEvents)
	if err != nil {
		return nil, err
	}
	out := make([]eventRow, 0, len(recs))
	for _, rec := range recs {
		row := eventRow{Version: rec.Version, Position: rec.Position, EventID: rec.EventID, Type: rec.Type,
			RecordedAt: rec.RecordedAt, Hash: rec.Hash.String(), PrevHash: rec.PrevHash.String()}
		if e, err := domain.Decode(rec.Data); err == nil {
			row.Actor, row.OccurredAt, row.payload, row.Summary, row.event = e.Actor, e.OccurredAt, e.Payload, summarise(e.Payload), e
		}
		out = append(out, row)
	}
	return out, nil
}

// head returns the last event of a stream: the hash a printed form carries.
func (c *Console) head(ctx context.Context, stream string) (streamHead, error) {
	h := streamHead{Stream: stream}
	for from := uint64(1); ; {
		recs, err := c.cfg.Store.ReadStream(ctx, stream, from, maxEvents)
		if err != nil {
			return h, err
		}
		if len(recs) == 0 {
			return h, nil
		}
		last := recs[len(recs)-1]
		h.Version, h.Position, h.Hash = last.Version, last.Position, last.Hash.String()
		if len(recs) < maxEvents {
			return h, nil
		}
		from = last.Version + 1
	}
}

// documentData is everything the document page, the case file and the loss act show.
type documentData struct {
	ID       uuid.UUID
	C        query.Custody
	Events   []eventRow
	Head     streamHead
	Chain    eventstore.Report
	Notes    []query.Notification
	Timeline timeline
	Now      time.Time
	Lost     bool
	Case     bool
	Registry []query.RegistryDetail
	FM       []deadline.ForceMajeure
	LossAct  *lossAct
	Proofs   *proofs
}

// proofs are the RFC 6962 inclusion proofs of a document's events in the verifiable log, against
// its latest signed checkpoint.
type proofs struct {
	Checkpoint transparency.Signed
	Root       string
	Events     []eventProof
}

type eventProof struct {
	EventID  uuid.UUID
	Position uint64
	Index    uint64
	Hashes   []string
	// Pending: the event is not in the checkpoint's tree yet (sequenced after it).
	Pending bool
}

func (c *Console) loadDocument(r *http.Request) (documentData, error) {
	id, err := pathUUID(r)
	if err != nil {
		return documentData{}, err
	}
	ctx := r.Context()
	cust, err := c.cfg.Reads.Custody(ctx, id)
	if err != nil {
		return documentData{}, err
	}
	stream := "document-" + id.String()
	events, err := c.readStream(ctx, stream)
	if err != nil && !errors.Is(err, eventstore.ErrNotFound) {
		return documentData{}, err
	}
	decoded := make([]domain.Event, len(events))
	for i, e := range events {
		decoded[i] = e.event
	}
	if !viewerOf(ctx).Scope.document(decoded) {
		return documentData{}, errNotFound // as the API: a document outside the scope does not exist
	}
	chain, err := eventstore.VerifyStream(ctx, c.cfg.Store, stream)
	if err != nil {
		return documentData{}, err
	}
	d := documentData{ID: id, C: cust, Events: events, Chain: chain, Now: c.now()}
	if n := len(events); n > 0 {
		last := events[n-1]
		d.Head = streamHead{Stream: stream, Version: last.Version, Position: last.Position, Hash: last.Hash}
	}
	notes, err := c.cfg.Reads.Notifications(ctx, query.NotificationFilter{DocumentID: id, Page: query.Page{Limit: 200}})
	if err != nil {
		return documentData{}, err
	}
	d.Notes = notes.Items
	d.Lost = slices.ContainsFunc(events, func(e eventRow) bool { return e.Type == string(domain.DocumentLost) })
	d.Timeline = newTimeline(cust.Intervals, d.Now)
	return d, nil
}

func (c *Console) document(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadDocument(r)
	if err != nil {
		return err
	}
	return c.show(w, r, "document", d)
}

// loadCase adds to the document what the commission reads: the registries it was on, the
// force-majeure periods over its life, the loss act.
func (c *Console) loadCase(r *http.Request) (documentData, error) {
	d, err := c.loadDocument(r)
	if err != nil {
		return d, err
	}
	d.Case = true
	var seen []uuid.UUID
	for _, e := range d.Events {
		id, ok := registryOf(e.payload)
		if !ok || slices.Contains(seen, id) {
			continue
		}
		seen = append(seen, id)
		reg, err := c.cfg.Reads.Registry(r.Context(), id)
		if errors.Is(err, query.ErrNotFound) {
			continue
		}
		if err != nil {
			return d, err
		}
		if viewerOf(r.Context()).Scope.registry(reg.Registry) {
			d.Registry = append(d.Registry, reg)
		}
	}
	fms, err := c.cfg.Reads.ForceMajeure(r.Context())
	if err != nil {
		return d, err
	}
	if len(d.C.Intervals) > 0 {
		from, to := d.C.Intervals[0].From, d.Now
		if last := d.C.Intervals[len(d.C.Intervals)-1]; last.To != nil {
			to = *last.To
		}
		for _, f := range fms {
			if f.From.Before(to) && f.To.After(from) {
				d.FM = append(d.FM, f)
			}
		}
	}
	d.LossAct = lossActOf(d)
	if d.Proofs, err = c.proofsOf(r.Context(), d.Events); err != nil {
		return d, err
	}
	return d, nil
}

// proofsOf proves each event's inclusion in the latest checkpoint; nil without a verifiable
// log or before its first checkpoint.
func (c *Console) proofsOf(ctx context.Context, events []eventRow) (*proofs, error) {
	tl := c.cfg.Transparency
	if tl == nil || len(events) == 0 {
		return nil, nil
	}
	cp, err := tl.Latest(ctx)
	if errors.Is(err, transparency.ErrNotFound) || errors.Is(err, transparency.ErrNotCheckpointed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	positions := make([]uint64, len(events))
	for i, e := range events {
		positions[i] = e.Position
	}
	idx, err := tl.Indexes(ctx, positions)
	if err != nil {
		return nil, err
	}
	p := &proofs{Checkpoint: cp, Root: hex.EncodeToString(cp.Root)}
	for _, e := range events {
		ep := eventProof{EventID: e.EventID, Position: e.Position}
		i, ok := idx[e.Position]
		if !ok || i >= cp.Size {
			ep.Pending = true
			p.Events = append(p.Events, ep)
			continue
		}
		hashes, err := tl.InclusionProof(ctx, i, cp.Size)
		if err != nil {
			return nil, err
		}
		ep.Index = i
		for _, h := range hashes {
			ep.Hashes = append(ep.Hashes, hex.EncodeToString(h))
		}
		p.Events = append(p.Events, ep)
	}
	return p, nil
}

// registryOf returns the registry an event names, if any.
func registryOf(p domain.Payload) (uuid.UUID, bool) {
	if p == nil {
		return uuid.Nil, false
	}
	b, err := json.Marshal(p)
	if err != nil {
		return uuid.Nil, false
	}
	var v struct {
		RegistryID *uuid.UUID `json:"registry_id"`
	}
	if json.Unmarshal(b, &v) != nil || v.RegistryID == nil || *v.RegistryID == uuid.Nil {
		return uuid.Nil, false
	}
	return *v.RegistryID, true
}

func (c *Console) caseFile(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadCase(r)
	if err != nil {
		return err
	}
	return c.show(w, r, "case", d)
}

// lossAct is the act of P.22–P.24: the report, the act and the cancellation, with the charge.
type lossAct struct {
	Report       eventRow
	Cause        string
	LastSeen     domain.Holder
	ActNumber    string
	Act          *eventRow
	Cancellation *eventRow
	Charges      []query.Charge
	LastHolder   *domain.Holder
}

func lossActOf(d documentData) *lossAct {
	var a *lossAct
	for i := range d.Events {
		e := d.Events[i]
		switch p := e.payload.(type) {
		case *domain.DocumentLostData:
			a = &lossAct{Report: e, Cause: p.Cause, LastSeen: p.LastSeen, ActNumber: p.ActNumber}
		case *domain.LossActRegisteredData:
			if a != nil {
				a.Act, a.ActNumber = &e, p.ActNumber
			}
		case *domain.ApplicationCancelledData:
			if a != nil {
				a.Cancellation = &e
			}
		}
	}
	if a == nil {
		return nil
	}
	for _, ch := range d.C.Liability {
		if ch.Kind == "loss" {
			a.Charges = append(a.Charges, ch)
		}
	}
	for _, iv := range d.C.Intervals {
		if !iv.From.After(a.Report.OccurredAt) {
			h := iv.Holder
			a.LastHolder = &h
		}
	}
	return a
}

func (c *Console) lossAct(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadCase(r)
	if err != nil {
		return err
	}
	if d.LossAct == nil {
		return errNotFound
	}
	return c.show(w, r, "loss_act", d)
}

// timeline lays out custody intervals as bars by holder on a time axis (SVG units: the
// labels take the first 220 of 900).
type timeline struct {
	Lanes  []lane
	Bars   []tbar
	Ticks  []tick
	Height int
}

type lane struct {
	Label string
	Y     int
}

type tbar struct {
	X, Y, W int
	Title   string
	Open    bool
}

type tick struct {
	X             int
	Label, Anchor string // Anchor keeps the first and last labels inside the view box
}

const (
	tlLeft  = 220
	tlRight = 890
	tlLane  = 30
	tlTop   = 24
)

func newTimeline(ivs []query.Interval, now time.Time) timeline {
	var tl timeline
	if len(ivs) == 0 {
		return tl
	}
	start, end := ivs[0].From, now
	if last := ivs[len(ivs)-1]; last.To != nil {
		end = *last.To
	}
	if !end.After(start) {
		end = start.Add(time.Hour)
	}
	span := end.Sub(start)
	x := func(t time.Time) int {
		return tlLeft + int(float64(tlRight-tlLeft)*float64(t.Sub(start))/float64(span))
	}
	laneOf := map[string]int{}
	for _, iv := range ivs {
		key := string(iv.Holder.Org) + " · " + iv.Holder.Unit
		i, ok := laneOf[key]
		if !ok {
			i = len(tl.Lanes)
			laneOf[key] = i
			tl.Lanes = append(tl.Lanes, lane{Label: key, Y: tlTop + i*tlLane})
		}
		to := end
		if iv.To != nil {
			to = *iv.To
		}
		b := tbar{X: x(iv.From), Y: tlTop + i*tlLane, Open: iv.To == nil,
			Title: fmt.Sprintf("%s: %s – %s", holderLabel(iv.Holder), fmtTime(iv.From), fmtTime(to))}
		b.W = max(3, x(to)-b.X)
		tl.Bars = append(tl.Bars, b)
	}
	for i := 0; i <= 4; i++ {
		t := start.Add(span * time.Duration(i) / 4)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		tl.Ticks = append(tl.Ticks, tick{X: x(t), Label: t.In(domain.Almaty).Format("02.01 15:04"), Anchor: anchor})
	}
	tl.Height = tlTop + len(tl.Lanes)*tlLane + 10
	return tl
}
