package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
)

// Options shape a data set.
type Options struct {
	Documents int       // how many documents (default 300)
	PerDay    int       // documents entering per working day (default 20)
	Now       time.Time // the data set ends before this moment (default: the service's clock)
	City      City      // default Almaty
	// Applications of the services of seed 003 over the last month (default a fifth of the
	// documents, at least 12; negative: none).
	Applications int
}

// Summary counts what a data set holds.
type Summary struct {
	Documents, Events, Registries int
	Postomat, CON, Collected      int
	Returned, Stored, Issued      int
	Lost, Delayed, Missing        int
	ForceMajeure                  int
	Applications, RefusedAtIntake int
	Extended                      int
	Start, End                    time.Time
	// AlreadyPresent: this day's data set was in the store already; nothing was written.
	AlreadyPresent bool
}

// Generate writes a realistic data set through svc: documents on both routes, entering on
// successive working days over the last weeks, with dispatch registries (one with a missing and
// a damaged line), collections, returns with their registries, storage after a month, a delay, a
// loss with its act and cancellation, and a force-majeure day. The ids derive from the start
// date (and the city's name, for a city other than Almaty), so running it again on the same day
// finds it and writes nothing.
func Generate(ctx context.Context, svc *commands.Service, o Options) (Summary, error) {
	if o.Documents <= 0 {
		o.Documents = 300
	}
	if o.PerDay <= 0 {
		o.PerDay = 20
	}
	if o.Now.IsZero() {
		o.Now = svc.Now()
	}
	if o.City.Name == "" {
		o.City = Almaty
	}
	now := o.Now.In(domain.Almaty)
	y, m, d := now.AddDate(0, 0, -50).Date()
	start := time.Date(y, m, d, 9, 0, 0, 0, domain.Almaty)
	series := "custody-demo/" + start.Format("2006-01-02")
	if o.City.Name != Almaty.Name {
		// Another city's data set of the same day has ids of its own, so that several cities
		// can share a store and a day (the nationwide benchmark).
		series += "/" + o.City.Name
	}
	g := &gen{svc: svc, c: o.City, now: now, ns: uuid.NewSHA1(uuid.NameSpaceURL, []byte(series)),
		sum: Summary{Start: start}, states: map[uuid.UUID]domain.State{}}
	if _, _, err := svc.Document(ctx, g.docID(0)); err == nil {
		g.sum.AlreadyPresent = true
		return g.sum, nil
	} else if !errors.Is(err, commands.ErrNotFound) {
		return g.sum, err
	}
	day := start
	for n := 0; n < o.Documents; day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		count := min(o.PerDay, o.Documents-n)
		if err := g.batch(ctx, day, n, count); err != nil {
			return g.sum, err
		}
		n += count
	}
	if o.Applications == 0 {
		o.Applications = max(12, o.Documents/5) // 60 for the 300 documents of custody demo
	}
	if o.Applications > 0 {
		y, m, d := now.AddDate(0, 0, -35).Date()
		if err := g.applications(ctx, time.Date(y, m, d, 9, 0, 0, 0, domain.Almaty), o.Applications); err != nil {
			return g.sum, err
		}
	}
	g.sum.End = g.last
	return g.sum, nil
}

type gen struct {
	svc    *commands.Service
	c      City
	now    time.Time
	ns     uuid.UUID
	sum    Summary
	states map[uuid.UUID]domain.State
	last   time.Time
	batchN int
}

func (g *gen) docID(n int) uuid.UUID { return uuid.NewSHA1(g.ns, fmt.Appendf(nil, "doc/%d", n)) }

func (g *gen) id(parts ...any) uuid.UUID { return uuid.NewSHA1(g.ns, []byte(fmt.Sprint(parts...))) }

// step records one event built by Next, unless its time has not come yet. It reports whether
// the event was written.
func (g *gen) step(ctx context.Context, doc uuid.UUID, n int, t domain.EventType, at time.Time) (bool, error) {
	if at.After(g.now) {
		return false, nil
	}
	s, ok := g.states[doc]
	if !ok {
		s = domain.State{DocumentID: doc, Status: domain.StatusNew}
	}
	e, a := Next(g.c, s, n, t, at)
	if _, err := g.svc.AppendEvent(ctx, a, e, nil); err != nil {
		return false, fmt.Errorf("demo document %d %s: %w", n, t, err)
	}
	g.states[doc] = domain.Evolve(s, e)
	g.sum.Events++
	g.last = maxTime(g.last, at)
	return true, nil
}

func (g *gen) refresh(ctx context.Context, docs ...uuid.UUID) error {
	for _, d := range docs {
		s, _, err := g.svc.Document(ctx, d)
		if err != nil {
			return err
		}
		g.states[d] = s
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// walk records steps in order while their time has come.
func (g *gen) walk(ctx context.Context, doc uuid.UUID, n int, at time.Time, gap time.Duration, ts ...domain.EventType) (time.Time, bool, error) {
	for _, t := range ts {
		ok, err := g.step(ctx, doc, n, t, at)
		if err != nil || !ok {
			return at, false, err
		}
		at = at.Add(gap)
	}
	return at, true, nil
}

// batch is one working day's intake: the documents issued that day and everything that
// follows them.
func (g *gen) batch(ctx context.Context, day time.Time, first, count int) error {
	g.batchN++
	b := g.batchN
	var postomat, con []uuid.UUID
	num := map[uuid.UUID]int{}
	for i := 0; i < count; i++ {
		n := first + i
		doc := g.docID(n)
		num[doc] = n
		g.sum.Documents++
		at := day.Add(time.Duration(i) * time.Minute)
		if n%4 == 3 { // a quarter chose the ЦОН (P.3)
			g.sum.CON++
			if _, ok, err := g.walk(ctx, doc, n, at.Add(time.Hour), 3*time.Hour, domain.DocumentIssued, domain.CollectedFromRags,
				domain.ReceivedAtAccumulation); err != nil || !ok {
				return err
			}
			if _, err := g.step(ctx, doc, n, domain.RoutedForDelivery, at.Add(7*time.Hour+10*time.Minute)); err != nil {
				return err
			}
			con = append(con, doc)
			continue
		}
		g.sum.Postomat++
		if _, ok, err := g.walk(ctx, doc, n, at, time.Hour, domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated); err != nil || !ok {
			return err
		}
		if b == 2 && i == 0 { // P.27: Kaspi tells the recipient of a delay
			if ok, err := g.step(ctx, doc, n, domain.DeliveryDelayed, at.Add(2*time.Hour+30*time.Minute)); err != nil {
				return err
			} else if ok {
				g.sum.Delayed++
			}
		}
		if _, ok, err := g.walk(ctx, doc, n, at.Add(4*time.Hour), 10*time.Minute, domain.CollectedFromRags, domain.ReceivedAtAccumulation,
			domain.RoutedForDelivery, domain.Packed); err != nil || !ok {
			return err
		}
		postomat = append(postomat, doc)
	}
	if err := g.conRoute(ctx, b, day, con, num); err != nil {
		return err
	}
	return g.postomatRoute(ctx, b, day, postomat, num)
}

func (g *gen) registry(ctx context.Context, b int, kind domain.RegistryKind, actor domain.Actor, from, to string,
	docs []uuid.UUID, at time.Time) (uuid.UUID, bool, error) {
	if len(docs) == 0 || at.After(g.now) {
		return uuid.Nil, false, nil
	}
	res, err := g.svc.FormRegistry(ctx, actor, commands.RegistryForm{EventID: g.id("reg", kind, b), Kind: kind,
		FromUnit: from, ToUnit: to, DocumentIDs: docs, OccurredAt: at})
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("demo %s registry of batch %d: %w", kind, b, err)
	}
	g.sum.Registries++
	g.sum.Events += 1 + len(res.Documents)
	return res.RegistryID, true, g.refresh(ctx, docs...)
}

// conRoute: the RAGS registry takes ЦОН documents to the issuance sector (P.14), where most are
// collected within days.
func (g *gen) conRoute(ctx context.Context, b int, day time.Time, docs []uuid.UUID, num map[uuid.UUID]int) error {
	acc := ActorOf(domain.RoleGKAccumulation, g.c.GKAccumulation)
	// Documents enter a minute apart, so the registry waits for the day's last one.
	reg, ok, err := g.registry(ctx, b, domain.RegistryRagsIssuance, acc, g.c.GKAccumulation.Unit, g.c.GKIssuance.Unit, docs,
		day.Add(8*time.Hour+time.Duration(len(num))*time.Minute))
	if err != nil || !ok {
		return err
	}
	at := day.Add(24 * time.Hour)
	if at.After(g.now) {
		return nil
	}
	res, err := g.svc.AcceptRegistry(ctx, ActorOf(domain.RoleGKIssuance, g.c.GKIssuance), commands.Acceptance{
		EventID: g.id("acc", reg), RegistryID: reg, Accepted: docs, OccurredAt: at})
	if err != nil {
		return fmt.Errorf("demo rags registry acceptance: %w", err)
	}
	g.sum.Events += 1 + len(res.Documents)
	if err := g.refresh(ctx, docs...); err != nil {
		return err
	}
	for i, doc := range docs {
		if i%5 == 4 {
			continue // not yet collected: waits at the ЦОН
		}
		if ok, err := g.step(ctx, doc, num[doc], domain.IssuedToRecipient, at.Add(time.Duration(24+i*5)*time.Hour)); err != nil {
			return err
		} else if ok {
			g.sum.Issued++
		}
	}
	return nil
}

// postomatRoute: dispatch registry to Kaspi (P.13–P.18), cells (P.19–P.21), pick-ups (P.29)
// and returns of the unclaimed (P.30–P.35).
func (g *gen) postomatRoute(ctx context.Context, b int, day time.Time, docs []uuid.UUID, num map[uuid.UUID]int) error {
	acc := ActorOf(domain.RoleGKAccumulation, g.c.GKAccumulation)
	late := time.Duration(len(num)) * time.Minute // documents enter a minute apart
	reg, ok, err := g.registry(ctx, b, domain.RegistryDispatch, acc, g.c.GKAccumulation.Unit, g.c.KaspiIntake.Unit, docs,
		day.Add(6*time.Hour+late))
	if err != nil || !ok {
		return err
	}
	handAt := day.Add(7*time.Hour + late)
	if handAt.After(g.now) {
		return nil
	}
	res, err := g.svc.HandOverRegistry(ctx, acc, commands.Handover{EventID: g.id("hand", reg), RegistryID: reg,
		Courier: g.c.GKCourier, OccurredAt: handAt})
	if err != nil {
		return fmt.Errorf("demo dispatch hand-over: %w", err)
	}
	g.sum.Events += 1 + len(res.Documents)
	accept := commands.Acceptance{EventID: g.id("acc", reg), RegistryID: reg, OccurredAt: day.Add(24*time.Hour + 2*time.Hour)}
	if b%5 == 3 { // the courier is late: accepted after 12:00 next working day (P.17)
		accept.OccurredAt = day.Add(24*time.Hour + 6*time.Hour)
	}
	var lost uuid.UUID
	for i, doc := range docs {
		switch {
		case b == 1 && i == 1: // P.18: a registry line missing at acceptance
			accept.Missing, lost = append(accept.Missing, doc), doc
		case b == 1 && i == 2:
			accept.Damaged = append(accept.Damaged, doc)
		default:
			accept.Accepted = append(accept.Accepted, doc)
		}
	}
	if accept.OccurredAt.After(g.now) {
		return nil
	}
	res, err = g.svc.AcceptRegistry(ctx, ActorOf(domain.RoleKaspiIntake, g.c.KaspiIntake), accept)
	if err != nil {
		return fmt.Errorf("demo dispatch acceptance: %w", err)
	}
	g.sum.Events += 1 + len(res.Documents)
	g.sum.Missing += len(accept.Missing)
	if err := g.refresh(ctx, docs...); err != nil {
		return err
	}
	if lost != uuid.Nil { // P.23, P.24: GK answers for the missing envelope: loss, act, cancellation
		if _, ok, err := g.walk(ctx, lost, num[lost], accept.OccurredAt.Add(3*time.Hour), 26*time.Hour, domain.DocumentLost,
			domain.LossActRegistered, domain.ApplicationCancelled); err != nil {
			return err
		} else if ok {
			g.sum.Lost++
		}
	}
	var unclaimed []uuid.UUID
	placedAt := accept.OccurredAt.Add(5 * time.Hour)
	if b == 4 { // the force-majeure day holds up deliveries (P.37)
		if err := g.forceMajeure(ctx, day.Add(24*time.Hour)); err != nil {
			return err
		}
		placedAt = placedAt.Add(48 * time.Hour)
	}
	for i, doc := range accept.Accepted {
		n := num[doc]
		if _, ok, err := g.walk(ctx, doc, n, placedAt.Add(-2*time.Hour+time.Duration(i)*time.Minute), 2*time.Hour,
			domain.OutForPostomatDelivery, domain.PlacedInCell); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		if i%5 == 2 { // unclaimed for 3 days (P.29, P.30)
			if _, ok, err := g.walk(ctx, doc, n, placedAt.Add(73*time.Hour), 2*time.Hour, domain.RemovedFromCell,
				domain.ReturnedToKaspiIntake); err != nil {
				return err
			} else if ok {
				unclaimed = append(unclaimed, doc)
			}
			continue
		}
		if ok, err := g.step(ctx, doc, n, domain.CollectedByRecipient, placedAt.Add(time.Duration(3+i*2)*time.Hour)); err != nil {
			return err
		} else if ok {
			g.sum.Collected++
		}
	}
	return g.returns(ctx, b, placedAt.Add(80*time.Hour), unclaimed, num)
}

// returns: the accumulation sector's return registry, the GK courier's collection and the
// ЦОН's acceptance (P.32–P.34); then issuance or, after a month, storage (P.35).
func (g *gen) returns(ctx context.Context, b int, at time.Time, docs []uuid.UUID, num map[uuid.UUID]int) error {
	acc := ActorOf(domain.RoleGKAccumulation, g.c.GKAccumulation)
	reg, ok, err := g.registry(ctx, b, domain.RegistryReturnCollection, acc, g.c.KaspiIntake.Unit, g.c.GKIssuance.Unit, docs, at)
	if err != nil || !ok {
		return err
	}
	collect := at.Add(20 * time.Hour)
	if collect.After(g.now) {
		return nil
	}
	res, err := g.svc.HandOverRegistry(ctx, ActorOf(domain.RoleGKCourier, g.c.GKCourier), commands.Handover{
		EventID: g.id("hand", reg), RegistryID: reg, OccurredAt: collect})
	if err != nil {
		return fmt.Errorf("demo return collection: %w", err)
	}
	g.sum.Events += 1 + len(res.Documents)
	recv := collect.Add(3 * time.Hour)
	if recv.After(g.now) {
		return nil
	}
	res, err = g.svc.AcceptRegistry(ctx, ActorOf(domain.RoleGKIssuance, g.c.GKIssuance), commands.Acceptance{
		EventID: g.id("acc", reg), RegistryID: reg, Accepted: docs, OccurredAt: recv, CONAddress: g.c.CONAddress})
	if err != nil {
		return fmt.Errorf("demo return acceptance: %w", err)
	}
	g.sum.Events += 1 + len(res.Documents)
	g.sum.Returned += len(docs)
	if err := g.refresh(ctx, docs...); err != nil {
		return err
	}
	for i, doc := range docs {
		if i%2 == 0 {
			if ok, err := g.step(ctx, doc, num[doc], domain.IssuedToRecipient, recv.Add(50*time.Hour)); err != nil {
				return err
			} else if ok {
				g.sum.Issued++
			}
			continue
		}
		if ok, err := g.step(ctx, doc, num[doc], domain.TransferredForStorage, domain.AddMonth(recv).Add(9*time.Hour)); err != nil {
			return err
		} else if ok {
			g.sum.Stored++
		}
	}
	return nil
}

func (g *gen) forceMajeure(ctx context.Context, day time.Time) error {
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, domain.Almaty)
	notice := from.Add(30 * time.Hour)
	if notice.After(g.now) {
		return nil
	}
	_, err := g.svc.DeclareForceMajeure(ctx, Platform, g.id("fm", from), notice, domain.ForceMajeureDeclaredData{
		From: from, To: from.Add(24 * time.Hour), Orgs: []domain.Org{domain.OrgKaspi}, Region: g.c.Name,
		Description: "snowstorm: city roads closed by the akimat", Evidence: Evidence(from), Notified: NotifiedBy(domain.OrgKaspi)})
	if err != nil {
		return fmt.Errorf("demo force majeure: %w", err)
	}
	g.sum.ForceMajeure++
	g.sum.Events++
	return nil
}
