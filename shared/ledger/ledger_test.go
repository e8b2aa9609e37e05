package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
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
	t.Run("file", func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T, now func() time.Time) ledger.Ledger {
			return reopened{path: filepath.Join(t.TempDir(), "ledger.json"), now: now}
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

// Latest reads the newest records first and stops at the first that fits:
// what it reads does not grow with the history behind it (the drift round
// reads the latest report of every stack and environment on each run).
func TestDynamoLatestReadsNoFurtherBackThanItNeeds(t *testing.T) {
	ctx := context.Background()
	client := localaws.DynamoDB(t)
	counted := ledgertest.Count(client)
	l := ledger.NewDynamo(counted, localaws.LedgerTable(t, client))
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, history := range []int{1, 60} {
		id := fmt.Sprintf("shop/history-%d", history)
		for i := range history {
			if err := l.Put(ctx, &ledger.Baseline{Header: ledger.Header{ID: id, App: "shop", At: start.Add(time.Duration(i) * time.Hour)}}); err != nil {
				t.Fatal(err)
			}
		}
		before := counted.Traffic()
		got, err := l.Latest(ctx, ledger.KindBaseline, id)
		read := counted.Traffic().Sub(before)
		if want := start.Add(time.Duration(history-1) * time.Hour); err != nil || !got.RecordHeader().At.Equal(want) {
			t.Fatalf("Latest(%s) = %v, %v; want the record of %v", id, got, err, want)
		}
		if read.Queries != 1 || read.Items > 10 {
			t.Errorf("Latest(%s) over %d records read %d items in %d queries, want one page of at most 10", id, history, read.Items, read.Queries)
		}
	}
}
