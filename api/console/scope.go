package console

import (
	"errors"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/query"
)

// errForbidden: the viewer's role may not see this page or this record.
var errForbidden = errors.New("console: outside the key's read scope")

// scope is what a viewer may read: the API's read scopes (api/scope.go). Overseers (auditor,
// commission, admin) read everything; a unit's key reads its organisation's part: the overdue
// list and liability charged to it, the registries with an end in it, the documents it held or
// recorded a step of. Integrations (the Kaspi platform, ИИС ЦОН, postomats) and recipients have
// no console.
type scope struct {
	All bool
	Org domain.Org
}

func scopeOf(k keys.Key) (scope, bool) {
	switch k.Role {
	case domain.RoleKaspiPlatform, domain.RoleIISCON, domain.RolePostomat, domain.RoleRecipient:
		return scope{}, false
	}
	if api.ReadsAll(k.Role) {
		return scope{All: true}, true
	}
	return scope{Org: k.Org}, k.Org != ""
}

// orgFilter is the organisation a list must be narrowed to ("" for everything); a viewer
// narrowed to an organisation cannot widen it through the query string.
func (s scope) orgFilter(asked string) string {
	if s.All {
		return asked
	}
	return string(s.Org)
}

// ReadsApplications: the services page is for the keys that read applications (api/scope.go).
func (v viewer) ReadsApplications() bool { return api.ReadsApplications(v.Key) }

func (s scope) registry(r query.Registry) bool { return s.All || api.OrgReadsRegistry(s.Org, r) }

func (s scope) document(events []domain.Event) bool {
	return s.All || api.OrgReadsDocument(s.Org, events)
}
