package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections/query"
)

// runSuite is the HTTP contract (API.md), run over every store.
func runSuite(t *testing.T, newService newServiceFunc) {
	cases := []struct {
		name string
		fn   func(t *testing.T, newService newServiceFunc)
	}{
		{"PostomatJourney", testPostomatJourney},
		{"RegistryMissingAndDamaged", testRegistryMissingAndDamaged},
		{"IdempotentRetry", testIdempotentRetry},
		{"IdempotencyKeyHeader", testIdempotencyKeyHeader},
		{"DuplicateConflict", testDuplicateConflict},
		{"VersionConflict", testVersionConflict},
		{"RaceIfMatch", testRaceIfMatch},
		{"RaceWithoutIfMatch", testRaceWithoutIfMatch},
		{"Malformed", testMalformed},
		{"Unauthenticated", testUnauthenticated},
		{"Forbidden", testForbidden},
		{"NotFound", testNotFound},
		{"TooLarge", testTooLarge},
		{"IllegalTransition", testIllegalTransition},
		{"ReadingMasksPersonalData", testReadingMasksPersonalData},
		{"P35IssueIdentityMaskedForReaders", testP35IssueIdentityMaskedForReaders},
		{"AsOf", testAsOf},
		{"DeadlinesOneSource", testDeadlinesOneSource},
		{"EventsPagination", testEventsPagination},
		{"Feed", testFeed},
		{"Verify", testVerify},
		{"ForceMajeure", testForceMajeure},
		{"Disputes", testDisputes},
		{"HealthReadinessMetrics", testHealthReadinessMetrics},
		{"RequestID", testRequestID},
		{"Applications", testApplications},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newService) })
	}
}

// testPostomatJourney walks a birth certificate from the Kaspi app's request to the recipient
// opening the cell (P.3–P.29), through the API only.
func testPostomatJourney(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	r := e.created(e.do("POST", "/v1/documents", "platform", event("DeliveryRequested", 0, "platform", requested(1))))
	doc := uuid.MustParse(r.str("document_id"))
	assert.Equal(t, "/v1/documents/"+doc.String(), r.Header.Get("Location"))
	assert.Equal(t, uint64(1), r.num("version"))
	assert.NotZero(t, r.num("position"))
	assert.Len(t, r.str("hash"), 64)
	assert.NotEmpty(t, r.str("event_id"))

	h := e.walk(doc, 0, toPacked(1))

	d := e.do("GET", "/v1/documents/"+doc.String(), "auditor", nil)
	require.Equal(t, http.StatusOK, d.Status, "%s", d)
	assert.Equal(t, "packed", d.str("state"))
	assert.Equal(t, waybill, d.str("waybill"))
	deadlines, _ := d.Body["active_deadlines"].([]any)
	var rules []string
	for _, x := range deadlines {
		rules = append(rules, x.(map[string]any)["rule"].(string))
	}
	assert.Contains(t, rules, "order_to_intake", "P.10: the Kaspi order's clock runs until intake")

	h++
	reg := e.created(e.do("POST", "/v1/registries", "gkAcc", map[string]any{"event_id": uuid.NewString(),
		"kind": "dispatch", "from_unit": "GK-ALA-ACC", "to_unit": "KSP-ALA-IN1", "document_ids": []string{doc.String()},
		"occurred_at": at(h), "actor": actor("gkAcc")}))
	regID := reg.str("registry_id")
	assert.Equal(t, "/v1/registries/"+regID, reg.Header.Get("Location"))
	h++
	e.created(e.do("POST", "/v1/registries/"+regID+"/handover", "gkAcc", map[string]any{"event_id": uuid.NewString(),
		"courier": map[string]any{"unit": "GK-ALA-CR1", "employee_id": "c1"}, "occurred_at": at(h)}))
	h++
	acc := e.created(e.do("POST", "/v1/registries/"+regID+"/acceptance", "kIntake", map[string]any{
		"event_id": uuid.NewString(), "accepted": []string{doc.String()}, "missing": []string{}, "damaged": []string{},
		"occurred_at": at(h), "actor": actor("kIntake")}))
	docs, _ := acc.Body["documents"].([]any)
	require.Len(t, docs, 1)

	postomat := holder("postomat")
	postomat.EmployeeID = ""
	h = e.walk(doc, h, []step{
		{"OutForPostomatDelivery", "kCourier", tr(holder("kIntake"), holder("kCourier"))},
		{"PlacedInCell", "kCourier", with(tr(holder("kCourier"), postomat), "postomat_id", "PM-ALA-0042", "cell_id", "B07")},
		{"CollectedByRecipient", "platform", tr(postomat, recipientHolder)},
	})

	d = e.do("GET", "/v1/documents/"+doc.String(), "auditor", nil)
	require.Equal(t, http.StatusOK, d.Status, "%s", d)
	assert.Equal(t, "collected", d.str("state"))
	assert.Equal(t, map[string]any{"org": "recipient"}, d.Body["holder"])
	assert.Equal(t, at(h), d.str("holder_since"), "times are answered in Almaty's offset")
	assert.Equal(t, "postomat", d.str("method"))
	assert.Empty(t, d.Body["active_deadlines"], "a terminal document runs no clock")

	evs := e.do("GET", "/v1/documents/"+doc.String()+"/events", "auditor", nil)
	require.Equal(t, http.StatusOK, evs.Status)
	list := evs.Body["events"].([]any)
	var types []string
	for i, x := range list {
		m := x.(map[string]any)
		types = append(types, m["type"].(string))
		assert.Equal(t, float64(i+1), m["version"], "oldest first")
		for _, k := range []string{"event_id", "position", "recorded_at", "occurred_at", "hash", "prev_hash", "actor", "data"} {
			assert.Contains(t, m, k)
		}
		assert.True(t, strings.HasSuffix(m["recorded_at"].(string), "+05:00"), m["recorded_at"])
		if i > 0 {
			assert.Equal(t, list[i-1].(map[string]any)["hash"], m["prev_hash"], "the hash chain links")
		}
	}
	assert.Equal(t, []string{"DeliveryRequested", "DocumentIssued", "KaspiOrderCreated", "CollectedFromRags",
		"ReceivedAtAccumulation", "RoutedForDelivery", "Packed", "AddedToRegistry", "HandedToCourier",
		"AcceptedAtKaspiIntake", "OutForPostomatDelivery", "PlacedInCell", "CollectedByRecipient"}, types)
}

// testRegistryMissingAndDamaged: a dispatch registry formed, handed over and accepted with one
// line missing and one damaged (P.13, P.17, P.18).
func testRegistryMissingAndDamaged(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	var docs []string
	h := 0
	for n := range 3 {
		doc, _ := e.packed(10+n, 0)
		docs = append(docs, doc.String())
	}
	h = 10
	form := map[string]any{"event_id": uuid.NewString(), "kind": "dispatch", "from_unit": "GK-ALA-ACC",
		"to_unit": "KSP-ALA-IN1", "document_ids": docs, "occurred_at": at(h)}
	formed := e.created(e.do("POST", "/v1/registries", "gkAcc", form))
	assert.Len(t, formed.Body["documents"], 3, "each document lists the registry")
	again := e.created(e.do("POST", "/v1/registries", "gkAcc", form))
	assert.Equal(t, string(formed.Raw), string(again.Raw), "a retried formation is the first answer")
	regID := formed.str("registry_id")

	h++
	handover := map[string]any{"event_id": uuid.NewString(), "courier": map[string]any{"unit": "GK-ALA-CR1", "employee_id": "c1"},
		"occurred_at": at(h)}
	handed := e.created(e.do("POST", "/v1/registries/"+regID+"/handover", "gkAcc", handover))
	assert.Len(t, handed.Body["documents"], 3)
	for _, d := range docs {
		r := e.do("GET", "/v1/documents/"+d, "gkCourier", nil)
		assert.Equal(t, "to_kaspi_intake", r.str("state"))
		assert.Equal(t, "GK-ALA-CR1", r.Body["holder"].(map[string]any)["unit"])
	}

	h++
	incomplete := map[string]any{"event_id": uuid.NewString(), "accepted": docs[:1], "occurred_at": at(h)}
	r := e.do("POST", "/v1/registries/"+regID+"/acceptance", "kIntake", incomplete)
	e.problem(r, http.StatusUnprocessableEntity, "illegal_transition")
	assert.Equal(t, "handed_over", r.str("state"), "P.18 every line must be accounted for")

	acceptance := map[string]any{"event_id": uuid.NewString(), "accepted": docs[:1], "missing": docs[1:2],
		"damaged": docs[2:], "occurred_at": at(h)}
	accepted := e.created(e.do("POST", "/v1/registries/"+regID+"/acceptance", "kIntake", acceptance))
	head := e.head()
	again = e.created(e.do("POST", "/v1/registries/"+regID+"/acceptance", "kIntake", acceptance))
	assert.Equal(t, string(accepted.Raw), string(again.Raw), "a retried acceptance is the first answer")
	assert.Equal(t, head, e.head(), "and writes nothing")

	want := []struct {
		state string
		flag  string
	}{{"at_kaspi_intake", ""}, {"to_kaspi_intake", "missing"}, {"at_kaspi_intake", "damaged"}}
	for i, d := range docs {
		r := e.do("GET", "/v1/documents/"+d, "kIntake", nil)
		assert.Equal(t, want[i].state, r.str("state"), d)
		if want[i].flag != "" {
			assert.Equal(t, true, r.Body["flags"].(map[string]any)[want[i].flag], d)
		}
	}
	evs := e.do("GET", "/v1/documents/"+docs[1]+"/events", "auditor", nil)
	list := evs.Body["events"].([]any)
	last := list[len(list)-1].(map[string]any)
	assert.Equal(t, "IntakeDiscrepancy", last["type"])
	assert.Equal(t, "missing", last["data"].(map[string]any)["kind"])
	assert.Equal(t, "GK-ALA-CR1", last["data"].(map[string]any)["giver"].(map[string]any)["unit"],
		"a missing line is charged to the giving side")

	r = e.do("POST", "/v1/registries/"+regID+"/acceptance", "kIntake", with(acceptance, "event_id", uuid.NewString()))
	e.problem(r, http.StatusUnprocessableEntity, "illegal_transition")
	assert.Equal(t, "accepted", r.str("state"))
	assert.Equal(t, []any{}, r.Body["allowed"])

	r = e.do("POST", "/v1/registries/"+regID+"/acceptance", "gkIss", with(acceptance, "event_id", uuid.NewString()))
	e.problem(r, http.StatusForbidden, "forbidden")
	r = e.do("POST", "/v1/registries/"+uuid.NewString()+"/handover", "gkAcc", with(handover, "event_id", uuid.NewString()))
	e.problem(r, http.StatusNotFound, "not_found")
	r = e.do("POST", "/v1/registries", "gkAcc", with(form, "event_id", uuid.NewString(), "document_ids", []string{uuid.NewString()}))
	e.problem(r, http.StatusNotFound, "not_found")
	r = e.do("POST", "/v1/registries", "gkAcc", with(form, "event_id", uuid.NewString(), "kind", "sideways"))
	e.problem(r, http.StatusBadRequest, "malformed")
	assert.Equal(t, "kind", r.str("field"))
	r = e.do("POST", "/v1/registries", "gkAcc", with(form, "event_id", nil))
	e.problem(r, http.StatusBadRequest, "malformed")
	assert.Equal(t, "event_id", r.str("field"), "a registry needs an event_id or an Idempotency-Key")

	// The read models of the same journey, each answer checked against the contract.
	regs := e.do("GET", "/v1/registries?kind=dispatch&unit=GK-ALA-ACC&date=2026-04-13&limit=10", "auditor", nil)
	require.Equal(t, http.StatusOK, regs.Status, "%s", regs)
	require.Len(t, regs.Body["items"], 1)
	reg := e.do("GET", "/v1/registries/"+regID, "auditor", nil)
	require.Equal(t, http.StatusOK, reg.Status, "%s", reg)
	assert.Len(t, reg.Body["lines"], 3)
	cust := e.do("GET", "/v1/documents/"+docs[1]+"/custody", "auditor", nil)
	require.Equal(t, http.StatusOK, cust.Status, "%s", cust)
	// A "+" left unescaped arrives as a space; it is read as the offset's sign.
	liab := e.do("GET", "/v1/liability?org=gk&from=2026-04-13&to="+at(h+1), "auditor", nil)
	require.Equal(t, http.StatusOK, liab.Status, "%s", liab)
	assert.NotEmpty(t, liab.Body["charges"], "P.18: the missing line is charged to the giving side")
	notes := e.do("GET", "/v1/notifications?document_id="+docs[0], "auditor", nil)
	require.Equal(t, http.StatusOK, notes.Status, "%s", notes)
	over := e.do("GET", "/v1/overdue?org=kaspi&limit=5", "auditor", nil)
	require.Equal(t, http.StatusOK, over.Status, "%s", over)
	d := e.do("GET", "/v1/documents/"+docs[0]+"?as_of="+at(h), "auditor", nil)
	require.Equal(t, http.StatusOK, d.Status, "%s", d)
}

// testIdempotentRetry: the same event again is the first answer and writes nothing.
func testIdempotentRetry(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	start := event("DeliveryRequested", 0, "platform", requested(2))
	first := e.created(e.do("POST", "/v1/documents", "platform", start))
	head := e.head()
	again := e.created(e.do("POST", "/v1/documents", "platform", start))
	assert.Equal(t, string(first.Raw), string(again.Raw), "the start retried is the first answer")
	assert.Equal(t, head, e.head(), "and writes nothing")

	doc := uuid.MustParse(first.str("document_id"))
	issued := event("DocumentIssued", 1, "rags", toPacked(2)[0].data)
	one := e.post(doc, "rags", issued)
	head = e.head()
	two := e.post(doc, "rags", issued)
	assert.Equal(t, one.num("position"), two.num("position"))
	assert.Equal(t, one.num("version"), two.num("version"))
	assert.Equal(t, string(one.Raw), string(two.Raw))
	assert.Equal(t, head, e.head(), "nothing written: the feed's head stays")
	// Even with a stale If-Match: the retry is recognised before the version is checked.
	three := e.post(doc, "rags", issued, "If-Match", `"1"`)
	assert.Equal(t, string(one.Raw), string(three.Raw))
}

func testIdempotencyKeyHeader(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	body := event("DeliveryRequested", 0, "platform", requested(3))
	delete(body, "event_id")
	r := e.do("POST", "/v1/documents", "platform", body)
	e.problem(r, http.StatusBadRequest, "malformed")
	assert.Equal(t, "event_id", r.str("field"))

	first := e.created(e.do("POST", "/v1/documents", "platform", body, "Idempotency-Key", "order-3"))
	head := e.head()
	again := e.created(e.do("POST", "/v1/documents", "platform", body, "Idempotency-Key", "order-3"))
	assert.Equal(t, string(first.Raw), string(again.Raw))
	assert.Equal(t, head, e.head())
	other := e.created(e.do("POST", "/v1/documents", "platform", with(body, "data", requested(4)), "Idempotency-Key", "order-4"))
	assert.NotEqual(t, first.str("document_id"), other.str("document_id"))

	// The derived id is scoped by the key: the same header from another key is another event.
	doc := uuid.MustParse(first.str("document_id"))
	issued := event("DocumentIssued", 1, "rags", toPacked(3)[0].data)
	delete(issued, "event_id")
	e.post(doc, "rags", issued, "Idempotency-Key", "order-3")

	r = e.do("POST", "/v1/documents", "platform", body, "Idempotency-Key", "bad key\x7f")
	e.problem(r, http.StatusBadRequest, "malformed")
}

func testDuplicateConflict(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(5, 0)
	issued := event("DocumentIssued", 1, "rags", toPacked(5)[0].data)
	e.post(doc, "rags", issued)
	head := e.head()
	r := e.do("POST", "/v1/documents/"+doc.String()+"/events", "rags", with(issued, "occurred_at", at(2)))
	e.problem(r, http.StatusConflict, "duplicate_conflict")
	assert.Equal(t, issued["event_id"], r.str("event_id"))
	assert.Equal(t, head, e.head())

	// The same start event id with another body is a duplicate too.
	start := event("DeliveryRequested", 0, "platform", requested(6))
	e.created(e.do("POST", "/v1/documents", "platform", start))
	changed := requested(6)
	changed["city"] = "Astana"
	changed["postomat_city"] = "Astana"
	r = e.do("POST", "/v1/documents", "platform", with(start, "data", changed))
	e.problem(r, http.StatusConflict, "duplicate_conflict")
}

func testVersionConflict(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(7, 0)
	e.post(doc, "rags", event("DocumentIssued", 1, "rags", toPacked(7)[0].data), "If-Match", `"1"`)
	order := event("KaspiOrderCreated", 2, "platform", map[string]any{"waybill": waybill})
	r := e.do("POST", "/v1/documents/"+doc.String()+"/events", "platform", order, "If-Match", `"1"`)
	e.problem(r, http.StatusConflict, "version_conflict")
	assert.Equal(t, float64(2), r.Body["current_version"])
	r = e.do("POST", "/v1/documents/"+doc.String()+"/events", "platform", with(order, "expected_version", 5))
	e.problem(r, http.StatusConflict, "version_conflict")
	assert.Equal(t, float64(2), r.Body["current_version"])
	r = e.do("POST", "/v1/documents/"+doc.String()+"/events", "platform", with(order, "expected_version", 1), "If-Match", "2")
	e.problem(r, http.StatusBadRequest, "malformed")
	r = e.do("POST", "/v1/documents/"+doc.String()+"/events", "platform", order, "If-Match", "two")
	e.problem(r, http.StatusBadRequest, "malformed")
	ok := e.post(doc, "platform", with(order, "expected_version", 2), "If-Match", `W/"2"`)
	assert.Equal(t, uint64(3), ok.num("version"))

	// Starting a document that exists is a version conflict (the start demands an empty stream).
	start := event("DeliveryRequested", 0, "platform", requested(7))
	start["document_id"] = doc.String()
	r = e.do("POST", "/v1/documents", "platform", start)
	e.problem(r, http.StatusConflict, "version_conflict")
	assert.Equal(t, float64(3), r.Body["current_version"])
}

// testRaceIfMatch: clients racing with If-Match on one document: exactly one 201 per version,
// every other a 409 version_conflict naming the new version.
func testRaceIfMatch(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(8, 0)
	e.walk(doc, 0, toPacked(8)[:2]) // issued, order created: version 3
	const clients = 8
	for round, version := range []uint64{3, 4, 5} {
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			status = map[int]int{}
			winner uint64
		)
		for c := range clients {
			wg.Go(func() {
				body := event("DeliveryDelayed", 3+round, "platform", map[string]any{
					"new_date": t0.Add(time.Duration(72+round) * time.Hour).Format(time.RFC3339), "reason": fmt.Sprintf("client %d", c)})
				r := e.do("POST", "/v1/documents/"+doc.String()+"/events", "platform", body,
					"If-Match", fmt.Sprintf(`"%d"`, version))
				mu.Lock()
				defer mu.Unlock()
				status[r.Status]++
				switch r.Status {
				case http.StatusCreated:
					winner = r.num("version")
				case http.StatusConflict:
					assert.Equal(t, "version_conflict", r.str("code"))
					assert.Equal(t, float64(version+1), r.Body["current_version"])
				}
			})
		}
		wg.Wait()
		assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: clients - 1}, status, "version %d", version)
		assert.Equal(t, version+1, winner)
	}
	d := e.do("GET", "/v1/documents/"+doc.String(), "auditor", nil)
	assert.Equal(t, float64(6), d.Body["version"])
}

// testRaceWithoutIfMatch: without If-Match the losers decide again on the new state and are
// refused because the step is done.
func testRaceWithoutIfMatch(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(9, 0)
	e.walk(doc, 0, toPacked(9)[:2])
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Go(func() {
			r := e.do("POST", "/v1/documents/"+doc.String()+"/events", "gkCourier",
				event("CollectedFromRags", 3, "gkCourier", tr(holder("rags"), holder("gkCourier"))))
			codes[i] = r.Status
		})
	}
	wg.Wait()
	n201 := 0
	for _, c := range codes {
		if c == http.StatusCreated {
			n201++
		} else {
			assert.Equal(t, http.StatusUnprocessableEntity, c)
		}
	}
	assert.Equal(t, 1, n201)
}

func testMalformed(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(11, 0)
	path := "/v1/documents/" + doc.String() + "/events"
	issued := event("DocumentIssued", 1, "rags", toPacked(11)[0].data)
	badIIN := requested(12)
	badIIN["recipient"] = map[string]any{"iin": "950107400016", "phone": phone}
	numIIN := requested(12)
	numIIN["recipient"] = map[string]any{"iin": 950107400015, "phone": phone}
	cases := []struct {
		name  string
		path  string
		who   string
		body  any
		field string
	}{
		{"not JSON", path, "rags", `{"type":`, ""},
		{"empty body", path, "rags", nil, ""},
		{"two values", path, "rags", `{} {}`, ""},
		{"array", path, "rags", `[]`, ""},
		{"unknown field", path, "rags", with(issued, "colour", "blue"), "colour"},
		{"unknown data field", path, "rags", with(issued, "data", with(toPacked(11)[0].data, "colour", "blue")), "data.colour"},
		{"unknown type", path, "rags", with(issued, "type", "DocumentTeleported"), "type"},
		{"stream type on a document", path, "rags", with(issued, "type", "RegistryFormed"), "type"},
		{"no type", path, "rags", with(issued, "type", ""), "type"},
		{"no event id", path, "rags", with(issued, "event_id", ""), "event_id"},
		{"bad event id", path, "rags", with(issued, "event_id", "123"), "event_id"},
		{"no time", path, "rags", with(issued, "occurred_at", ""), "occurred_at"},
		{"time without offset", path, "rags", with(issued, "occurred_at", "2026-04-13T10:00:00"), "occurred_at"},
		{"no data", path, "rags", with(issued, "data", nil), "data"},
		{"data of the wrong type", path, "rags", with(issued, "data", []int{1}), "data"},
		{"a field of the wrong type", path, "rags", with(issued, "data", with(toPacked(11)[0].data, "certificate_number", 123)), "data.certificate_number"},
		{"domain validation", path, "rags", with(issued, "data", with(toPacked(11)[0].data, "certificate_number", "12")), "data.certificate_number"},
		{"no actor", path, "rags", with(issued, "actor", nil), "actor"},
		{"bad employee", path, "rags", with(issued, "actor", map[string]any{"org": "rags", "unit": "RAGS-ALA-01", "employee_id": "r 1"}), "actor.employee_id"},
		{"start with a custody event", "/v1/documents", "gkCourier", event("CollectedFromRags", 1, "gkCourier", tr(holder("rags"), holder("gkCourier"))), "type"},
		{"invalid IIN", "/v1/documents", "platform", event("DeliveryRequested", 0, "platform", badIIN), "data.recipient.iin"},
		{"numeric IIN", "/v1/documents", "platform", event("DeliveryRequested", 0, "platform", numIIN), "data.recipient.iin"},
		{"bad document id", "/v1/documents", "platform", with(event("DeliveryRequested", 0, "platform", requested(12)), "document_id", "x"), "document_id"},
		{"time in the future", path, "rags", with(issued, "occurred_at", now.Add(time.Hour).Format(time.RFC3339)), "occurred_at"},
		{"bad limit", "/v1/feed?limit=0", "auditor", nil, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.sub(t)
			method := "POST"
			if strings.HasPrefix(c.path, "/v1/feed") {
				method = "GET"
			}
			r := e.do(method, c.path, c.who, c.body)
			e.problem(r, http.StatusBadRequest, "malformed")
			if c.field != "" {
				assert.Equal(t, c.field, r.str("field"), "%s", r)
				errs, _ := r.Body["errors"].([]any)
				require.Len(t, errs, 1)
				assert.Equal(t, c.field, errs[0].(map[string]any)["field"])
			}
		})
	}
	for _, q := range []string{"as_of=yesterday", "as_of=2026-04-13"} {
		r := e.do("GET", "/v1/documents/"+doc.String()+"?"+q, "auditor", nil)
		e.problem(r, http.StatusBadRequest, "malformed")
		assert.Equal(t, "as_of", r.str("field"))
	}
	r := e.do("GET", "/v1/documents/"+doc.String()+"/events?cursor=bogus", "auditor", nil)
	e.problem(r, http.StatusBadRequest, "malformed")
	r = e.do("GET", "/v1/feed?after=-1", "auditor", nil)
	e.problem(r, http.StatusBadRequest, "malformed")
	d := e.do("GET", "/v1/documents/"+doc.String(), "auditor", nil)
	assert.Equal(t, float64(1), d.Body["version"], "nothing malformed was written")
}

func testUnauthenticated(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(13, 0)
	body := event("DocumentIssued", 1, "rags", toPacked(13)[0].data)
	path := "/v1/documents/" + doc.String() + "/events"
	for name, hdr := range map[string][]string{
		"no key":        nil,
		"unknown key":   {"Authorization", "Bearer ck_0123456789abcdef_" + strings.Repeat("A", 43)},
		"garbage":       {"Authorization", "Bearer hello"},
		"basic scheme":  {"Authorization", "Basic " + e.secrets["rags"]},
		"empty bearer":  {"Authorization", "Bearer "},
		"key, no label": {"Authorization", e.secrets["rags"]},
	} {
		r := e.do("POST", path, "", body, hdr...)
		e.problem(r, http.StatusUnauthorized, "unauthenticated")
		assert.NotEmpty(t, r.Header.Get("WWW-Authenticate"), name)
	}
	for _, p := range []string{"/v1/documents/" + doc.String(), "/v1/feed", "/v1/ledger/verify", path} {
		e.problem(e.do("GET", p, "", nil), http.StatusUnauthorized, "unauthenticated")
	}

	// A revoked key stops working at once.
	secret, k, err := e.keys.Create(t.Context(), "kaspi", "KSP-ALA-IN1", "kaspi_intake")
	require.NoError(t, err)
	r := e.do("GET", "/v1/documents/"+doc.String(), "", nil, "Authorization", "Bearer "+secret)
	require.Equal(t, http.StatusOK, r.Status)
	require.NoError(t, e.keys.Revoke(t.Context(), k.ID))
	r = e.do("GET", "/v1/documents/"+doc.String(), "", nil, "Authorization", "Bearer "+secret)
	e.problem(r, http.StatusUnauthorized, "unauthenticated")
}

func testForbidden(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc, _ := e.packed(14, 0)
	other := e.start(15, 0)
	e.walk(other, 0, toPacked(15)[:3]) // with the GK courier GK-ALA-CR1
	path := "/v1/documents/" + doc.String() + "/events"
	issued := event("DocumentIssued", 1, "rags", toPacked(14)[0].data)
	cases := []struct {
		name string
		path string
		who  string
		body any
	}{
		{"role may not record the type", path, "rags", event("KaspiOrderCreated", 9, "rags", map[string]any{"waybill": waybill})},
		{"auditor writes nothing", path, "auditor", event("KaspiOrderCreated", 9, "auditor", map[string]any{"waybill": waybill})},
		{"the ledger's own event", path, "admin", event("DeadlineMissed", 9, "admin", map[string]any{
			"rule": "intake_wait", "deadline": at(8), "holder": holder("gkAcc"), "source": "P.11"})},
		{"actor of another unit than the key's", path, "rags", with(issued, "actor",
			map[string]any{"org": "rags", "unit": "RAGS-AST-01", "employee_id": "r1"})},
		{"actor of another organisation", path, "rags", with(issued, "actor",
			map[string]any{"org": "gk", "unit": "RAGS-ALA-01"})},
		{"another unit's hand-over", "/v1/documents/" + other.String() + "/events", "gkAccAst",
			event("ReceivedAtAccumulation", 9, "gkAccAst", tr(holder("gkCourier"), holder("gkAcc")))},
		{"dispatch registry of another unit", "/v1/registries", "gkAccAst", map[string]any{"event_id": uuid.NewString(),
			"kind": "dispatch", "from_unit": "GK-ALA-ACC", "to_unit": "KSP-ALA-IN1", "document_ids": []string{doc.String()},
			"occurred_at": at(9)}},
		{"registry by the wrong role", "/v1/registries", "kIntake", map[string]any{"event_id": uuid.NewString(),
			"kind": "dispatch", "from_unit": "KSP-ALA-IN1", "to_unit": "GK-ALA-ACC", "document_ids": []string{doc.String()},
			"occurred_at": at(9)}},
		{"registry actor of another unit", "/v1/registries", "gkAcc", map[string]any{"event_id": uuid.NewString(),
			"kind": "dispatch", "from_unit": "GK-ALA-ACC", "to_unit": "KSP-ALA-IN1", "document_ids": []string{doc.String()},
			"occurred_at": at(9), "actor": actor("gkAccAst")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.sub(t).do("POST", c.path, c.who, c.body)
			e.sub(t).problem(r, http.StatusForbidden, "forbidden")
		})
	}
	// The same hand-over recorded by its receiving unit is fine.
	e.post(other, "gkAcc", event("ReceivedAtAccumulation", 9, "gkAcc", tr(holder("gkCourier"), holder("gkAcc"))))
}

func testNotFound(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	missing := uuid.NewString()
	for _, c := range []struct {
		method, path, who string
		body              any
	}{
		{"GET", "/v1/documents/" + missing, "auditor", nil},
		{"GET", "/v1/documents/not-a-uuid", "auditor", nil},
		{"GET", "/v1/documents/" + missing + "/events", "auditor", nil},
		{"POST", "/v1/documents/" + missing + "/events", "rags", event("DocumentIssued", 1, "rags", toPacked(16)[0].data)},
		{"POST", "/v1/documents/" + missing + "/events", "platform", event("DeliveryRequested", 1, "platform", requested(16))},
		{"POST", "/v1/documents/" + missing + "/events", "gkCourier", event("CollectedFromRags", 1, "gkCourier", tr(holder("rags"), holder("gkCourier")))},
		{"POST", "/v1/documents/" + missing + "/events", "platform", with(event("KaspiOrderCreated", 1, "platform", map[string]any{"waybill": waybill}), "expected_version", 2)},
		{"POST", "/v1/documents/x/events", "rags", event("DocumentIssued", 1, "rags", toPacked(16)[0].data)},
		{"POST", "/v1/registries/" + missing + "/acceptance", "kIntake", map[string]any{"event_id": uuid.NewString(), "accepted": []string{missing}, "occurred_at": at(1)}},
		{"POST", "/v1/disputes/" + missing + "/resolution", "commission", map[string]any{"event_id": uuid.NewString(), "protocol_number": "P-1", "decision": "x", "occurred_at": at(1)}},
		{"GET", "/v1/nowhere", "auditor", nil},
		{"GET", "/", "", nil},
	} {
		r := e.do(c.method, c.path, c.who, c.body)
		e.problem(r, http.StatusNotFound, "not_found")
	}
	r := e.do("DELETE", "/v1/documents/"+missing, "admin", nil)
	e.problem(r, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Contains(t, r.Header.Get("Allow"), "GET")
	assert.Equal(t, uint64(0), e.head(), "nothing was written")
}

func testTooLarge(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService, func(c *api.Config) { c.BodyLimit = 4 << 10 })
	big := requested(17)
	big["city"] = strings.Repeat("A", 8<<10)
	body := event("DeliveryRequested", 0, "platform", big)
	r := e.do("POST", "/v1/documents", "platform", body)
	e.problem(r, http.StatusRequestEntityTooLarge, "too_large")
	// Without a Content-Length the limit holds while reading.
	raw := fmt.Sprintf(`{"type":"DeliveryRequested","occurred_at":%q,"data":{"city":%q}}`, at(0), strings.Repeat("A", 8<<10))
	r = e.do("POST", "/v1/documents", "platform", strings.NewReader(raw))
	e.problem(r, http.StatusRequestEntityTooLarge, "too_large")
	// Unauthenticated requests are refused before their size matters.
	r = e.do("POST", "/v1/documents", "", body)
	e.problem(r, http.StatusUnauthorized, "unauthenticated")
	assert.Equal(t, uint64(0), e.head())
}

func testIllegalTransition(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(18, 0)
	e.walk(doc, 0, toPacked(18)[:1]) // issued
	postomat := holder("postomat")
	r := e.do("POST", "/v1/documents/"+doc.String()+"/events", "kCourier",
		event("PlacedInCell", 5, "kCourier", with(tr(holder("kCourier"), postomat), "postomat_id", "PM-ALA-0042", "cell_id", "B07")))
	e.problem(r, http.StatusUnprocessableEntity, "illegal_transition")
	assert.Equal(t, "issued", r.str("state"))
	allowed, _ := r.Body["allowed"].([]any)
	// Only what the caller's role could record now (issue 11): a Kaspi courier may report a
	// loss or correct; the GK courier's collection and the ledger's DeadlineMissed are not its.
	assert.Equal(t, []any{"DocumentLost", "EventCorrected"}, allowed)
	assert.NotContains(t, allowed, "PlacedInCell")

	// The start of a document that exists is illegal on its stream too.
	r = e.do("POST", "/v1/documents/"+doc.String()+"/events", "platform", event("DeliveryRequested", 5, "platform", requested(18)))
	e.problem(r, http.StatusUnprocessableEntity, "illegal_transition")
	assert.Equal(t, "issued", r.str("state"))
}

func testReadingMasksPersonalData(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc, _ := e.packed(19, 0) // RAGS, GK and Kaspi took part: each may read it (read scopes)
	for who, sees := range map[string]bool{"platform": true, "admin": true, "auditor": false, "commission": false,
		"rags": false, "gkAcc": false, "kCourier": false} {
		d := e.do("GET", "/v1/documents/"+doc.String(), who, nil)
		require.Equal(t, http.StatusOK, d.Status, who)
		rc := d.Body["recipient"].(map[string]any)
		evs := e.do("GET", "/v1/documents/"+doc.String()+"/events", who, nil)
		feed := e.do("GET", "/v1/feed", who, nil)
		if sees {
			assert.Equal(t, iin, rc["iin"], who)
			assert.Equal(t, phone, rc["phone"], who)
			assert.Contains(t, string(evs.Raw), iin, who)
			continue
		}
		assert.Equal(t, "**********15", rc["iin"], who)
		assert.Equal(t, "+*********67", rc["phone"], who)
		for _, raw := range [][]byte{d.Raw, evs.Raw, feed.Raw} {
			assert.NotContains(t, string(raw), iin, who)
			assert.NotContains(t, string(raw), phone, who)
		}
	}
}

// testP35IssueIdentityMaskedForReaders: a ЦОН-route document (P.14) is issued against a
// representative's notarised power of attorney (003 §9); the identity check is recorded,
// required, and its numbers are masked for readers without the right to personal data.
func testP35IssueIdentityMaskedForReaders(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	issued := event("DocumentIssued", 1, "rags", map[string]any{"to": holder("rags"), "application_no": "CON-2026-000035",
		"service_code": "birth_registration.postomat", "certificate_number": "0000035", "method": "con", "city": "Almaty"})
	doc := uuid.MustParse(e.created(e.do("POST", "/v1/documents", "rags", issued)).str("document_id"))
	e.walk(doc, 1, []step{
		{"CollectedFromRags", "gkCourier", tr(holder("rags"), holder("gkCourier"))},
		{"ReceivedAtAccumulation", "gkAcc", tr(holder("gkCourier"), holder("gkAcc"))},
		{"RoutedForDelivery", "gkAcc", map[string]any{"method": "con"}},
		{"ReceivedAtIssuance", "gkIss", tr(holder("gkAcc"), holder("gkIss"))},
	})
	hand := tr(holder("gkIss"), recipientHolder)
	r := e.do("POST", "/v1/documents/"+doc.String()+"/events", "gkIss", event("IssuedToRecipient", 6, "gkIss", hand))
	e.problem(r, http.StatusBadRequest, "malformed") // P.35: no identity check recorded
	const docNo, poaNo = "N12345678", "POA-774411"
	e.post(doc, "gkIss", event("IssuedToRecipient", 6, "gkIss", with(hand, "identity", map[string]any{
		"method": "representative", "document_type": "id_card", "document_number": docNo,
		"power_of_attorney": map[string]any{"number": poaNo, "date": "2026-02-20"}})))
	for who, sees := range map[string]bool{"admin": true, "auditor": false, "gkIss": false, "rags": false} {
		evs := e.do("GET", "/v1/documents/"+doc.String()+"/events", who, nil)
		require.Equal(t, http.StatusOK, evs.Status, who)
		if sees {
			assert.Contains(t, string(evs.Raw), docNo, who)
			continue
		}
		assert.NotContains(t, string(evs.Raw), docNo, who)
		assert.NotContains(t, string(evs.Raw), poaNo, who)
		assert.Contains(t, string(evs.Raw), `"document_number":"N******78"`, who)
		assert.Contains(t, string(evs.Raw), `"method":"representative"`, who)
	}
}

func testAsOf(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc, _ := e.packed(20, 0)
	d := e.do("GET", "/v1/documents/"+doc.String()+"?as_of="+strings.ReplaceAll(at(3), "+", "%2B"), "auditor", nil)
	require.Equal(t, http.StatusOK, d.Status, "%s", d)
	assert.Equal(t, "collected_from_rags", d.str("state"), "events up to hour 3: requested, issued, order, collected")
	assert.Equal(t, float64(4), d.Body["version"])
	assert.Equal(t, at(3), d.str("as_of"))
	assert.Equal(t, "GK-ALA-CR1", d.Body["holder"].(map[string]any)["unit"])
	d = e.do("GET", "/v1/documents/"+doc.String()+"?as_of="+t0.Add(-time.Hour).UTC().Format(time.RFC3339), "auditor", nil)
	e.problem(d, http.StatusNotFound, "not_found")
}

// testDeadlinesOneSource: a document's active deadlines are the projection's clocks, the same
// that /v1/overdue lists (issue 9 §3): every overdue clock of the view is on the list with the
// same deadline, and as_of shows the clocks running then.
func testDeadlinesOneSource(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc, _ := e.packed(22, 0) // a week before now: the Kaspi order's clock has long run out
	type key struct{ rule, start string }
	overdue := map[key]string{}
	r := e.do("GET", "/v1/overdue?limit=1000", "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	for _, x := range r.Body["items"].([]any) {
		o := x.(map[string]any)
		if o["document_id"] != doc.String() || o["rule"] == query.RuleTransmission {
			continue // a status undelivered to ИИС ЦОН is overdue, but is no clock of the document
		}
		k := key{o["rule"].(string), o["start_event_id"].(string)}
		if d, seen := overdue[k]; !seen || o["deadline"].(string) < d {
			overdue[k] = o["deadline"].(string) // one row per charged organisation: the earliest counts
		}
	}
	require.NotEmpty(t, overdue)
	d := e.do("GET", "/v1/documents/"+doc.String(), "auditor", nil)
	require.Equal(t, http.StatusOK, d.Status, "%s", d)
	shown := map[key]string{}
	for _, x := range d.Body["active_deadlines"].([]any) {
		c := x.(map[string]any)
		if c["overdue"] == true {
			shown[key{c["rule"].(string), c["start_event_id"].(string)}] = c["deadline"].(string)
		}
	}
	assert.Equal(t, overdue, shown, "the view's overdue clocks are the overdue list's")

	rules := func(r resp) []string {
		var out []string
		for _, x := range r.Body["active_deadlines"].([]any) {
			out = append(out, x.(map[string]any)["rule"].(string))
		}
		return out
	}
	asOf := func(h int) []string {
		r := e.do("GET", "/v1/documents/"+doc.String()+"?as_of="+strings.ReplaceAll(at(h), "+", "%2B"), "auditor", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r)
		return rules(r)
	}
	assert.Empty(t, asOf(1), "issued, no Kaspi order yet: no clock ran")
	assert.Equal(t, []string{"order_to_intake"}, asOf(2), "P.10: the Kaspi order's clock from hour 2")
	assert.Equal(t, []string{"order_to_intake"}, rules(d))
}

func testEventsPagination(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc, _ := e.packed(21, 0)
	var (
		types  []string
		cursor string
		pages  int
	)
	for {
		path := "/v1/documents/" + doc.String() + "/events?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do("GET", path, "auditor", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r)
		pages++
		for _, x := range r.Body["events"].([]any) {
			types = append(types, x.(map[string]any)["type"].(string))
		}
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []string{"DeliveryRequested", "DocumentIssued", "KaspiOrderCreated", "CollectedFromRags",
		"ReceivedAtAccumulation", "RoutedForDelivery", "Packed"}, types)
}

func testFeed(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	a := e.start(22, 0)
	b := e.start(23, 0)
	e.walk(a, 0, toPacked(22)[:1])
	r := e.do("GET", "/v1/feed?after=0&limit=2", "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status)
	evs := r.Body["events"].([]any)
	require.Len(t, evs, 2)
	assert.Equal(t, "document-"+a.String(), evs[0].(map[string]any)["stream_id"])
	assert.Equal(t, "document-"+b.String(), evs[1].(map[string]any)["stream_id"])
	next := r.num("next_after")
	assert.Equal(t, uint64(evs[1].(map[string]any)["position"].(float64)), next)
	r = e.do("GET", fmt.Sprintf("/v1/feed?after=%d", next), "platform", nil) // an integrator (read scopes)
	evs = r.Body["events"].([]any)
	require.Len(t, evs, 1)
	assert.Equal(t, "DocumentIssued", evs[0].(map[string]any)["type"])
	// The opaque cursor continues the same way; an empty page keeps the place for polling.
	r = e.do("GET", "/v1/feed?cursor="+r.str("next_cursor"), "auditor", nil)
	assert.Empty(t, r.Body["events"])
	assert.Equal(t, e.head(), r.num("next_after"))
}

// tamperer is what the memory store offers tests to break a chain.
type tamperer interface {
	TamperData(stream string, version uint64, data []byte) error
}

func testVerify(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(24, 0)
	e.walk(doc, 0, toPacked(24)[:2])
	r := e.do("GET", "/v1/ledger/verify", "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	assert.Equal(t, true, r.Body["ok"])
	assert.Equal(t, float64(3), r.Body["events"])
	assert.Equal(t, float64(1), r.Body["streams"])
	tm, ok := e.svc.Store().(tamperer)
	if !ok {
		return // the stores' own suites test tampering
	}
	require.NoError(t, tm.TamperData(commands.DocumentStream(doc), 2, []byte(`{"forged":true}`)))
	r = e.do("GET", "/v1/ledger/verify", "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "a broken chain is a report, not an error")
	assert.Equal(t, false, r.Body["ok"])
	brk := r.Body["break"].(map[string]any)
	assert.Equal(t, float64(2), brk["version"])
}

func testForceMajeure(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	body := map[string]any{"event_id": uuid.NewString(), "from": at(0), "to": at(30), "orgs": []string{"gk"},
		"region": "Almaty", "description": "snowstorm closed the roads", "notified": []string{"kaspi", "rags"},
		"evidence": map[string]any{"issuer": "Emergency commission of the akimat of Almaty", "number": "EC-0316", "date": "2026-03-16"}}
	first := e.created(e.do("POST", "/v1/force-majeure", "gkAcc", body))
	assert.NotEmpty(t, first.str("force_majeure_id"))
	assert.Equal(t, "/v1/force-majeure/"+first.str("force_majeure_id"), first.Header.Get("Location"))
	head := e.head()
	again := e.created(e.do("POST", "/v1/force-majeure", "gkAcc", body))
	assert.Equal(t, string(first.Raw), string(again.Raw), "a retry without occurred_at is still the same request")
	assert.Equal(t, head, e.head())
	r := e.do("POST", "/v1/force-majeure", "auditor", with(body, "event_id", uuid.NewString()))
	e.problem(r, http.StatusForbidden, "forbidden")
	r = e.do("POST", "/v1/force-majeure", "gkAcc", with(body, "event_id", uuid.NewString(), "to", at(-1)))
	e.problem(r, http.StatusBadRequest, "malformed")
	r = e.do("POST", "/v1/force-majeure", "gkAcc", with(body, "event_id", uuid.NewString(), "orgs", []string{"mars"}))
	e.problem(r, http.StatusBadRequest, "malformed")
	// P.37: GK declares for its own obligations; Kaspi's need Kaspi's own declaration.
	r = e.do("POST", "/v1/force-majeure", "gkAcc", with(body, "event_id", uuid.NewString(), "orgs", []string{"gk", "kaspi"}))
	e.problem(r, http.StatusForbidden, "forbidden")
	// P.38: the authorised body's document and the parties notified are required.
	for _, field := range []string{"evidence", "notified"} {
		without := with(body, "event_id", uuid.NewString())
		delete(without, field)
		r = e.do("POST", "/v1/force-majeure", "gkAcc", without)
		e.problem(r, http.StatusBadRequest, "malformed")
	}
}

func testDisputes(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	doc := e.start(25, 0)
	open := map[string]any{"event_id": uuid.NewString(), "document_ids": []string{doc.String()},
		"parties": []string{"gk", "kaspi"}, "subject": "who lost the envelope", "occurred_at": at(1)}
	r := e.do("POST", "/v1/disputes", "gkAcc", open)
	e.problem(r, http.StatusForbidden, "forbidden")
	opened := e.created(e.do("POST", "/v1/disputes", "commission", open))
	id := opened.str("dispute_id")
	require.NotEmpty(t, id)
	resolution := map[string]any{"event_id": uuid.NewString(), "protocol_number": "P-2026-7",
		"decision": "charged to the courier service", "charged_to": []string{"gk"}, "occurred_at": at(2)}
	resolved := e.created(e.do("POST", "/v1/disputes/"+id+"/resolution", "commission", resolution))
	assert.Equal(t, id, resolved.str("dispute_id"))
	assert.Equal(t, uint64(2), resolved.num("version"))
	again := e.created(e.do("POST", "/v1/disputes/"+id+"/resolution", "commission", resolution))
	assert.Equal(t, string(resolved.Raw), string(again.Raw))
	r = e.do("POST", "/v1/disputes/"+id+"/resolution", "commission", with(resolution, "event_id", uuid.NewString()))
	e.problem(r, http.StatusUnprocessableEntity, "illegal_transition")
	assert.Equal(t, "resolved", r.str("state"))
	r = e.do("POST", "/v1/disputes/"+id+"/resolution", "commission", with(resolution, "colour", "red"))
	e.problem(r, http.StatusBadRequest, "malformed")
}

func testHealthReadinessMetrics(t *testing.T, newService newServiceFunc) {
	var notReady error
	var mu sync.Mutex
	e := newEnv(t, newService, func(c *api.Config) {
		c.Ready = func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return notReady
		}
	})
	r := e.do("GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusOK, r.Status)
	r = e.do("GET", "/readyz", "", nil)
	assert.Equal(t, http.StatusOK, r.Status, "%s", r)
	mu.Lock()
	notReady = errors.New("projections 12 events behind")
	mu.Unlock()
	r = e.do("GET", "/readyz", "", nil)
	e.problem(r, http.StatusServiceUnavailable, "unavailable")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	mu.Lock()
	notReady = &api.DegradedError{Reason: "2 events quarantined", Quarantined: 2}
	mu.Unlock()
	r = e.do("GET", "/readyz", "", nil)
	assert.Equal(t, http.StatusOK, r.Status, "degraded still serves")
	assert.Equal(t, "degraded", r.str("status"))
	assert.Equal(t, "2 events quarantined", r.str("reason"))
	assert.EqualValues(t, 2, r.num("quarantined"))

	doc := e.start(26, 0)
	e.do("POST", "/v1/documents/"+doc.String()+"/events", "rags",
		with(event("DocumentIssued", 1, "rags", toPacked(26)[0].data), "expected_version", 0))
	r = e.do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	m := string(r.Raw)
	assert.Contains(t, m, `custody_http_requests_total{code="201",method="POST",route="/v1/documents"} 1`)
	assert.Contains(t, m, `custody_http_request_duration_seconds_bucket{method="POST",route="/v1/documents"`)
	assert.Contains(t, m, `custody_api_appends_total{kind="document"} 1`)
	assert.Contains(t, m, `custody_api_conflicts_total{code="version_conflict"} 1`)
	assert.Contains(t, m, `route="/readyz"`)
	assert.NotContains(t, m, doc.String(), "routes are labelled by pattern, not by path")

	r = e.do("GET", "/v1/openapi.json", "", nil)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "3.1.0", r.str("openapi"))
}

func testRequestID(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	r := e.do("GET", "/v1/documents/"+uuid.NewString(), "auditor", nil, "X-Request-Id", "trace-42")
	assert.Equal(t, "trace-42", r.Header.Get("X-Request-Id"))
	assert.Equal(t, "trace-42", r.str("request_id"))
	assert.Equal(t, "urn:custody:request:trace-42", r.str("instance"))
	r = e.do("GET", "/healthz", "", nil, "X-Request-Id", "bad id with spaces")
	assert.NotEqual(t, "bad id with spaces", r.Header.Get("X-Request-Id"))
	assert.Len(t, r.Header.Get("X-Request-Id"), 32)
	logs := e.logs.String()
	assert.Contains(t, logs, `"request_id":"trace-42"`)
	assert.Contains(t, logs, `"route":"/v1/documents/{id}"`)
	assert.Contains(t, logs, `"key_id":`)
}
