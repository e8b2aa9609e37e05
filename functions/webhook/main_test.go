package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
)

// The commits of the sample push (events/github-push.json) to
// octo-org/storefront, storefront's repository in the example policy.
const (
	first = "2b8e5d1f7a3c9e0b4d6f8a2c1e3b5d7f9a0c2e4b"
	head  = "7d1f0c4a8e2b6d9f1c3a5e7b0d2f4a6c8e1b3d5f"
)

// deploy prepares the webhook function with the secret the samples are
// signed with, as Secrets Manager answers it
// (events/secretsmanager-github-webhook.json), named in its environment.
// EventBridge accepts every event.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "webhook")
	d.AWS.On("GetSecretValue", awsfake.JSON(200, string(localaws.SampleFile(tb, "secretsmanager-github-webhook.json"))))
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.Env = append(d.Env, function.EnvWebhookSecret+"=highway/github-webhook")
	return d
}

// invoke sends payload to the emulated function and decodes its answer.
func invoke(t *testing.T, emu *localaws.Emulator, payload []byte) (int, github.Answer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := emu.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v\nlog:\n%s", err, emu.Log())
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	var a github.Answer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatalf("answer %q: %v", resp.Body, err)
	}
	return resp.StatusCode, a
}

// TestBootstrapUnderEmulator is the canary: the built binary runs under the
// Lambda Runtime Interface Emulator, reads its secret from Secrets Manager,
// and is invoked with the sample delivery from events/ as GitHub sends it,
// twice, as Redeliver would; then with the same body signed with another
// secret.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	sample := localaws.SampleFile(t, "github-push.json")

	for i, want := range []source.Outcome{source.OutcomeRecorded, source.OutcomeDuplicate} {
		status, a := invoke(t, emu, sample)
		if status != http.StatusOK || a.Outcome != want || a.App != "storefront" || a.Commit != head {
			t.Errorf("delivery %d: %d %+v, want 200 %s for storefront %s\nlog:\n%s", i+1, status, a, want, head, emu.Log())
		}
	}
	ctx := context.Background()
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)
	for _, sha := range []string{first, head} {
		recs, err := l.ByCommit(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Fatalf("DynamoDB Local holds %d records of %s, want 1", len(recs), sha[:7])
		}
		c, ok := recs[0].(*ledger.Commit)
		if !ok || c.App != "storefront" || c.Repo != "octo-org/storefront" || c.Branch != "main" || c.Pusher != "lena-ortiz" ||
			c.Author != "Lena Ortiz <lena.ortiz@example.com>" || !c.At.Equal(time.Date(2026, 11, 17, 12, 9, 50, 0, time.UTC)) {
			t.Errorf("stored record of %s = %+v", sha[:7], recs[0])
		}
		if sha == head && (!c.CommittedAt.Equal(time.Date(2026, 11, 17, 12, 4, 37, 0, time.UTC)) || c.Message != "Cache category pages for 60 seconds") {
			t.Errorf("head record = %+v, want its commit time and subject", c)
		}
	}
	// The secret was read once, when the function started.
	var in struct{ SecretId string }
	if calls := d.AWS.Calls("GetSecretValue"); len(calls) != 1 || calls[0].DecodeJSON(&in) != nil || in.SecretId != "highway/github-webhook" {
		t.Errorf("GetSecretValue calls = %d (%q), want 1 of the secret the environment names", len(calls), in.SecretId)
	}
	// The redelivery announced nothing: one PutEvents, of both commits.
	calls := d.AWS.Calls("PutEvents")
	if len(calls) != 1 {
		t.Fatalf("PutEvents calls = %d, want 1 (the redelivery changes nothing)", len(calls))
	}
	var put struct {
		Entries []struct{ DetailType, EventBusName, Source string }
	}
	if err := calls[0].DecodeJSON(&put); err != nil {
		t.Fatal(err)
	}
	if len(put.Entries) != 2 || slices.ContainsFunc(put.Entries, func(e struct{ DetailType, EventBusName, Source string }) bool {
		return e.DetailType != source.DetailTypeCommitRecorded || e.EventBusName != "highway"
	}) {
		t.Errorf("PutEvents entries = %+v, want two Commit Recorded on highway", put.Entries)
	}
	// The metrics buffer is flushed after each invocation, as EMF on stdout:
	// the first counts both commits, the redelivery none.
	counted := `"` + telemetry.MetricCommitsRecorded + `":`
	if log := emu.WaitLog(counted+"[1,1]", 5*time.Second); strings.Count(log, counted) != 1 || !strings.Contains(log, counted+"[1,1]") {
		t.Errorf("log holds %d EMF documents counting %s, want 1, of both commits:\n%s", strings.Count(log, counted), telemetry.MetricCommitsRecorded, log)
	}

	// The same delivery signed with a secret that is not Highway's is refused.
	var forged events.LambdaFunctionURLRequest
	if err := json.Unmarshal(sample, &forged); err != nil {
		t.Fatal(err)
	}
	forged.Headers["x-github-delivery"] = "5f0e2d4c-a4c2-11ef-b1d3-6a8c0e2f4b17"
	forged.Headers["x-hub-signature-256"] = github.Sign([]byte("an-attacker-s-guess-of-the-secret-0123456789"), []byte(forged.Body))
	payload, err := json.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	if status, a := invoke(t, emu, payload); status != http.StatusForbidden || a.Outcome != github.OutcomeRefused {
		t.Errorf("forged delivery: %d %+v, want 403", status, a)
	}
}

// The ping GitHub sends when the webhook is created is answered, naming the
// app of the repository.
func TestBootstrapAnswersPing(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	status, a := invoke(t, emu, localaws.SampleFile(t, "github-ping.json"))
	if status != http.StatusOK || a.Outcome != github.OutcomePong || a.App != "storefront" {
		t.Errorf("ping: %d %+v, want 200 pong naming storefront\nlog:\n%s", status, a, emu.Log())
	}
	if n := len(d.AWS.Calls("PutEvents")); n != 0 {
		t.Errorf("PutEvents calls = %d after a ping, want none", n)
	}
}

// BenchmarkInvoke measures the webhook as built, under the emulator, with
// the sample delivery (through localaws.BenchInvoke); make bench runs it.
// A delivery is recorded once: the first invoke records the push, every
// later one finds its claim done and changes nothing, which the check
// requires.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	want := source.OutcomeRecorded
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, localaws.SampleFile(b, "github-push.json"), func(body []byte) error {
		var resp events.LambdaFunctionURLResponse
		var a github.Answer
		if err := json.Unmarshal(body, &resp); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(resp.Body), &a); err != nil || resp.StatusCode != http.StatusOK || a.Outcome != want {
			return fmt.Errorf("answer %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
		}
		want = source.OutcomeDuplicate
		return nil
	})
}
