package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api/apitest"
)

// TestCheckCatchesDrift: the check fails on answers and requests the document does not
// describe, so the suite's passing means something.
func TestCheckCatchesDrift(t *testing.T) {
	c, err := apitest.Load()
	require.NoError(t, err)
	json := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	get := func(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }
	okProblem := `{"type":"urn:custody:problem:not_found","title":"Not Found","status":404,"detail":"no such document","code":"not_found","instance":"urn:custody:request:x","request_id":"x"}`
	doc := "/v1/documents/0b0c1a52-6f7e-4a57-9f0e-5a4d0e1f2a01"
	for _, tc := range []struct {
		name  string
		x     apitest.Exchange
		drift string // "" means the exchange is as documented
	}{
		{"documented problem", apitest.Exchange{Request: get(doc), Status: 404, Header: problem, Body: []byte(okProblem)}, ""},
		{"undocumented status", apitest.Exchange{Request: get(doc), Status: 418, Header: problem, Body: []byte(okProblem)}, "418"},
		{"a required member missing", apitest.Exchange{Request: get(doc), Status: 200, Header: json,
			Body: []byte(`{"document_id":"0b0c1a52-6f7e-4a57-9f0e-5a4d0e1f2a01"}`)}, "state"},
		{"a member of the wrong type", apitest.Exchange{Request: get("/v1/feed"), Status: 200, Header: json,
			Body: []byte(`{"events":"none","next_after":1,"next_cursor":"x"}`)}, "events"},
		{"an undocumented path answered 200", apitest.Exchange{Request: get("/v1/coffee"), Status: 200, Header: json,
			Body: []byte(`{}`)}, "no documented operation"},
		{"a refused request answered 200", apitest.Exchange{Request: get("/v1/feed?limit=5000"), Status: 200, Header: json,
			Body: []byte(`{"events":[],"next_after":1,"next_cursor":"x"}`)}, "limit"},
		{"a refused request answered 400", apitest.Exchange{Request: get("/v1/feed?limit=5000"), Status: 400, Header: problem,
			Body: []byte(strings.ReplaceAll(strings.ReplaceAll(okProblem, "404", "400"), "not_found", "malformed"))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(t.Context(), tc.x)
			if tc.drift == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.drift)
		})
	}
}
