package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/push"
)

const sampleCommit = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"

// deployment is what the function finds in Lambda, recreated locally: its
// binary built as it ships (for this machine's architecture), the policy file
// the CDK app ships beside it, the ledger in DynamoDB Local, and EventBridge
// and CodeCommit answered by the wire-level fake.
type deployment struct {
	bootstrap string
	env       []string
	table     string
	aws       *awsfake.Server
}

func deploy(tb testing.TB) *deployment {
	tb.Helper()
	db := localaws.DynamoDB(tb)
	d := &deployment{table: localaws.LedgerTable(tb, db), aws: awsfake.New(tb)}
	d.aws.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.aws.On("GetCommit", awsfake.JSON(200, `{"commit":{"commitId":"`+sampleCommit+`","parents":["3b7d1e9a2c4f6e8d0a1b3c5e7f9d2a4c6e8b0d1f"],
		"message":"Round order totals half-even","author":{"name":"Dana Okafor","email":"dana@example.com","date":"1794907731 +0100"},
		"committer":{"name":"Dana Okafor","email":"dana@example.com","date":"1794907900 +0100"}}}`))

	dir := tb.TempDir()
	d.bootstrap = build(tb, dir, "push")
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	js, err := p.JSON()
	if err != nil {
		tb.Fatal(err)
	}
	policyFile := filepath.Join(dir, policy.FunctionFileName)
	if err := os.WriteFile(policyFile, js, 0o600); err != nil {
		tb.Fatal(err)
	}
	d.env = []string{
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=highway", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_DYNAMODB=" + os.Getenv(localaws.EnvDynamoDB),
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + d.aws.URL(),
		"AWS_ENDPOINT_URL_CODECOMMIT=" + d.aws.URL(),
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"HIGHWAY_TABLE=" + d.table,
		"HIGHWAY_BUS=highway",
		"HIGHWAY_POLICY_FILE=" + policyFile,
	}
	return d
}

// build compiles the main package src (a function name, or a path such as
// scripts/hello) with scripts/build.sh, the flags it ships with.
func build(tb testing.TB, dir, src string) string {
	tb.Helper()
	cmd := exec.Command("scripts/build.sh", src)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "OUT="+dir, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", src, err, out)
	}
	return filepath.Join(dir, filepath.Base(src), "bootstrap")
}

func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	event, err := os.ReadFile("../../events/codecommit-push.json")
	if err != nil {
		tb.Fatal(err)
	}
	return event
}

// TestBootstrapUnderEmulator is the canary: the built binary runs under the
// Lambda Runtime Interface Emulator and is invoked with the sample event from
// events/, twice, as a redelivery would.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.bootstrap, d.env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for i, want := range []push.Outcome{push.OutcomeRecorded, push.OutcomeDuplicate} {
		body, err := emu.Invoke(ctx, sampleEvent(t))
		if err != nil {
			t.Fatalf("invoke %d: %v\nlog:\n%s", i+1, err, emu.Log())
		}
		var got push.Result
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("invoke %d: response %s: %v", i+1, body, err)
		}
		if got.Outcome != want || got.App != "checkout" || got.Commit != sampleCommit {
			t.Errorf("invoke %d: response = %s, want outcome %q for checkout %s\nlog:\n%s", i+1, body, want, sampleCommit, emu.Log())
		}
	}

	recs, err := ledger.NewDynamo(localaws.DynamoDB(t), d.table).ByCommit(ctx, sampleCommit)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("DynamoDB Local holds %d records for the commit, want 1", len(recs))
	}
	if c, ok := recs[0].(*ledger.Commit); !ok || c.Branch != "main" || c.Repo != "checkout-service" ||
		c.Author != "Dana Okafor <dana@example.com>" || !c.CommittedAt.Equal(time.Unix(1794907900, 0)) {
		t.Errorf("stored record = %+v", recs[0])
	}
	// The metrics buffer is flushed after each invocation, as EMF on stdout.
	if n := strings.Count(emu.Log(), `"`+push.MetricCommitsRecorded+`":1`); n != 1 {
		t.Errorf("log holds %d EMF documents counting %s, want 1 (the duplicate is not counted):\n%s", n, push.MetricCommitsRecorded, emu.Log())
	}
	calls := d.aws.Calls("PutEvents")
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

// BenchmarkColdStart measures the cold-start proxy, emulator process start to the
// first response, for this function and for the hello-world floor built the same
// way. Each iteration is a new process; the median and p90 are reported.
//
//	scripts/services.sh run -- go test -run '^$' -bench ColdStart -benchtime 20x ./functions/push/
func BenchmarkColdStart(b *testing.B) {
	rie := localaws.Require(b, localaws.EnvRIE)
	d := deploy(b)
	hello := build(b, b.TempDir(), "scripts/hello")
	for _, fn := range []struct {
		name      string
		bootstrap string
		env       []string
	}{{"hello", hello, nil}, {"push", d.bootstrap, d.env}} {
		b.Run(fn.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				e, err := localaws.StartEmulator(rie, fn.bootstrap, fn.env)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Invoke(context.Background(), sampleEvent(b)); err != nil {
					b.Fatalf("%v\n%s", err, e.Log())
				}
				took = append(took, time.Since(e.Started))
				e.Stop()
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "ms-p90")
		})
	}
}
