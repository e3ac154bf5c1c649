package deadline

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// NoticeTerm is the force_majeure_notice rule: the affected party notifies within 3 working
// days of onset (P.38).
var NoticeTerm = calendar.Term{N: 3, Unit: calendar.WorkingDays}

// ForceMajeure is a declared period of force majeure (P.37): it suspends the clocks charged to
// the organisations it covers, in the region it covers.
type ForceMajeure struct {
	ID           uuid.UUID
	From, To     time.Time    // the period [From, To)
	Orgs         []domain.Org // empty: every organisation
	Region       string       // empty: everywhere
	NotifyingOrg domain.Org   // the party that notified it (P.38)
	NotifiedAt   time.Time    // zero: never notified
}

// FromEvent reads a ForceMajeureDeclared event of a force-majeure stream; the notice is the
// moment the declaration was recorded.
func FromEvent(e domain.Event) (ForceMajeure, bool) {
	p, ok := e.Payload.(*domain.ForceMajeureDeclaredData)
	if !ok || p == nil {
		return ForceMajeure{}, false
	}
	orgs := slices.Clone(p.Orgs)
	if len(orgs) == 0 && p.NotifyingOrg != "" {
		// P.37: an organisation declares for its own obligations; an empty list in a record
		// made before that rule no longer means every organisation.
		orgs = []domain.Org{p.NotifyingOrg}
	}
	return ForceMajeure{ID: e.DocumentID, From: p.From, To: p.To, Orgs: orgs, Region: p.Region,
		NotifyingOrg: p.NotifyingOrg, NotifiedAt: e.OccurredAt}, true
}

// Validate checks the period has a start and ends after it.
func (f ForceMajeure) Validate() error {
	if f.From.IsZero() || f.To.IsZero() {
		return errors.New("the period needs from and to")
	}
	if !f.To.After(f.From) {
		return errors.New("to must lie after from")
	}
	return nil
}

// NoticeDeadline is the end of the 3 working days after onset within which force majeure
// must be notified (P.38).
func NoticeDeadline(cal *calendar.Calendar, onset time.Time) (time.Time, error) {
	return cal.Deadline(onset, NoticeTerm)
}

// NoticeTimely reports whether a notice given at notified (zero: never) came within 3 working
// days of onset. A party that notified late cannot rely on the force majeure (P.39).
func NoticeTimely(cal *calendar.Calendar, onset, notified time.Time) (bool, error) {
	d, err := NoticeDeadline(cal, onset)
	if err != nil {
		return false, err
	}
	return !notified.IsZero() && !notified.After(d), nil
}

// interval is a stretch of suspended time.
type interval struct{ from, to time.Time }

// counting returns the periods that suspend a clock charged to org in region ("" org: a clock
// charged to no one, which only periods covering every organisation suspend). A period
// notified late does not count for the notifying party (P.39) but still counts for the other
// organisations it covers.
func counting(fms []ForceMajeure, timely map[uuid.UUID]bool, org domain.Org, region string) []ForceMajeure {
	var out []ForceMajeure
	for i, f := range fms {
		if f.Region != "" && f.Region != region {
			continue
		}
		if len(f.Orgs) > 0 && !slices.Contains(f.Orgs, org) {
			continue
		}
		if org != "" && f.NotifyingOrg == org && !timely[fmKey(i, f)] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// fmKey identifies a period even when callers leave IDs empty.
func fmKey(i int, f ForceMajeure) uuid.UUID {
	if f.ID != uuid.Nil {
		return f.ID
	}
	return uuid.NewSHA1(uuid.Nil, fmt.Appendf(nil, "%d", i))
}

// extend moves a deadline by the suspended time between start and the deadline, recomputed
// as the deadline moves. It returns the least fixed point of D = base + overlap(periods,
// [start, D]) directly, by walking the merged periods: the clock runs base−start of
// unsuspended time. Iterating D ← base + overlap converges to the same instant, but can take
// arbitrarily many steps when a period begins just before the deadline.
func extend(start, base time.Time, periods []ForceMajeure) time.Time {
	var ivs []interval
	for _, p := range periods {
		from := p.From
		if from.Before(start) {
			from = start
		}
		if p.To.After(from) {
			ivs = append(ivs, interval{from, p.To})
		}
	}
	slices.SortFunc(ivs, func(a, b interval) int { return a.from.Compare(b.from) })
	remaining, cursor := base.Sub(start), start
	for _, iv := range ivs {
		if iv.to.Compare(cursor) <= 0 {
			continue // wholly inside time already suspended: merged, never counted twice
		}
		if iv.from.Before(cursor) {
			iv.from = cursor
		}
		if !iv.from.Before(cursor.Add(remaining)) {
			break // begins at or after the deadline: no overlap
		}
		remaining -= iv.from.Sub(cursor)
		cursor = iv.to
	}
	return cursor.Add(remaining)
}

// overlaps reports whether a period overlaps [start, end) for a positive time.
func overlaps(f ForceMajeure, start, end time.Time) bool {
	return f.From.Before(end) && f.To.After(start)
}

// Supersession answers, for a document's clocks, whether a recorded missed deadline (rule,
// charged organisation, the deadline recorded) was moved by force majeure declared after it
// was recorded: the clock's deadline for that organisation now lies later (issue 10 §5). The
// clock is the latest of the rule started by then whose base deadline is not after the record.
func Supersession(clocks []Clock) domain.Moved {
	return func(rule string, org domain.Org, at time.Time) ([]uuid.UUID, time.Time) {
		var match *Clock
		for i := range clocks {
			c := &clocks[i]
			if string(c.Rule) != rule || c.Err != nil || c.Start.After(at) || c.Deadline.After(at) {
				continue
			}
			if match == nil || c.Start.After(match.Start) {
				match = c
			}
		}
		if match == nil || len(match.ForceMajeure) == 0 {
			return nil, time.Time{}
		}
		now, ok := match.AdjustedFor[org]
		if !ok || !now.After(at) {
			return nil, time.Time{}
		}
		return slices.Clone(match.ForceMajeure), now
	}
}
