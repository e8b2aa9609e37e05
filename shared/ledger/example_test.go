package ledger_test

import (
	"context"
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// A commit's timeline: record the push and the gate decision on its build, then
// read everything the ledger holds for the SHA, oldest first.
func Example() {
	ctx := context.Background()
	l := ledger.NewMemory()
	sha := "4f2a9c1e0b7d3f5a6c8e9d0b1a2c3e4f5a6b7c8d"
	pushed := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// Written out of order: the timeline is ordered by At, not by write.
	err := l.Put(ctx, &ledger.GateDecision{
		Header:  ledger.Header{ID: "shop-build:7d1c", App: "shop", Commit: sha, At: pushed.Add(4 * time.Minute)},
		Verdict: ledger.VerdictFail,
		Checks:  []ledger.CheckResult{{Name: "lint", Threshold: 0, Observed: 3, Reason: "3 lint violations"}},
	})
	if err == nil {
		err = l.Put(ctx, &ledger.Commit{
			Header: ledger.Header{ID: sha, App: "shop", Commit: sha, At: pushed},
			Repo:   "shop", Branch: "main", Message: "Cache product pages",
		})
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	timeline, err := l.ByCommit(ctx, sha)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range timeline {
		h := rec.RecordHeader()
		fmt.Println(h.At.Format(time.TimeOnly), h.Kind)
	}
	// Output:
	// 09:00:00 commit
	// 09:04:00 gateDecision
}
