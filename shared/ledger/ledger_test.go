package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/ledger/ledgertest"
	"github.com/highwayhq/highway/shared/localaws"
)

func TestContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T, now func() time.Time) ledger.Ledger {
			return ledger.NewMemory(ledger.WithClock(now))
		})
	})
	t.Run("dynamodb", func(t *testing.T) {
		client := localaws.DynamoDB(t)
		ledgertest.Run(t, func(t *testing.T, now func() time.Time) ledger.Ledger {
			return ledger.NewDynamo(client, localaws.LedgerTable(t, client), ledger.WithClock(now))
		})
	})
}

func BenchmarkMemoryPut(b *testing.B) {
	ctx := context.Background()
	l := ledger.NewMemory()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		i++
		err := l.Put(ctx, &ledger.Build{
			Header:  ledger.Header{ID: fmt.Sprintf("b-%d", i), App: "shop", Commit: fmt.Sprintf("%040x", i%1000), At: start.Add(time.Duration(i))},
			Project: "shop-build", Status: "SUCCEEDED",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryByCommit(b *testing.B) {
	ctx := context.Background()
	l := ledger.NewMemory()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// 1000 commits of 10 records each: a lookup reads one commit's 10.
	for i := range 10000 {
		err := l.Put(ctx, &ledger.Build{
			Header:  ledger.Header{ID: fmt.Sprintf("b-%d", i), Commit: fmt.Sprintf("%040x", i%1000), At: start.Add(time.Duration(i) * time.Second)},
			Project: "shop-build", Status: "SUCCEEDED",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	sha := fmt.Sprintf("%040x", 7)
	for b.Loop() {
		recs, err := l.ByCommit(ctx, sha)
		if err != nil || len(recs) != 10 {
			b.Fatalf("ByCommit(%s) = %d records, %v, want 10", sha, len(recs), err)
		}
	}
}
