package dora

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

func TestWeeksTo(t *testing.T) {
	tests := []struct {
		name      string
		give      time.Time
		wantFirst time.Time
		wantLast  time.Time
	}{
		{"a Tuesday", at(17, 12, 0), time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC), at(16, 0, 0)},
		{"a Monday at midnight starts its week", at(16, 0, 0), time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC), at(16, 0, 0)},
		{"a Sunday ends its week", at(22, 23, 59), time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC), at(16, 0, 0)},
		{"another zone is read in UTC", time.Date(2026, 11, 16, 0, 30, 0, 0, time.FixedZone("CET", 3600)), time.Date(2026, 8, 24, 0, 0, 0, 0, time.UTC), at(9, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := weeksTo(tt.give)
			if len(w) != HeatmapWeeks || !w[0].Equal(tt.wantFirst) || !w[len(w)-1].Equal(tt.wantLast) {
				t.Fatalf("weeksTo(%s) = %d weeks, %s … %s; want %d, %s … %s", tt.give, len(w), w[0], w[len(w)-1], HeatmapWeeks, tt.wantFirst, tt.wantLast)
			}
			for i := 1; i < len(w); i++ {
				if w[i].Sub(w[i-1]) != week || w[i].Weekday() != time.Monday {
					t.Errorf("week %d starts %s, a week after %s? want Mondays", i, w[i], w[i-1])
				}
			}
		})
	}
}

// twoEnvs is checkout with dev and prod.
func twoEnvs(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(`version: 1
hub: {account: "111111111111", region: eu-west-1}
apps: [{name: checkout, repository: checkout-service, environments: [
  {name: dev, account: "222222222222", region: eu-west-1},
  {name: prod, account: "444444444444", region: eu-west-1}]}]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pageLedger is a hand-checked history of checkout, the page read as of
// Tuesday Nov 17, 12:00 (the weeks: Aug 31 … Nov 16).
//
//	prod  Aug 30 22:00, 23:00  two deployments before the first week
//	      Aug 31 00:30         the first week's first minute
//	      Nov  5 10:00         lead time 1 day (the 7 days before the last 7)
//	      Nov 16 09:30         lead time 2h (carried), deployed again at 09:40
//	      Nov 16 15:00         lead time 1h (from the commit's record); an
//	                           incident blamed on it, restored in 30m
//	      Nov 16 16:00         failed
//	      Nov 17 10:00         lead time 4h; rolled back at 11:00
//	      Nov 17 12:55         after the page's time
//	dev   Nov 16 08:00         the artifact prod got at 09:30
func pageLedger(t *testing.T) ledger.Ledger {
	t.Helper()
	ctx := context.Background()
	l := ledger.NewMemory()
	put := func(r ledger.Record) {
		t.Helper()
		if err := l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	deploy := func(env, promotion, digest string, status ledger.DeploymentStatus, done time.Time, commit string, committed time.Time) *ledger.Deployment {
		d := dep("dep-"+promotion+"-"+done.Format("0215:04"), promotion, status, done, commit)
		d.Env, d.Digest, d.Commit = env, digest, commit
		if !committed.IsZero() {
			d.CommittedAt = map[string]time.Time{commit: committed}
		}
		put(d)
		return d
	}
	success := ledger.DeploymentSuccess
	aug := func(day, hour, minute int) time.Time { return time.Date(2026, 8, day, hour, minute, 0, 0, time.UTC) }
	deploy("prod", "p0", "sha256:d0", success, aug(30, 22, 0), "c0", time.Time{})
	deploy("prod", "p8", "sha256:d8", success, aug(30, 23, 0), "c8", time.Time{})
	deploy("prod", "p7", "sha256:d7", success, aug(31, 0, 30), "c7", time.Time{})
	deploy("prod", "p6", "sha256:d6", success, at(5, 10, 0), "c6", at(4, 10, 0))
	deploy("dev", "p9", "sha256:dA", success, at(16, 8, 0), "c1", at(16, 7, 30))
	deploy("prod", "p1", "sha256:dA", success, at(16, 9, 30), "c1", at(16, 7, 30))
	deploy("prod", "p1", "sha256:dA", success, at(16, 9, 40), "c1", at(16, 7, 30))
	put(&ledger.Commit{Header: ledger.Header{ID: "c2", App: "checkout", Commit: "c2", At: at(16, 14, 5)}, Repo: "checkout-service", CommittedAt: at(16, 14, 0)})
	blamed := deploy("prod", "p2", "sha256:dB", success, at(16, 15, 0), "c2", time.Time{})
	put(&ledger.Incident{Header: ledger.Header{ID: "inc-1", App: "checkout", Env: "prod", Digest: "sha256:dB", At: at(16, 15, 10)},
		Alarm: "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx", DeploymentID: blamed.ID, ResolvedAt: at(16, 15, 40)})
	deploy("prod", "p3", "sha256:dC", ledger.DeploymentFailure, at(16, 16, 0), "c3", time.Time{})
	deploy("prod", "p4", "sha256:dD", success, at(17, 10, 0), "c4", at(17, 6, 0))
	put(&ledger.Promotion{Header: ledger.Header{ID: "pR", App: "checkout", Env: "prod", Digest: "sha256:dA", At: at(17, 10, 50)}, From: "prod", Status: ledger.PromotionSucceeded})
	deploy("prod", "pR", "sha256:dA", success, at(17, 11, 0), "c1", at(16, 7, 30))
	deploy("prod", "p5", "sha256:dE", success, at(17, 13, 0), "c5", at(17, 12, 0))
	return l
}

// GIVEN the hand-checked history
// WHEN the page is read as of Nov 17, 12:00
// THEN the heatmaps count each promotion's first success once and the
// rollback apart, by day and by weekday (Monday first) and hour; each
// week's metrics and the span before each window are those of the history;
// the latest deployments are listed newest first with what the metrics made
// of each; and each artifact they name has its timeline.
func TestPageOf(t *testing.T) {
	ctx := context.Background()
	now := at(17, 12, 0)
	pg, err := PageOf(ctx, pageLedger(t), twoEnvs(t), now, nil)
	if err != nil {
		t.Fatal(err)
	}

	days := pg.Heatmap.Days
	if len(days) != 11*7+2 || days[0].Date != time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC) || days[len(days)-1].Date != at(17, 0, 0) {
		t.Fatalf("%d days, %s … %s; want 79, Aug 31 … Nov 17", len(days), days[0].Date, days[len(days)-1].Date)
	}
	wantDays := map[time.Time]Cell{
		days[0].Date: {Deployments: 1},               // Aug 31 00:30
		at(5, 0, 0):  {Deployments: 1},               // Nov 5
		at(16, 0, 0): {Deployments: 3},               // dev 08:00, prod 09:30 (09:40 again: once), 15:00; 16:00 failed
		at(17, 0, 0): {Deployments: 1, Rollbacks: 1}, // 10:00 and its rollback; 12:55 after the page's time
	}
	for _, d := range days {
		if d.Cell != wantDays[d.Date] {
			t.Errorf("%s counts %+v, want %+v", d.Date.Format(time.DateOnly), d.Cell, wantDays[d.Date])
		}
	}
	wantHours := map[[2]int]Cell{
		{0, 0}: {Deployments: 1}, {3, 10}: {Deployments: 1}, // Monday Aug 31, Thursday Nov 5
		{0, 8}: {Deployments: 1}, {0, 9}: {Deployments: 1}, {0, 15}: {Deployments: 1}, // Monday Nov 16
		{1, 10}: {Deployments: 1}, {1, 11}: {Rollbacks: 1}, // Tuesday Nov 17
	}
	for d, row := range pg.Heatmap.WeekHour {
		for h, c := range row {
			if c != wantHours[[2]int{d, h}] {
				t.Errorf("%s %02d:00 counts %+v, want %+v", weekdays[d], h, c, wantHours[[2]int{d, h}])
			}
		}
	}

	if len(pg.Envs) != 2 || pg.Envs[0].Env != "dev" || pg.Envs[1].Env != "prod" {
		t.Fatalf("envs %+v, want dev and prod", pg.Envs)
	}
	prod := pg.Envs[1]
	last := prod.Weeks[HeatmapWeeks-1] // Nov 16 to now
	if w := (Metrics{From: at(16, 0, 0), To: now, Deployments: 3, PerDay: 3 / 1.5, LeadTimeMedian: 2 * time.Hour, LeadTimeP90: 4 * time.Hour,
		Commits: 3, Failed: 2, ChangeFailureRate: 2.0 / 3, Rollbacks: 1, TimeToRestoreMedian: 30 * time.Minute, Restored: 1}); last != w {
		t.Errorf("prod's last week = %+v\nwant                 %+v", last, w)
	}
	if w := prod.Weeks[9]; w.Deployments != 1 || w.LeadTimeMedian != day || !w.From.Equal(at(2, 0, 0)) || !w.To.Equal(at(9, 0, 0)) {
		t.Errorf("prod's week of Nov 2 = %+v, want one deployment of lead time 1 day", w)
	}
	if w := prod.Weeks[0]; w.Deployments != 1 || w.Commits != 0 {
		t.Errorf("prod's first week = %+v, want the deployment of Aug 31 00:30 (Aug 30's are before it)", w)
	}
	if prev := prod.Previous["7d"]; !prev.From.Equal(at(3, 12, 0)) || prev.Deployments != 1 || prev.LeadTimeMedian != day {
		t.Errorf("prod's 7 days before the last 7 = %+v, want Nov 5's deployment", prev)
	}
	if prev := prod.Previous["1d"]; prev.Deployments != 1 || prev.Commits != 1 || prev.LeadTimeMedian != 2*time.Hour {
		t.Errorf("prod's day before the last day = %+v, want Nov 16's 09:30 (its 15:00 is in the last day)", prev)
	}

	type listed struct {
		id                        string
		counted, rollback, failed bool
	}
	var got []listed
	for _, d := range pg.Deployments {
		got = append(got, listed{d.ID, d.Counted, d.Rollback, d.Failed})
	}
	want := []listed{
		{"dep-pR-1711:00", false, true, false},
		{"dep-p4-1710:00", true, false, true}, // rolled back
		{"dep-p3-1616:00", false, false, false},
		{"dep-p2-1615:00", true, false, true}, // blamed
		{"dep-p1-1609:40", false, false, false},
		{"dep-p1-1609:30", true, false, false},
		{"dep-p9-1608:00", true, false, false},
		{"dep-p6-0510:00", true, false, false},
		{"dep-p7-3100:30", true, false, false},
		{"dep-p8-3023:00", true, false, false},
	}
	if len(got) != len(want) {
		t.Fatalf("latest deployments %+v, want %d", got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("latest deployment %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(pg.Incidents) != 1 || pg.Incidents[0].ID != "inc-1" {
		t.Errorf("incidents %+v, want inc-1", pg.Incidents)
	}

	var refs []string
	for _, tl := range pg.Timelines {
		refs = append(refs, tl.Ref)
	}
	wantRefs := []string{"sha256:dA", "sha256:dD", "sha256:dC", "sha256:dB", "sha256:d6", "sha256:d7", "sha256:d8"}
	if len(refs) != len(wantRefs) {
		t.Fatalf("timelines of %v, want %v", refs, wantRefs)
	}
	for i := range wantRefs {
		if refs[i] != wantRefs[i] {
			t.Errorf("timeline %d of %s, want %s", i, refs[i], wantRefs[i])
		}
	}
	if a := pg.Timelines[0]; len(a.Deployments) != 4 || a.Deployments[0].Env != "dev" || !a.Deployments[3].Rollback || a.Commit != "c1" {
		t.Errorf("the timeline of sha256:dA = %+v, want dev, prod twice and the rollback, oldest first", a)
	}
	if d := pg.Timelines[1]; len(d.Deployments) != 2 || d.Deployments[1].ID != "dep-pR-1711:00" || d.Deployments[1].Replaced != "sha256:dD" {
		t.Errorf("the timeline of sha256:dD = %+v, want its deployment and the rollback from it", d)
	}
	if b := pg.Timelines[3]; len(b.Deployments) != 1 || len(b.Incidents) != 1 || b.Incidents[0].ID != "inc-1" {
		t.Errorf("the timeline of sha256:dB = %+v, want its deployment and the incident blamed on it", b)
	}
}

// GIVEN 16 days of a busy prod (deployments failed, deployed twice,
// rolled back; incidents blamed on some), over the last three of the weeks
// WHEN the page is read
// THEN each day and each weekday × hour counts what the metrics count, each
// week's column of days sums to that week's deployments and rollbacks, and
// the day heatmap holds every successful deployment of the weeks: each
// promotion's first, as a deployment or as a rollback, none dropped.
func TestPageCountsWhatTheMetricsCount(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC) // a Friday
	l := ledger.NewMemory()
	for _, w := range simulate(rand.New(rand.NewPCG(7, 7)), start, 16) {
		if err := w.do(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	now := start.AddDate(0, 0, 15).Add(15 * time.Hour) // Saturday Nov 7, 15:00
	pg, err := PageOf(ctx, l, prodOnly(t), now, nil)
	if err != nil {
		t.Fatal(err)
	}

	var days, hours Cell
	for i, w := range pg.Weeks {
		var col Cell
		for _, d := range pg.Heatmap.Days {
			if !d.Date.Before(w) && d.Date.Before(w.Add(week)) {
				col.Deployments += d.Deployments
				col.Rollbacks += d.Rollbacks
			}
		}
		m := pg.Envs[0].Weeks[i]
		if col.Deployments != m.Deployments || col.Rollbacks != m.Rollbacks {
			t.Errorf("week of %s: the day heatmap counts %+v, the metrics %d deployments and %d rollbacks", w.Format(time.DateOnly), col, m.Deployments, m.Rollbacks)
		}
		days.Deployments += col.Deployments
		days.Rollbacks += col.Rollbacks
	}
	for _, row := range pg.Heatmap.WeekHour {
		for _, c := range row {
			hours.Deployments += c.Deployments
			hours.Rollbacks += c.Rollbacks
		}
	}
	if hours != days {
		t.Errorf("the weekday × hour heatmap counts %+v, the day heatmap %+v", hours, days)
	}

	// Counted here from the records: each promotion's first success that
	// finished in the weeks, a rollback when its promotion came from prod.
	deps, err := l.Deployments(ctx, "checkout", "prod", pg.Weeks[0].Add(-24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	promos, err := l.Promotions(ctx, "checkout", "prod", pg.Weeks[0].Add(-24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	rollback := map[string]bool{}
	for _, p := range promos {
		rollback[p.ID] = p.From == "prod"
	}
	first := map[string]time.Time{}
	for _, d := range deps {
		if at, ok := first[d.PromotionID]; d.Status == ledger.DeploymentSuccess && (!ok || d.FinishedAt.Before(at)) {
			first[d.PromotionID] = d.FinishedAt
		}
	}
	var want Cell
	for id, at := range first {
		switch {
		case at.Before(pg.Weeks[0]) || !at.Before(now):
		case rollback[id]:
			want.Rollbacks++
		default:
			want.Deployments++
		}
	}
	if days != want || want.Rollbacks == 0 {
		t.Errorf("the heatmaps count %+v, the records %+v (with rollbacks)", days, want)
	}
}
