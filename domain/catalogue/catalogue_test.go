package catalogue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/deadline"
)

func term(n int, u calendar.Unit) calendar.Term { return calendar.Term{N: n, Unit: u} }

const (
	mins = calendar.Minutes
	hr   = calendar.Hours
	wd   = calendar.WorkingDays
	cd   = calendar.CalendarDays
)

// TestStepDurations checks every step of A1–A3 against the regulation's figures.
func TestStepDurations(t *testing.T) {
	cases := []struct {
		name  string
		code  string
		steps []calendar.Term
	}{
		{"A1 §5 restoration: 20 min, 1 h, 7 wd, 3 h, 1 h, 20 min", "restoration",
			[]calendar.Term{term(20, mins), term(1, hr), term(7, wd), term(3, hr), term(1, hr), term(20, mins)}},
		{"A2 §5 death: 20 min, 30 min, 3 h, 2 h, 30 min, 20 min", "death_registration",
			[]calendar.Term{term(20, mins), term(30, mins), term(3, hr), term(2, hr), term(30, mins), term(20, mins)}},
		{"A2 §5 corrections: 20 min, 30 min, 7 wd, 2 h, 30 min, 20 min", "death_registration.correction",
			[]calendar.Term{term(20, mins), term(30, mins), term(7, wd), term(2, hr), term(30, mins), term(20, mins)}},
		{"A3 §5 annulment: 15 min, 15 min, 2 wd, 10 min, 15 min", "annulment",
			[]calendar.Term{term(15, mins), term(15, mins), term(2, wd), term(10, mins), term(15, mins)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := Default().Lookup(tc.code)
			require.True(t, ok)
			require.Len(t, s.Steps, len(tc.steps))
			for i, want := range tc.steps {
				assert.Equal(t, want, s.Steps[i].Term.Term, "step %d", i+1)
				assert.Contains(t, s.Steps[i].Term.Source, s.Source+" §5.", "step %d cites its point", i+1)
			}
		})
	}
}

// TestViaGKAndExtension checks the terms through GK (§9) and the extension (§5).
func TestViaGKAndExtension(t *testing.T) {
	cases := []struct {
		name     string
		code     string
		provider calendar.Term
		issue    bool
		total    *calendar.Term
		portal   bool
	}{
		{"A1 §9 result to GK in 7 working days", "restoration", term(7, wd), true, &calendar.Term{N: 7, Unit: wd}, true},
		{"A2 §9 death: result to GK in 3 hours", "death_registration", term(3, hr), false, nil, false},
		{"A2 §9 corrections: result to GK in 7 working days", "death_registration.correction", term(7, wd), false, &calendar.Term{N: 7, Unit: wd}, false},
		{"A3 §9 result to GK in 3 working days; §5.3 2 at the provider", "annulment", term(3, wd), true, &calendar.Term{N: 2, Unit: wd}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := Default().Lookup(tc.code)
			require.True(t, ok)
			require.NotNil(t, s.ViaGK)
			assert.Equal(t, term(1, wd), s.ViaGK.Forward.Term, "GK forwards within 1 working day")
			assert.Equal(t, tc.provider, s.ViaGK.Provider.Term)
			require.NotNil(t, s.ViaGK.Receipt)
			assert.Equal(t, term(15, mins), s.ViaGK.Receipt.Term, "receipt within 15 minutes")
			assert.Equal(t, tc.issue, s.ViaGK.Issue != nil)
			if tc.issue {
				assert.Equal(t, term(15, mins), s.ViaGK.Issue.Term)
			}
			if tc.total == nil {
				assert.Nil(t, s.Term)
			} else {
				require.NotNil(t, s.Term)
				assert.Equal(t, *tc.total, s.Term.Term)
			}
			assert.Equal(t, tc.portal, s.PortalNotice != nil)
			require.NotNil(t, s.Extension)
			assert.Equal(t, term(30, cd), s.Extension.Max.Term, "extension ≤ 30 calendar days")
			assert.Equal(t, term(3, cd), s.Extension.Notice.Term, "recipient told within 3 calendar days")
			assert.True(t, strings.HasPrefix(s.ViaGK.Forward.Source, s.Source+" §9"))
		})
	}
}

func TestViaGKDeadlineOnTheCalendar(t *testing.T) {
	// A3 §9: accepted by the provider Friday 2026-03-20, before Nauryz: the result is due at GK
	// by 24:00 on Monday 2026-03-30 (Mar 26, 27, 30).
	s, _ := Default().Lookup("annulment")
	got, err := calendar.Default().Deadline(time.Date(2026, 3, 20, 11, 0, 0, 0, calendar.Almaty), s.ViaGK.Provider.Term)
	require.NoError(t, err)
	assert.True(t, got.Equal(time.Date(2026, 3, 31, 0, 0, 0, 0, calendar.Almaty)), got)
}

// TestPilotMatchesDeadlineTable: the pilot's terms in the catalogue and in the deadline
// table are the same figures from the same points (P.10–P.39).
func TestPilotMatchesDeadlineTable(t *testing.T) {
	s, ok := Default().Lookup("birth_registration.postomat")
	require.True(t, ok)
	assert.Equal(t, "2026-12-31", s.ValidUntil, "order p.6")
	seen := map[deadline.RuleID]bool{}
	for _, st := range s.Steps {
		require.NotEmpty(t, st.Rule, "step %d", st.N)
		r, ok := deadline.RuleByID(deadline.RuleID(st.Rule))
		require.True(t, ok, "step %d names rule %s", st.N, st.Rule)
		assert.Equal(t, r.Term, st.Term.Term, "%s term", r.ID)
		assert.Equal(t, r.Source, st.Term.Source, "%s source", r.ID)
		seen[r.ID] = true
	}
	assert.Len(t, seen, len(deadline.Rules()), "every rule of the table is in the catalogue")
}

func TestDefaultCatalogue(t *testing.T) {
	c := Default()
	codes := []string{}
	for _, s := range c.Services() {
		codes = append(codes, s.Code)
		assert.NoError(t, s.Validate())
	}
	assert.ElementsMatch(t, []string{"restoration", "death_registration", "death_registration.correction", "annulment",
		"birth_registration.postomat"}, codes)
	_, ok := c.Lookup("marriage")
	assert.False(t, ok)

	// Lookup gives a copy: changing it does not change the catalogue.
	s, _ := c.Lookup("restoration")
	s.Steps[0].Term.N = 999
	s.ViaGK.Receipt.N = 999
	s.Extension.Max.N = 999
	again, _ := c.Lookup("restoration")
	assert.Equal(t, 20, again.Steps[0].Term.N)
	assert.Equal(t, 15, again.ViaGK.Receipt.N)
	assert.Equal(t, 30, again.Extension.Max.N)
}

const marriage = `{"services": [{
  "code": "marriage_registration", "aliases": ["00302001"],
  "name": "Marriage registration", "name_ru": "Регистрация заключения брака (супружества)",
  "provider": "rags", "act": "test act", "source": "T",
  "steps": [{"n": 1, "actor": "provider_office", "what": "register", "term": {"n": 30, "unit": "minutes", "source": "T §5.1"}}],
  "via_gk": {"forward": {"n": 1, "unit": "working_days", "source": "T §9"}, "provider": {"n": 1, "unit": "months", "source": "T §9"}}
}]}`

func TestAddServiceWithoutCode(t *testing.T) {
	c, err := Default().Load(fstest.MapFS{"marriage.json": {Data: []byte(marriage)}})
	require.NoError(t, err)
	s, ok := c.Lookup("00302001")
	require.True(t, ok, "found by alias")
	assert.Equal(t, "marriage_registration", s.Code)
	assert.Len(t, c.Services(), 6)
	_, ok = Default().Lookup("marriage_registration")
	assert.False(t, ok, "Default is untouched")

	// Replacing a service by its code.
	repl := strings.Replace(marriage, `"marriage_registration"`, `"annulment"`, 1)
	repl = strings.Replace(repl, `"00302001"`, `"A3-new"`, 1)
	c, err = Default().Load(fstest.MapFS{"data/annulment.json": {Data: []byte(repl)}})
	require.NoError(t, err)
	s, _ = c.Lookup("annulment")
	assert.Equal(t, "Marriage registration", s.Name)
	assert.Len(t, c.Services(), 5)

	dir := t.TempDir()
	p := filepath.Join(dir, "marriage.json")
	require.NoError(t, os.WriteFile(p, []byte(marriage), 0o600))
	c, err = Default().LoadFile(p)
	require.NoError(t, err)
	_, ok = c.Lookup("marriage_registration")
	assert.True(t, ok)
	_, err = Default().LoadFile(filepath.Join(dir, "none.json"))
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(p, []byte(`{"services": []}`), 0o600))
	_, err = Default().LoadFile(p)
	assert.ErrorContains(t, err, "no services")
	_, err = Default().Load(fstest.MapFS{})
	assert.ErrorContains(t, err, "no *.json")
}

func TestValidation(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"bad JSON", `}]}`, `}]`, "unexpected EOF"},
		{"unknown field", `"source": "T",`, `"source": "T", "sorce": "x",`, "unknown field"},
		{"bad code", `"code": "marriage_registration"`, `"code": "marriage registration"`, "letters, digits"},
		{"no name", `"name": "Marriage registration"`, `"name": ""`, "name and name_ru"},
		{"no act", `"act": "test act"`, `"act": ""`, "act and source"},
		{"bad provider", `"provider": "rags"`, `"provider": "bank"`, "provider"},
		{"no steps", `"steps": [{"n": 1, "actor": "provider_office", "what": "register", "term": {"n": 30, "unit": "minutes", "source": "T §5.1"}}]`, `"steps": []`, "at least one step"},
		{"misnumbered step", `{"n": 1, "actor"`, `{"n": 2, "actor"`, "numbered 2"},
		{"step with an unknown organisation", `"actor": "provider_office",`, `"actor": "provider_office", "orgs": ["bank"],`, "organisation"},
		{"step without actor", `"actor": "provider_office"`, `"actor": ""`, "actor and what"},
		{"step term invalid", `{"n": 30, "unit": "minutes"`, `{"n": 0, "unit": "minutes"`, "needs n"},
		{"step term without source", `"source": "T §5.1"`, `"source": ""`, "source is required"},
		{"GK term invalid", `"provider": {"n": 1, "unit": "months"`, `"provider": {"n": 1, "unit": "moons"`, "unknown term unit"},
		{"bad valid_until", `"source": "T",`, `"source": "T", "valid_until": "2026-02-30",`, "valid_until"},
		{"bad total term", `"source": "T",`, `"source": "T", "term": {"n": 1, "unit": "working_days"},`, "term: source is required"},
		{"bad portal notice", `"source": "T",`, `"source": "T", "portal_notice": {"unit": "days", "source": "x"},`, "portal_notice"},
		{"extension without when", `"source": "T",`, `"source": "T", "extension": {"max": {"n": 30, "unit": "calendar_days", "source": "x"}, "notice": {"n": 3, "unit": "calendar_days", "source": "x"}},`, "extension.when"},
		{"extension max invalid", `"source": "T",`, `"source": "T", "extension": {"max": {"n": 0, "unit": "calendar_days", "source": "x"}, "notice": {"n": 3, "unit": "calendar_days", "source": "x"}, "when": "w"},`, "extension.max"},
		{"extension notice invalid", `"source": "T",`, `"source": "T", "extension": {"max": {"n": 30, "unit": "calendar_days", "source": "x"}, "notice": {"n": 3, "unit": "calendar_days"}, "when": "w"},`, "extension.notice"},
		{"alias taken by another service", `"00302001"`, `"annulment"`, "names both"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(marriage, tc.from, tc.to, 1)
			require.NotEqual(t, marriage, data, "the case must change the file")
			_, err := Default().Load(fstest.MapFS{"x.json": {Data: []byte(data)}})
			assert.ErrorContains(t, err, tc.want)
		})
	}
	assert.ErrorContains(t, Service{}.Validate(), "catalogue: code")
	_, err := New(Service{Code: "x"})
	assert.Error(t, err)
}

func TestEmbeddedDataCitesSources(t *testing.T) {
	entries, err := embedded.ReadDir("data")
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		data, err := embedded.ReadFile("data/" + e.Name())
		require.NoError(t, err)
		ss, err := Parse(data)
		require.NoError(t, err, e.Name())
		for _, s := range ss {
			assert.NotEmpty(t, s.Result, s.Code)
			for _, st := range s.Steps {
				assert.NotEmpty(t, st.Orgs, "%s step %d names the organisations", s.Code, st.N)
			}
		}
	}
}
