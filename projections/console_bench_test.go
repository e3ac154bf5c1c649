package projections_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/console"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// BenchmarkConsolePages measures the server time of every console page (and its PDFs) on the
// rebuild benchmark's ledger (about a million events, CUSTODY_BENCH_EVENTS) on SQLite and on
// PostgreSQL, with GET /v1/overdue of the JSON API as the baseline measured in the same run.
// Rounds visit the pages in turn (interleaved, the order rotated each round); each reports
// p50, p95 and p99 in milliseconds per page as the median over the rounds, with the range of
// the p95. With CUSTODY_BENCH_LOCK set to a file, the timed part runs under an exclusive flock
// of it (loading and rebuilding do not), so that benchmarks sharing a machine never measure
// at once.
// Run it alone: go test -run '^$' -bench ConsolePages -benchtime 1x -timeout 60m ./projections/
func BenchmarkConsolePages(b *testing.B) {
	recs := benchLog(b, benchEvents())
	b.Run("sqlite", func(b *testing.B) { consolePages(b, sqliteBackend(b), recs) })
	b.Run("postgres", func(b *testing.B) { consolePages(b, pgBackend(b), recs) })
}

func consolePages(b *testing.B, be backend, recs []eventstore.Record) {
	ctx := context.Background()
	start := time.Now()
	load(b, be.store, recs)
	p := open(b, be, nil, projections.Options{DisableDelivery: true, Logger: slog.New(slog.DiscardHandler)})
	st, err := p.Rebuild(ctx)
	require.NoError(b, err)
	b.Logf("%d events loaded and projected in %s", st.Events, time.Since(start).Round(time.Second))
	q := p.Queries()

	ks := keys.NewMemory()
	secret, _, err := ks.Create(ctx, "", "", domain.RoleAuditor)
	require.NoError(b, err)
	con, err := console.New(console.Config{Keys: ks, Reads: q, Store: be.store, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	srv, err := api.New(api.Config{Service: commands.New(be.store), Keys: ks, ReadModels: q, Console: con,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/console/signin", strings.NewReader(url.Values{"key": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	srv.ServeHTTP(rec, req)
	require.Equal(b, http.StatusSeeOther, rec.Code)
	cookie := rec.Result().Cookies()[0]

	get := func(path string) (int, string) {
		// The aggregates behind the overview and the notifications page, uncached (the pages
		// serve them from a cache refreshed in the background).
		switch path {
		case "query:Overview":
			_, err := q.Overview(ctx)
			return statusOf(err), ""
		case "query:Deliveries":
			_, err := q.Deliveries(ctx)
			return statusOf(err), ""
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookie)
		req.Header.Set("Authorization", "Bearer "+secret)
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	// The pages of one lost document and one registry of the data set.
	lost, err := q.Documents(ctx, query.DocumentFilter{State: string(domain.StatusCancelled), Page: query.Page{Limit: 1}})
	require.NoError(b, err)
	require.NotEmpty(b, lost.Items)
	doc := "/console/documents/" + lost.Items[0].DocumentID.String()
	_, body := get("/console/registries?kind=dispatch")
	m := regexp.MustCompile(`/console/registries/[0-9a-f-]{36}`).FindString(body)
	require.NotEmpty(b, m)
	pages := []string{"/v1/overdue?limit=100", "/console/", "/console/overdue", "/console/overdue?show=soon",
		"/console/overdue?org=kaspi&rule=intake_wait", "/console/registries", m, m + "/registry.pdf", "/console/documents",
		"/console/documents?state=lost", doc, doc + "/case", doc + "/case.pdf", doc + "/loss-act", "/console/liability",
		"/console/disputes", "/console/notifications", "/console/notifications?status=delivered&channel=sms_1414",
		"query:Overview", "query:Deliveries"}
	for _, path := range pages {
		code, body := get(path)
		require.Equal(b, http.StatusOK, code, "%s: %.300s", path, body)
	}

	const rounds, perRound = 3, 20
	times := map[string][][]time.Duration{}
	unlock := benchLock(b)
	defer unlock()
	b.Logf("load average before: %s", loadavg())
	b.ResetTimer()
	for round := range rounds {
		order := slices.Clone(pages)
		for i := range order {
			order[i] = pages[(i+round)%len(pages)]
		}
		for range perRound {
			for _, path := range order {
				t0 := time.Now()
				code, _ := get(path)
				d := time.Since(t0)
				require.Equal(b, http.StatusOK, code, path)
				if len(times[path]) <= round {
					times[path] = append(times[path], nil)
				}
				times[path][round] = append(times[path][round], d)
			}
		}
	}
	b.StopTimer()
	b.Logf("load average after: %s", loadavg())
	unlock()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	base := 0.0
	for _, path := range pages {
		var p50, p95, p99 []float64
		for _, ds := range times[path] {
			slices.Sort(ds)
			p50, p95, p99 = append(p50, ms(pct(ds, 50))), append(p95, ms(pct(ds, 95))), append(p99, ms(pct(ds, 99)))
		}
		med95 := median(p95)
		if base == 0 {
			base = med95
		}
		b.Logf("%-60s p50 %7.1f  p95 %7.1f [%0.1f–%0.1f]  p99 %7.1f ms  p95/baseline %.2f", path, median(p50), med95,
			slices.Min(p95), slices.Max(p95), median(p99), med95/base)
		if med95 > 200 && !strings.HasPrefix(path, "query:") {
			b.Errorf("%s: p95 %.1f ms is over the 200 ms goal", path, med95)
		}
	}
	b.ReportMetric(float64(len(recs)), "events")
}

func statusOf(err error) int {
	if err != nil {
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
