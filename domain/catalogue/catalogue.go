// Package catalogue holds the terms of the civil-registration services whose results pass
// through GK (DOMAIN.md, Other services): each step's duration, the provider's term, GK's
// receipt and forwarding, the extension limit and its notice. The terms are data (embedded
// JSON, one file per act), so a new service is added with a file, not with code.
package catalogue

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sync"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

//go:embed data/*.json
var embedded embed.FS

// Term is a period with the point of the act it comes from. Its JSON is the term's fields
// plus "source", e.g. {"n": 7, "unit": "working_days", "source": "A1 §9"}.
type Term struct {
	calendar.Term
	Source string `json:"source"`
}

// Step is one procedure of the service with its duration (A1–A3 §5, §8).
type Step struct {
	N int `json:"n"`
	// Event is the application event that ends the step (ResolutionImposed, ...); a step
	// with an event is watched as a clock on application streams (DOMAIN.md, Other services).
	Event string       `json:"event,omitempty"`
	Actor string       `json:"actor"` // e.g. provider_office, provider_head, executor, gk_courier
	Orgs  []domain.Org `json:"orgs,omitempty"`
	What  string       `json:"what"`
	Term  Term         `json:"term"`
	Rule  string       `json:"rule,omitempty"` // the deadline rule that watches the step, if any
	Note  string       `json:"note,omitempty"`
}

// ViaGK is how the service runs when the application is filed at a CON (A1–A3 §9).
type ViaGK struct {
	Receipt  *Term `json:"receipt,omitempty"` // GK checks the documents and gives a receipt
	Forward  Term  `json:"forward"`           // GK forwards accepted documents to the provider
	Provider Term  `json:"provider"`          // the provider prepares the result and sends it to GK
	Issue    *Term `json:"issue,omitempty"`   // GK hands the result over
	// Term is the whole service term when filed at a CON, where it differs from the
	// service's own (A3: 3 working days instead of 2).
	Term *Term `json:"term,omitempty"`
}

// Extension is the prolongation a provider may declare, and how soon it must tell the
// recipient (A1 §5, A2 §5, A3 §5).
type Extension struct {
	Max    Term   `json:"max"`
	Notice Term   `json:"notice"`
	When   string `json:"when"`
}

// Service is one catalogue entry.
type Service struct {
	Code     string     `json:"code"`
	Aliases  []string   `json:"aliases,omitempty"` // other codes that name it (e.g. an IIS CON code)
	Name     string     `json:"name"`
	NameRU   string     `json:"name_ru"`
	Provider domain.Org `json:"provider"`
	Act      string     `json:"act"` // the regulation the terms come from
	// Order is the act's short citation, for a pilot's refusals (order p.6).
	Order  string `json:"order,omitempty"`
	Source string `json:"source"` // its short citation: A1, A2, A3, P
	Result string `json:"result,omitempty"`
	// ValidUntil is the last day the terms apply (YYYY-MM-DD), for a pilot; empty: open.
	ValidUntil   string     `json:"valid_until,omitempty"`
	Steps        []Step     `json:"steps"`
	Term         *Term      `json:"term,omitempty"` // the provider's whole term, if the act states one
	ViaGK        *ViaGK     `json:"via_gk,omitempty"`
	Extension    *Extension `json:"extension,omitempty"`
	PortalNotice *Term      `json:"portal_notice,omitempty"` // notice of the appointed date on the portal
	Notes        []string   `json:"notes,omitempty"`
}

// file is the JSON shape of a data file: one or more services.
type file struct {
	Services []Service `json:"services"`
}

// stepOrgs are the organisations a step may name: the three that hold documents and the
// recipient, who acts in the pilot's storage step (P.29).
var stepOrgs = []domain.Org{domain.OrgRAGS, domain.OrgGK, domain.OrgKaspi, domain.OrgRecipient}

var reCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`) // as domain's service codes

func (t Term) validate(what string) error {
	if err := t.Term.Validate(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if t.Source == "" {
		return fmt.Errorf("%s: source is required", what)
	}
	return nil
}

func (t *Term) validateOpt(what string) error {
	if t == nil {
		return nil
	}
	return t.validate(what)
}

// Validate checks a service: a code, names and sources, steps numbered 1..n with valid
// terms, and every term citing its point.
func (s Service) Validate() error {
	err := s.validate()
	if err != nil && s.Code != "" {
		return fmt.Errorf("catalogue: service %q: %w", s.Code, err)
	}
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	return nil
}

func (s Service) validate() error {
	for _, c := range append([]string{s.Code}, s.Aliases...) {
		if !reCode.MatchString(c) {
			return fmt.Errorf("code %q: letters, digits and ._/- only, up to 64", c)
		}
	}
	switch {
	case s.Name == "" || s.NameRU == "":
		return errors.New("name and name_ru are required")
	case s.Act == "" || s.Source == "":
		return errors.New("act and source are required")
	case !slices.Contains([]domain.Org{domain.OrgRAGS, domain.OrgGK, domain.OrgKaspi}, s.Provider):
		return fmt.Errorf("provider %q: one of rags, gk, kaspi", s.Provider)
	case len(s.Steps) == 0:
		return errors.New("at least one step is required")
	}
	if s.ValidUntil != "" {
		if _, err := calendar.ParseDate(s.ValidUntil); err != nil {
			return fmt.Errorf("valid_until: %w", err)
		}
	}
	for i, st := range s.Steps {
		what := fmt.Sprintf("step %d", i+1)
		if st.N != i+1 {
			return fmt.Errorf("%s is numbered %d", what, st.N)
		}
		if st.Actor == "" || st.What == "" {
			return fmt.Errorf("%s: actor and what are required", what)
		}
		if st.Event != "" && !slices.Contains(stepEvents, domain.EventType(st.Event)) {
			return fmt.Errorf("%s: event %q is not a step of an application (%v)", what, st.Event, stepEvents)
		}
		for _, o := range st.Orgs {
			if !slices.Contains(stepOrgs, o) {
				return fmt.Errorf("%s: organisation %q: one of rags, gk, kaspi, recipient", what, o)
			}
		}
		if err := st.Term.validate(what); err != nil {
			return err
		}
	}
	if err := s.Term.validateOpt("term"); err != nil {
		return err
	}
	if err := s.PortalNotice.validateOpt("portal_notice"); err != nil {
		return err
	}
	if g := s.ViaGK; g != nil {
		for _, t := range []struct {
			name string
			term *Term
		}{{"via_gk.forward", &g.Forward}, {"via_gk.provider", &g.Provider}, {"via_gk.receipt", g.Receipt}, {"via_gk.issue", g.Issue}, {"via_gk.term", g.Term}} {
			if err := t.term.validateOpt(t.name); err != nil {
				return err
			}
		}
	}
	if x := s.Extension; x != nil {
		if err := x.Max.validate("extension.max"); err != nil {
			return err
		}
		if err := x.Notice.validate("extension.notice"); err != nil {
			return err
		}
		if x.When == "" {
			return errors.New("extension.when is required")
		}
	}
	return nil
}

// Catalogue is a set of services looked up by code or alias. It is immutable: Load and
// LoadFile return a new Catalogue.
type Catalogue struct {
	services []Service
	index    map[string]int
}

// New builds a catalogue; a later service with the same code replaces an earlier one. Codes
// and aliases must name one service each.
func New(services ...Service) (*Catalogue, error) {
	c := &Catalogue{index: map[string]int{}}
	byCode := map[string]int{}
	for _, s := range services {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		s = clone(s)
		if i, ok := byCode[s.Code]; ok {
			c.services[i] = s
			continue
		}
		byCode[s.Code] = len(c.services)
		c.services = append(c.services, s)
	}
	for i, s := range c.services {
		for _, code := range append([]string{s.Code}, s.Aliases...) {
			if j, dup := c.index[code]; dup {
				return nil, fmt.Errorf("catalogue: code %q names both %q and %q", code, c.services[j].Code, s.Code)
			}
			c.index[code] = i
		}
	}
	return c, nil
}

// Parse decodes one data file and validates its services. Unknown fields are refused so a
// typo in an operator's file is not silently ignored.
func Parse(data []byte) ([]Service, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if len(f.Services) == 0 {
		return nil, errors.New("catalogue: no services in the file")
	}
	for _, s := range f.Services {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	return f.Services, nil
}

var defaultCatalogue = sync.OnceValue(func() *Catalogue {
	c, err := (&Catalogue{index: map[string]int{}}).Load(embedded)
	if err != nil {
		panic("catalogue: embedded data: " + err.Error()) // caught by the package tests
	}
	return c
})

// Default returns the catalogue of the embedded data: A1–A3 of the Almaty regulations and the
// birth-registration postomat pilot.
func Default() *Catalogue { return defaultCatalogue() }

// Load returns a copy of c to which every *.json file in fsys (its root or a "data"
// directory) adds its services, replacing those with the same code; os.DirFS(dir) loads an
// operator's directory.
func (c *Catalogue) Load(fsys fs.FS) (*Catalogue, error) {
	var added []Service
	for _, dir := range []string{".", "data"} {
		names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("catalogue: %w", err)
		}
		for _, name := range names {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("catalogue: %w", err)
			}
			ss, err := Parse(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			added = append(added, ss...)
		}
	}
	if len(added) == 0 {
		return nil, errors.New("catalogue: no *.json service files found")
	}
	return New(append(slices.Clone(c.services), added...)...)
}

// LoadFile returns a copy of c with the services of the file at path added or replaced. It
// is the one function here that reads the file system, and only when called.
func (c *Catalogue) LoadFile(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	ss, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return New(append(slices.Clone(c.services), ss...)...)
}

// Lookup returns the service a code or alias names.
func (c *Catalogue) Lookup(code string) (Service, bool) {
	i, ok := c.index[code]
	if !ok {
		return Service{}, false
	}
	return clone(c.services[i]), true
}

// PilotSource marks a pilot order's services (the Algorithm's points, P.n).
const PilotSource = "P"

// Pilot returns the pilot's scope from the data: the codes and aliases of the services whose
// source is the pilot order, each with its last day in force (valid_until).
func (c *Catalogue) Pilot() domain.Pilot {
	p := domain.Pilot{Until: map[string]string{}}
	for _, s := range c.services {
		if s.Source != PilotSource {
			continue
		}
		if p.Order == "" {
			p.Order = s.Order
			if p.Order == "" {
				p.Order = s.Act
			}
		}
		for _, code := range append([]string{s.Code}, s.Aliases...) {
			p.Until[code] = s.ValidUntil
		}
	}
	return p
}

// Services lists the catalogue in the order the services were loaded.
func (c *Catalogue) Services() []Service {
	out := make([]Service, len(c.services))
	for i, s := range c.services {
		out[i] = clone(s)
	}
	return out
}

// clone copies a service deep enough that a caller cannot change the catalogue's copy.
func clone(s Service) Service {
	s.Aliases, s.Notes = slices.Clone(s.Aliases), slices.Clone(s.Notes)
	s.Steps = slices.Clone(s.Steps)
	for i := range s.Steps {
		s.Steps[i].Orgs = slices.Clone(s.Steps[i].Orgs)
	}
	s.Term, s.PortalNotice = cloneTerm(s.Term), cloneTerm(s.PortalNotice)
	if s.ViaGK != nil {
		g := *s.ViaGK
		g.Receipt, g.Issue, g.Term = cloneTerm(g.Receipt), cloneTerm(g.Issue), cloneTerm(g.Term)
		s.ViaGK = &g
	}
	if s.Extension != nil {
		x := *s.Extension
		s.Extension = &x
	}
	return s
}

func cloneTerm(t *Term) *Term {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
