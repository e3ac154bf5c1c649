package console

import (
	"errors"
	"slices"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/query"
)

// errForbidden: the viewer's role may not see this page or this record.
var errForbidden = errors.New("console: outside the key's read scope")

// scope is what a viewer may read. Auditors, the commission and administrators read
// everything (API.md); a unit's key reads its organisation's part: the overdue list and the
// liability charged to it, the registries with one end in it and the documents it held. The
// recipient, the postomat, the Kaspi platform and ИИС ЦОН are integrations with no console.
type scope struct {
	All bool
	Org domain.Org
}

func scopeOf(k keys.Key) (scope, bool) {
	switch k.Role {
	case domain.RoleAuditor, domain.RoleCommission, domain.RoleAdmin:
		return scope{All: true}, true
	case domain.RoleRAGS, domain.RoleGKCourier, domain.RoleGKAccumulation, domain.RoleGKIssuance,
		domain.RoleKaspiIntake, domain.RoleKaspiCourier:
		return scope{Org: k.Org}, k.Org != ""
	}
	return scope{}, false
}

// orgFilter is the organisation a list must be narrowed to ("" for everything); a viewer
// narrowed to an organisation cannot widen it through the query string.
func (s scope) orgFilter(asked string) string {
	if s.All {
		return asked
	}
	return string(s.Org)
}

// registry reports whether a registry is in scope: one of its ends is the organisation.
func (s scope) registry(r query.Registry) bool {
	return s.All || r.From.Org == s.Org || r.To.Org == s.Org || (r.Courier != nil && r.Courier.Org == s.Org)
}

// document reports whether a document is in scope: the organisation held it at some time.
func (s scope) document(c query.Custody) bool {
	return s.All || slices.ContainsFunc(c.Intervals, func(iv query.Interval) bool { return iv.Holder.Org == s.Org })
}
