package deadline

import (
	"slices"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// Mover moves a clock's base deadline by the force-majeure periods that count for one of its
// charged organisations (P.37–P.39). WallTime is the pilot's; a term counted in office hours
// moves by the office time the periods take (domain/services).
type Mover func(start, base time.Time, periods []ForceMajeure) (time.Time, error)

// WallTime moves a deadline by the wall time the periods overlap the running clock, recomputed
// as it moves (DOMAIN.md, Deadlines): the pilot's rule, and that of working- and calendar-day
// terms.
func WallTime(start, base time.Time, periods []ForceMajeure) (time.Time, error) {
	return extend(start, base, periods), nil
}

// adjust sets the clock's deadline to base and moves it by the force-majeure periods that
// count for each charged organisation (P.37–P.39), with move (nil: WallTime).
func (e *evaluator) adjust(c *Clock, base time.Time, move Mover) {
	if move == nil {
		move = WallTime
	}
	c.Deadline = base
	keys := c.Charged
	if len(keys) == 0 {
		keys = []domain.Org{""}
	}
	for _, o := range keys {
		periods := counting(e.fm, e.timely, o, e.region)
		adj := base
		if len(periods) > 0 {
			moved, err := move(c.Start, base, periods)
			if err != nil {
				c.Err = err
				return
			}
			adj = moved
		}
		for _, p := range periods {
			if overlaps(p, c.Start, adj) && !slices.Contains(c.ForceMajeure, p.ID) {
				c.ForceMajeure = append(c.ForceMajeure, p.ID)
			}
		}
		if o != "" {
			if c.AdjustedFor == nil {
				c.AdjustedFor = map[domain.Org]time.Time{}
			}
			c.AdjustedFor[o] = adj
		}
		if c.Adjusted.IsZero() || adj.Before(c.Adjusted) {
			c.Adjusted = adj
		}
	}
}

// Adjust fills in a clock computed outside the deadline table (an application's step, whose
// term comes from the service catalogue): its deadline is base, moved by the force-majeure
// periods of region that count for its charged organisations, with move (nil: WallTime). A
// period that cannot be judged, or a move that cannot be computed, sets Err.
func Adjust(c Clock, base time.Time, cal *calendar.Calendar, fm []ForceMajeure, region string, move Mover) Clock {
	e := evaluator{cal: cal, fm: fm, region: region}
	e.prepare()
	if e.err != nil {
		c.Err = e.err
		return c
	}
	e.adjust(&c, base, move)
	return c
}
