package dora

import (
	"context"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// A full read (Refresh without a checkpoint) finds in the ledger what the
// hand-checked week is made of, so the metrics computed from the ledger are
// the hand-checked ones.
func TestReadFromTheLedger(t *testing.T) {
	ctx := context.Background()
	l := ledger.NewMemory()
	week := handCheckedWeek()
	for _, d := range week.Deployments {
		if err := l.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, inc := range week.Incidents {
		inc.App, inc.Env = "checkout", "prod"
		if err := l.Put(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	for sha, at := range week.CommittedAt {
		c := &ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: at.Add(time.Minute)}, Repo: "checkout-service", CommittedAt: at}
		if err := l.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	rollback := &ledger.Promotion{Header: ledger.Header{ID: "pR", App: "checkout", Env: "prod", At: at(13, 0, 55)}, From: "prod", Status: ledger.PromotionSucceeded}
	forward := &ledger.Promotion{Header: ledger.Header{ID: "p4", App: "checkout", Env: "prod", At: at(12, 23, 50)}, From: "staging", Status: ledger.PromotionSucceeded}
	for _, p := range []*ledger.Promotion{rollback, forward} {
		if err := l.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Another environment's records change nothing.
	dev := dep("dep-dev", "p9", ledger.DeploymentSuccess, at(12, 0, 0), "c1")
	dev.Env = "dev"
	if err := l.Put(ctx, dev); err != nil {
		t.Fatal(err)
	}

	from, to := at(10, 0, 0), at(17, 0, 0)
	cp, err := Refresh(ctx, l, "checkout", "prod", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	h := HistoryOf(cp)
	if !h.Rollbacks["pR"] || h.Rollbacks["p4"] {
		t.Errorf("rollbacks = %v, want pR only", h.Rollbacks)
	}
	if got, want := Compute(h, from, to), Compute(handCheckedWeek(), from, to); got != want {
		t.Errorf("from the ledger: %+v\nwant               %+v", got, want)
	}
}
