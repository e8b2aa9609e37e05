package dora

import (
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC)
}

func dep(id, promotion string, status ledger.DeploymentStatus, done time.Time, commits ...string) *ledger.Deployment {
	return &ledger.Deployment{Header: ledger.Header{ID: id, App: "checkout", Env: "prod", At: done.Add(-5 * time.Minute)},
		PromotionID: promotion, Status: status, FinishedAt: done, Commits: commits}
}

// handCheckedWeek is a hand-checked week of prod, [Nov 10, Nov 17).
func handCheckedWeek() History {
	return History{
		Deployments: []*ledger.Deployment{
			dep("dep-E", "p0", ledger.DeploymentSuccess, at(9, 23, 59), "c0"),         // before the window
			dep("dep-G", "p6", ledger.DeploymentSuccess, at(10, 0, 0)),                // on the window's start: in; no commits
			dep("dep-A1", "p1", ledger.DeploymentSuccess, at(10, 12, 0), "c2", "c1"),  // two commits
			dep("dep-A2", "p1", ledger.DeploymentSuccess, at(10, 12, 30), "c2", "c1"), // the same promotion again: once
			dep("dep-B", "p2", ledger.DeploymentSuccess, at(11, 12, 0), "c3"),         // an incident is blamed on it
			dep("dep-F", "p3", ledger.DeploymentFailure, at(12, 0, 0), "c9"),          // failed: not a deployment
			dep("dep-C", "p4", ledger.DeploymentSuccess, at(13, 0, 0), "c4"),          // rolled back
			dep("dep-R", "pR", ledger.DeploymentSuccess, at(13, 1, 0), "c3"),          // the rollback: not counted
			dep("dep-D", "p5", ledger.DeploymentSuccess, at(17, 0, 0), "c5"),          // on the window's end: out
		},
		Rollbacks: map[string]bool{"pR": true},
		Incidents: []*ledger.Incident{
			{Header: ledger.Header{ID: "i1", At: at(11, 13, 0)}, DeploymentID: "dep-B", ResolvedAt: at(11, 13, 30)},
			{Header: ledger.Header{ID: "i2", At: at(13, 0, 10)}, ResolvedAt: at(13, 1, 10)}, // no deployment linked
			{Header: ledger.Header{ID: "i3", At: at(16, 23, 0)}, ResolvedAt: at(17, 0, 30)}, // resolved after the window
			{Header: ledger.Header{ID: "i4", At: at(14, 9, 0)}},                             // still open
		},
		CommittedAt: map[string]time.Time{
			"c0": at(9, 20, 0), "c1": at(9, 22, 0), "c2": at(10, 8, 0), "c3": at(11, 10, 0), "c4": at(12, 0, 0), "c5": at(16, 0, 0),
		},
	}
}

func TestCompute(t *testing.T) {
	from, to := at(10, 0, 0), at(17, 0, 0)
	tests := []struct {
		name      string
		give      History
		want      Metrics
		wantBands Bands
	}{
		{
			name: "a hand-checked week",
			give: handCheckedWeek(),
			// G, A (once), B, C, and R apart; leads c1 14h, c2 4h, c3 2h, c4 24h;
			// B blamed, C rolled back; restores i1 30m, i2 60m.
			want: Metrics{From: from, To: to, Deployments: 4, PerDay: 4.0 / 7,
				LeadTimeMedian: 4 * time.Hour, LeadTimeP90: 24 * time.Hour, Commits: 4,
				Failed: 2, ChangeFailureRate: 0.5, Rollbacks: 1, TimeToRestoreMedian: 30 * time.Minute, Restored: 2},
			wantBands: Bands{DeploymentFrequency: High, LeadTime: Elite, ChangeFailureRate: Low, TimeToRestore: Elite},
		},
		{
			name:      "no deployments",
			give:      History{},
			want:      Metrics{From: from, To: to},
			wantBands: Bands{DeploymentFrequency: Low},
		},
		{
			name: "an incident with no linked deployment fails no change",
			give: History{
				Deployments: []*ledger.Deployment{dep("dep-1", "p1", ledger.DeploymentSuccess, at(12, 0, 0), "c1")},
				Incidents:   []*ledger.Incident{{Header: ledger.Header{ID: "i1", At: at(12, 1, 0)}, ResolvedAt: at(12, 4, 0)}},
				CommittedAt: map[string]time.Time{"c1": at(5, 0, 0)},
			},
			want: Metrics{From: from, To: to, Deployments: 1, PerDay: 1.0 / 7, LeadTimeMedian: 7 * 24 * time.Hour, LeadTimeP90: 7 * 24 * time.Hour,
				Commits: 1, TimeToRestoreMedian: 3 * time.Hour, Restored: 1},
			wantBands: Bands{DeploymentFrequency: High, LeadTime: Medium, ChangeFailureRate: Elite, TimeToRestore: High},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(tt.give, from, to)
			if got != tt.want {
				t.Errorf("Compute() = %+v\nwant        %+v", got, tt.want)
			}
			if b := BandsOf(got); b != tt.wantBands {
				t.Errorf("BandsOf() = %+v, want %+v", b, tt.wantBands)
			}
		})
	}
}

func TestBandBoundaries(t *testing.T) {
	from := at(1, 0, 0)
	m := func(f func(*Metrics)) Bands {
		x := Metrics{From: from, To: from.Add(30 * 24 * time.Hour), Deployments: 1, Commits: 1, Restored: 1}
		f(&x)
		return BandsOf(x)
	}
	tests := []struct {
		name string
		got  Band
		want Band
	}{
		{"a deployment a day is elite", m(func(x *Metrics) { x.PerDay = 1 }).DeploymentFrequency, Elite},
		{"a deployment a week is high", m(func(x *Metrics) { x.PerDay = 1.0 / 7 }).DeploymentFrequency, High},
		{"a deployment a month is medium", m(func(x *Metrics) { x.PerDay = 1.0 / 30 }).DeploymentFrequency, Medium},
		{"fewer is low", m(func(x *Metrics) { x.PerDay = 1.0 / 31 }).DeploymentFrequency, Low},
		{"lead time just under a day", m(func(x *Metrics) { x.LeadTimeMedian = day - time.Second }).LeadTime, Elite},
		{"lead time of a day", m(func(x *Metrics) { x.LeadTimeMedian = day }).LeadTime, High},
		{"lead time of a month", m(func(x *Metrics) { x.LeadTimeMedian = month }).LeadTime, Low},
		{"5% failures", m(func(x *Metrics) { x.ChangeFailureRate = 0.05 }).ChangeFailureRate, Elite},
		{"15% failures", m(func(x *Metrics) { x.ChangeFailureRate = 0.15 }).ChangeFailureRate, Medium},
		{"16% failures", m(func(x *Metrics) { x.ChangeFailureRate = 0.16 }).ChangeFailureRate, Low},
		{"restored within the hour", m(func(x *Metrics) { x.TimeToRestoreMedian = 59 * time.Minute }).TimeToRestore, Elite},
		{"restored in a week", m(func(x *Metrics) { x.TimeToRestoreMedian = week }).TimeToRestore, Low},
		{"no commit: no lead time band", m(func(x *Metrics) { x.Commits = 0 }).LeadTime, ""},
		{"nothing restored: no band", m(func(x *Metrics) { x.Restored = 0 }).TimeToRestore, ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for p, want := range map[int]time.Duration{50: 5, 90: 9, 100: 10, 1: 1} {
		if got := percentile(ds, p); got != want {
			t.Errorf("percentile(%d) = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}
