package deadline

import (
	"slices"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// adjust sets the clock's deadline to base and moves it by the force-majeure periods that
// count for each charged organisation (P.37–P.39).
func (e *evaluator) adjust(c *Clock, base time.Time) {
	c.Deadline = base
	keys := c.Charged
	if len(keys) == 0 {
		keys = []domain.Org{""}
	}
	for _, o := range keys {
		periods := counting(e.fm, e.timely, o, e.region)
		adj := extend(c.Start, base, periods)
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
// term comes from the service catalogue): its deadline is base, moved by force majeure as
// Clocks moves the table's. A period that cannot be judged sets Err.
func Adjust(c Clock, base time.Time, cal *calendar.Calendar, fm []ForceMajeure, region string) Clock {
	e := evaluator{cal: cal, fm: fm, region: region}
	e.prepare()
	if e.err != nil {
		c.Err = e.err
		return c
	}
	e.adjust(&c, base)
	return c
}
