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
//
// The RAGS services' applications (DOMAIN.md, Other services) are RAGS's and GK's business
// only: overseers read them all; RAGS and GK keys (ИИС ЦОН, GK's system, included) the
// applications their organisation held or recorded a step of, and the compliance reports;
// a recipient the applications they filed; Kaspi's keys, the platform included, none (403).
// The verifiable log's checkpoints and proofs carry hashes only: every key reads them. An audit
// bundle carries events: of a document, for whoever reads that document; of a position range,
// for integrators and overseers (like the feed). Personal data in bundles is redacted as the
// API masks it (auditBundle).
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
	switch rt.Path {
	case "/v1/applications/{id}", "/v1/applications/{id}/events", "/v1/applications/{id}/custody":
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			return readsApplications(k) // the handler answers a malformed id
		}
		return s.readApplication(r, k, id)
	case "/v1/audit/bundle":
		return s.authorizeBundle(r, k)
	case "/v1/services/{code}/compliance":
		if sc == scopeRecipient {
			return forbidden("a recipient's key reads its own applications only")
		}
		return readsApplications(k)
	case "/v1/checkpoints/latest", "/v1/checkpoints", "/v1/proofs/inclusion", "/v1/proofs/consistency":
		return nil // hashes only: any key may check the log
	}
	if sc == scopeOverseer || sc == scopeIntegrator {
		return nil
	}
	q := r.URL.Query()
	switch rt.Path {
	case "/v1/documents/{id}", "/v1/documents/{id}/events", "/v1/documents/{id}/custody", "/v1/documents/{id}/transmissions":
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

// readsApplications: the organisations the services of seed 003 involve (RAGS, the provider;
// GK, the ЦОН) and overseers read applications; a recipient reads their own; Kaspi's keys none.
func readsApplications(k keys.Key) error {
	switch {
	case scopeOf(k.Role) == scopeOverseer, scopeOf(k.Role) == scopeRecipient, k.Org == domain.OrgRAGS, k.Org == domain.OrgGK:
		return nil
	}
	return forbidden("the RAGS services' applications are read by RAGS, GK and overseers, not by " + string(k.Org))
}

// ReadsApplications reports whether a key reads the RAGS services' applications and their
// compliance at all (the console shares the rule).
func ReadsApplications(k keys.Key) bool { return readsApplications(k) == nil }

// readApplication is the scope of GET /v1/applications/{id}, which an application's audit
// bundle shares: the organisations that read applications at all, overseers every one.
func (s *Server) readApplication(r *http.Request, k keys.Key, id uuid.UUID) error {
	if err := readsApplications(k); err != nil || scopeOf(k.Role) == scopeOverseer {
		return err
	}
	return s.mayReadApplication(r, k, id)
}

// authorizeBundle: an application's audit bundle is read as the application, a document's as
// the document (integrators read every one, as the feed), a range by integrators and overseers
// only. A malformed scope is answered before anything is looked up.
func (s *Server) authorizeBundle(r *http.Request, k keys.Key) error {
	scope, err := bundleScope(r)
	if err != nil {
		return err
	}
	sc := scopeOf(k.Role)
	switch {
	case scope.Application != nil:
		return s.readApplication(r, k, *scope.Application)
	case sc == scopeOverseer || sc == scopeIntegrator:
		return nil
	case scope.Document != nil:
		return s.mayReadDocument(r, k, *scope.Document)
	}
	return forbidden("a bundle of a position range holds every stream's events: integrators and overseers read it, as the feed; give document or application")
}

// mayReadApplication: RAGS and GK read the applications their organisation held or recorded
// a step of, a recipient the applications filed with the phone or IIN its key is bound to;
// others are 404 (their existence is not told).
func (s *Server) mayReadApplication(r *http.Request, k keys.Key, id uuid.UUID) error {
	a, stored, err := s.svc.Application(r.Context(), id)
	if err != nil {
		return err
	}
	hidden := notFound("no application " + id.String())
	if scopeOf(k.Role) == scopeRecipient {
		if c := a.Applicant; c != nil && k.Unit != "" && (RecipientUnit(c.IIN) == k.Unit || RecipientUnit(c.Phone) == k.Unit) {
			return nil
		}
		return hidden
	}
	events := make([]domain.Event, len(stored))
	for i, e := range stored {
		events[i] = e.Event
	}
	if slices.ContainsFunc(events, func(e domain.Event) bool { return e.Actor.Org == k.Org }) ||
		slices.ContainsFunc(domain.ApplicationIntervals(events), func(iv domain.Interval) bool { return iv.Holder.Org == k.Org }) {
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
