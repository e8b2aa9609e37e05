package dora

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

func TestHeatmapAndPage(t *testing.T) {
	p, err := policy.Parse([]byte(`version: 1
hub: {account: "111111111111", region: eu-west-1}
apps: [{name: checkout, repository: checkout-service, environments: [{name: prod, account: "444444444444", region: eu-west-1}]}]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := ledger.NewMemory()
	for _, d := range []*ledger.Deployment{
		dep("d1", "p1", ledger.DeploymentSuccess, at(16, 9, 30)), // Monday 9:00
		dep("d2", "p2", ledger.DeploymentSuccess, at(16, 15, 0)), // Monday 15:00
		dep("d3", "p3", ledger.DeploymentFailure, at(16, 16, 0)), // failed: not counted
		dep("d4", "p4", ledger.DeploymentSuccess, at(17, 10, 0)), // Tuesday, today
		dep("d5", "p5", ledger.DeploymentSuccess, at(18, 10, 0)), // after the page's time
	} {
		if err := l.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	h, err := HeatmapOf(ctx, l, p, at(17, 12, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Days) != 7*HeatmapWeeks || h.Days[len(h.Days)-1].Date != "2026-11-17" || h.Days[0].Date != "2026-08-26" {
		t.Fatalf("days %d, %s … %s; want 84 ending 2026-11-17", len(h.Days), h.Days[0].Date, h.Days[len(h.Days)-1].Date)
	}
	if h.Days[len(h.Days)-2].Count != 2 || h.Days[len(h.Days)-1].Count != 1 || h.WeekHour[1][9] != 1 || h.WeekHour[1][15] != 1 || h.WeekHour[2][10] != 1 {
		t.Errorf("counts: %+v, Monday 9h %d, 15h %d, Tuesday 10h %d", h.Days[len(h.Days)-2:], h.WeekHour[1][9], h.WeekHour[1][15], h.WeekHour[2][10])
	}

	var page bytes.Buffer
	rows := []Row{{App: "checkout", Env: "prod", Window: "7d", Metrics: Compute(History{Deployments: []*ledger.Deployment{dep("d1", "p1", ledger.DeploymentSuccess, at(16, 9, 30))}}, at(10, 12, 0), at(17, 12, 0))}}
	rows[0].Bands = BandsOf(rows[0].Metrics)
	if err := WritePage(&page, rows, h); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	cells := regexp.MustCompile(`<rect class="day" data-date="([0-9-]+)" data-count="([0-9]+)"`).FindAllStringSubmatch(html, -1)
	if len(cells) != 84 || cells[82][1] != "2026-11-16" || cells[82][2] != "2" {
		t.Errorf("day cells = %d, the 83rd %v; want 84 with 2026-11-16: 2", len(cells), cells[82])
	}
	if n := strings.Count(html, `<rect class="hour"`); n != 7*24 {
		t.Errorf("hour cells = %d, want 168", n)
	}
	if !strings.Contains(html, `<td class="deployments" data-band="high">1</td>`) {
		t.Errorf("the table lacks prod's one deployment in the high band:\n%s", html[:min(len(html), 2000)])
	}
}
