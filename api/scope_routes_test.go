package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// ИИС ЦОН, GK's information system: an integrator of GK's organisation.
func init() {
	parties["iisCon"] = party{domain.RoleIISCON, domain.Holder{Org: domain.OrgGK, Unit: "IIS-CON"}}
}

// TestReadScopesOfApplicationsAndTheLog: every role × every route of the RAGS services and
// of the verifiable log (issue 10 §7, README's table). Applications are RAGS's and GK's
// business: each organisation reads those it took part in (another is 404, its existence not
// told), a recipient those they filed, overseers all, Kaspi's keys none (403 forbidden);
// compliance reports likewise without the recipient. Checkpoints and proofs carry hashes only:
// every key. A document's audit bundle follows the document's scope, an application's the
// application's (the same answer as GET /v1/applications/{id}); a range bundle, the feed's.
func TestReadScopesOfApplicationsAndTheLog(t *testing.T) {
	var (
		st *sqlite.Store
		tl *transparency.Log
	)
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		var err error
		st, err = sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "custody.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		ks, err := keys.NewSQLite(t.Context(), st.DB())
		require.NoError(t, err)
		tl, err = transparency.OpenLog(t.Context(), st.DB(), projections.SQLite)
		require.NoError(t, err)
		return commands.New(st, clock()), ks
	}, func(c *api.Config) { c.Transparency = tl })
	for who, contact := range map[string]string{"recipient": phone, "stranger": "+77019998877"} {
		secret, _, err := e.keys.Create(t.Context(), domain.OrgRecipient, api.RecipientUnit(contact), domain.RoleRecipient)
		require.NoError(t, err)
		e.secrets[who] = secret
	}

	// An A1 application filed at the ЦОН (GK, then RAGS), one registered at the office (RAGS
	// only), a document RAGS, GK and Kaspi took part in, and one only Kaspi's app has touched.
	r := e.created(e.do("POST", "/v1/applications", "gkIss", event("ApplicationAccepted", 0, "gkIss", map[string]any{
		"to": holder("gkIss"), "receipt_no": "R-2026-7", "service_code": "A1", "applicant": applicantData, "city": "Almaty"})))
	viaGK := uuid.MustParse(r.str("document_id"))
	e.created(e.app(viaGK, "gkIss", "ApplicationForwarded", 1, tr(holder("gkIss"), holder("ragsOffice"))))
	office := holder("ragsOffice")
	r = e.created(e.do("POST", "/v1/applications", "ragsOffice", event("ApplicationRegistered", 0, "ragsOffice", map[string]any{
		"registration_no": "REG-7", "service_code": "A3", "channel": "office", "applicant": applicantData, "to": office})))
	atOffice := uuid.MustParse(r.str("document_id"))
	shared, _ := e.packed(70, 0)
	kaspiOnly := e.start(71, 0)
	file, _, err := transparency.GenerateKey("custody.test/log")
	require.NoError(t, err)
	key, err := transparency.ParseKey(file)
	require.NoError(t, err)
	require.NoError(t, transparency.NewSequencer(tl, st, transparency.Options{Key: key}).CatchUp(t.Context()))
	latest, err := tl.Latest(t.Context())
	require.NoError(t, err)
	checkpoint := fmt.Sprintf("/v1/checkpoints?size=%d", latest.Size)

	const (
		ok     = http.StatusOK
		hidden = http.StatusNotFound
		denied = http.StatusForbidden
	)
	type expect struct{ viaGK, atOffice, compliance, log, shared, kaspiOnly, rangeBundle int }
	var (
		overseer = expect{ok, ok, ok, ok, ok, ok, ok}
		rags     = expect{ok, ok, ok, ok, ok, hidden, denied}
		gk       = expect{ok, hidden, ok, ok, ok, hidden, denied}
		kaspi    = expect{denied, denied, denied, ok, ok, ok, denied}
	)
	roles := map[string]expect{
		"auditor": overseer, "commission": overseer, "admin": overseer,
		"platform": {denied, denied, denied, ok, ok, ok, ok},
		"iisCon":   {ok, hidden, ok, ok, ok, ok, ok},
		"rags":     rags, "ragsOffice": rags, "ragsHead": rags, "ragsExec": rags, "ragsOther": rags,
		"gkCourier": gk, "gkAcc": gk, "gkAccAst": gk, "gkIss": gk,
		"kIntake": kaspi, "kCourier": kaspi, "postomat": kaspi,
		"recipient": {ok, ok, denied, ok, ok, ok, denied},
		"stranger":  {hidden, hidden, denied, ok, hidden, hidden, denied},
	}
	var missing []string
	for who := range parties {
		if _, ok := roles[who]; !ok {
			missing = append(missing, who)
		}
	}
	require.Empty(t, missing, "every party's expectations are listed")
	covered := map[domain.Role]bool{}
	app := func(id uuid.UUID) string { return "/v1/applications/" + id.String() }
	bundle := func(id uuid.UUID) string { return "/v1/audit/bundle?document=" + id.String() }
	appBundle := func(id uuid.UUID) string { return "/v1/audit/bundle?application=" + id.String() }
	for who, x := range roles {
		if p, ok := parties[who]; ok {
			covered[p.role] = true
		}
		for _, c := range []struct {
			path   string
			status int
		}{
			{app(viaGK), x.viaGK}, {app(viaGK) + "/events", x.viaGK}, {app(viaGK) + "/custody", x.viaGK},
			{app(atOffice), x.atOffice}, {app(atOffice) + "/events", x.atOffice}, {app(atOffice) + "/custody", x.atOffice},
			{appBundle(viaGK), x.viaGK}, {appBundle(atOffice), x.atOffice},
			{"/v1/services/A1/compliance", x.compliance},
			{"/v1/checkpoints/latest", x.log}, {checkpoint, x.log},
			{"/v1/proofs/inclusion?position=1", x.log}, {"/v1/proofs/consistency?from=1", x.log},
			{bundle(shared), x.shared}, {bundle(kaspiOnly), x.kaspiOnly}, {"/v1/audit/bundle?from=1&to=5", x.rangeBundle},
		} {
			r := e.do("GET", c.path, who, nil)
			if !assert.Equal(t, c.status, r.Status, "%s GET %s: %s", who, c.path, r) {
				continue
			}
			switch c.status {
			case denied:
				assert.Equal(t, api.CodeForbidden, r.str("code"), "%s GET %s", who, c.path)
			case hidden:
				assert.Equal(t, api.CodeNotFound, r.str("code"), "%s GET %s", who, c.path)
			}
		}
	}
	// An application's bundle is refused in the very words of the application's route.
	for who := range roles {
		for _, id := range []uuid.UUID{viaGK, atOffice} {
			a, b := e.do("GET", app(id), who, nil), e.do("GET", appBundle(id), who, nil)
			if assert.Equal(t, a.Status, b.Status, "%s: %s", who, b) && a.Status != ok {
				assert.Equal(t, a.str("code"), b.str("code"), who)
				assert.Equal(t, a.str("detail"), b.str("detail"), who)
			}
		}
	}
	covered[domain.RoleRecipient] = true
	for _, r := range domain.Roles {
		assert.True(t, covered[r], "role %s has a key in the table", r)
	}

	// Personal data stays masked as in the API: an auditor's range bundle redacts the
	// applicant's opening event and the document's request; the administrator's does not.
	data := func(who string) string {
		r := e.do("GET", "/v1/audit/bundle?from=1&to=5", who, nil)
		require.Equal(t, ok, r.Status, "%s", r)
		var b transparency.Bundle
		require.NoError(t, json.Unmarshal(r.Raw, &b))
		var all strings.Builder
		for _, ev := range b.Events {
			all.Write(ev.Data)
		}
		return all.String()
	}
	require.Contains(t, data("admin"), iin, "the range holds both applications' openings and the document's request")
	assert.NotContains(t, data("auditor"), iin)
	assert.NotContains(t, data("auditor"), phone)
	// The applicant's own application: its bundle verifies offline, complete through its
	// stream head, with the opening event (the applicant's IIN and phone) redacted as the API
	// masks it; the administrator's is whole.
	appB := func(who string) (*transparency.Bundle, transparency.Verified) {
		r := e.do("GET", appBundle(viaGK), who, nil)
		require.Equal(t, ok, r.Status, "%s", r)
		assert.NotContains(t, string(r.Raw), phone)
		var b transparency.Bundle
		require.NoError(t, json.Unmarshal(r.Raw, &b))
		got, err := transparency.VerifyBundle(&b, transparency.VerifyOptions{PublicKey: key.Verifier})
		require.NoError(t, err)
		return &b, got
	}
	ab, got := appB("recipient")
	assert.Equal(t, viaGK, *ab.Scope.Application)
	assert.Equal(t, 2, got.Events, "accepted, forwarded")
	assert.Equal(t, uint64(2), got.HeadVersion)
	assert.Equal(t, 1, got.Redacted)
	_, got = appB("admin")
	assert.Zero(t, got.Redacted)
	// The Kaspi platform sees the recipient of a request in the feed, never an applicant.
	feed := e.do("GET", "/v1/feed?limit=5", "platform", nil)
	require.Equal(t, ok, feed.Status, "%s", feed)
	for _, ev := range feed.Body["events"].([]any) {
		x := ev.(map[string]any)
		raw, err := json.Marshal(x["data"])
		require.NoError(t, err)
		if strings.HasPrefix(x["stream_id"].(string), domain.ApplicationPrefix) {
			assert.NotContains(t, string(raw), iin, "%s", x["type"])
		} else if x["type"] == "DeliveryRequested" {
			assert.Contains(t, string(raw), iin)
		}
	}
	v := e.do("GET", app(viaGK), "recipient", nil)
	assert.Equal(t, "**********15", v.Body["applicant"].(map[string]any)["iin"], "the applicant's own view is masked as any")
	assert.Equal(t, "Almaty", v.str("city"))
	assert.True(t, slices.Contains(domain.Roles, domain.RoleIISCON))
}
