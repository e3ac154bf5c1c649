package model

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
)

// Event is a stored event with its place in the log.
type Event struct {
	domain.Event
	Position   uint64
	Version    uint64
	RecordedAt time.Time
}

// Env is what a stream's rows depend on besides its own events. It must itself be a function
// of the log prefix (the force-majeure periods declared up to the batch's end), so that rows
// stay a function of the prefix.
type Env struct {
	Calendar *calendar.Calendar
	// ForceMajeure: the periods declared so far, for the deadline clocks.
	ForceMajeure []deadline.ForceMajeure
	// Catalogue and Hours drive the clocks of application streams (nil, zero: the embedded
	// catalogue, Monday–Friday 09:00–18:00).
	Catalogue *catalogue.Catalogue
	Hours     services.OfficeHours
	// CONAddress returns the address of a ЦОН's unit (issuance, or accumulation for P.25) told to
	// the recipient after a return (P.34) when the event does not carry it, or after a loss
	// (P.25); nil or "" falls back to the unit's name (P.34) or the city (P.25).
	CONAddress func(unit string) string

	// byRegion (see Indexed): ForceMajeure by region.
	byRegion map[string][]deadline.ForceMajeure
}

// Indexed returns env with its force-majeure periods indexed by region, when every period can
// be checked and its notice judged (otherwise every deadline is unknowable, and the clocks must
// see them all to say why). A stream's clocks then get only the periods declared for its region
// and those declared everywhere: exactly those deadline keeps of the whole list, in the same
// order, but without judging the notice of every other region's period again for every stream
// (a nationwide log declares hundreds).
func (env Env) Indexed() Env {
	if len(env.ForceMajeure) == 0 {
		return env
	}
	cal := env.Calendar
	if cal == nil {
		cal = calendar.Default()
	}
	idx := map[string][]deadline.ForceMajeure{"": nil}
	for _, f := range env.ForceMajeure {
		if f.Validate() != nil {
			return env
		}
		if _, err := deadline.NoticeTimely(cal, f.From, f.NotifiedAt); err != nil {
			return env
		}
		idx[f.Region] = nil
	}
	for _, f := range env.ForceMajeure {
		if f.Region != "" {
			idx[f.Region] = append(idx[f.Region], f)
			continue
		}
		for r := range idx {
			idx[r] = append(idx[r], f)
		}
	}
	env.byRegion = idx
	return env
}

// periods returns the force-majeure periods the clocks of a stream in region need (Indexed).
func (env Env) periods(region string) []deadline.ForceMajeure {
	if env.byRegion == nil {
		return env.ForceMajeure
	}
	if fms, ok := env.byRegion[region]; ok {
		return fms
	}
	return env.byRegion[""]
}

// Result is what a stream owns: its rows, and the outbox messages of its notifications (by
// dedup key; the raw contact travels only in these).
type Result struct {
	Rows     Rows
	Messages map[string]Message
}

// Message is an outbox message: one notification to deliver.
type Message struct {
	DedupKey   string
	DocumentID string
	Channel    string
	Position   uint64
	CreatedAt  time.Time
	Payload    []byte // JSON, with the recipient's raw contact (see Encode)
	NoContact  bool   // the document has no recipient contact (a ЦОН-route document)
	body       any    // *Payload, or *Transmission for ИИС ЦОН
}

// Encode fills Payload. Only new messages are encoded: a document's older notifications are
// projected again with every batch that touches it, and then dropped.
func (m Message) Encode() Message {
	if m.Payload == nil && m.body != nil {
		m.Payload = []byte(JSON(m.body))
	}
	return m
}

// StreamKind tells the stream families apart by their name prefix (commands.DocumentPrefix...).
type StreamKind int

const (
	KindOther StreamKind = iota
	KindDocument
	KindRegistry
	KindForceMajeure
	KindDispute
	KindApplication
)

// Project returns the rows a stream owns after events (the whole stream so far, in order).
func Project(kind StreamKind, id uuid.UUID, events []Event, env Env) Result {
	switch kind {
	case KindDocument:
		return Document(id, events, env)
	case KindRegistry:
		return Result{Rows: Registry(id, events)}
	case KindForceMajeure:
		return Result{Rows: ForceMajeureRows(events, env.Calendar)}
	case KindDispute:
		return Result{Rows: Dispute(id, events)}
	case KindApplication:
		return Application(id, events, env)
	}
	return Result{Rows: Rows{}}
}

func plain(events []Event) []domain.Event {
	out := make([]domain.Event, len(events))
	for i, e := range events {
		out[i] = e.Event
	}
	return out
}

func holderJSON(h domain.Holder) string { return JSON(h) }

// Document returns a document stream's rows: its state, custody intervals, deadline clocks,
// liability charges, registry discrepancies and notifications.
func Document(id uuid.UUID, events []Event, env Env) Result {
	res := Result{Rows: Rows{}, Messages: map[string]Message{}}
	if len(events) == 0 {
		return res
	}
	evs := plain(events)
	rp := domain.ReplayStream(id, evs) // one fold for the state, intervals, charges and notifications
	st := rp.State
	ids := id.String()
	last := events[len(events)-1]

	var ho domain.Holder
	if st.Holder != nil {
		ho = *st.Holder
	}
	res.Rows.Add(Documents, Row{ids, string(st.Status), string(st.Method), st.ApplicationNo, st.ServiceCode, st.City,
		string(ho.Org), ho.Unit, ho.EmployeeID, Micros(st.HolderSince), int64(st.Version), Micros(st.LastOccurred),
		int64(last.Position), JSON(st.Flags)})

	intervalRows(&res, ids, rp.Intervals)

	cal := env.Calendar
	if cal == nil {
		cal = calendar.Default()
	}
	recordable := slices.Contains(domain.Allowed(st.Status), domain.DeadlineMissed)
	clocks := deadline.Clocks(evs, cal, env.periods(st.City), st.City)
	clockRows(&res, ids, clocks, missedEvents(evs), recordable)

	charges := rp.Charges
	if moved := slices.ContainsFunc(clocks, func(c deadline.Clock) bool { return len(c.ForceMajeure) > 0 }); moved &&
		len(st.Flags.DeadlineMissed) > 0 {
		// Force majeure moved a clock of a document with recorded misses: a miss it moved
		// is superseded, kept and shown as such (issue 10 §5).
		charges = domain.LiabilityWith(evs, deadline.Supersession(clocks))
	}
	chargeRows(&res, ids, charges)

	for _, e := range events {
		if p, ok := e.Payload.(*domain.IntakeDiscrepancyData); ok {
			res.Rows.Add(Discrepancies, Row{p.RegistryID.String(), ids, string(p.Kind), e.ID.String(), Micros(e.OccurredAt),
				holderJSON(p.Giver), holderJSON(p.Receiver), p.Note})
		}
	}

	notifications(&res, id, events, rp, env)
	return res
}

// intervalRows adds a stream's custody intervals.
func intervalRows(res *Result, ids string, intervals []domain.Interval) {
	for i, iv := range intervals {
		var to int64
		closedBy := ""
		if iv.To != nil {
			to = Micros(*iv.To)
		}
		if iv.ClosedBy != nil {
			closedBy = iv.ClosedBy.String()
		}
		res.Rows.Add(Intervals, Row{ids, int64(i + 1), string(iv.Holder.Org), iv.Holder.Unit, iv.Holder.EmployeeID,
			Micros(iv.From), to, iv.OpenedBy.String(), string(iv.OpenedType), closedBy, string(iv.ClosedType)})
	}
}

// chargeRows adds a stream's liability charges.
func chargeRows(res *Result, ids string, charges []domain.Charge) {
	for i, ch := range charges {
		corrected, superseded := "", ""
		if ch.CorrectedBy != nil {
			corrected = ch.CorrectedBy.String()
		}
		if len(ch.SupersededBy) > 0 {
			superseded = JSON(ch.SupersededBy)
		}
		res.Rows.Add(Charges, Row{ids, int64(i + 1), string(ch.Org), string(ch.Kind), ch.Rule, ch.Source, Micros(ch.At),
			holderJSON(ch.Holder), JSON(ch.EventIDs), JSON(ch.Reasons), b2i(ch.ForCommission), corrected, superseded})
	}
}

// clockRows adds a stream's deadline clocks, one row per charged organisation. due is set for
// a breach the watch still has to record on a stream that can take the record.
func clockRows(res *Result, ids string, clocks []deadline.Clock, missed missed, recordable bool) {
	for _, c := range clocks {
		orgs := c.Charged
		if len(orgs) == 0 {
			orgs = []domain.Org{""}
		}
		fm := make([]string, len(c.ForceMajeure))
		for i, f := range c.ForceMajeure {
			fm[i] = f.String()
		}
		slices.Sort(fm)
		errText := ""
		if c.Err != nil {
			errText = c.Err.Error()
		}
		for _, o := range orgs {
			adj := c.Adjusted
			if o != "" && c.AdjustedFor != nil {
				adj = c.AdjustedFor[o]
			}
			var stoppedAt int64
			if c.Stopped {
				stoppedAt = Micros(c.StoppedAt)
			}
			stopEvent := ""
			if c.Stopped {
				stopEvent = c.StopEvent.String()
			}
			missedBy := missed.find(string(c.Rule), o, adj)
			var due int64
			if c.Breach && c.Err == nil && o != "" && recordable && missedBy == "" && (!c.Stopped || c.StoppedAt.After(adj)) {
				due = Micros(adj)
			}
			res.Rows.Add(Clocks, Row{ids, string(c.Rule), c.StartEvent.String(), string(o),
				Micros(c.Start), Micros(c.Deadline), Micros(adj), b2i(c.Breach), c.Source, JSON(c.Charged),
				holderJSON(c.Holder), b2i(c.Stopped), stoppedAt, stopEvent, string(c.StopType),
				JSON(fm), errText, missedBy, due, b2i(c.Unnotified())})
		}
	}
}

// missed indexes a document's DeadlineMissed events by rule, charged organisation and deadline.
type missed map[string]string

func missedEvents(evs []domain.Event) missed {
	m := missed{}
	for _, e := range evs {
		p, ok := e.Payload.(*domain.DeadlineMissedData)
		if !ok {
			continue
		}
		orgs := p.ChargedTo
		if len(orgs) == 0 {
			orgs = []domain.Org{""}
		}
		for _, o := range orgs {
			k := missedKey(p.Rule, o, p.Deadline)
			if _, seen := m[k]; !seen {
				m[k] = e.ID.String()
			}
		}
	}
	return m
}

func missedKey(rule string, org domain.Org, at time.Time) string {
	return rule + "|" + string(org) + "|" + strconv.FormatInt(at.UnixMicro(), 10) // per clock row: no fmt
}

func (m missed) find(rule string, org domain.Org, at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return m[missedKey(rule, org, at)]
}

// Registry returns a registry stream's rows: the registry and its lines.
func Registry(id uuid.UUID, events []Event) Rows {
	rows := Rows{}
	r := domain.Registry{}
	for _, e := range events {
		r = domain.EvolveRegistry(r, e.Event)
	}
	if r.Formed == nil {
		return rows
	}
	ids := id.String()
	last := events[len(events)-1]
	courier, acceptedBy := "", ""
	if r.Courier != nil {
		courier = holderJSON(*r.Courier)
	}
	state := map[uuid.UUID]string{}
	lineState := "listed"
	if r.Status == domain.RegistryStatusHandedOver {
		lineState = "handed_over"
	}
	var nAcc, nMiss, nDam, nExtra int64
	var extra []uuid.UUID
	if a := r.Acceptance; a != nil {
		acceptedBy = holderJSON(a.By)
		for _, d := range a.Accepted {
			state[d] = "accepted"
		}
		for _, d := range a.Damaged {
			state[d] = "damaged"
		}
		for _, d := range a.Missing {
			state[d] = "missing"
		}
		nAcc, nMiss, nDam, nExtra = int64(len(a.Accepted)), int64(len(a.Missing)), int64(len(a.Damaged)), int64(len(a.Extra))
		extra = a.Extra
	}
	f := r.Formed
	rows.Add(Registries, Row{ids, string(f.Kind), string(r.Status), string(f.From.Org), f.From.Unit, string(f.To.Org), f.To.Unit,
		courier, Micros(r.FormedAt), r.FormedAt.In(domain.Almaty).Format(time.DateOnly), Micros(r.HandedAt), Micros(r.AcceptedAt),
		acceptedBy, int64(len(f.Documents)), nAcc, nMiss, nDam, nExtra, int64(r.Version), int64(last.Position)})
	for i, d := range f.Documents {
		s, ok := state[d]
		if !ok {
			s = lineState
		}
		rows.Add(RegistryLines, Row{ids, d.String(), int64(i + 1), s})
	}
	for i, d := range extra {
		rows.Add(RegistryLines, Row{ids, d.String(), int64(len(f.Documents) + i + 1), "extra"})
	}
	return rows
}

// ForceMajeureRows returns a force-majeure stream's row: the declared period.
func ForceMajeureRows(events []Event, cal *calendar.Calendar) Rows {
	rows := Rows{}
	for _, e := range events {
		f, ok := deadline.FromEvent(e.Event)
		if !ok {
			continue
		}
		if cal == nil {
			cal = calendar.Default()
		}
		timely := int64(-1) // unknown: the onset lies outside the calendar's years
		if ok, err := deadline.NoticeTimely(cal, f.From, f.NotifiedAt); err == nil {
			timely = b2i(ok)
		}
		p := e.Payload.(*domain.ForceMajeureDeclaredData)
		orgs := f.Orgs
		if orgs == nil {
			orgs = []domain.Org{}
		}
		rows.Add(ForceMajeure, Row{f.ID.String(), Micros(f.From), Micros(f.To), JSON(orgs), f.Region, string(f.NotifyingOrg),
			Micros(f.NotifiedAt), timely, p.Description, int64(e.Position)})
		break // a period is declared once (commands.DeclareForceMajeure)
	}
	return rows
}

// FMFromRow reads a force-majeure row back into the period the clocks need, with the position
// that declared it.
func FMFromRow(r Row) (deadline.ForceMajeure, uint64, error) {
	id, err := uuid.Parse(r[0].(string))
	if err != nil {
		return deadline.ForceMajeure{}, 0, fmt.Errorf("model: force majeure id: %w", err)
	}
	var orgs []domain.Org
	if err := unmarshal(r[3].(string), &orgs); err != nil {
		return deadline.ForceMajeure{}, 0, err
	}
	if len(orgs) == 0 {
		orgs = nil
	}
	return deadline.ForceMajeure{ID: id, From: Time(r[1].(int64), time.UTC), To: Time(r[2].(int64), time.UTC), Orgs: orgs,
		Region: r[4].(string), NotifyingOrg: domain.Org(r[5].(string)), NotifiedAt: Time(r[6].(int64), time.UTC)}, uint64(r[9].(int64)), nil
}

// Dispute returns a dispute stream's rows (P.36).
func Dispute(id uuid.UUID, events []Event) Rows {
	rows := Rows{}
	var (
		opened   *domain.DisputeOpenedData
		openedAt time.Time
		resolved *domain.DisputeResolvedData
		resAt    time.Time
	)
	for _, e := range events {
		switch p := e.Payload.(type) {
		case *domain.DisputeOpenedData:
			if opened == nil {
				opened, openedAt = p, e.OccurredAt
			}
		case *domain.DisputeResolvedData:
			if opened != nil && resolved == nil {
				resolved, resAt = p, e.OccurredAt
			}
		}
	}
	if opened == nil {
		return rows
	}
	ids := id.String()
	status, protocol, decision, charged := "open", "", "", "[]"
	if resolved != nil {
		status, protocol, decision = "resolved", resolved.ProtocolNumber, resolved.Decision
		if len(resolved.ChargedTo) > 0 {
			charged = JSON(resolved.ChargedTo)
		}
	}
	parties := "[]"
	if len(opened.Parties) > 0 {
		parties = JSON(opened.Parties)
	}
	rows.Add(Disputes, Row{ids, Micros(openedAt), JSON(opened.DocumentIDs), parties, opened.Subject, status,
		Micros(resAt), protocol, decision, charged})
	for _, d := range opened.DocumentIDs {
		rows.Add(DisputeDocuments, Row{d.String(), ids, Micros(openedAt)})
	}
	return rows
}
