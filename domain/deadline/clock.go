package deadline

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// Clock is one deadline running (or run) on a document.
type Clock struct {
	Rule    RuleID
	Source  string
	Breach  bool
	Charged []domain.Org
	// Start is when the clock started; StartEvent the event that started it. A clock that
	// starts when another runs out (cell_removal) names the event that started that one.
	Start      time.Time
	StartEvent uuid.UUID
	Holder     domain.Holder // who held the document when the clock started
	Deadline   time.Time     // by the table alone
	// Adjusted is the deadline moved by force majeure: the earliest over the charged
	// organisations, since a late notice moves it for some organisations only (P.39).
	Adjusted    time.Time
	AdjustedFor map[domain.Org]time.Time // per charged organisation
	// ForceMajeure lists the periods that moved the deadline for at least one organisation.
	ForceMajeure []uuid.UUID
	Stopped      bool
	StoppedAt    time.Time
	StopEvent    uuid.UUID
	StopType     domain.EventType
	// Notice is the rule's Notice; NoticeGiven that it was recorded while the clock ran.
	Notice      domain.EventType
	NoticeGiven bool
	// Err is set when the deadline cannot be known, e.g. a date outside the calendar's
	// years (calendar.ErrUnknownYear) or an invalid force-majeure period; such a clock is
	// never reported missed, so callers must list Undetermined clocks.
	Err error

	startIdx, stopIdx int
}

// NoticeOwed reports whether the clock ran out (by now, or before it stopped) with no notice
// to the recipient recorded though its rule wants one (P.27 for intake_wait).
func (c Clock) NoticeOwed(now time.Time) bool {
	if !c.Unnotified() || c.Err != nil {
		return false
	}
	end := now
	if c.Stopped && c.StoppedAt.Before(now) {
		end = c.StoppedAt
	}
	return end.After(c.Adjusted)
}

// Unnotified reports whether the clock's rule wants the recipient told of a delay and no
// notice was recorded while it ran; once it runs out, a notice is owed (P.27).
func (c Clock) Unnotified() bool { return c.Notice != "" && !c.NoticeGiven }

// Late reports whether the clock was stopped after its adjusted deadline.
func (c Clock) Late() bool {
	return c.Err == nil && c.Stopped && c.StoppedAt.After(c.Adjusted)
}

// Breached lists the charged organisations whose deadline passed while the clock still ran,
// as of now: for a running clock the deadline is before now, for a stopped one before it
// stopped. Rules that charge no one give none.
func (c Clock) Breached(now time.Time) []domain.Org {
	if c.Err != nil || !c.Breach {
		return nil
	}
	end := now
	if c.Stopped && c.StoppedAt.Before(now) {
		end = c.StoppedAt
	}
	var out []domain.Org
	for _, o := range c.Charged {
		if end.After(c.AdjustedFor[o]) {
			out = append(out, o)
		}
	}
	return out
}

// Running returns the clocks not (yet) stopped. A clock that starts when another runs out
// may start after the last event; compare Start with now where that matters.
func Running(clocks []Clock) []Clock {
	var out []Clock
	for _, c := range clocks {
		if !c.Stopped {
			out = append(out, c)
		}
	}
	return out
}

// Missed returns the running clocks whose adjusted deadline passed by now. Doing the step at
// the deadline instant itself is on time. Rules that are no breach (cell_storage,
// con_storage) are included: running out is what triggers the next step; Breach tells them
// apart.
func Missed(clocks []Clock, now time.Time) []Clock {
	var out []Clock
	for _, c := range clocks {
		if !c.Stopped && c.Err == nil && now.After(c.Adjusted) {
			out = append(out, c)
		}
	}
	return out
}

// Undetermined returns the clocks whose deadline could not be computed (Err set).
func Undetermined(clocks []Clock) []Clock {
	var out []Clock
	for _, c := range clocks {
		if c.Err != nil {
			out = append(out, c)
		}
	}
	return out
}

// Clocks lists every clock the document's events (in stream order) started, with its base
// and adjusted deadline and whether and when it stopped. fm are the declared force-majeure
// periods; region is the document's region, matched against theirs.
func Clocks(events []domain.Event, cal *calendar.Calendar, fm []ForceMajeure, region string) []Clock {
	e := evaluator{events: events, cal: cal, fm: fm, region: region, holders: holdersAfter(events)}
	e.prepare()
	var out []Clock
	for i, ev := range events {
		for _, r := range table {
			if r.Start == "" || r.Start != ev.Type || !startsOn(r, events[:i], ev) {
				continue
			}
			c := e.clock(r, ev.OccurredAt, ev.ID, i, e.holders[i])
			out = append(out, c)
			for _, d := range table {
				if d.After == r.ID {
					if dc, ok := e.derived(d, c); ok {
						out = append(out, dc)
					}
				}
			}
		}
	}
	return out
}

// startsOn applies a rule's narrowing conditions to a candidate start event.
func startsOn(r Rule, before []domain.Event, e domain.Event) bool {
	if r.StartKind != "" {
		var kind domain.RegistryKind
		if p, ok := e.Payload.(*domain.AddedToRegistryData); ok && p != nil {
			kind = p.Kind
		}
		if kind != r.StartKind {
			return false
		}
	}
	if r.Requires != "" {
		return slices.ContainsFunc(before, func(b domain.Event) bool { return b.Type == r.Requires })
	}
	return true
}

// holdersAfter folds the hand-overs: holders[i] is who held the document after event i.
func holdersAfter(events []domain.Event) []domain.Holder {
	out := make([]domain.Holder, len(events))
	var h domain.Holder
	for i, e := range events {
		if t, ok := domain.TransferOf(e); ok {
			h = t.To
		}
		out[i] = h
	}
	return out
}

type evaluator struct {
	events  []domain.Event
	cal     *calendar.Calendar
	fm      []ForceMajeure
	region  string
	holders []domain.Holder
	timely  map[uuid.UUID]bool
	err     error // a period that cannot be judged makes every deadline unknowable
}

// prepare validates the periods and judges each notice once (P.38, P.39).
func (e *evaluator) prepare() {
	e.timely = map[uuid.UUID]bool{}
	for i, f := range e.fm {
		if err := f.Validate(); err != nil {
			e.err = fmt.Errorf("deadline: force majeure %s: %w", f.ID, err)
			return
		}
		ok, err := NoticeTimely(e.cal, f.From, f.NotifiedAt)
		if err != nil {
			e.err = fmt.Errorf("deadline: force majeure %s notice: %w", f.ID, err)
			return
		}
		e.timely[fmKey(i, f)] = ok
	}
}

// clock builds a clock of rule r started at start and finds what stopped it.
func (e *evaluator) clock(r Rule, start time.Time, startEvent uuid.UUID, idx int, holder domain.Holder) Clock {
	c := Clock{Rule: r.ID, Source: r.Source, Breach: r.Breach, Charged: slices.Clone(r.Charged),
		Start: start, StartEvent: startEvent, Holder: holder, Notice: r.Notice, startIdx: idx, stopIdx: -1}
	for j := idx + 1; j < len(e.events); j++ {
		if r.Notice != "" && e.events[j].Type == r.Notice {
			c.NoticeGiven = true
		}
		if r.Stops(e.events[j].Type) {
			c.Stopped, c.StoppedAt, c.StopEvent, c.StopType = true, e.events[j].OccurredAt, e.events[j].ID, e.events[j].Type
			c.stopIdx = j
			break
		}
	}
	if e.err != nil {
		c.Err = e.err
		return c
	}
	base, err := e.cal.Deadline(start, r.Term)
	if err != nil {
		c.Err = fmt.Errorf("deadline: %s: %w", r.ID, err)
		return c
	}
	e.adjust(&c, base, WallTime)
	return c
}

// derived builds the clock of rule r that starts when parent runs out (cell_removal after
// cell_storage), or at r.EarlyStart if that event stopped the parent before it ran out.
// No clock starts when the parent was stopped in time by anything else (collected).
func (e *evaluator) derived(r Rule, parent Clock) (Clock, bool) {
	if parent.Err != nil {
		// When the parent runs out is unknown, so is this clock: list it as undetermined.
		return Clock{Rule: r.ID, Source: r.Source, Breach: r.Breach, Charged: slices.Clone(r.Charged),
			StartEvent: parent.StartEvent, Holder: parent.Holder, Err: parent.Err, startIdx: parent.startIdx, stopIdx: -1}, true
	}
	start, startEvent, from := parent.Adjusted, parent.StartEvent, parent.startIdx
	if parent.Stopped && !parent.StoppedAt.After(parent.Adjusted) {
		if parent.StopType != r.EarlyStart {
			return Clock{}, false
		}
		start, startEvent, from = parent.StoppedAt, parent.StopEvent, parent.stopIdx
	}
	// The holder when the clock starts: after the starting event and whatever else had
	// happened by then.
	holder := e.holders[from]
	for j := from + 1; j < len(e.events) && !e.events[j].OccurredAt.After(start); j++ {
		holder = e.holders[j]
	}
	return e.clock(r, start, startEvent, from, holder), true
}
