package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// pageOutput is where the test leaves the pages it checked and their
// screenshots, for people to look at: build/test-output/dora.
const pageOutput = "../../build/test-output/dora"

// pageDOM is what a browser shows of a DORA page, read from its DOM.
type pageDOM struct {
	// Legend is the computed colour of each band in the legend ("none":
	// no data).
	Legend map[string]string `json:"legend"`
	Rows   []struct {
		Key   string                   `json:"key"`
		Cells map[string]metricCellDOM `json:"cells"`
	} `json:"rows"`
	Charts []struct {
		Metric string   `json:"metric"`
		X      []string `json:"x"`
		Y      []string `json:"y"`
		Marks  []struct {
			Week  string  `json:"week"`
			Value float64 `json:"value"`
			Band  string  `json:"band"`
			Fill  string  `json:"fill"`
		} `json:"marks"`
		Rollbacks map[string]int `json:"rollbacks"`
		Width     float64        `json:"width"`
	} `json:"charts"`
	Days []struct {
		Date      string  `json:"date"`
		Count     int     `json:"count"`
		Rollbacks int     `json:"rollbacks"`
		Title     string  `json:"title"`
		Width     float64 `json:"width"`
	} `json:"days"`
	Hours []struct {
		Count     int `json:"count"`
		Rollbacks int `json:"rollbacks"`
	} `json:"hours"`
	Heatmaps map[string]struct {
		Rows    []string `json:"rows"`
		Cols    []string `json:"cols"`
		Title   string   `json:"title"`
		Legend  []string `json:"legend"`
		Markers int      `json:"markers"`
	} `json:"heatmaps"`
	Listed []struct {
		Day     string `json:"day"`
		Outcome string `json:"outcome"`
	} `json:"listed"`
	Links []struct {
		Href   string `json:"href"`
		Target string `json:"target"`
	} `json:"links"`
	Print    bool `json:"print"`
	External int  `json:"external"`
}

// metricCellDOM is one metric of the table as rendered: its data, its
// figure, and the computed colours of its band and of its change.
type metricCellDOM struct {
	Band  string `json:"band"`
	Value string `json:"value"`
	Text  string `json:"text"`
	Trend string `json:"trend"`
	Pill  string `json:"pill"`
	Delta string `json:"delta"`
}

// readPageJS reads what pageDOM holds.
const readPageJS = `(() => {
  const bg = e => e ? getComputedStyle(e).backgroundColor : '';
  const texts = (root, sel) => [...root.querySelectorAll(sel)].map(e => e.textContent.trim());
  return {
    legend: Object.fromEntries([...document.querySelectorAll('#band-legend .band')].map(s => [s.dataset.band || 'none', bg(s)])),
    rows: [...document.querySelectorAll('#metrics tbody tr')].map(tr => ({
      key: tr.dataset.app + '/' + tr.dataset.env + ' ' + tr.dataset.window,
      cells: Object.fromEntries([...tr.querySelectorAll('td.metric')].map(td => [td.classList[1], {
        band: td.dataset.band, value: td.dataset.value, text: td.querySelector('.v').textContent, trend: td.dataset.trend,
        pill: bg(td.querySelector('.band')), delta: getComputedStyle(td.querySelector('.delta')).color}]))})),
    charts: [...document.querySelectorAll('svg.chart')].map(svg => ({
      metric: svg.classList[1], x: texts(svg, 'text.x-tick'), y: texts(svg, 'text.y-tick'),
      marks: [...svg.querySelectorAll('rect.bar, circle.dot')].map(m => ({
        week: m.dataset.week, value: Number(m.dataset.value), band: m.dataset.band, fill: getComputedStyle(m).fill})),
      rollbacks: Object.fromEntries([...svg.querySelectorAll('circle.rollback')].map(m => [m.dataset.week, Number(m.dataset.rollbacks)])),
      width: svg.getBoundingClientRect().width})),
    days: [...document.querySelectorAll('svg#days rect.day')].map(r => ({
      date: r.dataset.date, count: Number(r.dataset.count), rollbacks: Number(r.dataset.rollbacks),
      title: r.querySelector('title').textContent, width: r.getBoundingClientRect().width})),
    hours: [...document.querySelectorAll('svg#week-hours rect.hour')].map(r => ({count: Number(r.dataset.count), rollbacks: Number(r.dataset.rollbacks)})),
    heatmaps: Object.fromEntries(['days', 'week-hours'].map(id => {
      const svg = document.getElementById(id);
      return [id, {rows: texts(svg, 'text.row-label'), cols: texts(svg, 'text.col-label'), title: texts(svg, 'text.axis-title')[0],
        legend: texts(svg.closest('figure'), '.legend-label'), markers: svg.querySelectorAll('circle.rollback').length}];
    })),
    listed: [...document.querySelectorAll('#deployments tbody tr[data-day]')].map(tr => ({day: tr.dataset.day, outcome: tr.dataset.outcome})),
    links: [...document.querySelectorAll('a[href]')].map(a => {
      const target = document.getElementById(a.getAttribute('href').slice(1));
      return {href: a.getAttribute('href'), target: target ? target.textContent : ''};
    }),
    print: [...document.styleSheets].some(s => [...s.cssRules].some(r => r.media && r.media.mediaText === 'print')),
    external: document.querySelectorAll('script, [src], link[href]').length,
  };
})()`

// shot is a screenshot browse takes: page rendered in a window of width ×
// height, written to png.
type shot struct {
	page, png     string
	width, height int
}

// browse opens each file in headless Chromium (exe), one browser for all,
// and returns what its DOM shows; then it renders each shot's page in a
// window of the shot's size and writes what the window shows, as a person
// would with `chromium --headless --screenshot --window-size=W,H`, without
// starting Chromium again for each.
func browse(t *testing.T, exe string, files []string, shots []shot) []pageDOM {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
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
	for _, s := range shots {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(s.width), int64(s.height)), chromedp.Navigate("file://"+s.page)); err != nil {
			t.Fatalf("chromium opening %s at %d×%d: %v", s.page, s.width, s.height, err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("chromium screenshot of %s: %v", s.page, err)
		}
		if err := os.WriteFile(s.png, png, 0o644); err != nil {
			t.Fatal(err)
		}
		if w, h := pngSize(t, s.png); w != s.width || h != s.height {
			t.Errorf("%s is %d×%d, want %d×%d", s.png, w, h, s.width, s.height)
		}
	}
	return pages
}

// keep copies files into dir, each under its name, replacing the copy a
// test before left there; a test running beside it at the same time never
// sees half a file.
func keep(t *testing.T, dir string, files ...string) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmp, err := os.CreateTemp(abs, ".keep-*")
		if err != nil {
			t.Fatal(err)
		}
		_, werr := tmp.Write(b)
		merr := tmp.Chmod(0o644)
		if cerr := tmp.Close(); werr != nil || merr != nil || cerr != nil {
			t.Fatalf("keeping %s: %v", f, errors.Join(werr, merr, cerr))
		}
		if err := os.Rename(tmp.Name(), filepath.Join(abs, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the pages and their screenshots are in %s", abs)
}

// pngSize is the width and height of the PNG file f.
func pngSize(t *testing.T, f string) (int, int) {
	t.Helper()
	r, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg, err := png.DecodeConfig(r)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return cfg.Width, cfg.Height
}

// twelveWeeks fills a ledger with 84 days of checkout's prod ending on Nov
// 17, 2026: on day i (Aug 26 is day 0) i mod 4 deployments, at 01:00, 02:00
// and 03:00, each of a commit made two hours before; one incident, blamed
// on Nov 17's 02:00 deployment, restored in 30 minutes; and at 02:40 a
// rollback to Nov 16's 02:00 artifact.
func twelveWeeks(t *testing.T) ledger.Ledger {
	t.Helper()
	ctx := context.Background()
	l := ledger.NewMemory()
	put := func(r ledger.Record) {
		if err := l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	hash := func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
	first := time.Date(2026, 8, 26, 0, 0, 0, 0, time.UTC)
	for i := range 84 {
		for k := range i % 4 {
			done := first.AddDate(0, 0, i).Add(time.Duration(k+1) * time.Hour)
			id := fmt.Sprintf("%d-%d", i, k)
			sha := hash("commit " + id)[:40]
			put(&ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: done.Add(-time.Hour)}, Repo: "checkout-service", CommittedAt: done.Add(-2 * time.Hour)})
			put(&ledger.Deployment{Header: ledger.Header{ID: "dep-" + id, App: "checkout", Env: "prod", Commit: sha, Digest: "sha256:" + hash("image "+id), At: done.Add(-5 * time.Minute)},
				PromotionID: "prm-" + id, Commits: []string{sha}, Status: ledger.DeploymentSuccess, FinishedAt: done})
		}
	}
	opened := time.Date(2026, 11, 17, 2, 10, 0, 0, time.UTC)
	put(&ledger.Incident{Header: ledger.Header{ID: "inc-1", App: "checkout", Env: "prod", Digest: "sha256:" + hash("image 83-1"), At: opened},
		Alarm: "checkout-prod-errors", DeploymentID: "dep-83-1", ResolvedAt: opened.Add(30 * time.Minute)})
	back := opened.Add(30 * time.Minute)
	put(&ledger.Promotion{Header: ledger.Header{ID: "prm-rollback", App: "checkout", Env: "prod", Digest: "sha256:" + hash("image 82-1"), At: back.Add(-5 * time.Minute)},
		From: "prod", Status: ledger.PromotionSucceeded})
	put(&ledger.Deployment{Header: ledger.Header{ID: "dep-rollback", App: "checkout", Env: "prod", Commit: hash("commit 82-1")[:40], Digest: "sha256:" + hash("image 82-1"), At: back.Add(-5 * time.Minute)},
		PromotionID: "prm-rollback", Commits: []string{hash("commit 82-1")[:40]}, Status: ledger.DeploymentSuccess, FinishedAt: back})
	return l
}

// GIVEN twelve weeks of prod deployments with known counts and a rollback,
// and the demo
// WHEN `highway dora --html` and `highway demo` write their pages, and
// headless Chromium opens them and takes their screenshots at 1280×800
// THEN the page shows the band legend, each metric in the colour of its
// band and its change coloured green when better and red when worse; each
// trend chart its weeks and its scale along labelled axes, each mark in its
// band's colour, each week's deployments the sum of the day heatmap's
// column; the heatmaps their weekdays in one order, their dates and hours,
// a legend, and the rollback apart from the deployments; every link an
// anchor on the page; a print stylesheet, and nothing fetched;
// AND the metrics table shows the hand-checked figures, and the demo's
// heatmap the deployments and the rollback its list shows,
// AND build/test-output/dora holds both pages and their screenshots.
func TestDORAPageInChromium(t *testing.T) {
	chromium := localaws.Require(t, localaws.EnvChromium)
	ctx := context.Background()
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ours, demoPage := filepath.Join(dir, "twelve-weeks.html"), filepath.Join(dir, "demo.html")
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
	shots := []shot{
		{demoPage, filepath.Join(dir, "demo-1280x800.png"), 1280, 800},
		{demoPage, filepath.Join(dir, "demo-1280-whole.png"), 1280, 2000},
		{ours, filepath.Join(dir, "twelve-weeks-1280x800.png"), 1280, 800},
	}
	pages := browse(t, chromium, []string{ours, demoPage}, shots)
	kept := []string{ours, demoPage}
	for _, s := range shots {
		kept = append(kept, s.png)
	}
	keep(t, pageOutput, kept...)

	for i, page := range pages {
		name := []string{"twelve weeks", "demo"}[i]
		checkLegend(t, name, page)
		checkLinks(t, name, page)
		if !page.Print || page.External != 0 {
			t.Errorf("%s: print stylesheet %v, %d scripts or fetched resources; want one and none", name, page.Print, page.External)
		}
		for _, id := range []string{"days", "week-hours"} {
			h := page.Heatmaps[id]
			if !slices.Equal(h.Rows, []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}) || h.Title == "" || len(h.Legend) < 2 || h.Legend[0] != "0" {
				t.Errorf("%s: %s heatmap rows %v, axis %q, legend %v; want Mon … Sun, a title and a legend from 0", name, id, h.Rows, h.Title, h.Legend)
			}
		}
		if hours := page.Heatmaps["week-hours"].Cols; !slices.Equal(hours, []string{"00", "03", "06", "09", "12", "15", "18", "21"}) {
			t.Errorf("%s: hour axis %v", name, hours)
		}
		checkCharts(t, name, page)
	}

	page := pages[0]
	if len(page.Days) != 11*7+2 || len(page.Hours) != 7*24 {
		t.Fatalf("%d day cells and %d hour cells, want 79 (Monday Aug 31 to Nov 17) and 168", len(page.Days), len(page.Hours))
	}
	if cols := page.Heatmaps["days"].Cols; !slices.Equal(cols, []string{"Aug 31", "Sep 21", "Oct 12", "Nov 2"}) {
		t.Errorf("day heatmap's weeks %v", cols)
	}
	first := time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC)
	hours := 0
	for _, h := range page.Hours {
		hours += h.Count
	}
	days := 0
	for i, d := range page.Days {
		date := first.AddDate(0, 0, i)
		n, rollbacks := (i+5)%4, 0 // Aug 31 is day 5
		if date.Day() == 17 && date.Month() == time.November {
			rollbacks = 1
		}
		if d.Date != date.Format(time.DateOnly) || d.Count != n || d.Rollbacks != rollbacks || !strings.HasPrefix(d.Title, date.Format("Mon 2 Jan")+": ") || d.Width <= 0 {
			t.Errorf("day cell %d = %+v, want %s with %d deployments and %d rollbacks, shown", i, d, date.Format(time.DateOnly), n, rollbacks)
		}
		days += d.Count
	}
	if hours != days || page.Heatmaps["days"].Markers != 1 || page.Heatmaps["week-hours"].Markers != 1 {
		t.Errorf("the hour heatmap counts %d deployments, the day heatmap %d; rollback markers %d and %d, want one each",
			hours, days, page.Heatmaps["days"].Markers, page.Heatmaps["week-hours"].Markers)
	}
	// Each week's bar is the sum of its column of days.
	for _, c := range page.Charts {
		if c.Metric != "deployments" {
			continue
		}
		for _, m := range c.Marks {
			sum := 0
			for _, d := range page.Days {
				if d.Date >= m.Week && d.Date < weekAfter(t, m.Week) {
					sum += d.Count
				}
			}
			if int(m.Value) != sum {
				t.Errorf("the week of %s: bar %v, its days %d", m.Week, m.Value, sum)
			}
		}
		if len(c.Marks) != dora.HeatmapWeeks || c.Rollbacks["2026-11-16"] != 1 {
			t.Errorf("deployments chart: %d bars, rollbacks %v; want 12 and the week of Nov 16's one", len(c.Marks), c.Rollbacks)
		}
	}

	// Hand-checked, the windows ending Nov 17 12:00:
	//   1d: Nov 17's 3 deployments (Nov 16's ended before noon), the
	//       rollback apart; one failed (blamed, rolled back): 1/3; restored
	//       in 30m. The day before: Nov 16's 2, none failed.
	//   7d: Nov 11..17, days 77..83: 1+2+3+0+1+2+3 = 12; 1/12 failed.
	//  30d: Oct 19..Nov 17, days 54..83: 47.
	// Every lead time is 2h.
	want := map[string]map[string][2]string{
		"checkout/prod 1d":  {"deployments": {"3", "3"}, "lead": {"7200", "2h"}, "cfr": {"0.3333", "33%"}, "ttr": {"1800", "30m"}},
		"checkout/prod 7d":  {"deployments": {"12", "12"}, "lead": {"7200", "2h"}, "cfr": {"0.0833", "8%"}, "ttr": {"1800", "30m"}},
		"checkout/prod 30d": {"deployments": {"47", "47"}, "lead": {"7200", "2h"}, "cfr": {"0.0213", "2%"}, "ttr": {"1800", "30m"}},
	}
	if len(page.Rows) != len(want) || len(rows) != len(want) {
		t.Fatalf("table rows %+v, want prod's three windows", page.Rows)
	}
	for _, r := range page.Rows {
		for class, v := range want[r.Key] {
			if c := r.Cells[class]; c.Value != v[0] || c.Text != v[1] {
				t.Errorf("%s %s = %s %q, want %s %q", r.Key, class, c.Value, c.Text, v[0], v[1])
			}
		}
	}
	if c := page.Rows[0].Cells; c["deployments"].Trend != "better" || c["cfr"].Trend != "worse" || c["lead"].Trend != "same" {
		t.Errorf("the last day against the day before: %+v; want more deployments (better), more failures (worse), the same lead time", c)
	}

	// The demo's page: Nov 10 has last week's release in three
	// environments, Nov 17 prod's rollback apart; the list shows the latest
	// dora.Recent, newest first, and every day it reaches counts them as the
	// list does (the oldest day it reaches, at least as many), with the
	// rollbacks.
	demoDOM := pages[1]
	if len(demoDOM.Listed) == 0 || len(demoDOM.Listed) > dora.Recent {
		t.Fatalf("demo lists %d deployments, want 1 to %d", len(demoDOM.Listed), dora.Recent)
	}
	listed, failed := map[string][2]int{}, 0
	oldest := demoDOM.Listed[len(demoDOM.Listed)-1].Day
	for _, d := range demoDOM.Listed {
		if d.Outcome == "failed-change" {
			failed++
		}
		c := listed[d.Day]
		switch d.Outcome {
		case "deployed", "failed-change":
			c[0]++
		case "rollback":
			c[1]++
		}
		listed[d.Day] = c
	}
	counted := map[string][2]int{}
	for _, d := range demoDOM.Days {
		if (d.Count > 0 || d.Rollbacks > 0) && d.Date >= oldest {
			counted[d.Date] = [2]int{d.Count, d.Rollbacks}
		}
	}
	agree := len(counted) == len(listed)
	for day, c := range counted {
		l := listed[day]
		agree = agree && (l == c || (day == oldest && len(demoDOM.Listed) == dora.Recent && l[0] <= c[0] && l[1] <= c[1]))
	}
	nov10 := [2]int{}
	for _, d := range demoDOM.Days {
		if d.Date == "2026-11-10" {
			nov10 = [2]int{d.Count, d.Rollbacks}
		}
	}
	if !agree || nov10 != [2]int{3, 0} || counted["2026-11-17"][1] != 1 || failed != 1 {
		t.Errorf("demo page: days with deployments and rollbacks %v (Nov 10: %v), the list %v with %d failed changes; want them equal, Nov 10: 3, Nov 17: a rollback of prod's failed change",
			counted, nov10, listed, failed)
	}
	if first, err := time.Parse(time.DateOnly, demoDOM.Days[0].Date); err != nil || first.Weekday() != time.Monday {
		t.Errorf("demo page's first day %s, want a Monday", demoDOM.Days[0].Date)
	}
}

// checkLegend checks that the legend shows the four bands in distinct
// colours (elite green, high blue, medium amber, low red), and that every
// metric of the table and every mark of the charts has its band's colour,
// and every change the colour of better (elite's) or worse (low's).
func checkLegend(t *testing.T, name string, page pageDOM) {
	t.Helper()
	hue := map[string]func(r, g, b int) bool{
		"elite":  func(r, g, b int) bool { return g > r && g > b },
		"high":   func(r, g, b int) bool { return b > r && b > g },
		"medium": func(r, g, b int) bool { return r > b && g > b && r > 200 },
		"low":    func(r, g, b int) bool { return r > g && r > b },
	}
	seen := map[string]bool{}
	for band, is := range hue {
		var r, g, b int
		if _, err := fmt.Sscanf(page.Legend[band], "rgb(%d, %d, %d)", &r, &g, &b); err != nil || !is(r, g, b) || seen[page.Legend[band]] {
			t.Errorf("%s: the legend shows %s in %q", name, band, page.Legend[band])
		}
		seen[page.Legend[band]] = true
	}
	if page.Legend["none"] == "" || seen[page.Legend["none"]] {
		t.Errorf("%s: the legend shows no data in %q", name, page.Legend["none"])
	}
	for _, r := range page.Rows {
		for class, c := range r.Cells {
			band := c.Band
			if band == "" {
				band = "none"
			}
			if c.Pill != page.Legend[band] {
				t.Errorf("%s: %s %s is %s in %s, the legend's is %s", name, r.Key, class, band, c.Pill, page.Legend[band])
			}
			if colour := map[string]string{"better": page.Legend["elite"], "worse": page.Legend["low"]}[c.Trend]; colour != "" && c.Delta != colour {
				t.Errorf("%s: %s %s changed for the %s in %s", name, r.Key, class, c.Trend, c.Delta)
			}
		}
	}
	for _, c := range page.Charts {
		for _, m := range c.Marks {
			if m.Band != "" && m.Fill != page.Legend[m.Band] {
				t.Errorf("%s: the %s chart's week of %s is %s in %s, the legend's is %s", name, c.Metric, m.Week, m.Band, m.Fill, page.Legend[m.Band])
			}
		}
	}
}

// checkLinks checks that every link leads to an anchor on the page that
// gives the command of the artifact's timeline.
func checkLinks(t *testing.T, name string, page pageDOM) {
	t.Helper()
	if len(page.Links) == 0 {
		t.Errorf("%s: no link to a timeline", name)
	}
	for _, l := range page.Links {
		if !strings.HasPrefix(l.Href, "#timeline-") || !strings.Contains(l.Target, "highway timeline sha256:") {
			t.Errorf("%s: the link to %s leads to %q", name, l.Href, l.Target)
		}
	}
}

// checkCharts checks that the page has the four trends of each environment
// with their weeks along the x axis and a scale from 0 along the y axis.
func checkCharts(t *testing.T, name string, page pageDOM) {
	t.Helper()
	var metrics []string
	for _, c := range page.Charts {
		metrics = append(metrics, c.Metric)
		if len(c.X) < 3 || c.X[len(c.X)-1] != "Nov 16" || len(c.Y) != 3 || strings.TrimSuffix(c.Y[0], "%") != "0" || c.Width <= 0 {
			t.Errorf("%s: %s chart x axis %v, y axis %v, %v wide; want weeks to Nov 16, 0 to a top, shown", name, c.Metric, c.X, c.Y, c.Width)
		}
	}
	if len(metrics) == 0 || len(metrics)%4 != 0 || !slices.Equal(metrics[:4], []string{"deployments", "lead", "cfr", "ttr"}) {
		t.Errorf("%s: charts %v, want the four trends of each environment", name, metrics)
	}
}

// weekAfter is the date seven days after date, both 2006-01-02.
func weekAfter(t *testing.T, date string) string {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, 7).Format(time.DateOnly)
}
