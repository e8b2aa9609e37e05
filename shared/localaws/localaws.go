// Package localaws connects tests to the real local stand-ins for AWS that
// scripts/services.sh starts: DynamoDB Local and the Lambda Runtime Interface
// Emulator. Under plain `go test` a test that needs one skips when it is absent;
// under `make test` (HIGHWAY_SERVICES=required) it fails instead, so nothing is
// silently left out.
package localaws

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
)

// Environment variables scripts/services.sh exports.
const (
	EnvDynamoDB = "HIGHWAY_DYNAMODB_ENDPOINT"
	EnvRIE      = "HIGHWAY_RIE"
	EnvServices = "HIGHWAY_SERVICES"
	// EnvChromium is the path of a Chromium binary, for the tests that read
	// Highway's pages as a browser renders them.
	EnvChromium = "HIGHWAY_CHROMIUM"
)

// Require returns the value of the environment variable name. When it is unset
// the test is skipped, or fails when services are required.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv(EnvServices) == "required" {
		tb.Fatalf("%s is unset although %s=required: the local services did not start", name, EnvServices)
	}
	tb.Skipf("%s is unset: run `make test`, which starts the local services", name)
	return ""
}

// Config is an aws.Config for the local stand-ins, which accept any credentials.
func Config() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("highway", "local", ""),
	}
}

// DynamoDB returns a client for DynamoDB Local.
func DynamoDB(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	endpoint := Require(tb, EnvDynamoDB)
	return dynamodb.NewFromConfig(Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

var tables atomic.Int64

// LedgerTable creates a ledger table for one test in DynamoDB Local and deletes
// it when the test ends.
func LedgerTable(tb testing.TB, client *dynamodb.Client) string {
	tb.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("ledger-test-%d-%d", time.Now().UnixNano(), tables.Add(1))
	if _, err := client.CreateTable(ctx, ledger.CreateTableInput(name)); err != nil {
		tb.Fatalf("CreateTable(%s) = %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			tb.Errorf("DeleteTable(%s) = %v", name, err)
		}
	})
	waiter := dynamodb.NewTableExistsWaiter(client)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		tb.Fatalf("wait for table %s: %v", name, err)
	}
	return name
}
