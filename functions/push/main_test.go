package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/push"
)

// TestBootstrapUnderEmulator is the canary: it builds this function as it ships
// (for the host's architecture), runs the binary under the Lambda Runtime
// Interface Emulator with the ledger in DynamoDB Local and EventBridge answered by
// the wire-level fake, and invokes it with the sample event from events/.
func TestBootstrapUnderEmulator(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.LedgerTable(t, db)

	dir := t.TempDir()
	build := exec.Command("../../scripts/build.sh", "push")
	build.Env = append(os.Environ(), "OUT="+dir, "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	bootstrap := filepath.Join(dir, "push", "bootstrap")

	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "highway.json")
	if err := os.WriteFile(policyFile, js, 0o600); err != nil {
		t.Fatal(err)
	}

	bus := awsfake.New(t)
	bus.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))

	emu := localaws.Emulate(t, bootstrap, []string{
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=highway", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_DYNAMODB=" + os.Getenv(localaws.EnvDynamoDB),
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + bus.URL(),
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"HIGHWAY_TABLE=" + table,
		"HIGHWAY_BUS=highway",
		"HIGHWAY_POLICY_FILE=" + policyFile,
	})
	event, err := os.ReadFile("../../events/codecommit-push.json")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, want := range []push.Outcome{push.OutcomeRecorded, push.OutcomeDuplicate} {
		body, err := emu.Invoke(ctx, event)
		if err != nil {
			t.Fatalf("invoke %d: %v\nlog:\n%s", i+1, err, emu.Log())
		}
		if i == 0 {
			t.Logf("cold-start proxy (emulator start to first response): %v", time.Since(emu.Started))
		}
		var got push.Result
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("invoke %d: response %s: %v", i+1, body, err)
		}
		if got.Outcome != want || got.App != "checkout" {
			t.Errorf("invoke %d: response = %s, want outcome %q for app checkout\nlog:\n%s", i+1, body, want, emu.Log())
		}
	}

	recs, err := ledger.NewDynamo(db, table).ByCommit(ctx, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("DynamoDB Local holds %d records for the commit, want 1", len(recs))
	}
	if c, ok := recs[0].(*ledger.Commit); !ok || c.Branch != "main" || c.Repo != "checkout-service" {
		t.Errorf("stored record = %+v", recs[0])
	}
	calls := bus.Calls("PutEvents")
	if len(calls) != 2 {
		t.Fatalf("PutEvents calls = %d, want 2 (one per delivery)", len(calls))
	}
	var in struct {
		Entries []struct{ DetailType, EventBusName string }
	}
	if err := calls[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].DetailType != push.DetailTypeCommitRecorded || in.Entries[0].EventBusName != "highway" {
		t.Errorf("PutEvents entries = %+v", in.Entries)
	}
}
