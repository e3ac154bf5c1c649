package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// TestTransparencyRoutes: checkpoints, inclusion and consistency proofs that verify against
// them, and audit bundles that verify offline, for any role that reads; personal data is
// redacted from bundles for roles that may not see it; without the log the routes answer 503.
func TestTransparencyRoutes(t *testing.T) {
	var (
		st  *sqlite.Store
		tl  *transparency.Log
		key *transparency.Key
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

	r := e.do("GET", "/v1/checkpoints/latest", "auditor", nil)
	e.problem(r, http.StatusNotFound, api.CodeNotFound) // no checkpoint yet

	doc, _ := e.packed(1, 0)
	e.start(2, 1)
	file, _, err := transparency.GenerateKey("custody.test/log")
	require.NoError(t, err)
	key, err = transparency.ParseKey(file)
	require.NoError(t, err)
	seq := transparency.NewSequencer(tl, st, transparency.Options{Key: key})
	require.NoError(t, seq.CatchUp(t.Context()))
	first, err := tl.Latest(t.Context())
	require.NoError(t, err)
	e.start(3, 2)
	require.NoError(t, seq.CatchUp(t.Context()))

	for _, who := range []string{"auditor", "commission", "gkCourier", "postomat"} {
		r = e.do("GET", "/v1/checkpoints/latest", who, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", who, r)
	}
	var cp struct {
		Size uint64 `json:"size"`
		Root []byte `json:"root"`
		Note string `json:"note"`
	}
	require.NoError(t, json.Unmarshal(r.Raw, &cp))
	opened, err := transparency.Open([]byte(cp.Note), key.Verifier)
	require.NoError(t, err)
	assert.Equal(t, cp.Size, opened.Size)
	assert.Equal(t, uint64(9), cp.Size)
	assert.Equal(t, opened.Root, cp.Root)

	r = e.do("GET", fmt.Sprintf("/v1/checkpoints?size=%d", first.Size), "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	e.problem(e.do("GET", "/v1/checkpoints?size=3", "auditor", nil), http.StatusNotFound, api.CodeNotFound)
	e.problem(e.do("GET", "/v1/checkpoints?size=x", "auditor", nil), http.StatusBadRequest, api.CodeMalformed)
	e.problem(e.do("GET", "/v1/checkpoints/latest", "", nil), http.StatusUnauthorized, api.CodeUnauthenticated)

	// Inclusion of the document's third event (position 3) in the latest tree.
	var p struct {
		Index  uint64   `json:"index"`
		Size   uint64   `json:"size"`
		Hashes [][]byte `json:"hashes"`
	}
	r = e.do("GET", "/v1/proofs/inclusion?position=3", "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	require.NoError(t, json.Unmarshal(r.Raw, &p))
	recs, err := st.ReadAll(t.Context(), 2, 1)
	require.NoError(t, err)
	assert.NoError(t, proof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, p.Size, transparency.LeafHash(&recs[0]), p.Hashes, cp.Root))
	e.problem(e.do("GET", "/v1/proofs/inclusion?position=999", "auditor", nil), http.StatusNotFound, api.CodeNotFound)
	e.problem(e.do("GET", "/v1/proofs/inclusion", "auditor", nil), http.StatusBadRequest, api.CodeMalformed)

	r = e.do("GET", fmt.Sprintf("/v1/proofs/consistency?from=%d", first.Size), "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	require.NoError(t, json.Unmarshal(r.Raw, &p))
	assert.NoError(t, proof.VerifyConsistency(rfc6962.DefaultHasher, first.Size, cp.Size, p.Hashes, first.Root, cp.Root))
	e.problem(e.do("GET", "/v1/proofs/consistency?from=5&to=4", "auditor", nil), http.StatusBadRequest, api.CodeMalformed)
	e.problem(e.do("GET", "/v1/proofs/consistency?from=1&to=99", "auditor", nil), http.StatusNotFound, api.CodeNotFound)

	// Bundles: the auditor's has the request (with the recipient's IIN) redacted; the
	// administrator's is whole. Both verify offline.
	bundle := func(who, query string) *transparency.Bundle {
		r := e.do("GET", "/v1/audit/bundle?"+query, who, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r)
		var b transparency.Bundle
		require.NoError(t, json.Unmarshal(r.Raw, &b))
		return &b
	}
	b := bundle("auditor", fmt.Sprintf("document=%s&since=%d", doc, first.Size))
	for _, ev := range b.Events {
		assert.NotContains(t, string(ev.Data), iin, "position %d", ev.Position)
	}
	got, err := transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: key.Verifier, Earlier: [][]byte{first.Note}})
	require.NoError(t, err)
	assert.Equal(t, 7, got.Events)
	assert.Equal(t, 1, got.Redacted)
	assert.Equal(t, []uint64{first.Size}, got.ExtendsSizes)
	b = bundle("admin", "document="+doc.String())
	got, err = transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: key.Verifier})
	require.NoError(t, err)
	assert.Zero(t, got.Redacted)
	assert.True(t, strings.Contains(string(b.Events[0].Data), iin))
	b = bundle("auditor", "from=2&to=8")
	_, err = transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: key.Verifier})
	require.NoError(t, err)
	e.problem(e.do("GET", "/v1/audit/bundle?from=1&to=100000", "auditor", nil), http.StatusBadRequest, api.CodeMalformed)
	e.problem(e.do("GET", "/v1/audit/bundle?document="+uuid.NewString(), "auditor", nil), http.StatusNotFound, api.CodeNotFound)
	e.problem(e.do("GET", "/v1/audit/bundle?application="+uuid.NewString(), "auditor", nil), http.StatusNotFound, api.CodeNotFound)
	// One of document, application or a range: two at once are malformed, for every role.
	for _, q := range []string{"document=" + doc.String() + "&application=" + uuid.NewString(),
		"document=" + doc.String() + "&from=1&to=3", "application=" + uuid.NewString() + "&to=3", "application=x"} {
		for _, who := range []string{"auditor", "gkCourier"} {
			e.problem(e.do("GET", "/v1/audit/bundle?"+q, who, nil), http.StatusBadRequest, api.CodeMalformed)
		}
	}

	// Without the log, 503.
	plain := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		return commands.New(st, clock()), keys.NewMemory()
	})
	plain.problem(plain.do("GET", "/v1/proofs/consistency?from=1", "auditor", nil), http.StatusServiceUnavailable, api.CodeUnavailable)
}
