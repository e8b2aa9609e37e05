package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// TestBootstrapUnderEmulator runs dora as built, under the Lambda Runtime
// Interface Emulator, with its scheduled event: it reads prod's deployment
// and commit from DynamoDB Local, writes the metrics as EMF to its log, and
// leaves each environment's checkpoint on the ledger for the next run.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := localaws.Deploy(t, "dora")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)
	at := time.Date(2026, 11, 18, 3, 0, 0, 0, time.UTC) // three hours before the event
	const sha = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
	for _, r := range []ledger.Record{
		&ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: at.Add(-time.Hour)}, Repo: "checkout-service", CommittedAt: at.Add(-2 * time.Hour)},
		&ledger.Deployment{Header: ledger.Header{ID: "dep-1", App: "checkout", Env: "prod", Commit: sha, Digest: "sha256:e648", At: at.Add(-5 * time.Minute)},
			PromotionID: "prm-1", Commits: []string{sha}, Status: ledger.DeploymentSuccess, FinishedAt: at},
	} {
		if err := l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	raw, err := os.ReadFile("../../events/dora-scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := emu.Invoke(ctx, raw)
	if err != nil || strings.Contains(string(body), `"errorMessage"`) {
		t.Fatalf("invoke: %s, %v\nlog:\n%s", body, err, emu.Log())
	}
	var res struct {
		Rows []struct {
			Env, Window string
			Metrics     struct{ Deployments, Commits int }
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	prod1d := false
	for _, r := range res.Rows {
		if r.Env == "prod" && r.Window == "1d" {
			prod1d = r.Metrics.Deployments == 1 && r.Metrics.Commits == 1
		}
	}
	if len(res.Rows) != 9 || !prod1d {
		t.Errorf("rows = %+v, want 3 environments × 3 windows, prod's day with its deployment", res.Rows)
	}
	log := emu.WaitLog(`"LeadTimeP50":7200`, 5*time.Second)
	if !strings.Contains(log, `"LeadTimeP50":7200`) || !strings.Contains(log, `"CloudWatchMetrics"`) {
		t.Errorf("no EMF lead time of 2h in the log:\n%s", log)
	}
	rec, err := l.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
	if err != nil {
		t.Fatalf("prod's checkpoint: %v", err)
	}
	if cp := rec.(*ledger.DORACheckpoint); len(cp.Deployments) != 1 || !cp.CommittedAt[sha].Equal(at.Add(-2*time.Hour)) || cp.Through.IsZero() {
		t.Errorf("prod's checkpoint = %+v, want its deployment and commit time", cp)
	}
}
