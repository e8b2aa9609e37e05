package dora

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// BenchmarkCompute computes the metrics over a million records in memory:
// 400,000 deployments (two commits each, one in ten retried, one in twenty a
// rollback), 200,000 incidents and 400,000 commit times, over 30 days.
func BenchmarkCompute(b *testing.B) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const deployments, incidents = 400_000, 200_000
	step := 30 * 24 * time.Hour / deployments
	h := History{Rollbacks: map[string]bool{}, CommittedAt: map[string]time.Time{}}
	for i := range deployments {
		done := from.Add(time.Duration(i) * step)
		promotion := fmt.Sprintf("p%d", i-i%10/9) // every tenth a retry of the one before
		c1, c2 := fmt.Sprintf("c%d-1", i), fmt.Sprintf("c%d-2", i)
		h.CommittedAt[c1], h.CommittedAt[c2] = done.Add(-3*time.Hour), done.Add(-30*time.Minute)
		if i%20 == 19 {
			h.Rollbacks[promotion] = true
		}
		h.Deployments = append(h.Deployments, dep(fmt.Sprintf("d%d", i), promotion, ledger.DeploymentSuccess, done, c1, c2))
	}
	for i := range incidents {
		opened := from.Add(time.Duration(2*i) * step)
		h.Incidents = append(h.Incidents, &ledger.Incident{Header: ledger.Header{ID: fmt.Sprintf("i%d", i), At: opened},
			DeploymentID: fmt.Sprintf("d%d", 2*i), ResolvedAt: opened.Add(20 * time.Minute)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	var m Metrics
	for b.Loop() {
		m = Compute(h, from, from.Add(30*24*time.Hour))
	}
	b.StopTimer()
	if m.Deployments == 0 || m.Restored == 0 {
		b.Fatalf("Compute() = %+v", m)
	}
}

// thirtyDays fills DynamoDB Local with 30 days of prod (fill); it returns
// the ledger and the days' end.
func thirtyDays(b *testing.B, carry bool) (ledger.Ledger, time.Time) {
	db := localaws.DynamoDB(b)
	l := ledger.NewDynamo(db, localaws.LedgerTable(b, db))
	return l, fill(b, l, days, carry)
}

// fill puts n days of prod from Oct 1, 2026 on l: ten deployments a day (two
// commits each, their times carried on the deployment when carry is set),
// their promotions and commits, and one incident a day; it returns the days'
// end.
func fill(b *testing.B, l ledger.Ledger, n int, carry bool) time.Time {
	b.Helper()
	ctx := context.Background()
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	put := func(r ledger.Record) {
		if err := l.Put(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n * perDay {
		done := from.Add(time.Duration(i) * 24 * time.Hour / perDay).Add(time.Hour)
		c1, c2 := fmt.Sprintf("%040d", 2*i), fmt.Sprintf("%040d", 2*i+1)
		for _, c := range []string{c1, c2} {
			put(&ledger.Commit{Header: ledger.Header{ID: c, App: "checkout", Commit: c, At: done.Add(-2 * time.Hour)}, Repo: "checkout-service", CommittedAt: done.Add(-3 * time.Hour)})
		}
		p := fmt.Sprintf("prm-%d", i)
		put(&ledger.Promotion{Header: ledger.Header{ID: p, App: "checkout", Env: "prod", Commit: c2, At: done.Add(-10 * time.Minute)}, From: "staging", Status: ledger.PromotionSucceeded})
		d := dep("dep-"+p, p, ledger.DeploymentSuccess, done, c2, c1)
		d.Commit = c2
		if carry {
			d.CommittedAt = map[string]time.Time{c1: done.Add(-3 * time.Hour), c2: done.Add(-3 * time.Hour)}
		}
		put(d)
		if i%perDay == 0 {
			put(&ledger.Incident{Header: ledger.Header{ID: "inc-" + p, App: "checkout", Env: "prod", At: done.Add(20 * time.Minute)},
				DeploymentID: d.ID, ResolvedAt: done.Add(50 * time.Minute)})
		}
	}
	return from.Add(time.Duration(n) * 24 * time.Hour)
}

// The shape of thirtyDays.
const days, perDay = 30, 10

// BenchmarkReadDynamoDB reads a 30-day window of prod from DynamoDB Local
// (thirtyDays) in full, as a first run does (Refresh without a checkpoint),
// and computes its metrics: with each commit's time looked up
// on the ledger, and carried on the deployments (as Highway records them).
// Run it under
// scripts/services.sh run -- go test -run '^$' -bench DynamoDB ./shared/dora
func BenchmarkReadDynamoDB(b *testing.B) {
	for _, carry := range []bool{false, true} {
		name := "looked-up"
		if carry {
			name = "carried"
		}
		b.Run(name, func(b *testing.B) {
			l, to := thirtyDays(b, carry)
			from := to.Add(-days * 24 * time.Hour)
			ctx := context.Background()
			b.ResetTimer()
			var m Metrics
			for b.Loop() {
				cp, err := Refresh(ctx, l, "checkout", "prod", nil, to)
				if err != nil {
					b.Fatal(err)
				}
				m = Compute(HistoryOf(cp), from, to)
			}
			b.StopTimer()
			if m.Deployments != days*perDay || m.Commits != 2*days*perDay || m.Restored != days {
				b.Fatalf("Compute() = %+v", m)
			}
		})
	}
}

// BenchmarkRefreshDynamoDB is the scheduled run an hour after the last, over
// the same 30 days in DynamoDB Local: it refreshes the last run's checkpoint
// (reading what changed since) and computes the three windows from it.
func BenchmarkRefreshDynamoDB(b *testing.B) {
	l, last := thirtyDays(b, false)
	ctx := context.Background()
	cp, err := Refresh(ctx, l, "checkout", "prod", nil, last)
	if err != nil {
		b.Fatal(err)
	}
	now := last.Add(time.Hour)
	b.ResetTimer()
	var rows []Row
	for b.Loop() {
		next, err := Refresh(ctx, l, "checkout", "prod", cp, now)
		if err != nil {
			b.Fatal(err)
		}
		rows = rowsOf("checkout", "prod", HistoryOf(next), now)
	}
	b.StopTimer()
	if m := rows[2].Metrics; m.Deployments != days*perDay || m.Commits != 2*days*perDay {
		b.Fatalf("30d = %+v", m)
	}
}
