package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
)

func memoryService(t *testing.T) (*commands.Service, keys.Store) {
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	return commands.New(st, clock()), keys.NewMemory()
}

// TestStrictTimes: every time of the API goes through one strict RFC 3339 parser and the
// domain's bounds; what used to be a 500 (or accepted) is a 400 naming the field (issue 10 §2).
func TestStrictTimes(t *testing.T) {
	e := newEnv(t, memoryService)
	doc, _ := e.packed(40, 0)
	path := "/v1/documents/" + doc.String() + "/events"
	delayed := func(at, newDate string) map[string]any {
		ev := event("DeliveryDelayed", 7, "platform", map[string]any{"new_date": newDate, "reason": "snow"})
		ev["occurred_at"] = at
		return ev
	}
	fm := func(at, from, to string) map[string]any {
		return map[string]any{"event_id": uuid.NewString(), "from": from, "to": to, "orgs": []string{"gk"},
			"region": "Almaty", "description": "snowstorm", "occurred_at": at, "notified": []string{"kaspi", "rags"},
			"evidence": map[string]any{"issuer": "Emergency commission of the akimat of Almaty", "number": "EC-0316", "date": "2026-04-13"}}
	}
	ok := at(7)
	for _, tc := range []struct {
		name, method, path, who string
		body                    any
		field                   string
	}{
		{"occurred_at year 10000 in UTC", "POST", path, "platform", delayed("9999-12-31T20:00:00-05:00", at(30)), "occurred_at"},
		{"occurred_at year -1 in UTC", "POST", path, "platform", delayed("0000-01-01T00:00:00+05:00", at(30)), "occurred_at"},
		{"occurred_at offset +24:00", "POST", path, "platform", delayed("2026-04-14T09:00:00+24:00", at(30)), "occurred_at"},
		{"occurred_at offset +14:30", "POST", path, "platform", delayed("2026-04-14T09:00:00+14:30", at(30)), "occurred_at"},
		{"occurred_at 1970 before the epoch", "POST", path, "platform", delayed("1970-01-01T00:00:00Z", at(30)), "occurred_at"},
		{"occurred_at 1900 before the epoch", "POST", path, "platform", delayed("1900-01-01T00:00:00Z", at(30)), "occurred_at"},
		{"P.27 new_date in 2100", "POST", path, "platform", delayed(ok, "2100-01-01T00:00:00+05:00"), "data.new_date"},
		{"P.27 new_date 9999", "POST", path, "platform", delayed(ok, "9999-12-31T23:59:59Z"), "data.new_date"},
		{"P.27 new_date offset +24:00", "POST", path, "platform", delayed(ok, "2026-04-20T09:00:00+24:00"), "data.new_date"},
		{"P.37 force majeure to 9999", "POST", "/v1/force-majeure", "gkAcc", fm(ok, at(0), "9999-12-31T23:59:59Z"), "to"},
		{"P.38 force majeure from 2020", "POST", "/v1/force-majeure", "gkAcc", fm(ok, "2020-01-01T00:00:00+05:00", at(5)), "from"},
		{"P.37 force majeure of 400 days", "POST", "/v1/force-majeure", "gkAcc",
			fm(ok, at(0), t0.AddDate(0, 0, 400).Format(time.RFC3339)), "to"},
		{"as_of year 10000", "GET", "/v1/documents/" + doc.String() + "?as_of=" + url.QueryEscape("9999-12-31T20:00:00-05:00"), "auditor", nil, "as_of"},
		{"as_of year -1", "GET", "/v1/documents/" + doc.String() + "?as_of=" + url.QueryEscape("0000-01-01T00:00:00+05:00"), "auditor", nil, "as_of"},
		{"liability to +24:00", "GET", "/v1/liability?to=" + url.QueryEscape("2026-04-14T09:00:00+24:00"), "auditor", nil, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.sub(t).do(tc.method, tc.path, tc.who, tc.body)
			e.sub(t).problem(r, http.StatusBadRequest, "malformed")
			assert.Equal(t, tc.field, r.str("field"), "%s", r)
		})
	}
	// Within the bounds the same requests are accepted.
	e.created(e.do("POST", path, "platform", delayed(ok, at(30))))
	e.created(e.do("POST", "/v1/force-majeure", "gkAcc", fm(ok, at(0), at(5))))
}

// A force majeure to 9999 already in the log (written before the bounds, or straight into the
// store) no longer turns every feed page holding it into a 500.
func TestFeedSurvivesAnImplausibleStoredTime(t *testing.T) {
	e := newEnv(t, memoryService)
	id := uuid.New()
	data, err := domain.Encode(domain.Event{ID: uuid.New(), DocumentID: id, Type: domain.ForceMajeureDeclared,
		OccurredAt: t0, Actor: domain.Actor{Role: domain.RoleAdmin}, Payload: &domain.ForceMajeureDeclaredData{
			From: t0, To: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), NotifyingOrg: domain.OrgGK, Description: "x"}})
	require.NoError(t, err)
	_, err = e.svc.Store().AppendMulti(t.Context(), eventstore.StreamAppend{StreamID: commands.ForceMajeureStream(id),
		Expected: eventstore.NoStream, Events: []eventstore.EventData{{ID: uuid.New(), Type: string(domain.ForceMajeureDeclared),
			SchemaVersion: domain.SchemaVersion, Data: data}}})
	require.NoError(t, err)
	r := e.do("GET", "/v1/feed", "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	require.Len(t, r.Body["events"], 1)
	assert.Equal(t, "ForceMajeureDeclared", r.Body["events"].([]any)[0].(map[string]any)["type"])
}

// TestCalendarOverrideYearsBoundTimes: the years an event's times may lie in are those of the
// calendar the service runs with (serve --calendar), not only the embedded ones: a year an
// override adds is accepted, a year in no calendar is still a 400.
func TestCalendarOverrideYearsBoundTimes(t *testing.T) {
	cal, err := calendar.Default().Load(fstest.MapFS{"2028.json": {Data: []byte(
		`{"year": 2028, "source": "test: an operator's override", "days_off": [{"date": "2028-01-01", "kind": "holiday", "note": "New Year"}]}`)}})
	require.NoError(t, err)
	late := time.Date(2029, 6, 1, 12, 0, 0, 0, domain.Almaty) // the clock, so 2028 and 2029 are not in the future
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		st := memory.New()
		t.Cleanup(func() { _ = st.Close() })
		return commands.New(st, commands.WithClock(func() time.Time { return late }), commands.WithCalendar(cal)), keys.NewMemory()
	})
	doc, _ := e.packed(41, 0)
	path := "/v1/documents/" + doc.String() + "/events"
	delayed := func(at, newDate time.Time) map[string]any {
		ev := event("DeliveryDelayed", 0, "platform", map[string]any{"new_date": newDate.Format(time.RFC3339), "reason": "snow"})
		ev["occurred_at"] = at.Format(time.RFC3339)
		return ev
	}
	in2028 := time.Date(2028, 1, 10, 9, 0, 0, 0, domain.Almaty)
	e.created(e.do("POST", path, "platform", delayed(in2028, in2028.AddDate(0, 0, 7))))
	in2029 := time.Date(2029, 1, 10, 9, 0, 0, 0, domain.Almaty)
	r := e.do("POST", path, "platform", delayed(in2029, in2029.AddDate(0, 0, 7)))
	e.problem(r, http.StatusBadRequest, "malformed")
	assert.Equal(t, "occurred_at", r.str("field"), "%s", r)
	assert.Contains(t, r.str("detail"), "2025–2028", "%s", r)
}
