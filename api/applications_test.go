package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
)

// The positions of the services of seed 003 (DOMAIN.md, Other services): the RAGS office, its
// head and executor, a second office, and the ЦОН operator (gkIss).
func init() {
	parties["ragsOffice"] = party{domain.RoleRAGSOffice, domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "o1"}}
	parties["ragsHead"] = party{domain.RoleRAGSHead, domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "h1"}}
	parties["ragsExec"] = party{domain.RoleRAGSExecutor, domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "x1"}}
	parties["ragsOther"] = party{domain.RoleRAGSOffice, domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-AST-02", EmployeeID: "o9"}}
}

func (e *env) app(id uuid.UUID, who, typ string, h int, data map[string]any) resp {
	e.t.Helper()
	return e.do("POST", "/v1/applications/"+id.String()+"/events", who, event(typ, h, who, data))
}

var applicantData = map[string]any{"iin": iin, "phone": phone}

// testApplications runs A1 through a ЦОН and A3 at the office through the API: every position
// records its own step, the extension's limit and notice, the clocks in the overdue list and
// the application's view, custody, masking, and the service's compliance report.
func testApplications(t *testing.T, newService newServiceFunc) {
	e := newEnv(t, newService)
	r := e.created(e.do("POST", "/v1/applications", "gkIss", event("ApplicationAccepted", 0, "gkIss", map[string]any{
		"to": holder("gkIss"), "receipt_no": "R-2026-1", "service_code": "A1", "applicant": applicantData})))
	id := uuid.MustParse(r.str("document_id"))
	assert.Equal(t, "/v1/applications/"+id.String(), r.Header.Get("Location"))

	t.Run("A1–A3 §9 unknown service is 422", func(t *testing.T) {
		e := e.sub(t)
		r := e.do("POST", "/v1/applications", "gkIss", event("ApplicationAccepted", 0, "gkIss", map[string]any{
			"to": holder("gkIss"), "receipt_no": "R-2026-2", "service_code": "A9", "applicant": applicantData}))
		e.problem(r, http.StatusUnprocessableEntity, "illegal_transition")
	})
	office := holder("ragsOffice")
	e.created(e.app(id, "gkIss", "ApplicationForwarded", 1, tr(holder("gkIss"), office)))
	t.Run("§5.1 another office may not register", func(t *testing.T) {
		e.sub(t).problem(e.app(id, "ragsOther", "ApplicationRegistered", 2, map[string]any{"registration_no": "REG-1"}),
			http.StatusForbidden, "forbidden")
	})
	e.created(e.app(id, "ragsOffice", "ApplicationRegistered", 2, map[string]any{"registration_no": "REG-1"}))
	t.Run("§5.2 the head resolves, not the office", func(t *testing.T) {
		e.sub(t).problem(e.app(id, "ragsOffice", "ResolutionImposed", 2, map[string]any{"executor": "x1", "due": at(200)}),
			http.StatusForbidden, "forbidden")
	})
	e.created(e.app(id, "ragsHead", "ResolutionImposed", 3, map[string]any{"executor": "x1", "due": at(200)}))
	t.Run("A1 §5 an extension beyond 30 calendar days is 422", func(t *testing.T) {
		e.sub(t).problem(e.app(id, "ragsHead", "ReviewExtended", 4, map[string]any{"days": 31, "reason": "archive"}),
			http.StatusUnprocessableEntity, "illegal_transition")
	})
	e.created(e.app(id, "ragsHead", "ReviewExtended", 4, map[string]any{"days": 10, "reason": "archive request"}))

	// A week later (the service clock's now), the applicant was never told: extension_notice
	// is overdue, in the same list as the pilot's deadlines, filtered by service and step.
	od := e.do("GET", "/v1/overdue?service=A1&rule=extension_notice", "auditor", nil)
	require.Equal(t, http.StatusOK, od.Status, "%s", od)
	items := od.Body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, id.String(), items[0].(map[string]any)["document_id"])
	assert.Equal(t, "A1 §5", items[0].(map[string]any)["source"])
	v := e.do("GET", "/v1/applications/"+id.String(), "auditor", nil)
	require.Equal(t, http.StatusOK, v.Status, "%s", v)
	assert.Equal(t, "in_review", v.str("state"))
	assert.Equal(t, "**********15", v.Body["applicant"].(map[string]any)["iin"], "masked for the auditor")
	var running []string
	for _, c := range v.Body["active_deadlines"].([]any) {
		running = append(running, c.(map[string]any)["rule"].(string))
	}
	assert.ElementsMatch(t, []string{"review", "service_term", "provider_term", "extension_notice"}, running)

	// The watch records the miss on the application's stream; liability charges RAGS.
	res, err := e.proj.WatchTick(t.Context())
	require.NoError(t, err)
	assert.Positive(t, res.Appended)
	l := e.do("GET", "/v1/liability?service=A1&rule=extension_notice", "auditor", nil)
	require.Equal(t, http.StatusOK, l.Status, "%s", l)
	require.Len(t, l.Body["charges"].([]any), 1)
	assert.Equal(t, "rags", l.Body["charges"].([]any)[0].(map[string]any)["org"])

	e.created(e.app(id, "ragsOffice", "ExtensionNotified", 80, map[string]any{}))
	t.Run("§5.3 only the named executor reviews", func(t *testing.T) {
		e := e.sub(t)
		body := event("ReviewCompleted", 81, "ragsExec", map[string]any{"decision": "approve"})
		body["actor"] = map[string]any{"org": "rags", "unit": "RAGS-ALA-01", "employee_id": "x2"}
		e.problem(e.do("POST", "/v1/applications/"+id.String()+"/events", "ragsExec", body), http.StatusForbidden, "forbidden")
	})
	e.created(e.app(id, "ragsExec", "ReviewCompleted", 81, map[string]any{"decision": "approve"}))
	e.created(e.app(id, "ragsExec", "RecordFormed", 82, map[string]any{"record_no": "AZ-1"}))
	e.created(e.app(id, "ragsHead", "ResultSigned", 83, map[string]any{"result": map[string]any{"kind": "certificate", "number": "1234567"}}))
	e.created(e.app(id, "ragsOffice", "ResultDispatched", 84, with(tr(office, holder("gkIss")), "destination", "gk")))
	e.created(e.app(id, "gkIss", "ResultReceivedAtGK", 85, tr(holder("gkIss"), holder("gkIss"))))
	identity := map[string]any{"method": "representative", "document_type": "id_card", "document_number": "041234567",
		"power_of_attorney": map[string]any{"number": "N-77", "date": "2026-04-01"}}
	t.Run("§9 the result against another receipt is 422", func(t *testing.T) {
		e.sub(t).problem(e.app(id, "gkIss", "ResultIssued", 86, with(tr(holder("gkIss"), recipientHolder), "receipt_no", "R-X",
			"identity", identity)), http.StatusUnprocessableEntity, "illegal_transition")
	})
	e.created(e.app(id, "gkIss", "ResultIssued", 86, with(tr(holder("gkIss"), recipientHolder), "receipt_no", "R-2026-1",
		"identity", identity)))

	v = e.do("GET", "/v1/applications/"+id.String(), "auditor", nil)
	assert.Equal(t, "result_issued", v.str("state"))
	assert.Empty(t, v.Body["active_deadlines"])
	c := e.do("GET", "/v1/applications/"+id.String()+"/custody", "auditor", nil)
	require.Equal(t, http.StatusOK, c.Status, "%s", c)
	assert.Len(t, c.Body["intervals"].([]any), 5, "GK, RAGS, GK, the ЦОН's issuance, the recipient")
	ev := e.do("GET", "/v1/applications/"+id.String()+"/events", "auditor", nil)
	require.Equal(t, http.StatusOK, ev.Status)
	assert.NotContains(t, string(ev.Raw), iin, "personal data masked in the stream")
	assert.NotContains(t, string(ev.Raw), "041234567", "the identity document masked")
	assert.Contains(t, string(e.do("GET", "/v1/applications/"+id.String()+"/events", "admin", nil).Raw), iin)

	comp := e.do("GET", "/v1/services/A1/compliance", "auditor", nil)
	require.Equal(t, http.StatusOK, comp.Status, "%s", comp)
	steps := map[string]map[string]any{}
	for _, s := range comp.Body["steps"].([]any) {
		steps[s.(map[string]any)["step"].(string)] = s.(map[string]any)
	}
	assert.Equal(t, float64(1), steps["extension_notice"]["late"], "told after 3 calendar days (A1 §5)")
	assert.Equal(t, float64(1), steps["review"]["completed"])
	assert.Equal(t, "7 working days", steps["review"]["term"])

	t.Run("A3 §5.5 at the office: the executor hands the answer over", func(t *testing.T) {
		e := e.sub(t)
		r := e.created(e.do("POST", "/v1/applications", "ragsOffice", event("ApplicationRegistered", 100, "ragsOffice", map[string]any{
			"registration_no": "REG-2", "service_code": "A3", "channel": "office", "applicant": applicantData, "to": office})))
		a3 := uuid.MustParse(r.str("document_id"))
		e.created(e.app(a3, "ragsHead", "ResolutionImposed", 101, map[string]any{"executor": "x1", "due": at(200)}))
		e.created(e.app(a3, "ragsExec", "ReviewCompleted", 102, map[string]any{"decision": "refuse", "reasons": []string{"no court decision"}}))
		e.problem(e.app(a3, "ragsHead", "ResultSigned", 103, map[string]any{"result": map[string]any{"kind": "answer", "number": "OUT-1"}}),
			http.StatusUnprocessableEntity, "illegal_transition")
		e.created(e.app(a3, "ragsHead", "ResultSigned", 103, map[string]any{"result": map[string]any{"kind": "refusal", "number": "OUT-1"}}))
		e.problem(e.app(a3, "ragsOffice", "ResultDispatched", 104, with(tr(office, recipientHolder), "destination", "recipient",
			"identity", map[string]any{"method": "in_person", "document_type": "id_card", "document_number": "041234567"})),
			http.StatusForbidden, "forbidden")
		e.created(e.app(a3, "ragsExec", "ResultDispatched", 104, with(tr(office, recipientHolder), "destination", "recipient",
			"identity", map[string]any{"method": "in_person", "document_type": "id_card", "document_number": "041234567"})))
		v := e.do("GET", "/v1/applications/"+a3.String(), "auditor", nil)
		assert.Equal(t, "result_delivered", v.str("state"))
		assert.Equal(t, "refusal", v.Body["result"].(map[string]any)["kind"])
		e.problem(e.app(uuid.New(), "ragsHead", "ResolutionImposed", 105, map[string]any{"executor": "x1", "due": at(200)}),
			http.StatusNotFound, "not_found")
	})
}
