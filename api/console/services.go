package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/projections/query"
)

// compliancePeriod is the services page's default period: the last 30 days.
const compliancePeriod = 30 * 24 * time.Hour

// serviceReport is one service's section of the services page.
type serviceReport struct {
	Code, Name, Source string
	R                  query.ComplianceReport
}

type servicesData struct {
	From, To string // the form's dates, YYYY-MM-DD (Almaty)
	Services []serviceReport
}

// services shows, per service of the catalogue that runs as applications, the per-step
// compliance report the API answers at GET /v1/services/{code}/compliance, over a period of
// days: from the start of from to the end of to (Almaty). The pilot's service runs as
// documents; its terms are the overdue page's rules.
func (c *Console) services(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodOf(r, c.now())
	if err != nil {
		return err
	}
	cat := c.cfg.Catalogue
	if cat == nil {
		cat = catalogue.Default()
	}
	d := servicesData{From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly)}
	for _, s := range cat.Services() {
		if !s.Runnable() {
			continue
		}
		rep, err := c.cfg.Reads.Compliance(r.Context(), query.ComplianceFilter{Service: s.Code, From: from, To: to})
		if err != nil {
			return err
		}
		d.Services = append(d.Services, serviceReport{Code: s.Code, Name: s.NameRU, Source: s.Source, R: rep})
	}
	return c.show(w, r, "services", d)
}

// periodOf reads the from and to dates (YYYY-MM-DD, Almaty); it returns [from, to) with to
// the day after the last date. Without dates: the last 30 days up to now.
func periodOf(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	q := r.URL.Query()
	day := func(s string, def time.Time) (time.Time, error) {
		if s == "" {
			y, m, d := def.In(domain.Almaty).Date()
			return time.Date(y, m, d, 0, 0, 0, 0, domain.Almaty), nil
		}
		t, err := time.ParseInLocation(time.DateOnly, s, domain.Almaty)
		if err != nil {
			return time.Time{}, errMalformed
		}
		return t, nil
	}
	from, err := day(q.Get("from"), now.Add(-compliancePeriod))
	if err != nil {
		return from, from, err
	}
	last, err := day(q.Get("to"), now)
	if err != nil {
		return from, from, err
	}
	if last.Before(from) {
		return from, from, errMalformed
	}
	return from, last.AddDate(0, 0, 1), nil
}

// fmtSpan writes a duration as days, hours and minutes (a term runs from minutes to weeks).
func fmtSpan(l lang, sec int64) string {
	d, h, m := sec/86400, sec%86400/3600, sec%3600/60
	u := [3]string{"д", "ч", "мин"}
	if l == kk {
		u = [3]string{"күн", "сағ", "мин"}
	}
	switch {
	case d > 0:
		return fmt.Sprintf("%d %s %d %s", d, u[0], h, u[1])
	case h > 0:
		return fmt.Sprintf("%d %s %d %s", h, u[1], m, u[2])
	}
	return fmt.Sprintf("%d %s", m, u[2])
}

// allowedSpan is a step's term as fmtSpan writes it ("—" when the report gives none).
func allowedSpan(l lang, s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return "—"
	}
	return fmtSpan(l, int64(d/time.Second))
}
