package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/query"
)

// TestReadScopes: each role reads what its work needs (issue 10 §7, README's table):
// recipients their own documents, units their organisation's, integrators and overseers all.
func TestReadScopes(t *testing.T) {
	e := newEnv(t, memoryService)
	for who, contact := range map[string]string{"recipient": phone, "stranger": "+77019998877"} {
		secret, _, err := e.keys.Create(t.Context(), domain.OrgRecipient, api.RecipientUnit(contact), domain.RoleRecipient)
		require.NoError(t, err)
		e.secrets[who] = secret
	}
	secret, _, err := e.keys.Create(t.Context(), domain.OrgRecipient, api.RecipientUnit(iin), domain.RoleRecipient)
	require.NoError(t, err)
	e.secrets["recipientByIIN"] = secret

	shared, _ := e.packed(60, 0) // RAGS, GK and Kaspi each took part
	kaspiOnly := e.start(61, 0)  // only the Kaspi app's request so far
	doc := func(id string) string { return "/v1/documents/" + id }
	for _, tc := range []struct {
		who, path string
		status    int
	}{
		{"recipient", doc(shared.String()), 200},
		{"recipientByIIN", doc(shared.String()) + "/events", 200},
		{"recipient", doc(shared.String()) + "/custody", 200},
		{"recipient", "/v1/notifications?document_id=" + shared.String(), 200},
		{"stranger", doc(shared.String()), 404},
		{"stranger", "/v1/notifications?document_id=" + shared.String(), 403},
		{"recipient", "/v1/notifications", 403},
		{"recipient", "/v1/feed", 403},
		{"recipient", "/v1/overdue", 403},
		{"recipient", "/v1/registries", 403},
		{"recipient", "/v1/ledger/verify", 403},

		{"gkAcc", doc(shared.String()), 200},
		{"gkAcc", doc(kaspiOnly.String()), 404},
		{"rags", doc(kaspiOnly.String()) + "/events", 404},
		{"kCourier", doc(kaspiOnly.String()), 200},
		{"gkAcc", "/v1/feed", 403},
		{"gkAcc", "/v1/ledger/verify", 403},
		{"gkAcc", "/v1/overdue?org=kaspi", 403},
		{"gkAcc", "/v1/liability?org=rags", 403},
		{"gkAcc", "/v1/notifications", 403},
		{"gkAcc", "/v1/notifications?document_id=" + shared.String(), 200},

		{"platform", "/v1/feed", 200},
		{"platform", doc(kaspiOnly.String()), 200},
		{"auditor", "/v1/feed", 200},
		{"commission", "/v1/overdue", 200},
		{"admin", "/v1/notifications", 200},
	} {
		r := e.do("GET", tc.path, tc.who, nil)
		assert.Equal(t, tc.status, r.Status, "%s %s: %s", tc.who, tc.path, r)
	}

	// Lists a unit may read are narrowed to its organisation.
	r := e.do("GET", "/v1/overdue", "gkAcc", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	require.NotEmpty(t, r.Body["items"], "P.10: the Kaspi order's clock (charged to GK) ran out a week ago")
	for _, x := range r.Body["items"].([]any) {
		assert.Equal(t, "gk", x.(map[string]any)["org"])
	}
	// Kaspi reads its own: the statuses it has not passed to ИИС ЦОН (P.9), none of GK's clocks.
	r = e.do("GET", "/v1/overdue", "kIntake", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	require.NotEmpty(t, r.Body["items"], "P.9: the order's status is still undelivered to ИИС ЦОН")
	for _, x := range r.Body["items"].([]any) {
		o := x.(map[string]any)
		assert.Equal(t, "kaspi", o["org"], "GK's overdue clocks are not Kaspi's to read")
		assert.Equal(t, query.RuleTransmission, o["rule"])
	}
}
