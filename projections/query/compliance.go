package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/projections/internal/model"
)

// ComplianceFilter picks a service's clocks started in [From, To) (zero: open).
type ComplianceFilter struct {
	Service  string // the catalogue code
	From, To time.Time
}

// StepCompliance is how one step (or term) of a service ran: how many completed, the median
// and 95th percentile of the time taken by the term's own measure (working time in office
// hours for minute and hour terms, elapsed time for day terms), against the regulated term,
// and the breaches: completed late, or still running past the deadline.
type StepCompliance struct {
	Step      deadline.RuleID `json:"step"`
	Source    string          `json:"source"`
	Term      string          `json:"term"`
	Allowed   string          `json:"allowed"` // the term by the same measure, e.g. "1h0m0s"; day terms: the longest span
	Started   int             `json:"started"`
	Completed int             `json:"completed"`
	Median    string          `json:"median,omitempty"`
	P95       string          `json:"p95,omitempty"`
	MedianSec int64           `json:"median_seconds"`
	P95Sec    int64           `json:"p95_seconds"`
	Late      int             `json:"late"`    // completed after the deadline
	Overdue   int             `json:"overdue"` // running past the deadline now
	Breaches  int             `json:"breaches"`
}

// ComplianceReport is the per-step compliance of one service.
type ComplianceReport struct {
	Service string           `json:"service"`
	From    *time.Time       `json:"from,omitempty"`
	To      *time.Time       `json:"to,omitempty"`
	AsOf    time.Time        `json:"as_of"`
	Steps   []StepCompliance `json:"steps"`
}

// Compliance reports, for each step of a service, its count, median and 95th percentile
// against the term, and its breaches (nearest-rank percentiles over the completed steps).
func (q *Queries) Compliance(ctx context.Context, f ComplianceFilter) (ComplianceReport, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return ComplianceReport{}, err
	}
	now := q.now()
	rep := ComplianceReport{Service: f.Service, AsOf: now.In(domain.Almaty), Steps: []StepCompliance{}}
	args := []any{f.Service}
	where := "service_code = $1"
	if !f.From.IsZero() {
		args = append(args, model.Micros(f.From))
		where += fmt.Sprintf(" AND start_at >= $%d", len(args))
		t := f.From.In(domain.Almaty)
		rep.From = &t
	}
	if !f.To.IsZero() {
		args = append(args, model.Micros(f.To))
		where += fmt.Sprintf(" AND start_at < $%d", len(args))
		t := f.To.In(domain.Almaty)
		rep.To = &t
	}
	type acc struct {
		s     StepCompliance
		taken []int64
		most  int64
	}
	steps := map[deadline.RuleID]*acc{}
	err = q.each(ctx, fmt.Sprintf(`SELECT rule, source, term, allowed, taken, stopped_at, deadline, late FROM %s WHERE %s`,
		model.AppSteps.Name(gen), where), args, func(s rowScanner) error {
		var (
			rule, source, term                 string
			allowed, taken, stopped, due, late int64
		)
		if err := s.Scan(&rule, &source, &term, &allowed, &taken, &stopped, &due, &late); err != nil {
			return err
		}
		a := steps[deadline.RuleID(rule)]
		if a == nil {
			a = &acc{s: StepCompliance{Step: deadline.RuleID(rule), Source: source, Term: term}}
			steps[deadline.RuleID(rule)] = a
		}
		a.s.Started++
		a.most = max(a.most, allowed)
		switch {
		case stopped > 0:
			a.s.Completed++
			a.taken = append(a.taken, taken)
			if late == 1 {
				a.s.Late++
			}
		case due > 0 && model.Micros(now) > due:
			a.s.Overdue++
		}
		return nil
	})
	if err != nil {
		return ComplianceReport{}, fmt.Errorf("query: compliance: %w", err)
	}
	for _, rule := range services.Rules() {
		a := steps[rule]
		if a == nil {
			continue
		}
		s := a.s
		s.Allowed = (time.Duration(a.most) * time.Microsecond).String()
		s.Breaches = s.Late + s.Overdue
		if n := len(a.taken); n > 0 {
			slices.Sort(a.taken)
			med, p95 := time.Duration(a.taken[rank(n, 50)])*time.Microsecond, time.Duration(a.taken[rank(n, 95)])*time.Microsecond
			s.Median, s.P95 = med.Round(time.Second).String(), p95.Round(time.Second).String()
			s.MedianSec, s.P95Sec = int64(med/time.Second), int64(p95/time.Second)
		}
		rep.Steps = append(rep.Steps, s)
	}
	return rep, nil
}

// rank is the nearest-rank index of percentile p among n sorted values.
func rank(n, p int) int {
	i := (n*p + 99) / 100 // ceil(n·p/100)
	return max(i-1, 0)
}
