package ledger_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/ledger/ledgertest"
)

// endpointEnv names the DynamoDB Local endpoint the dynamodb contract runs against.
const endpointEnv = "HIGHWAY_DYNAMODB_ENDPOINT"

func TestContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T, now func() time.Time) ledger.Ledger {
			return ledger.NewMemory(ledger.WithClock(now))
		})
	})
	t.Run("dynamodb", func(t *testing.T) {
		endpoint := os.Getenv(endpointEnv)
		if endpoint == "" {
			t.Skipf("%s is unset: run `make test`, which starts DynamoDB Local", endpointEnv)
		}
		client := localClient(endpoint)
		ledgertest.Run(t, func(t *testing.T, now func() time.Time) ledger.Ledger {
			return ledger.NewDynamo(client, createTable(t, client), ledger.WithClock(now))
		})
	})
}

// localClient is a DynamoDB client for DynamoDB Local, which accepts any
// credentials.
func localClient(endpoint string) *dynamodb.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("highway", "local", ""),
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

var tables atomic.Int64

// createTable creates a ledger table for one test and deletes it when the test ends.
func createTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("ledger-test-%d-%d", time.Now().UnixNano(), tables.Add(1))
	if _, err := client.CreateTable(ctx, ledger.CreateTableInput(name)); err != nil {
		t.Fatalf("CreateTable(%s) = %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("DeleteTable(%s) = %v", name, err)
		}
	})
	waiter := dynamodb.NewTableExistsWaiter(client)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("wait for table %s: %v", name, err)
	}
	return name
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
