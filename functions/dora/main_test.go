package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// sha is the commit of prod's deployment on the ledger.
const sha = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"

// deployedAt is when prod's deployment finished: three hours before the
// schedule's event.
var deployedAt = time.Date(2026, 11, 18, 3, 0, 0, 0, time.UTC)

// deploy prepares the dora function with prod's deployment of sha, which
// took five minutes, and sha's commit, made two hours before it finished,
// on the ledger in DynamoDB Local.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "dora")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := ledger.NewDynamo(localaws.DynamoDB(tb), d.Table)
	for _, r := range []ledger.Record{
		&ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: deployedAt.Add(-time.Hour)}, Repo: "checkout-service", CommittedAt: deployedAt.Add(-2 * time.Hour)},
		&ledger.Deployment{Header: ledger.Header{ID: "dep-1", App: "checkout", Env: "prod", Commit: sha, Digest: "sha256:e648", At: deployedAt.Add(-5 * time.Minute)},
			PromotionID: "prm-1", Commits: []string{sha}, Status: ledger.DeploymentSuccess, FinishedAt: deployedAt},
	} {
		if err := l.Put(ctx, r); err != nil {
			tb.Fatal(err)
		}
	}
	return d
}

// scheduledEvent is the schedule's event from events/.
func scheduledEvent(tb testing.TB) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, "dora-scheduled.json")
}

// checkRows refuses a response that is not every environment of the example
// policy × 3 windows, with checkout/prod's deployment and commit in its day.
func checkRows(body []byte) error {
	var res struct {
		Rows []struct {
			App, Env, Window string
			Metrics          struct{ Deployments, Commits int }
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("response %s: %w", body, err)
	}
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		return err
	}
	envs := 0
	for _, a := range p.Apps {
		envs += len(a.Environments)
	}
	prod1d := false
	for _, r := range res.Rows {
		if r.App == "checkout" && r.Env == "prod" && r.Window == "1d" {
			prod1d = r.Metrics.Deployments == 1 && r.Metrics.Commits == 1
		}
	}
	if len(res.Rows) != 3*envs || !prod1d {
		return fmt.Errorf("rows = %+v, want %d environments × 3 windows, checkout/prod's day with its deployment", res.Rows, envs)
	}
	return nil
}

// TestBootstrapUnderEmulator runs dora as built, under the Lambda Runtime
// Interface Emulator, with its scheduled event: it reads prod's deployment
// and commit from DynamoDB Local, writes the metrics as EMF to its log, and
// leaves each environment's checkpoint on the ledger for the next run.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	body, err := emu.Invoke(ctx, scheduledEvent(t))
	if err != nil || strings.Contains(string(body), `"errorMessage"`) {
		t.Fatalf("invoke: %s, %v\nlog:\n%s", body, err, emu.Log())
	}
	if err := checkRows(body); err != nil {
		t.Error(err)
	}
	log := emu.WaitLog(`"LeadTimeP50":7200`, 5*time.Second)
	if !strings.Contains(log, `"LeadTimeP50":7200`) || !strings.Contains(log, `"CloudWatchMetrics"`) {
		t.Errorf("no EMF lead time of 2h in the log:\n%s", log)
	}
	rec, err := l.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
	if err != nil {
		t.Fatalf("prod's checkpoint: %v", err)
	}
	if cp := rec.(*ledger.DORACheckpoint); len(cp.Deployments) != 1 || !cp.CommittedAt[sha].Equal(deployedAt.Add(-2*time.Hour)) || cp.Through.IsZero() {
		t.Errorf("prod's checkpoint = %+v, want its deployment and commit time", cp)
	}
}

// BenchmarkInvoke measures dora as built, under the emulator, with the
// schedule's event (localaws.BenchInvoke); make bench runs it. The first
// run finds no checkpoint and reads the longest window in full; it leaves
// each environment's checkpoint on the ledger, so every redelivery, the
// warm invokes included, measures the incremental run: from the checkpoint,
// reading only the Settle before it, and saving it back. Each run answers
// the same rows, which the check requires.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, scheduledEvent(b), checkRows)
}
