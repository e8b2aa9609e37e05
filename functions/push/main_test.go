package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
)

const sampleCommit = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"

// deploy prepares the push function with CodeCommit's answer for the sample
// commit; EventBridge accepts every event.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "push")
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("GetCommit", awsfake.JSON(200, `{"commit":{"commitId":"`+sampleCommit+`","parents":["3b7d1e9a2c4f6e8d0a1b3c5e7f9d2a4c6e8b0d1f"],
		"message":"Round order totals half-even","author":{"name":"Dana Okafor","email":"dana@example.com","date":"1794907731 +0100"},
		"committer":{"name":"Dana Okafor","email":"dana@example.com","date":"1794907900 +0100"}}}`))
	return d
}

func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, "codecommit-push.json")
}

// TestBootstrapUnderEmulator is the canary: the built binary runs under the
// Lambda Runtime Interface Emulator and is invoked with the sample event from
// events/, twice, as a redelivery would.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for i, want := range []source.Outcome{source.OutcomeRecorded, source.OutcomeDuplicate} {
		body, err := emu.Invoke(ctx, sampleEvent(t))
		if err != nil {
			t.Fatalf("invoke %d: %v\nlog:\n%s", i+1, err, emu.Log())
		}
		var got source.Result
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("invoke %d: response %s: %v", i+1, body, err)
		}
		if got.Outcome != want || got.App != "checkout" || got.Commit != sampleCommit {
			t.Errorf("invoke %d: response = %s, want outcome %q for checkout %s\nlog:\n%s", i+1, body, want, sampleCommit, emu.Log())
		}
	}

	recs, err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).ByCommit(ctx, sampleCommit)
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
	if n := strings.Count(emu.WaitLog(`"`+telemetry.MetricCommitsRecorded+`":1`, 5*time.Second), `"`+telemetry.MetricCommitsRecorded+`":1`); n != 1 {
		t.Errorf("log holds %d EMF documents counting %s, want 1 (the duplicate is not counted):\n%s", n, telemetry.MetricCommitsRecorded, emu.Log())
	}
	// GetCommit ran in the delivery account, through the access role there.
	if gets := d.AWS.Calls("GetCommit"); len(gets) == 0 || d.RoleOf(gets[0]) != d.AccessRole("222222222222") {
		t.Errorf("GetCommit was not made through the access role in the delivery account: %d calls", len(gets))
	}
	if n := len(d.AWS.Calls("AssumeRole")); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1 (cached across invocations)", n)
	}
	calls := d.AWS.Calls("PutEvents")
	if len(calls) != 2 {
		t.Fatalf("PutEvents calls = %d, want 2 (one per delivery)", len(calls))
	}
	var in struct {
		Entries []struct{ DetailType, EventBusName string }
	}
	if err := calls[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].DetailType != source.DetailTypeCommitRecorded || in.Entries[0].EventBusName != "highway" {
		t.Errorf("PutEvents entries = %+v", in.Entries)
	}
}

// BenchmarkInvoke measures push as built, under the emulator, with the
// sample push (localaws.BenchInvoke): make bench runs it.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, sampleEvent(b), nil)
}
