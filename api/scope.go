package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/query"
)

// Read scopes (issue 10 §7): what each key may read, decided here and only here. Personal data
// is masked apart from this (seesPII).
//
//	overseers   auditor, commission, admin            everything
//	integrators kaspi_platform, iis_con               every document, the feed, every list
//	units       RAGS, GK and Kaspi units              documents their organisation held or recorded
//	                                                  a step of (the Kaspi app's request); overdue,
//	                                                  liability and registries of their organisation;
//	                                                  notifications of such a document
//	recipient   a key bound to a phone or an IIN      their own documents and their notifications
type readScope int

const (
	scopeOverseer readScope = iota
	scopeIntegrator
	scopeUnit
	scopeRecipient
)

func scopeOf(r domain.Role) readScope {
	switch r {
	case domain.RoleAuditor, domain.RoleCommission, domain.RoleAdmin:
		return scopeOverseer
	case domain.RoleKaspiPlatform, domain.RoleIISCON:
		return scopeIntegrator
	case domain.RoleRecipient:
		return scopeRecipient
	}
	return scopeUnit
}

// RecipientUnit is the unit a recipient's key is bound to: a digest of their phone or IIN
// (keys create --recipient), so the key store holds no personal data in the clear.
func RecipientUnit(contact string) string {
	sum := sha256.Sum256([]byte("custody-recipient:" + contact))
	return "rcp-" + hex.EncodeToString(sum[:16])
}

// authorizeRead applies the scope of the request's key to a GET route before its handler
// runs: documents it may not read are 404 (their existence is not told), lists and the feed it
// may not read are 403, and lists it may read in part are narrowed (org set to its own).
func (s *Server) authorizeRead(rt Route, r *http.Request) error {
	k, ok := Caller(r.Context())
	if !ok || rt.Method != http.MethodGet {
		return nil
	}
	sc := scopeOf(k.Role)
	if sc == scopeOverseer || sc == scopeIntegrator {
		return nil
	}
	q := r.URL.Query()
	switch rt.Path {
	case "/v1/documents/{id}", "/v1/documents/{id}/events", "/v1/documents/{id}/custody":
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			return nil // the handler answers a malformed id
		}
		return s.mayReadDocument(r, k, id)
	case "/v1/notifications":
		v := q.Get("document_id")
		if v == "" {
			return forbidden("this key reads the notifications of its documents only: give document_id")
		}
		id, err := uuid.Parse(v)
		if err != nil {
			return nil
		}
		if err := s.mayReadDocument(r, k, id); err != nil && problemOf(err).Status == http.StatusNotFound {
			return forbidden("this key reads the notifications of its own documents only")
		} else if err != nil {
			return err
		}
		return nil
	case "/v1/overdue", "/v1/liability", "/v1/registries":
		if sc == scopeRecipient {
			return forbidden("a recipient's key reads its own documents only")
		}
		if org := q.Get("org"); org != "" && org != string(k.Org) {
			return forbidden("this key reads its own organisation's part only")
		}
		q.Set("org", string(k.Org))
		r.URL.RawQuery = q.Encode()
		return nil
	case "/v1/registries/{id}":
		if sc == scopeRecipient {
			return forbidden("a recipient's key reads its own documents only")
		}
		return nil // the handler checks the registry's ends (mayReadRegistry)
	case "/v1/feed", "/v1/ledger/verify":
		return forbidden("the feed and the ledger's verification are read by integrators and overseers")
	}
	if sc == scopeRecipient {
		return forbidden("a recipient's key reads its own documents only")
	}
	return nil
}

// mayReadDocument: a unit reads the documents its organisation held, holds or recorded a step
// of, a recipient
// the documents addressed to the phone or IIN its key is bound to.
func (s *Server) mayReadDocument(r *http.Request, k keys.Key, id uuid.UUID) error {
	st, stored, err := s.svc.Document(r.Context(), id)
	if err != nil {
		return err
	}
	hidden := notFound("no document " + id.String())
	if scopeOf(k.Role) == scopeRecipient {
		if st.Recipient != nil && k.Unit != "" &&
			(RecipientUnit(st.Recipient.IIN) == k.Unit || RecipientUnit(st.Recipient.Phone) == k.Unit) {
			return nil
		}
		return hidden
	}
	events := make([]domain.Event, len(stored))
	for i, e := range stored {
		events[i] = e.Event
	}
	if OrgReadsDocument(k.Org, events) {
		return nil
	}
	return hidden
}

// ReadsAll reports whether a role reads the whole ledger (overseers and integrators); the
// other roles read their own part. The console (api/console) shares these rules.
func ReadsAll(r domain.Role) bool {
	sc := scopeOf(r)
	return sc == scopeOverseer || sc == scopeIntegrator
}

// OrgReadsDocument: a unit's organisation reads a document it held, holds or recorded a step
// of (the Kaspi app's request included).
func OrgReadsDocument(org domain.Org, events []domain.Event) bool {
	if slices.ContainsFunc(events, func(e domain.Event) bool { return e.Actor.Org == org }) {
		return true
	}
	return slices.ContainsFunc(domain.CustodyIntervals(events), func(iv domain.Interval) bool { return iv.Holder.Org == org })
}

// OrgReadsRegistry: a unit's organisation reads the registries with one end in it.
func OrgReadsRegistry(org domain.Org, r query.Registry) bool {
	return r.From.Org == org || r.To.Org == org
}

// mayReadRegistry: a unit reads the registries with one end in its organisation.
func mayReadRegistry(k keys.Key, d query.RegistryDetail) error {
	if scopeOf(k.Role) != scopeUnit || OrgReadsRegistry(k.Org, d.Registry) {
		return nil
	}
	return notFound("no registry " + d.RegistryID.String())
}
