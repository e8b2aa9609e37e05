package dora

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRowComparesWithTheSpanBefore(t *testing.T) {
	from, to := at(10, 0, 0), at(17, 0, 0)
	base := Metrics{From: from, To: to, Deployments: 10, PerDay: 10.0 / 7, LeadTimeMedian: 2 * time.Hour, LeadTimeP90: 3 * time.Hour, Commits: 10,
		Failed: 1, ChangeFailureRate: 0.1, TimeToRestoreMedian: time.Hour, Restored: 2}
	with := func(f func(*Metrics)) Metrics {
		m := base
		f(&m)
		return m
	}
	tests := []struct {
		name    string
		cur     Metrics
		prev    Metrics
		hasPrev bool
		want    [4]string // the trend of deployments, lead time, change failure rate, time to restore
		text    [4]string
	}{
		{"unchanged", base, base, true, [4]string{"same", "same", "same", "same"}, [4]string{"±0", "±0", "±0", "±0"}},
		{
			name: "more deployments, lead time and restore shorter, fewer failures: better",
			cur: with(func(m *Metrics) {
				m.Deployments, m.LeadTimeMedian, m.ChangeFailureRate, m.TimeToRestoreMedian = 13, 90*time.Minute, 0.05, 20*time.Minute
			}),
			prev: base, hasPrev: true,
			want: [4]string{"better", "better", "better", "better"}, text: [4]string{"▲ 3", "▼ 30m", "▼ 5 pts", "▼ 40m"},
		},
		{
			name: "fewer deployments, lead time and restore longer, more failures: worse",
			cur: with(func(m *Metrics) {
				m.Deployments, m.LeadTimeMedian, m.ChangeFailureRate, m.TimeToRestoreMedian = 4, 26*time.Hour, 0.25, 3*time.Hour
			}),
			prev: base, hasPrev: true,
			want: [4]string{"worse", "worse", "worse", "worse"}, text: [4]string{"▼ 6", "▲ 1d", "▲ 15 pts", "▲ 2h"},
		},
		{
			name: "nothing to compare with in the span before",
			cur:  base, prev: Metrics{From: from.Add(-week), To: from}, hasPrev: true,
			want: [4]string{"better", "", "", ""}, text: [4]string{"▲ 10", "", "", ""},
		},
		{"no span before read", base, Metrics{}, false, [4]string{}, [4]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rowOf(Row{App: "checkout", Env: "prod", Window: "7d", Metrics: tt.cur, Bands: BandsOf(tt.cur)}, tt.prev, tt.hasPrev)
			for i, c := range r.Cells {
				if c.Delta.Trend != tt.want[i] || c.Delta.Text != tt.text[i] {
					t.Errorf("%s: %q %q, want %q %q", c.Class, c.Delta.Text, c.Delta.Trend, tt.text[i], tt.want[i])
				}
			}
		})
	}
}

func TestHuman(t *testing.T) {
	tests := []struct {
		give time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{15*time.Minute + 47*time.Second, "15m 47s"},
		{30 * time.Minute, "30m"},
		{2*time.Hour + 47*time.Second, "2h"},
		{2*time.Hour + time.Minute, "2h 1m"},
		{3*day + 4*time.Hour + 5*time.Minute, "3d 4h"},
	}
	for _, tt := range tests {
		if got := human(tt.give); got != tt.want {
			t.Errorf("human(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestHeatmapLegend(t *testing.T) {
	tests := []struct {
		highest int
		want    []string
	}{
		{0, []string{"0"}},
		{3, []string{"0", "1", "2", "3"}},
		{10, []string{"0", "1–3", "4–5", "6–8", "9–10"}},
	}
	for _, tt := range tests {
		lv := levels(tt.highest)
		var got []string
		for _, item := range legendOf(lv) {
			got = append(got, item.Label)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("legend up to %d = %v, want %v", tt.highest, got, tt.want)
		}
		// Every count up to the highest has the shade its legend says.
		for n := 1; n <= tt.highest; n++ {
			i := slices.IndexFunc(lv, func(hi int) bool { return n <= hi })
			if shade(n, lv) != heatColours[i+1] {
				t.Errorf("%d of up to %d is shaded %s, its legend says %s", n, tt.highest, shade(n, lv), heatColours[i+1])
			}
		}
	}
}

// GIVEN the hand-checked history's page
// WHEN it is written
// THEN it is one document that fetches nothing and runs nothing, prints
// with its own stylesheet, shows the band legend and each metric's band
// and change, labels every chart's axes and both heatmaps' (weekdays in one
// order), and every link leads to an anchor on the page.
func TestWritePage(t *testing.T) {
	ctx := context.Background()
	now := at(17, 12, 0)
	l, p := pageLedger(t), twoEnvs(t)
	rows, err := All(ctx, l, p, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := PageOf(ctx, l, p, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePage(&b, rows, pg); err != nil {
		t.Fatal(err)
	}
	html := b.String()

	if !strings.HasPrefix(html, "<!DOCTYPE html>") || strings.Contains(html, "<script") || strings.Contains(html, " src=") ||
		strings.Count(html, "http") != strings.Count(html, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the page runs a script or fetches something")
	}
	if !strings.Contains(html, "@media print{") {
		t.Error("the page has no print stylesheet")
	}
	for _, b := range []Band{Elite, High, Medium, Low} {
		if !strings.Contains(html, `<span class="band `+string(b)+`" data-band="`+string(b)+`">`+string(b)+`</span>`) {
			t.Errorf("the legend lacks %s", b)
		}
	}

	// prod over the last 7 days against the 7 before: 3 deployments (and a
	// rollback) against 1, lead time 2h against 1 day, 2 of 3 failed
	// against none of 1, restored in 30m against nothing restored.
	cell := regexp.MustCompile(`(?s)<tr data-app="checkout" data-env="prod" data-window="7d">.*?</tr>`).FindString(html)
	for _, want := range []string{
		`<td class="metric deployments" data-band="high" data-value="3" data-trend="better">`,
		`<td class="metric lead" data-band="elite" data-value="7200" data-trend="better">`,
		`<td class="metric cfr" data-band="low" data-value="0.6667" data-trend="worse">`,
		`<td class="metric ttr" data-band="elite" data-value="1800" data-trend="">`,
		`3 a week, 1 rollback apart`, `<span class="delta better" title="the 7 days before: 1 deployment">▲ 2</span>`,
	} {
		if !strings.Contains(cell, want) {
			t.Errorf("prod's 7 days lack %s:\n%s", want, cell)
		}
	}

	// Every chart: its weeks along the x axis, 0 to its top along the y.
	charts := regexp.MustCompile(`(?s)<svg class="chart (\w+)".*?</svg>`).FindAllStringSubmatch(html, -1)
	if len(charts) != 4*len(pg.Envs) {
		t.Fatalf("%d charts, want 4 for each of %d environments", len(charts), len(pg.Envs))
	}
	xTick := regexp.MustCompile(`<text class="x-tick"[^>]*>([^<]+)</text>`)
	yTick := regexp.MustCompile(`<text class="y-tick"[^>]*>([^<]+)</text>`)
	for _, c := range charts {
		var xs, ys []string
		for _, m := range xTick.FindAllStringSubmatch(c[0], -1) {
			xs = append(xs, m[1])
		}
		for _, m := range yTick.FindAllStringSubmatch(c[0], -1) {
			ys = append(ys, m[1])
		}
		if !slices.Equal(xs, []string{"Aug 31", "Sep 28", "Oct 26", "Nov 16"}) || len(ys) != 3 || strings.TrimSuffix(ys[0], "%") != "0" {
			t.Errorf("%s chart: x axis %v, y axis %v; want the weeks Aug 31 … Nov 16 and 0 to a top", c[1], xs, ys)
		}
	}
	if top := yTick.FindAllStringSubmatch(charts[5][0], -1); top[2][1] != "1d" || top[1][1] != "12h" {
		t.Errorf("prod's lead time axis: %v; want 0, 12h and 1d, its longest week's", top)
	}

	// Both heatmaps: the weekdays Monday first, and their other axis.
	for _, id := range []string{"days", "week-hours"} {
		svg := regexp.MustCompile(`(?s)<svg id="` + id + `".*?</svg>`).FindString(html)
		var rows []string
		for _, m := range regexp.MustCompile(`<text class="row-label"[^>]*>(\w+)</text>`).FindAllStringSubmatch(svg, -1) {
			rows = append(rows, m[1])
		}
		if !slices.Equal(rows, weekdays[:]) {
			t.Errorf("%s heatmap rows %v, want %v", id, rows, weekdays)
		}
		if !strings.Contains(svg, `class="axis-title"`) || !strings.Contains(svg, `<text class="col-label"`) {
			t.Errorf("%s heatmap has no labelled x axis", id)
		}
	}
	if !strings.Contains(html, `<rect class="day" data-date="2026-11-17" data-count="1" data-rollbacks="1"`) ||
		!strings.Contains(html, `<circle class="rollback"`) {
		t.Error("Nov 17's rollback is not shown apart from its deployment")
	}

	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		anchors[m[1]] = true
	}
	links := regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(links) != len(pg.Deployments)+len(pg.Incidents) {
		t.Errorf("%d links, want one per deployment and incident listed (%d)", len(links), len(pg.Deployments)+len(pg.Incidents))
	}
	for _, m := range links {
		if !anchors[m[1]] {
			t.Errorf("the link to #%s leads nowhere", m[1])
		}
	}
	if !strings.Contains(html, `<li class="timeline" id="timeline-sha256-dB">`) || !strings.Contains(html, `highway timeline sha256:dB</code>`) {
		t.Error("the blamed artifact's timeline lacks its anchor or its command")
	}
}

// An environment with nothing in the weeks gets one line, not four empty
// charts.
func TestWritePageSaysSoOfAQuietEnvironment(t *testing.T) {
	now := at(17, 12, 0)
	weeks := weeksTo(now)
	quiet := Trend{App: "storefront", Env: "dev", Weeks: make([]Metrics, len(weeks)), Previous: map[string]Metrics{}}
	var b bytes.Buffer
	if err := WritePage(&b, []Row{{App: "storefront", Env: "dev", Window: "7d"}}, Page{To: now, Weeks: weeks, Envs: []Trend{quiet}}); err != nil {
		t.Fatal(err)
	}
	if html := b.String(); strings.Contains(html, `<svg class="chart`) || !strings.Contains(html, `<div class="quiet">No deployment, no commit deployed and no incident restored in the 12 weeks.</div>`) {
		t.Errorf("a quiet environment's trends:\n%s", regexp.MustCompile(`(?s)<section id="trends">.*?</section>`).FindString(html))
	}
}
