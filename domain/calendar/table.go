package calendar

import "time"

// A rebuild counts working days for every clock of every document (and judges the notice of
// every force-majeure period for each of them), so the day-by-day walk of nextWorking is
// replaced, within the years the calendar holds, by tables computed once when the calendar is
// built: counting n working days is then two lookups. Outside the tables (a date before or
// after a stretch of held years) the walk answers, errors included, so results are the same.

// run is a stretch of consecutive years the calendar holds, as a table of its working days.
type run struct {
	first int     // day number (see dayNumber) of 1 January of the run's first year
	cum   []int32 // cum[i]: how many of the run's days 0..i are working days
	work  []int32 // work[k]: the run's k-th working day (from 0), as an index into the run
}

// tables builds the runs of c's years. A run whose working days lie more than maxScan days
// apart is left out, so that the walk reports such broken data as it always did.
func (c *Calendar) tables() []run {
	ys := c.Years()
	var runs []run
	for i := 0; i < len(ys); {
		j := i
		for j+1 < len(ys) && ys[j+1] == ys[j]+1 {
			j++
		}
		first, last := dayNumber(civil{ys[i], 1, 1}), dayNumber(civil{ys[j], 12, 31})
		r := run{first: first, cum: make([]int32, last-first+1)}
		var n int32
		ok, prev := true, -1
		for k := range r.cum {
			w, err := c.working(civilOfDay(first + k))
			if err != nil { // cannot happen: every day of the run is in a held year
				ok = false
				break
			}
			if w {
				if k-prev > maxScan {
					ok = false
					break
				}
				prev = k
				r.work = append(r.work, int32(k))
				n++
			}
			r.cum[k] = n
		}
		if ok {
			runs = append(runs, r)
		}
		i = j + 1
	}
	return runs
}

// nthWorkingAfter returns the n-th (n ≥ 1) working day after d from the tables, or false when
// the tables cannot tell (d or the answer outside the runs): the caller walks instead.
func (c *Calendar) nthWorkingAfter(d civil, n int) (civil, bool) {
	dn := dayNumber(d)
	for i := range c.runs {
		r := &c.runs[i]
		idx := dn - r.first
		if idx < 0 || idx >= len(r.cum) {
			continue
		}
		// cum[idx] working days lie at or before d, so the first after d is work[cum[idx]].
		k := int(r.cum[idx]) + n - 1
		if k >= len(r.work) {
			return civil{}, false
		}
		return civilOfDay(r.first + int(r.work[k])), true
	}
	return civil{}, false
}

// dayNumber counts days from 1970-01-01 to d in the proleptic Gregorian calendar (H. Hinnant's
// days_from_civil), without the time package's zone arithmetic.
func dayNumber(d civil) int {
	y, m := d.y, int(d.m)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilOfDay is dayNumber's inverse (civil_from_days).
func civilOfDay(n int) civil {
	z := n + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return civil{y, time.Month(m), d}
}
