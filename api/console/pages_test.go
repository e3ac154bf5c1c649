package console_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/projections/query"
	"github.com/custody-ledger/custody/projections/transparency"
)

var firstLink = func(prefix string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(prefix) + `([0-9a-f-]{36})`)
}

// TestEveryPageRenders opens every page as the auditor on the demo data set and checks what
// each shows against the read models.
func TestEveryPageRenders(t *testing.T) {
	f := newFixture(t)
	require.Positive(t, f.sum.Lost, "the demo data set has a lost document")
	ctx := context.Background()
	b := newBrowser(t, f.con, false)
	b.signIn(f.secrets[domain.RoleAuditor], "/console/")

	res, body := b.get("/console/")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	o, err := f.q.Overview(ctx)
	require.NoError(t, err)
	var overdue int
	for cursor := ""; ; {
		page, err := f.q.Overdue(ctx, query.OverdueFilter{Page: query.Page{Cursor: cursor, Limit: 1000}})
		require.NoError(t, err)
		overdue += len(page.Items)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	assert.Equal(t, int64(overdue), o.Overdue, "the overview counts the overdue list's rows")
	assert.Contains(t, body, `id="n-overdue" href="/console/overdue">`+strconv.Itoa(overdue)+`<`)
	// Applications of seed 003 share the documents read model (docs/services.md).
	assert.Contains(t, body, `id="n-documents" href="/console/documents">`+strconv.Itoa(f.sum.Documents+f.sum.Applications)+`<`)
	assert.Contains(t, body, "<svg class=\"chart\"", "charts drawn on the server")

	for _, p := range []string{"/console/overdue", "/console/overdue?show=soon", "/console/overdue?region=Almaty",
		"/console/registries", "/console/documents", "/console/documents?state=cancelled", "/console/liability",
		"/console/disputes", "/console/notifications", "/console/notifications?channel=sms_1414", "/console/services"} {
		res, body := b.get(p)
		assert.Equal(t, http.StatusOK, res.StatusCode, p)
		assert.NotContains(t, body, "error.", p)
	}
	_, body = b.get("/console/overdue")
	assert.Equal(t, min(overdue, 100), rowCount(body, "overdue"))

	// The lost document: its page, case file, loss act and their PDFs.
	_, body = b.get("/console/documents?state=cancelled")
	m := firstLink("/console/documents/").FindStringSubmatch(body)
	require.NotNil(t, m, "a cancelled (lost) document is listed")
	doc := "/console/documents/" + m[1]
	res, body = b.get(doc)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "<svg class=\"timeline\"")
	assert.Contains(t, body, "✔", "the document's chain verifies")
	assert.Contains(t, body, `href="`+doc+`/loss-act"`)
	res, body = b.get(doc + "/case")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Positive(t, rowCount(body, "case-registries"), "the case file lists the registries the document was on")
	assert.Contains(t, body, "DocumentLost")
	assert.Contains(t, body, "PR-7: GK answers for the envelope", "the case file carries the dispute's decision")
	verifyProofs(t, body)
	_, disputes := b.get("/console/disputes")
	assert.Equal(t, 1, rowCount(disputes, "disputes"))
	assert.Contains(t, disputes, `href="`+doc+`/case"`)
	res, body = b.get(doc + "/loss-act")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "ACT-")
	for _, p := range []string{doc + "/case.pdf", doc + "/loss-act.pdf"} {
		res, body := b.get(p)
		require.Equal(t, http.StatusOK, res.StatusCode, p)
		assert.Equal(t, "application/pdf", res.Header.Get("Content-Type"))
		assert.True(t, strings.HasPrefix(body, "%PDF-"), p)
	}

	_, body = b.get("/console/registries")
	m = firstLink("/console/registries/").FindStringSubmatch(body)
	require.NotNil(t, m)
	reg := "/console/registries/" + m[1]
	for _, p := range []string{reg, reg + "/print"} {
		res, body := b.get(p)
		require.Equal(t, http.StatusOK, res.StatusCode, p)
		assert.Regexp(t, `id="ledger-hash">[0-9a-f]{64}<`, body, "the form carries the ledger's hash")
	}
	res, body = b.get(reg + "/registry.pdf")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, strings.HasPrefix(body, "%PDF-"))

	for _, p := range []string{"/console/documents/not-a-uuid", "/console/registries/00000000-0000-0000-0000-000000000001", "/console/nowhere"} {
		res, _ := b.get(p)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, p)
	}
	for _, p := range []string{"/console/overdue?org=bank", "/console/overdue?show=never", "/console/liability?from=yesterday"} {
		res, _ := b.get(p)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, p)
	}
}

var (
	rootRE  = regexp.MustCompile(`(?s)<dt>[^<]*</dt><dd class="mono">([0-9a-f]{64})</dd>`)
	sizeRE  = regexp.MustCompile(`id="checkpoint">\s*<dt>[^<]*</dt><dd>[^·]*· [^0-9]*([0-9]+) ·`)
	proofRE = regexp.MustCompile(`(?s)<tr><td class="mono"><a href="#e-([0-9a-f-]{36})">[^<]*</a></td><td>([0-9]+)</td><td>([0-9]+)</td><td class="mono"><details><summary>[0-9]+ SHA-256</summary>(.*?)</details>`)
	hexRE   = regexp.MustCompile(`[0-9a-f]{64}`)
)

// verifyProofs checks every inclusion proof a case file shows against the checkpoint's root
// it shows, with the leaf hashes of the stored events: what an auditor would do offline.
func verifyProofs(t *testing.T, body string) {
	t.Helper()
	f := newFixture(t)
	require.Contains(t, body, `id="proofs"`, "the case file carries inclusion proofs")
	root := rootRE.FindStringSubmatch(body[strings.Index(body, `id="checkpoint"`):])
	require.NotNil(t, root)
	rootHash, _ := hex.DecodeString(root[1])
	size := sizeRE.FindStringSubmatch(body)
	require.NotNil(t, size)
	n, _ := strconv.ParseUint(size[1], 10, 64)
	recs, err := f.store.ReadAll(context.Background(), 0, 0)
	require.NoError(t, err)
	rows := proofRE.FindAllStringSubmatch(body, -1)
	require.NotEmpty(t, rows)
	for _, row := range rows {
		pos, _ := strconv.ParseUint(row[2], 10, 64)
		idx, _ := strconv.ParseUint(row[3], 10, 64)
		var hashes [][]byte
		for _, h := range hexRE.FindAllString(row[4], -1) {
			b, _ := hex.DecodeString(h)
			hashes = append(hashes, b)
		}
		rec := recs[pos-1]
		require.Equal(t, row[1], rec.EventID.String())
		assert.NoError(t, proof.VerifyInclusion(rfc6962.DefaultHasher, idx, n, transparency.LeafHash(&rec), hashes, rootHash),
			"event %s at position %d", row[1], pos)
	}
}

// TestServicesPageShowsCompliance: the services page shows, per runnable service of the
// catalogue, the compliance report the API answers for the same period, with labelled steps.
func TestServicesPageShowsCompliance(t *testing.T) {
	f := newFixture(t)
	require.Positive(t, f.sum.Applications, "the demo data set has applications")
	ctx := context.Background()
	b := newBrowser(t, f.con, false)
	b.signIn(f.secrets[domain.RoleAuditor], "/console/")

	_, body := b.get("/console/")
	assert.Contains(t, body, `href="/console/services"`, "linked from the navigation")

	res, body := b.get("/console/services")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	// The default period: the 30 days up to the fixture's now (2026-12-07).
	assert.Contains(t, body, `name="from" value="2026-11-07"`)
	assert.Contains(t, body, `name="to" value="2026-12-07"`)
	from := time.Date(2026, 11, 7, 0, 0, 0, 0, domain.Almaty)
	to := time.Date(2026, 12, 8, 0, 0, 0, 0, domain.Almaty)
	steps := 0
	for _, s := range catalogue.Default().Services() {
		if !s.Runnable() {
			assert.NotContains(t, body, `id="compliance-`+s.Code+`"`, "the pilot's service runs as documents")
			continue
		}
		rep, err := f.q.Compliance(ctx, query.ComplianceFilter{Service: s.Code, From: from, To: to})
		require.NoError(t, err)
		table := regexp.MustCompile(`(?s)<table id="compliance-` + regexp.QuoteMeta(s.Code) + `">.*?</table>`).FindString(body)
		require.NotEmpty(t, table, s.Code)
		assert.Equal(t, len(rep.Steps), strings.Count(table, `<tr id="step-`), s.Code)
		for _, st := range rep.Steps {
			steps++
			row := regexp.MustCompile(`<tr id="step-` + regexp.QuoteMeta(s.Code) + `-` + string(st.Step) + `">.*?</tr>`).FindString(body)
			require.NotEmpty(t, row, "%s %s", s.Code, st.Step)
			assert.NotContains(t, row, "rule.", "the step is labelled")
			assert.Contains(t, row, "<td>"+strconv.Itoa(st.Started)+"</td><td>"+strconv.Itoa(st.Completed)+"</td>")
			assert.Contains(t, row, `class="breaches">`, row)
			if st.Breaches > 0 {
				assert.Contains(t, row, `<span class="err">`+strconv.Itoa(st.Breaches)+`</span>`)
			}
		}
	}
	require.Positive(t, steps, "the demo's applications have steps in the period")

	// A period before the demo's data: no steps; a bad date is refused.
	_, body = b.get("/console/services?from=2020-01-01&to=2020-01-31")
	assert.NotContains(t, body, `<tr id="step-`)
	res, _ = b.get("/console/services?from=yesterday")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	res, _ = b.get("/console/services?from=2026-12-01&to=2026-11-01")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
}
