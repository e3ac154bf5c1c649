package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/projections/query"
)

func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	page := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		m.Handle(pattern, c.signedIn(h))
	}
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	m.HandleFunc("GET /console/static/style.css", serveCSS)
	m.HandleFunc("GET /console/signin", c.signinForm)
	m.HandleFunc("POST /console/signin", c.signin)
	m.HandleFunc("POST /console/signout", c.signout)
	m.HandleFunc("GET /console/lang", c.setLang)
	page("GET /console/{$}", c.overview)
	page("GET /console/documents", c.documents)
	page("GET /console/documents/{id}", c.document)
	page("GET /console/documents/{id}/case", c.caseFile)
	page("GET /console/documents/{id}/case.pdf", c.caseFilePDF)
	page("GET /console/documents/{id}/loss-act", c.lossAct)
	page("GET /console/documents/{id}/loss-act.pdf", c.lossActPDF)
	page("GET /console/overdue", c.overdue)
	page("GET /console/registries", c.registries)
	page("GET /console/registries/{id}", c.registry)
	page("GET /console/registries/{id}/print", c.registryPrint)
	page("GET /console/registries/{id}/registry.pdf", c.registryPDF)
	page("GET /console/liability", c.liability)
	page("GET /console/disputes", c.disputes)
	page("GET /console/notifications", c.notifications)
	page("GET /console/services", c.services)
	m.Handle("/console/", c.signedIn(func(http.ResponseWriter, *http.Request) error { return errNotFound }))
	return m
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	b, _ := assets.ReadFile("static/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// show renders a page for the signed-in viewer.
func (c *Console) show(w http.ResponseWriter, r *http.Request, name string, d any) error {
	v := viewerOf(r.Context())
	c.render(w, r, http.StatusOK, name, v.Lang, v, d)
	return nil
}

// everything refuses a page that only viewers who read the whole ledger may open.
func everything(r *http.Request) error {
	if !viewerOf(r.Context()).Scope.All {
		return errForbidden
	}
	return nil
}

func pathUUID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

// oneOf keeps a filter value only if it is one of the allowed ones; anything else is a
// malformed request, as in the API.
func oneOf[T ~string](v string, allowed []T) (string, error) {
	if v == "" || slices.Contains(allowed, T(v)) {
		return v, nil
	}
	return "", errMalformed
}

var (
	orgs  = []domain.Org{domain.OrgRAGS, domain.OrgGK, domain.OrgKaspi, domain.OrgRecipient, domain.OrgLedger}
	rules = []deadline.RuleID{deadline.IntakeDelivery, deadline.OrderToIntake, deadline.IntakeWait, deadline.CellStorage, deadline.CellRemoval, deadline.ReturnCollection, deadline.CONStorage, deadline.DuplicateIssue, deadline.ForceMajeureNotice,
		query.RuleTransmission}
	regKinds = []domain.RegistryKind{domain.RegistryDispatch, domain.RegistryRagsIssuance, domain.RegistryIntakeAcceptance, domain.RegistryReturnCollection}
	channels = []string{"kaspi_app", "sms_1414"}
	statuses = []string{"pending", "delivered", "poison", "undeliverable", "expired"}
)

// bar is one bar of a server-drawn SVG chart.
type bar struct {
	Label, Href string
	N           int64
	Y, W        int
}

// chart lays out horizontal bars: one row of 26 units each after a 170-unit label, the
// longest bar 230 units wide (a 460-unit view box, so the text stays readable when scaled).
type chart struct {
	Bars   []bar
	Height int
}

func newChart(l lang, prefix string, counts []query.Count, href func(key string) string) chart {
	var most int64 = 1
	for _, c := range counts {
		most = max(most, c.N)
	}
	ch := chart{Height: max(26, 26*len(counts))}
	for i, c := range counts {
		label := tr(l, prefix+"."+c.Key)
		if c.Key == "" {
			label = "—"
		}
		ch.Bars = append(ch.Bars, bar{Label: label, Href: href(c.Key), N: c.N, Y: 26 * i, W: max(2, int(230*c.N/most))})
	}
	return ch
}

type overviewData struct {
	O                               query.Overview
	States, Holders, Rules, OrgBars chart
	Lag                             *Lag
	Verify                          *verification
	Today, Month                    string
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) error {
	if !viewerOf(r.Context()).Scope.All {
		// A unit's key sees its organisation's part: its overdue list first.
		http.Redirect(w, r, "/console/overdue", http.StatusSeeOther)
		return nil
	}
	o, err := c.overviewCache.get(r.Context(), c.cfg.CacheTTL, c.now, c.cfg.Reads.Overview)
	if err != nil {
		return err
	}
	l := viewerOf(r.Context()).Lang
	d := overviewData{O: o, Verify: c.lastVerification(),
		Today: query.Today(o.AsOf).Format(time.DateOnly), Month: query.MonthStart(o.AsOf).Format(time.DateOnly)}
	d.States = newChart(l, "state", o.ByState, func(k string) string { return link("/console/documents", "state", k) })
	d.Holders = newChart(l, "org", o.ByHolder, func(k string) string {
		return link("/console/documents", "holder_org", k, "active", "1")
	})
	d.Rules = newChart(l, "rule", o.OverdueByRule, func(k string) string { return link("/console/overdue", "rule", k) })
	d.OrgBars = newChart(l, "org", o.OverdueByOrg, func(k string) string { return link("/console/overdue", "org", k) })
	if c.cfg.Lag != nil {
		if lag, err := c.cfg.Lag(r.Context()); err == nil {
			d.Lag = &lag
		} else {
			c.log.Warn("console: lag", "err", err)
		}
	}
	return c.show(w, r, "overview", d)
}

type documentsData struct {
	F    map[string]string
	List query.DocumentList
	Next string
}

func (c *Console) documents(w http.ResponseWriter, r *http.Request) error {
	if err := everything(r); err != nil {
		return err
	}
	q := r.URL.Query()
	f := query.DocumentFilter{State: q.Get("state"), HolderOrg: q.Get("holder_org"), Active: q.Get("active") == "1",
		Page: query.Page{Cursor: q.Get("cursor"), Limit: 100}}
	var err error
	for name, into := range map[string]*time.Time{"handed_since": &f.HandedSince, "lost_since": &f.LostSince} {
		if s := q.Get(name); s != "" {
			if *into, err = time.ParseInLocation(time.DateOnly, s, domain.Almaty); err != nil {
				return errMalformed
			}
		}
	}
	list, err := c.cfg.Reads.Documents(r.Context(), f)
	if err != nil {
		return err
	}
	d := documentsData{List: list, F: map[string]string{"state": f.State, "holder_org": f.HolderOrg,
		"active": q.Get("active"), "handed_since": q.Get("handed_since"), "lost_since": q.Get("lost_since")}}
	if list.NextCursor != "" {
		d.Next = link("/console/documents", "state", f.State, "holder_org", f.HolderOrg, "active", q.Get("active"),
			"handed_since", q.Get("handed_since"), "lost_since", q.Get("lost_since"), "cursor", list.NextCursor)
	}
	return c.show(w, r, "documents", d)
}

type overdueData struct {
	F          map[string]string
	Soon       bool
	Fixed      bool // the organisation filter is the viewer's own and cannot change
	List       query.OverdueList
	Next       string
	Orgs       []domain.Org
	Rules      []deadline.RuleID
	TimeLeft   map[int]time.Duration
	OverdueFor map[int]time.Duration
}

func (c *Console) overdue(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r.Context())
	q := r.URL.Query()
	org, err := oneOf(v.Scope.orgFilter(q.Get("org")), orgs)
	if err != nil {
		return err
	}
	rule, err := oneOf(q.Get("rule"), rules)
	if err != nil {
		return err
	}
	show := q.Get("show")
	if show != "" && show != "breach" && show != "soon" {
		return errMalformed
	}
	unit, region := strings.TrimSpace(q.Get("unit")), strings.TrimSpace(q.Get("region"))
	page := query.Page{Cursor: q.Get("cursor"), Limit: 100}
	var list query.OverdueList
	if show == "soon" {
		list, err = c.cfg.Reads.DueSoon(r.Context(), query.DueSoonFilter{Org: org, Rule: rule, Unit: unit, Region: region, Page: page})
	} else {
		list, err = c.cfg.Reads.Overdue(r.Context(), query.OverdueFilter{Org: org, Rule: rule, Unit: unit, Region: region, Page: page})
	}
	if err != nil {
		return err
	}
	d := overdueData{List: list, Soon: show == "soon", Fixed: !v.Scope.All, Orgs: orgs, Rules: rules,
		F:        map[string]string{"org": org, "rule": rule, "unit": unit, "region": region, "show": show},
		TimeLeft: map[int]time.Duration{}, OverdueFor: map[int]time.Duration{}}
	for i, o := range list.Items {
		if d.Soon {
			d.TimeLeft[i] = o.Deadline.Sub(list.AsOf)
		} else {
			d.OverdueFor[i] = list.AsOf.Sub(o.Deadline)
		}
	}
	if list.NextCursor != "" {
		d.Next = link("/console/overdue", "org", org, "rule", rule, "unit", unit, "region", region, "show", show, "cursor", list.NextCursor)
	}
	return c.show(w, r, "overdue", d)
}

type registriesData struct {
	F     map[string]string
	Items []query.Registry
	Kinds []domain.RegistryKind
	Next  string
}

func (c *Console) registries(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r.Context())
	q := r.URL.Query()
	kind, err := oneOf(q.Get("kind"), regKinds)
	if err != nil {
		return err
	}
	unit, date := strings.TrimSpace(q.Get("unit")), q.Get("date")
	list, err := c.cfg.Reads.Registries(r.Context(), query.RegistryFilter{Kind: kind, Unit: unit, Date: date,
		Org: v.Scope.orgFilter(""), Page: query.Page{Cursor: q.Get("cursor"), Limit: 100}})
	if err != nil {
		return err
	}
	d := registriesData{Kinds: regKinds, Items: list.Items, F: map[string]string{"kind": kind, "unit": unit, "date": date}}
	if list.NextCursor != "" {
		d.Next = link("/console/registries", "kind", kind, "unit", unit, "date", date, "cursor", list.NextCursor)
	}
	return c.show(w, r, "registries", d)
}

// registryData is a registry with its reconciliation and the ledger's hash of its stream.
type registryData struct {
	R    query.RegistryDetail
	Head streamHead
	Now  time.Time
}

func (c *Console) loadRegistry(r *http.Request) (registryData, error) {
	id, err := pathUUID(r)
	if err != nil {
		return registryData{}, err
	}
	reg, err := c.cfg.Reads.Registry(r.Context(), id)
	if err != nil {
		return registryData{}, err
	}
	if !viewerOf(r.Context()).Scope.registry(reg.Registry) {
		return registryData{}, errNotFound // as the API: a registry outside the scope does not exist
	}
	head, err := c.head(r.Context(), "registry-"+id.String())
	if err != nil {
		return registryData{}, err
	}
	return registryData{R: reg, Head: head, Now: c.now()}, nil
}

func (c *Console) registry(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadRegistry(r)
	if err != nil {
		return err
	}
	return c.show(w, r, "registry", d)
}

func (c *Console) registryPrint(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadRegistry(r)
	if err != nil {
		return err
	}
	return c.show(w, r, "registry_print", d)
}

type liabilityData struct {
	F     map[string]string
	Fixed bool
	Orgs  []domain.Org
	Rep   query.LiabilityReport
	Next  string
}

func (c *Console) liability(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r.Context())
	q := r.URL.Query()
	org, err := oneOf(v.Scope.orgFilter(q.Get("org")), orgs)
	if err != nil {
		return err
	}
	f := query.LiabilityFilter{Org: org, Page: query.Page{Cursor: q.Get("cursor"), Limit: 100}}
	for name, into := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(name); s != "" {
			if *into, err = time.ParseInLocation(time.DateOnly, s, domain.Almaty); err != nil {
				return errMalformed
			}
		}
	}
	rep, err := c.cfg.Reads.Liability(r.Context(), f)
	if err != nil {
		return err
	}
	d := liabilityData{Rep: rep, Fixed: !v.Scope.All, Orgs: orgs,
		F: map[string]string{"org": org, "from": q.Get("from"), "to": q.Get("to")}}
	if rep.NextCursor != "" {
		d.Next = link("/console/liability", "org", org, "from", q.Get("from"), "to", q.Get("to"), "cursor", rep.NextCursor)
	}
	return c.show(w, r, "liability", d)
}

func (c *Console) disputes(w http.ResponseWriter, r *http.Request) error {
	if err := everything(r); err != nil {
		return err
	}
	ds, err := c.cfg.Reads.Disputes(r.Context(), query.Page{Limit: 500})
	if err != nil {
		return err
	}
	return c.show(w, r, "disputes", ds)
}

type notificationsData struct {
	F        map[string]string
	Counts   []query.ChannelCount
	Channels []string
	Statuses []string
	List     query.NotificationList
	Next     string
}

func (c *Console) notifications(w http.ResponseWriter, r *http.Request) error {
	if err := everything(r); err != nil {
		return err
	}
	q := r.URL.Query()
	ch, err := oneOf(q.Get("channel"), channels)
	if err != nil {
		return err
	}
	st, err := oneOf(q.Get("status"), statuses)
	if err != nil {
		return err
	}
	counts, err := c.deliveriesCache.get(r.Context(), c.cfg.CacheTTL, c.now, c.cfg.Reads.Deliveries)
	if err != nil {
		return err
	}
	list, err := c.cfg.Reads.Notifications(r.Context(), query.NotificationFilter{Channel: ch, Status: st,
		Page: query.Page{Cursor: q.Get("cursor"), Limit: 100}})
	if err != nil {
		return err
	}
	d := notificationsData{Counts: counts, List: list, Channels: channels, Statuses: statuses,
		F: map[string]string{"channel": ch, "status": st}}
	if list.NextCursor != "" {
		d.Next = link("/console/notifications", "channel", ch, "status", st, "cursor", list.NextCursor)
	}
	return c.show(w, r, "notifications", d)
}
