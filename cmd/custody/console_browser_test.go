package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds a Chromium to drive; "" when none is installed.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// outputDir is test-output/console at the module root (git-ignored): screenshots and PDFs.
func outputDir(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := filepath.Join(root, "test-output", "console")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestConsoleInBrowser builds the binary, loads the demo data set, serves it and opens the
// console in headless Chromium as a person would: it signs in, opens every page at a desktop
// and a phone width, checks that what a page shows equals what the API answers, that no page
// logs a console error or overflows horizontally, saves a screenshot of each page, and reads a
// registry's and a case file's PDF with pdftotext.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary and a browser")
	}
	browserPath := chromium()
	if browserPath == "" {
		if os.Getenv("CUSTODY_REQUIRE_BROWSER") == "1" {
			t.Fatal("CUSTODY_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install -y chromium poppler-utils)")
		}
		t.Skip("no chromium installed: the console's browser test is skipped (apt-get install -y chromium poppler-utils; CUSTODY_REQUIRE_BROWSER=1 makes this a failure)")
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil && os.Getenv("CUSTODY_REQUIRE_BROWSER") == "1" {
		t.Fatal("CUSTODY_REQUIRE_BROWSER=1 but pdftotext (poppler-utils) is missing")
	}
	out := outputDir(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "custody")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "go build")
	store := "sqlite:" + filepath.Join(dir, "custody.db")
	demoOut, err := exec.Command(bin, "demo", "--store", store, "--documents", "300").Output()
	require.NoError(t, err, "custody demo")
	keys := map[string]string{}
	for _, line := range strings.Split(string(demoOut), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[len(f)-1], "ck_") {
			keys[f[0]] = f[len(f)-1]
		}
	}
	require.Contains(t, keys, "auditor", "demo prints the keys:\n%s", demoOut)
	// A checkpoint key, so that the case file can show inclusion proofs against a signed checkpoint.
	ckey := filepath.Join(dir, "checkpoint.key")
	require.NoError(t, exec.Command(bin, "keys", "checkpoint", "--out", ckey).Run())
	t.Setenv("CUSTODY_CHECKPOINT_KEY", ckey)
	srv := startServer(t, bin, store)
	waitReady(t, srv.url, "ready")
	api := apiClient{t: t, base: srv.url, key: keys["auditor"]}
	api.waitFor("/v1/checkpoints/latest")

	allocOpts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(browserPath), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true)}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	defer cancelAlloc()
	var (
		mu       sync.Mutex
		problems []string
	)
	// Errors and warnings of the page's console, uncaught exceptions, and the browser's own log
	// (a blocked load or a Content-Security-Policy violation is reported there).
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, fmt.Sprintf("console %s: %s", e.Type, argsText(e.Args)))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL))
			}
		}
	}))
	defer cancel()
	b := &chrome{t: t, ctx: ctx}
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return err
	}))

	// Sign in as the auditor.
	b.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="key"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="key"]`), keys["auditor"]),
		chromedp.Submit(chromedp.CSS(`input[name="key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#n-overdue`)))
	assert.Equal(t, srv.url+"/console/", b.location())
	// Ready allows a small lag, and the overview's counts are cached for up to 10 s, so the page
	// and the API are compared once both have caught up: the same answer twice in a row.
	var apiOverdue int
	shown := ""
	for range 120 {
		n := api.overdueCount()
		b.do(chromedp.Navigate(srv.url + "/console/"))
		shown = b.text("#n-overdue")
		if shown == strconv.Itoa(n) && api.overdueCount() == n {
			apiOverdue = n
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assert.Equal(t, strconv.Itoa(apiOverdue), shown, "the overview's overdue count is the API's")
	b.do(chromedp.Navigate(srv.url + "/console/overdue"))
	assert.Equal(t, strconv.Itoa(min(apiOverdue, 100)), b.text("#overdue-rows"), "the overdue page lists the API's rows")

	// The pages: the lost document and a registry are found through the console's own links.
	lost := b.firstHref(srv.url+"/console/documents?state=cancelled", `#documents a[href^="/console/documents/"]`)
	registry := b.firstHref(srv.url+"/console/registries?kind=dispatch", `#registries a[href^="/console/registries/"]`)
	pages := []struct{ name, path string }{
		{"overview", "/console/"},
		{"overdue", "/console/overdue"},
		{"overdue-soon", "/console/overdue?show=soon"},
		{"registries", "/console/registries"},
		{"registry", registry},
		{"registry-print", registry + "/print"},
		{"documents", "/console/documents"},
		{"document", lost},
		{"case-file", lost + "/case"},
		{"loss-act", lost + "/loss-act"},
		{"liability", "/console/liability"},
		{"disputes", "/console/disputes"},
		{"notifications", "/console/notifications"},
		{"services", "/console/services"},
	}
	for _, vp := range []struct{ w, h int64 }{{1280, 800}, {390, 844}} {
		for _, p := range pages {
			b.do(chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(srv.url+p.path), chromedp.WaitReady(chromedp.CSS("main")))
			title, err := chromedp.Run(ctx, chromedp.Title())
			require.NoError(t, err)
			assert.NotContains(t, title, "Ошибка", p.path)
			overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			require.NoError(t, err)
			assert.False(t, overflow, "%s at %d px overflows horizontally", p.name, vp.w)
			b.screenshot(filepath.Join(out, fmt.Sprintf("%s-%d.png", p.name, vp.w)))
		}
	}
	// The services page shows the API's compliance report for the period it names.
	b.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.url+"/console/services"))
	from, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="from"]`)))
	require.NoError(t, err)
	last, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="to"]`)))
	require.NoError(t, err)
	lastDay, err := time.Parse(time.DateOnly, last)
	require.NoError(t, err)
	var rep struct {
		Steps []struct {
			Started int `json:"started"`
		} `json:"steps"`
	}
	api.get("/v1/services/restoration/compliance?from="+from+"&to="+lastDay.AddDate(0, 0, 1).Format(time.DateOnly), &rep)
	started := 0
	for _, st := range rep.Steps {
		started += st.Started
	}
	require.NotEmpty(t, rep.Steps, "the demo's restoration applications ran steps in the last 30 days")
	shownStarted, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll('#compliance-restoration tbody tr[id] td:nth-child(3)')].reduce((n, td) => n + Number(td.textContent), 0)`))
	require.NoError(t, err)
	assert.Equal(t, started, shownStarted, "the services page counts the API's steps")

	b.do(chromedp.Navigate(srv.url + lost))
	assert.Contains(t, b.text("#chain"), "✔", "the lost document's hash chain verifies")
	b.do(chromedp.Navigate(srv.url + lost + "/case"))
	assert.Contains(t, b.text("#checkpoint"), "custody.ledger/log", "the case file names the signed checkpoint")
	assert.Contains(t, b.text("#proofs"), "SHA-256", "and each event's inclusion proof")

	// Kazakh: the switch changes the language and keeps the page.
	b.do(chromedp.Navigate(srv.url+"/console/overdue"),
		chromedp.Click(chromedp.CSS(`a[href^="/console/lang?next=%2Fconsole%2Foverdue&to=kk"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#overdue`)))
	lang, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`html`), "lang"))
	require.NoError(t, err)
	assert.Equal(t, "kk", lang.Value)
	assert.Equal(t, srv.url+"/console/overdue", b.location())
	b.screenshot(filepath.Join(out, "overdue-kk-1280.png"))

	// Signing out ends the session: a page sends the browser back to sign in.
	b.do(chromedp.Click(chromedp.CSS(`form[action="/console/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="key"]`)), chromedp.Navigate(srv.url+"/console/liability"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="key"]`)))
	assert.Contains(t, b.location(), "/console/signin?next=")

	mu.Lock()
	assert.Empty(t, problems, "no page logs a console error")
	mu.Unlock()

	if pdftotext == "" {
		t.Log("pdftotext missing: the PDFs are saved but not read (apt-get install -y poppler-utils)")
	}
	web := signedInClient(t, srv.url, keys["auditor"])
	regID := strings.TrimPrefix(registry, "/console/registries/")
	regPDF := fetchPDF(t, web, srv.url+registry+"/registry.pdf", filepath.Join(out, "registry.pdf"))
	casePDF := fetchPDF(t, web, srv.url+lost+"/case.pdf", filepath.Join(out, "case-file.pdf"))
	if pdftotext == "" {
		return
	}
	text := pdfText(t, pdftotext, regPDF)
	assert.Contains(t, text, "Реестр отправки (П.13)")
	assert.Contains(t, text, regID)
	page, err := web.Get(srv.url + registry)
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := regexp.MustCompile(`id="ledger-hash">([0-9a-f]{64})<`).FindSubmatch(html)
	require.NotNil(t, m, "the registry page shows the ledger's hash")
	assert.Contains(t, oneLine(text), "SHA-256 "+string(m[1]), "the PDF carries the ledger's hash of the registry")
	var reg struct {
		Lines []struct {
			DocumentID string `json:"document_id"`
		} `json:"lines"`
	}
	api.get("/v1/registries/"+regID, &reg)
	require.NotEmpty(t, reg.Lines)
	for _, l := range reg.Lines {
		assert.Contains(t, text, l.DocumentID, "every line of the registry is printed")
	}

	text = pdfText(t, pdftotext, casePDF)
	docID := strings.TrimPrefix(lost, "/console/documents/")
	assert.Contains(t, text, "Дело для комиссии: "+docID)
	assert.Contains(t, text, "DocumentLost")
	assert.Contains(t, text, "Корень дерева Меркла", "the case file PDF carries the checkpoint's root")
	// The hash printed is that of the stream's head when the PDF was made (the deadline watch
	// may append to the stream since): the API's event of that version.
	head := regexp.MustCompile(`Версия (\d+), Позиция \d+ SHA-256 ([0-9a-f]{64})`).FindStringSubmatch(oneLine(text))
	require.NotNil(t, head, "the case file PDF names the version and hash it prints")
	var events struct {
		Events []struct {
			Version uint64 `json:"version"`
			Hash    string `json:"hash"`
		} `json:"events"`
	}
	api.get("/v1/documents/"+docID+"/events?limit=1000", &events)
	found := false
	for _, e := range events.Events {
		if strconv.FormatUint(e.Version, 10) == head[1] {
			found = true
			assert.Equal(t, e.Hash, head[2], "the case file carries the ledger's hash of the version it prints")
		}
	}
	assert.True(t, found, "the API has the version the PDF prints")
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, string(a.Value)+a.Description)
	}
	return strings.Join(parts, " ")
}

// chrome drives one tab.
type chrome struct {
	t   *testing.T
	ctx context.Context
}

func (b *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

func (b *chrome) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	return strings.TrimSpace(s)
}

func (b *chrome) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	return s
}

func (b *chrome) firstHref(page, sel string) string {
	b.t.Helper()
	b.do(chromedp.Navigate(page), chromedp.WaitReady(chromedp.CSS("main")))
	a, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), "href"))
	require.NoError(b.t, err)
	require.True(b.t, a.Exists, "%s has a link %s", page, sel)
	return a.Value
}

func (b *chrome) screenshot(path string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(path, shot, 0o644))
}

type apiClient struct {
	t         *testing.T
	base, key string
}

func (c apiClient) get(path string, into any) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
	require.NoError(c.t, json.Unmarshal(body, into))
}

// waitFor polls a path until it answers 200.
func (c apiClient) waitFor(path string) {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+c.key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	c.t.Fatalf("%s never answered 200", path)
}

// overdueCount pages through GET /v1/overdue.
func (c apiClient) overdueCount() int {
	var (
		page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		n int
	)
	for cursor := ""; ; {
		c.get("/v1/overdue?limit=1000&cursor="+url.QueryEscape(cursor), &page)
		n += len(page.Items)
		if cursor = page.NextCursor; cursor == "" {
			return n
		}
	}
}

// signedInClient is a plain HTTP client with a console session, for the PDF downloads.
func signedInClient(t *testing.T, base, key string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequest(http.MethodPost, base+"/console/signin", strings.NewReader(url.Values{"key": {key}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return c
}

func fetchPDF(t *testing.T, c *http.Client, u, path string) string {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, u)
	require.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(body, []byte("%PDF-")))
	require.NoError(t, os.WriteFile(path, body, 0o644))
	return path
}

func pdfText(t *testing.T, pdftotext, path string) string {
	t.Helper()
	text, err := exec.Command(pdftotext, "-layout", path, "-").Output()
	require.NoError(t, err, "pdftotext %s", path)
	return string(text)
}

var spaces = regexp.MustCompile(`\s+`)

func oneLine(s string) string { return spaces.ReplaceAllString(s, " ") }
