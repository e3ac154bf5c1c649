package api_test

import (
	"reflect"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/query"
)

// applicationOpenAPI adds the routes and schemas of the services of seed 003 (DOMAIN.md,
// Other services) to the document, and the service and step filters of the overdue list and
// the liability report.
func applicationOpenAPI(schemas, paths obj) {
	writeErrs := []string{"400", "401", "403", "404", "409", "413", "422", "503"}
	idem := []any{param("Idempotency-Key"), param("X-Request-Id")}
	types := domain.ApplicationEventTypes[:len(domain.ApplicationEventTypes)-2] // without DeadlineMissed, EventCorrected
	for _, t := range types {
		p, err := domain.NewPayload(t)
		if err != nil {
			panic(err)
		}
		s := schemaOf(reflect.TypeOf(p))
		delete(s, "required")
		s["title"], s["description"] = string(t)+" data", domain.ApplicationSourceOf(t)
		schemas[string(t)+"Data"] = s
	}
	schemas["ApplicationEventType"] = enumS(eventTypes(append(types[:len(types):len(types)], domain.EventCorrected))...)
	schemas["ApplicationEventData"] = obj{"description": "The payload of the event's type: the schema <type>Data.",
		"anyOf": payloadRefs(append(types[:len(types):len(types)], domain.EventCorrected))}
	schemas["StartApplicationRequest"] = objS([]string{"type", "occurred_at", "actor", "data"}, obj{
		"event_id":       uuidS("the client's id; else derived from Idempotency-Key"),
		"application_id": uuidS("default: derived from event_id"),
		"type":           enumS(eventTypes(domain.ApplicationStartTypes)...),
		"occurred_at":    timeS("RFC 3339 with offset"),
		"actor":          ref("ActorIn"),
		"data":           ref("ApplicationEventData")})
	schemas["AppendApplicationEventRequest"] = objS([]string{"type", "occurred_at", "actor", "data"}, obj{
		"event_id":         uuidS("the client's id; else derived from Idempotency-Key"),
		"type":             ref("ApplicationEventType"),
		"occurred_at":      timeS("RFC 3339 with offset; never before the stream's last event"),
		"actor":            ref("ActorIn"),
		"data":             ref("ApplicationEventData"),
		"expected_version": intS("as If-Match")})
	app := schemaOf(reflect.TypeOf(domain.Application{}))
	props := app["properties"].(obj)
	props["service_name"] = strS("the service's name in the catalogue")
	props["applicant"] = ref("RecipientContact")
	props["active_deadlines"] = arrS(ref("Deadline"))
	app["required"] = append(app["required"].([]string), "active_deadlines")
	schemas["Application"] = app
	schemas["ComplianceReport"] = schemaOf(reflect.TypeOf(query.ComplianceReport{}))

	withID := func(ps ...any) []any { return append([]any{param("id")}, ps...) }
	paths["/v1/applications"] = obj{"post": post("startApplication",
		"Open an application: ApplicationAccepted or ApplicationRefusedAtIntake at a ЦОН, ApplicationRegistered at the office or portal",
		"StartApplicationRequest", "Appended", "created; Location names the application; a retry returns the first answer", idem, writeErrs...)}
	paths["/v1/applications/{id}/events"] = obj{
		"post": post("appendApplicationEvent", "Record the application's next step (422 for a step out of turn, "+
			"an unknown service, an extension beyond the catalogue's limit)", "AppendApplicationEventRequest", "Appended",
			"appended, or the first answer to a retry", withID(param("If-Match"), param("Idempotency-Key"), param("X-Request-Id")), writeErrs...),
		"get": op("listApplicationEvents", "The application's stream, oldest first", "EventPage", "200", "a page of events",
			withID(param("cursor"), param("limit")), "400", "401", "403", "404", "503")}
	paths["/v1/applications/{id}"] = obj{"get": op("getApplication", "State, holder and the clocks running now",
		"Application", "200", "the application (applicant masked unless the key may see personal data)", withID(), "400", "401", "403", "404", "503")}
	paths["/v1/applications/{id}/custody"] = obj{"get": op("getApplicationCustody",
		"Who held the paper file and the result, and the missed terms charged", "Custody", "200", "the application's custody",
		withID(), "400", "401", "403", "404", "503")}
	paths["/v1/services/{code}/compliance"] = obj{"get": op("getCompliance",
		"Per step of a service: how many ran, median and 95th percentile against the term, breaches", "ComplianceReport", "200",
		"the report", []any{obj{"name": "code", "in": "path", "required": true, "schema": strS("catalogue code or alias: A1, A2.death, A2.correction, A3")},
			query_("from", "RFC 3339 or YYYY-MM-DD: clocks started at or after"), query_("to", "RFC 3339 or YYYY-MM-DD: clocks started before")},
		"400", "401", "403", "404", "503")}
	for _, p := range []string{"/v1/overdue", "/v1/liability"} {
		get := paths[p].(obj)["get"].(obj)
		ps := get["parameters"].([]any)
		extra := []any{query_("service", "a service code or alias: its documents or applications only")}
		if p == "/v1/liability" {
			extra = append(extra, query_("rule", "a rule id or an application's step"))
		}
		get["parameters"] = append(ps[:len(ps)-2:len(ps)-2], append(extra, ps[len(ps)-2:]...)...)
	}
}
