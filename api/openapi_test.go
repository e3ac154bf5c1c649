package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/projections/query"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from openAPIDoc")

// TestOpenAPIDescribesEveryRoute fails when a route of the table (the mux is built from it)
// is missing from openapi.json, or the document describes a route the server does not have.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: keys.NewMemory()})
	require.NoError(t, err)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(api.OpenAPI(), &doc))
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	served := map[string]bool{}
	for _, rt := range srv.Routes() {
		key := strings.ToLower(rt.Method) + " " + rt.Path
		served[key] = true
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !assert.True(t, ok, "openapi.json does not describe %s", rt.Pattern()) {
			continue
		}
		assert.NotEmpty(t, op["operationId"], rt.Pattern())
		responses, _ := op["responses"].(map[string]any)
		assert.NotEmpty(t, responses, rt.Pattern())
		_, public := op["security"]
		assert.Equal(t, rt.Public, public, "%s: public routes (only) say security: []", rt.Pattern())
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			assert.True(t, served[method+" "+path], "openapi.json describes %s %s, which no route serves", method, path)
		}
	}
	// An added route must be documented too: the table is the one source.
	extra, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: keys.NewMemory(),
		Routes: []api.Route{{Method: "GET", Path: "/v1/example"}}})
	require.NoError(t, err)
	assert.Len(t, extra.Routes(), len(srv.Routes())+1)
}

// TestOpenAPIFile keeps api/openapi.json equal to what openAPIDoc builds (run with -update
// after changing it). The payload schemas come from the domain types by reflection, so a new
// payload field shows up here first.
func TestOpenAPIFile(t *testing.T) {
	b, err := json.MarshalIndent(openAPIDoc(), "", "  ")
	require.NoError(t, err)
	b = append(b, '\n')
	if *update {
		require.NoError(t, os.WriteFile("openapi.json", b, 0o644))
	}
	disk, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	if !bytes.Equal(disk, b) {
		t.Fatalf("api/openapi.json is stale: run go test ./api -run TestOpenAPIFile -update")
	}
	assert.Equal(t, disk, api.OpenAPI(), "the embedded document is the file")
}

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func strS(desc string) obj {
	o := obj{"type": "string"}
	if desc != "" {
		o["description"] = desc
	}
	return o
}

func uuidS(desc string) obj { return with(strS(desc), "format", "uuid") }
func timeS(desc string) obj { return with(strS(desc), "format", "date-time") }
func intS(desc string) obj  { return obj{"type": "integer", "minimum": 0, "description": desc} }
func arrS(items obj) obj    { return obj{"type": "array", "items": items} }
func enumS(vals ...any) obj { return obj{"type": "string", "enum": vals} }
func boolS(desc string) obj { return obj{"type": "boolean", "description": desc} }
func nullable(o obj) obj    { return obj{"oneOf": []any{o, obj{"type": "null"}}} }
func objS(req []string, props obj) obj {
	o := obj{"type": "object", "additionalProperties": false, "properties": props}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// schemaOf derives a JSON schema from a Go type by its json tags.
func schemaOf(t reflect.Type) obj {
	switch t {
	case reflect.TypeOf(uuid.UUID{}):
		return uuidS("")
	case reflect.TypeOf(time.Time{}):
		return timeS("")
	case reflect.TypeOf(domain.Holder{}):
		return ref("Holder")
	case reflect.TypeOf(domain.RecipientContact{}):
		return ref("RecipientContact")
	case reflect.TypeOf(domain.Org("")):
		return ref("Org")
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return strS("")
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Slice:
		return arrS(schemaOf(t.Elem()))
	case reflect.Struct:
		props, req := obj{}, []string{}
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for i := range t.NumField() {
				f := t.Field(i)
				if f.Anonymous && f.Tag.Get("json") == "" {
					walk(f.Type)
					continue
				}
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				props[name] = schemaOf(f.Type)
				if !strings.Contains(opts, "omit") && f.Type.Kind() != reflect.Pointer {
					req = append(req, name)
				}
			}
		}
		walk(t)
		return objS(req, props)
	}
	panic("openapi: no schema for " + t.String())
}

// problemResponses are the problem answers of an operation, by status.
func problems(statuses ...string) obj {
	out := obj{}
	for _, s := range statuses {
		out[s] = obj{"$ref": "#/components/responses/" + s}
	}
	return out
}

func op(id, summary string, body string, ok string, okDesc string, params []any, errs ...string) obj {
	responses := problems(errs...)
	responses[ok] = obj{"description": okDesc, "headers": obj{"X-Request-Id": obj{"$ref": "#/components/headers/X-Request-Id"}},
		"content": obj{"application/json": obj{"schema": ref(body)}}}
	o := obj{"operationId": id, "summary": summary, "responses": responses}
	if len(params) > 0 {
		o["parameters"] = params
	}
	return o
}

func post(id, summary, req, res, desc string, params []any, errs ...string) obj {
	o := op(id, summary, res, "201", desc, params, errs...)
	o["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(req)}}}
	return o
}

func param(name string) obj { return obj{"$ref": "#/components/parameters/" + name} }

func query_(name, desc string) obj {
	return obj{"name": name, "in": "query", "schema": strS(desc)}
}

func public(o obj) obj {
	o["security"] = []any{}
	return o
}

// openAPIDoc is the API's OpenAPI 3.1 document.
func openAPIDoc() obj {
	writeErrs := []string{"400", "401", "403", "404", "409", "413", "415", "422", "503"}
	readErrs := []string{"400", "401", "403", "503"} // 403: outside the key's read scope (README)
	idem := []any{param("Idempotency-Key"), param("X-Request-Id")}
	withID := func(ps ...any) []any { return append([]any{param("id")}, ps...) }

	schemas := obj{
		"Org": obj{"type": "string", "enum": []any{"rags", "gk", "kaspi", "recipient", "ledger", ""},
			"description": "An organisation; empty for the auditor, the commission and the administrator."},
		"Role": obj{"type": "string", "enum": rolesEnum()},
		"Holder": objS([]string{"org"}, obj{"org": ref("Org"), "unit": strS("office, sector, intake point or postomat"),
			"employee_id": strS("who signed")}),
		"Actor": objS([]string{"role", "org"}, obj{"role": ref("Role"), "org": ref("Org"), "unit": strS(""), "employee_id": strS("")}),
		"ActorIn": objS(nil, obj{"org": ref("Org"), "unit": strS("must be the API key's unit"),
			"employee_id": strS("the employee who signs, 1–64 of [A-Za-z0-9._-]")}),
		"RecipientContact": objS([]string{"iin", "phone"}, obj{
			"iin":   strS("personal data: shown unmasked to kaspi_platform and admin only"),
			"phone": strS("personal data: shown unmasked to kaspi_platform and admin only")}),
		"Problem": obj{"type": "object", "description": "RFC 9457 problem details.",
			"required": []any{"type", "title", "status", "detail", "code", "instance", "request_id"},
			"properties": obj{
				"type": strS("urn:custody:problem:<code>"), "title": strS(""), "status": obj{"type": "integer"},
				"detail":          strS("never carries personal data"),
				"code":            enumS(api.CodeMalformed, api.CodeUnauthenticated, api.CodeForbidden, api.CodeNotFound, api.CodeVersionConflict, api.CodeIllegalTransition, api.CodeDuplicateConflict, api.CodeTooLarge, api.CodeUnsupportedMediaType, api.CodeUnavailable, api.CodeMethodNotAllowed, api.CodeInternal),
				"instance":        strS("urn:custody:request:<request id>"),
				"request_id":      strS("the X-Request-Id of the request"),
				"field":           strS("malformed: the request member at fault"),
				"errors":          arrS(objS([]string{"field", "detail"}, obj{"field": strS(""), "detail": strS("")})),
				"state":           strS("illegal_transition: the current state"),
				"allowed":         arrS(strS("an event type accepted now")),
				"current_version": intS("version_conflict: the stream's current version"),
				"event_id":        uuidS("duplicate_conflict: the event id already stored with other content"),
			}},
		"StartDocumentRequest": objS([]string{"type", "occurred_at", "actor", "data"}, obj{
			"event_id":    uuidS("the client's id; else derived from Idempotency-Key"),
			"document_id": uuidS("default: derived from event_id"),
			"type":        enumS("DeliveryRequested", "DocumentIssued"),
			"occurred_at": timeS("RFC 3339 with offset"),
			"actor":       ref("ActorIn"),
			"data":        ref("EventData")}),
		"AppendEventRequest": objS([]string{"type", "occurred_at", "actor", "data"}, obj{
			"event_id":         uuidS("the client's id; else derived from Idempotency-Key"),
			"type":             ref("DocumentEventType"),
			"occurred_at":      timeS("RFC 3339 with offset; never before the stream's last event, at most 2 minutes ahead"),
			"actor":            ref("ActorIn"),
			"data":             ref("EventData"),
			"expected_version": intS("as If-Match")}),
		"DocumentEventType": enumS(eventTypes(domain.EventTypes)...),
		"EventData": obj{"description": "The payload of the event's type: the schema <type>Data.",
			"anyOf": payloadRefs(append(slices.Clone(domain.EventTypes), domain.StreamEventTypes...))},
		"Appended": objS([]string{"document_id", "event_id", "version", "position", "hash"}, obj{
			"document_id": uuidS(""), "event_id": uuidS(""), "version": intS("the stream's version after the event"),
			"position": intS("global position"), "hash": strS("SHA-256 hex of the event in its stream's chain")}),
		"RegistryFormRequest": objS([]string{"kind", "from_unit", "to_unit", "document_ids", "occurred_at"}, obj{
			"event_id":  uuidS("else derived from Idempotency-Key; the registry id derives from it"),
			"kind":      enumS("dispatch", "rags_issuance", "intake_acceptance", "return_collection"),
			"from_unit": strS(""), "to_unit": strS(""), "document_ids": arrS(uuidS("")),
			"occurred_at": timeS(""), "actor": ref("ActorIn")}),
		"HandoverRequest": objS([]string{"occurred_at"}, obj{
			"event_id":    uuidS("else derived from Idempotency-Key"),
			"courier":     objS([]string{"unit"}, obj{"org": ref("Org"), "unit": strS(""), "employee_id": strS("")}),
			"occurred_at": timeS(""), "actor": ref("ActorIn")}),
		"AcceptanceRequest": objS([]string{"occurred_at"}, obj{
			"event_id": uuidS("else derived from Idempotency-Key"),
			"accepted": arrS(uuidS("")), "missing": arrS(uuidS("")), "damaged": arrS(uuidS("")),
			"extra": arrS(uuidS("envelopes not on the registry")), "occurred_at": timeS(""), "actor": ref("ActorIn"),
			"con_address": strS("the ЦОН's address, told to recipients of returned documents (P.34)")}),
		"RegistryResult": objS([]string{"registry_id", "event_id", "version", "position", "hash", "documents"}, obj{
			"registry_id": uuidS(""), "event_id": uuidS(""), "version": intS(""), "position": intS(""), "hash": strS(""),
			"documents": arrS(ref("Appended"))}),
		"ForceMajeureRequest": objS([]string{"from", "to", "description", "evidence", "notified"}, obj{
			"event_id": uuidS("else derived from Idempotency-Key"), "from": timeS(""), "to": timeS(""),
			"orgs":   with(arrS(ref("Org")), "description", "the declaring organisation only (P.37); default it"),
			"region": strS(""), "description": strS(""),
			"evidence": objS([]string{"issuer", "number", "date"}, obj{"issuer": strS("the authorised body (P.38)"),
				"number": strS(""), "date": with(strS("YYYY-MM-DD"), "format", "date")}),
			"notified":      with(arrS(ref("Org")), "description", "the parties notified (P.38)"),
			"notifying_org": ref("Org"), "occurred_at": timeS("the notice; default now"), "actor": ref("ActorIn")}),
		"DisputeRequest": objS([]string{"document_ids", "parties", "subject", "occurred_at"}, obj{
			"event_id": uuidS("else derived from Idempotency-Key"), "document_ids": arrS(uuidS("")),
			"parties": arrS(ref("Org")), "subject": strS(""), "occurred_at": timeS(""), "actor": ref("ActorIn")}),
		"ResolutionRequest": objS([]string{"protocol_number", "decision", "occurred_at"}, obj{
			"event_id": uuidS("else derived from Idempotency-Key"), "protocol_number": strS(""),
			"decision": strS(""), "charged_to": arrS(ref("Org")), "occurred_at": timeS(""), "actor": ref("ActorIn")}),
		"RecordResult": objS([]string{"event_id", "version", "position", "hash"}, obj{
			"force_majeure_id": uuidS(""), "dispute_id": uuidS(""), "event_id": uuidS(""),
			"version": intS(""), "position": intS(""), "hash": strS("")}),
		"Flags": schemaOf(reflect.TypeOf(domain.Flags{})),
		"Deadline": objS([]string{"rule", "source", "started_at", "start_event_id", "charged_to", "breach", "overdue", "holder"}, obj{
			"rule": strS("deadline rule id (DOMAIN.md)"), "source": strS("regulation points"),
			"started_at": timeS(""), "start_event_id": uuidS(""),
			"deadline":      timeS("the deadline that counts, moved by force majeure"),
			"base_deadline": timeS("the deadline by the table alone"),
			"charged_to":    arrS(ref("Org")), "breach": boolS("running out is someone's breach"),
			"overdue": boolS("the deadline has passed"), "holder": ref("Holder"),
			"force_majeure": arrS(uuidS("")), "undetermined": boolS("the deadline cannot be computed")}),
		"Document": objS([]string{"document_id", "state", "version", "holder", "flags", "active_deadlines"}, obj{
			"document_id": uuidS(""), "state": strS("the document's status"), "version": intS(""),
			"method": enumS("postomat", "con"), "application_no": strS(""), "service_code": strS(""), "city": strS(""),
			"postomat_id": strS(""), "cell_id": strS(""), "waybill": strS(""), "certificate": strS(""),
			"holder": nullable(ref("Holder")), "holder_since": timeS(""), "last_occurred_at": timeS(""),
			"placed_at": timeS(""), "recipient": ref("RecipientContact"), "flags": ref("Flags"),
			"lost_from": strS(""), "duplicate_document_id": uuidS(""), "duplicate_of": uuidS(""),
			"active_deadlines": arrS(ref("Deadline")), "as_of": timeS("the moment asked for")}),
		"StoredEvent": objS([]string{"stream_id", "document_id", "event_id", "type", "version", "position", "recorded_at",
			"occurred_at", "hash", "prev_hash", "actor", "data"}, obj{
			"stream_id":   strS("document-<uuid>, registry-<uuid>, forcemajeure-<uuid> or dispute-<uuid>"),
			"document_id": uuidS("the stream's id"), "event_id": uuidS(""), "type": strS(""), "version": intS(""),
			"position": intS(""), "recorded_at": timeS("the store's clock"), "occurred_at": nullable(timeS("")),
			"hash": strS(""), "prev_hash": strS("zeros for a stream's first event"),
			"actor": nullable(ref("Actor")), "data": obj{"type": []any{"object", "null"},
				"description": "EventData, personal data masked per role; null if undecodable or holding a time no answer can carry"}}),
		"EventPage": objS([]string{"events"}, obj{"events": arrS(ref("StoredEvent")),
			"next_cursor": strS("opaque; absent on the last page")}),
		"FeedPage": objS([]string{"events", "next_after", "next_cursor"}, obj{"events": arrS(ref("StoredEvent")),
			"next_after": intS("the position to continue after"), "next_cursor": strS("the same, opaque")}),
		"VerifyReport": objS([]string{"ok", "streams", "events", "checked_at"}, obj{
			"ok": obj{"type": "boolean"}, "streams": intS(""), "events": intS(""), "checked_at": timeS(""),
			"break": objS([]string{"stream_id", "version", "position", "reason"}, obj{
				"stream_id": strS(""), "version": intS(""), "position": intS(""), "reason": strS("")})}),
		"Health": objS([]string{"status"}, obj{"status": strS("")}),
		"Ready": objS([]string{"status", "head"}, obj{"status": strS("ready, or degraded (serving, but see reason)"),
			"head": intS("the last global position"), "reason": strS("why degraded"),
			"quarantined": intS("events the read models skipped (custody projections quarantine)")}),
	}
	for _, t := range append(slices.Clone(domain.EventTypes), domain.StreamEventTypes...) {
		p, err := domain.NewPayload(t)
		if err != nil {
			panic(err)
		}
		s := schemaOf(reflect.TypeOf(p))
		delete(s, "required") // what is required depends on the state; the domain validates
		s["title"] = string(t) + " data"
		if src := domain.SourceOf(t); src != "" {
			s["description"] = src
		}
		schemas[string(t)+"Data"] = s
	}

	// The read models' answers (projections/query), by reflection like the payloads.
	for name, v := range map[string]any{"RegistryList": query.RegistryList{}, "RegistryDetail": query.RegistryDetail{},
		"OverdueList": query.OverdueList{}, "Custody": query.Custody{}, "TransmissionList": query.TransmissionList{}, "LiabilityReport": query.LiabilityReport{},
		"NotificationList": query.NotificationList{}} {
		schemas[name] = schemaOf(reflect.TypeOf(v))
	}

	problemResp := func(desc string) obj {
		return obj{"description": desc, "headers": obj{"X-Request-Id": obj{"$ref": "#/components/headers/X-Request-Id"}},
			"content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
	}
	components := obj{
		"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer",
			"description": "An API key made by `custody keys create --org O --unit U --role R`."}},
		"schemas": schemas,
		"headers": obj{"X-Request-Id": obj{"description": "the request's id, the client's if it sent a plain token",
			"schema": strS("")}},
		"parameters": obj{
			"id":              obj{"name": "id", "in": "path", "required": true, "schema": uuidS("")},
			"Idempotency-Key": obj{"name": "Idempotency-Key", "in": "header", "description": "derives event_id when the body has none (scoped by API key)", "schema": strS("")},
			"If-Match":        obj{"name": "If-Match", "in": "header", "description": `"<version>": append only at this stream version`, "schema": strS("")},
			"X-Request-Id":    obj{"name": "X-Request-Id", "in": "header", "schema": strS("")},
			"cursor":          obj{"name": "cursor", "in": "query", "schema": strS("opaque, from next_cursor")},
			"limit":           obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
			"after":           obj{"name": "after", "in": "query", "schema": obj{"type": "integer", "minimum": 0, "default": 0}},
			"as_of": obj{"name": "as_of", "in": "query", "schema": strS("the state as it was at this moment: RFC 3339 " +
				"with offset; a '+' of the offset left unescaped (which a query reads as a space) is taken as '+'")},
		},
		"responses": obj{
			"400": problemResp("malformed: bad JSON, unknown field, invalid value"),
			"401": problemResp("unauthenticated: no valid API key"),
			"403": problemResp("forbidden: the role may not record this, or acts for another unit, or reads outside its scope"),
			"404": problemResp("not_found"),
			"409": problemResp("version_conflict (with current_version) or duplicate_conflict"),
			"413": problemResp("too_large: the body exceeds the limit"),
			"415": problemResp("unsupported_media_type: the body is not Content-Type application/json, or has a Content-Encoding"),
			"422": problemResp("illegal_transition, with state and allowed"),
			"503": problemResp("unavailable: retry after Retry-After seconds"),
		},
	}

	paths := obj{
		"/v1/documents": obj{"post": post("startDocument", "Start a document's stream with DeliveryRequested (or DocumentIssued for ЦОН delivery)",
			"StartDocumentRequest", "Appended", "created; Location names the document; a retry returns the first answer", idem, writeErrs...)},
		"/v1/documents/{id}/events": obj{
			"post": post("appendEvent", "Append one custody event", "AppendEventRequest", "Appended", "appended, or the first answer to a retry",
				withID(param("If-Match"), param("Idempotency-Key"), param("X-Request-Id")), writeErrs...),
			"get": op("listDocumentEvents", "The document's stream, oldest first", "EventPage", "200", "a page of events",
				withID(param("cursor"), param("limit")), "400", "401", "404", "503")},
		"/v1/documents/{id}": obj{"get": op("getDocument", "Current state, holder, flags and active deadlines (or as of a moment)",
			"Document", "200", "the document", withID(param("as_of")), "400", "401", "404", "503")},
		"/v1/registries": obj{"post": post("formRegistry", "Form a registry; lists it on each document's stream",
			"RegistryFormRequest", "RegistryResult", "formed; Location names the registry", idem, writeErrs...),
			"get": op("listRegistries", "Registries with their lines and reconciliation (read model)", "RegistryList", "200",
				"a page of registries", []any{query_("kind", "dispatch, rags_issuance, intake_acceptance or return_collection"),
					query_("unit", "the giving or receiving unit"), query_("org", "the giving or receiving organisation"),
					query_("date", "YYYY-MM-DD (Almaty) of formation"),
					param("cursor"), param("limit")}, readErrs...)},
		"/v1/registries/{id}": obj{"get": op("getRegistry", "One registry: lines, the state of each, reconciliation of dispatch against acceptance",
			"RegistryDetail", "200", "the registry", withID(), append(readErrs, "404")...)},
		"/v1/overdue": obj{"get": op("listOverdue", "Active documents past a deadline of DOMAIN.md, and statuses undelivered to ИИС ЦОН after the delay, oldest breach first, force majeure applied",
			"OverdueList", "200", "a page of overdue deadlines and late ИИС ЦОН statuses", []any{query_("org", "rags, gk or kaspi: the organisation charged"),
				query_("rule", "a rule id of the deadline table, or iis_con_transmission: statuses still undelivered to ИИС ЦОН after CUSTODY_TRANSMIT_DELAY (Kaspi's, P.9, P.20, P.22(3), P.31)"), query_("unit", "the holder's unit"), param("cursor"), param("limit")}, readErrs...)},
		"/v1/documents/{id}/custody": obj{"get": op("getCustody", "Custody intervals with holders, and liability with its reasons",
			"Custody", "200", "the document's custody", withID(), append(readErrs, "404")...)},
		"/v1/documents/{id}/transmissions": obj{"get": op("listTransmissions",
			"Statuses passed to ИИС ЦОН (P.9, P.20, P.22(3), P.31): delivery state and acknowledgement",
			"TransmissionList", "200", "the document's transmissions", withID(), append(readErrs, "404")...)},
		"/v1/liability": obj{"get": op("getLiability", "Losses and missed deadlines charged to each organisation",
			"LiabilityReport", "200", "charges by organisation", []any{query_("org", "rags, gk or kaspi"),
				query_("from", "RFC 3339 or a date YYYY-MM-DD (midnight in Almaty): charges at or after"),
				query_("to", "RFC 3339 or a date YYYY-MM-DD: charges before"), param("cursor"), param("limit")}, readErrs...)},
		"/v1/notifications": obj{"get": op("listNotifications", "Notifications triggered (P.25, P.27, P.28, P.34) and their delivery status",
			"NotificationList", "200", "a page of notifications (contacts masked)", []any{query_("document_id", "a document's id"),
				query_("status", "pending, delivered, failed or expired"), param("cursor"), param("limit")}, readErrs...)},
		"/v1/registries/{id}/handover": obj{"post": post("handOverRegistry", "Hand the registry to a courier; writes each document's hand-over together",
			"HandoverRequest", "RegistryResult", "handed over", withID(idem...), writeErrs...)},
		"/v1/registries/{id}/acceptance": obj{"post": post("acceptRegistry", "Accept the registry line by line; writes hand-overs and discrepancies together",
			"AcceptanceRequest", "RegistryResult", "accepted", withID(idem...), writeErrs...)},
		"/v1/force-majeure": obj{"post": post("declareForceMajeure", "Declare a force-majeure period (P.37, P.38)",
			"ForceMajeureRequest", "RecordResult", "declared", idem, writeErrs...)},
		"/v1/disputes": obj{"post": post("openDispute", "The commission opens a dispute (P.36)",
			"DisputeRequest", "RecordResult", "opened", idem, writeErrs...)},
		"/v1/disputes/{id}/resolution": obj{"post": post("resolveDispute", "The commission's decision with its protocol number (P.36)",
			"ResolutionRequest", "RecordResult", "resolved", withID(idem...), writeErrs...)},
		"/v1/feed": obj{"get": op("getFeed", "The global log in commit order", "FeedPage", "200", "a page of the log",
			[]any{param("after"), param("cursor"), param("limit")}, "400", "401", "403", "503")},
		"/v1/ledger/verify": obj{"get": op("verifyLedger", "Recompute every stream's hash chain; report the first break",
			"VerifyReport", "200", "the report (ok=false with the break when a chain is broken)", nil, "401", "403", "503")},
		"/healthz": obj{"get": public(op("healthz", "Liveness", "Health", "200", "serving", nil))},
		"/readyz": obj{"get": public(op("readyz", "Readiness: the store answers and the projections are caught up",
			"Ready", "200", "ready", nil, "503"))},
		"/metrics": obj{"get": public(obj{"operationId": "metrics", "summary": "Prometheus metrics",
			"responses": obj{"200": obj{"description": "text exposition format", "content": obj{"text/plain": obj{"schema": strS("")}}}}})},
		"/v1/openapi.json": obj{"get": public(obj{"operationId": "openapi", "summary": "This document",
			"responses": obj{"200": obj{"description": "OpenAPI 3.1", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}})},
	}
	addTransparency(schemas, paths)    // openapi_transparency_test.go
	applicationOpenAPI(schemas, paths) // openapi_applications_test.go
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "custody ledger API", "version": "1",
			"description": "Who holds a paper civil-registration document, since when, and who answers for it. " +
				"Errors are RFC 9457 problem details with a stable code. Times are answered in Asia/Almaty (+05:00). " +
				"Personal data (the recipient's IIN and phone) is shown unmasked to kaspi_platform and admin keys only."},
		"security":   []any{obj{"bearer": []any{}}},
		"paths":      paths,
		"components": components,
	}
}

func rolesEnum() []any {
	out := []any{}
	for _, r := range domain.Roles {
		out = append(out, string(r))
	}
	return append(out, string(domain.RoleSystem))
}

func eventTypes(ts []domain.EventType) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func payloadRefs(ts []domain.EventType) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = ref(string(t) + "Data")
	}
	return out
}
