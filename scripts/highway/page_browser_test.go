package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// pageDOM is what a browser shows of a DORA page, read from its DOM.
type pageDOM struct {
	Days []struct {
		Date  string  `json:"date"`
		Count int     `json:"count"`
		Title string  `json:"title"`
		Width float64 `json:"width"`
	} `json:"days"`
	Hours int `json:"hours"`
	Rows  []struct {
		Key   string            `json:"key"`
		Cells map[string]string `json:"cells"`
	} `json:"rows"`
}

// readPageJS reads the day cells (their data, tooltip and rendered width),
// the number of weekday × hour cells, and every metrics row's cells by class.
const readPageJS = `({
  days: [...document.querySelectorAll('svg#days rect.day')].map(r => ({
    date: r.dataset.date, count: Number(r.dataset.count),
    title: r.querySelector('title').textContent, width: r.getBoundingClientRect().width})),
  hours: document.querySelectorAll('svg#week-hours rect.hour').length,
  rows: [...document.querySelectorAll('#metrics tbody tr')].map(tr => ({
    key: tr.dataset.app + '/' + tr.dataset.env + ' ' + tr.dataset.window,
    cells: Object.fromEntries([...tr.querySelectorAll('td[class]')].map(td => [td.className, td.textContent.trim()]))})),
})`

// browse opens each file in headless Chromium (exe), one browser for all,
// and returns what its DOM shows.
func browse(t *testing.T, exe string, files ...string) []pageDOM {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	defer cancelBrowser()
	var pages []pageDOM
	for _, f := range files {
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+f)); err != nil {
			t.Fatalf("chromium opening %s: %v", f, err)
		}
		dom, err := chromedp.Run(ctx, chromedp.Evaluate[pageDOM](readPageJS))
		if err != nil {
			t.Fatalf("chromium reading %s: %v", f, err)
		}
		pages = append(pages, dom)
	}
	return pages
}

// twelveWeeks fills a ledger with 84 days of checkout's prod ending on Nov
// 17, 2026: on day i (Aug 26 is day 0) i mod 4 deployments, at 01:00, 02:00
// and 03:00, each of a commit made two hours before; and one incident,
// blamed on Nov 17's 02:00 deployment, restored in 30 minutes.
func twelveWeeks(t *testing.T) ledger.Ledger {
	t.Helper()
	ctx := context.Background()
	l := ledger.NewMemory()
	put := func(r ledger.Record) {
		if err := l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	first := time.Date(2026, 8, 26, 0, 0, 0, 0, time.UTC)
	for i := range 84 {
		for k := range i % 4 {
			done := first.AddDate(0, 0, i).Add(time.Duration(k+1) * time.Hour)
			sha := fmt.Sprintf("%038d%02d", i, k)
			put(&ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: done.Add(-time.Hour)}, Repo: "checkout-service", CommittedAt: done.Add(-2 * time.Hour)})
			id := fmt.Sprintf("%d-%d", i, k)
			put(&ledger.Deployment{Header: ledger.Header{ID: "dep-" + id, App: "checkout", Env: "prod", Commit: sha, At: done.Add(-5 * time.Minute)},
				PromotionID: "prm-" + id, Commits: []string{sha}, Status: ledger.DeploymentSuccess, FinishedAt: done})
		}
	}
	opened := time.Date(2026, 11, 17, 2, 10, 0, 0, time.UTC)
	put(&ledger.Incident{Header: ledger.Header{ID: "inc-1", App: "checkout", Env: "prod", At: opened}, Alarm: "checkout-prod-errors",
		DeploymentID: "dep-83-1", ResolvedAt: opened.Add(30 * time.Minute)})
	return l
}

// GIVEN twelve weeks of prod deployments with known counts, and the demo
// WHEN `highway dora --html` and `highway demo` write their pages, and
// headless Chromium opens them
// THEN the day heatmap has one cell per day, each rendered, with that day's
// count in its data and its tooltip, the weekday × hour map has 168 cells,
// and the metrics table shows the hand-checked figures.
func TestDORAPageInChromium(t *testing.T) {
	chromium := localaws.Require(t, localaws.EnvChromium)
	ctx := context.Background()
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ours, demoPage := filepath.Join(dir, "dora.html"), filepath.Join(dir, "demo.html")
	now := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	l := twelveWeeks(t)
	var out bytes.Buffer
	rows, err := doraTable(ctx, l, p, "checkout", "prod", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeDORAPage(ctx, &out, l, p, rows, "checkout", "prod", now, ours); err != nil {
		t.Fatal(err)
	}
	if err := demo(ctx, &out, "../../infra/highway.yaml", "../../events", demoPage); err != nil {
		t.Fatal(err)
	}
	pages := browse(t, chromium, ours, demoPage)

	page := pages[0]
	if len(page.Days) != 7*dora.HeatmapWeeks || page.Hours != 7*24 {
		t.Fatalf("%d day cells and %d hour cells, want %d and 168", len(page.Days), page.Hours, 7*dora.HeatmapWeeks)
	}
	first := time.Date(2026, 8, 26, 0, 0, 0, 0, time.UTC)
	for i, d := range page.Days {
		date := first.AddDate(0, 0, i).Format(time.DateOnly)
		if d.Date != date || d.Count != i%4 || d.Title != fmt.Sprintf("%s: %d", date, i%4) || d.Width <= 0 {
			t.Errorf("day cell %d = %+v, want %s with %d deployments, shown", i, d, date, i%4)
		}
	}
	// Hand-checked, the windows ending Nov 17 12:00:
	//   1d: Nov 17's 3 deployments (Nov 16's ended before noon); one blamed
	//       on the incident: 1/3; restored in 30m.
	//   7d: Nov 11..17, days 77..83: 1+2+3+0+1+2+3 = 12; 1/12 failed.
	//  30d: Oct 19..Nov 17, days 54..83: 47.
	// Every lead time is 2h.
	want := map[string]map[string]string{
		"checkout/prod 1d":  {"deployments": "3", "lead-p50": "2h0m0s", "lead-p90": "2h0m0s", "cfr": "33%", "ttr": "30m0s"},
		"checkout/prod 7d":  {"deployments": "12", "lead-p50": "2h0m0s", "lead-p90": "2h0m0s", "cfr": "8%", "ttr": "30m0s"},
		"checkout/prod 30d": {"deployments": "47", "lead-p50": "2h0m0s", "lead-p90": "2h0m0s", "cfr": "2%", "ttr": "30m0s"},
	}
	if len(page.Rows) != len(want) || len(rows) != len(want) {
		t.Fatalf("table rows %+v, want prod's three windows", page.Rows)
	}
	for _, r := range page.Rows {
		for class, v := range want[r.Key] {
			if r.Cells[class] != v {
				t.Errorf("%s %s = %q, want %q", r.Key, class, r.Cells[class], v)
			}
		}
	}

	// The demo's page: Nov 17 has dev, staging, prod and prod's rollback,
	// Nov 10 last week's release in three environments, no other day any.
	counts := map[string]int{}
	for _, d := range pages[1].Days {
		if d.Count > 0 {
			counts[d.Date] = d.Count
		}
	}
	if len(pages[1].Days) != 7*dora.HeatmapWeeks || len(counts) != 2 || counts["2026-11-17"] != 4 || counts["2026-11-10"] != 3 {
		t.Errorf("demo page: %d day cells, days with deployments %v; want Nov 17: 4 and Nov 10: 3", len(pages[1].Days), counts)
	}
}
