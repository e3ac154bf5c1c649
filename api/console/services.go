package console

import (
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
	if !viewerOf(r.Context()).ReadsApplications() {
		return errForbidden // the API's scope: RAGS's and GK's business (api/scope.go)
	}
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

// spanOf writes a number of seconds as the overdue page writes durations.
func spanOf(l lang, sec int64) string { return fmtDuration(l, time.Duration(sec)*time.Second) }

// allowedSpan is a step's term as spanOf writes it ("—" when the report gives none).
func allowedSpan(l lang, s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return "—"
	}
	return fmtDuration(l, d)
}
