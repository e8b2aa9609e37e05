package dora

import (
	"fmt"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
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
