package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/timeline"
)

// The commits the demo's GitHub push brings to octo-org/storefront
// (events/github-push.json).
const (
	storefrontFirst = "2b8e5d1f7a3c9e0b4d6f8a2c1e3b5d7f9a0c2e4b"
	storefrontHead  = "7d1f0c4a8e2b6d9f1c3a5e7b0d2f4a6c8e1b3d5f"
)

// The demo's GitHub commit runs through the same chain as a CodeCommit one:
// recorded by the webhook, built by the pipeline whose source revision is
// its SHA, gated, registered, deployed to dev; lead time starts at the time
// GitHub gave it.
func TestGitHubCommitRunsThroughBuildGateAndDeployment(t *testing.T) {
	ctx := context.Background()
	l := demoLedger(t)
	recs, err := chain(ctx, l, storefrontHead)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := timeline.Write(&out, recs); err != nil {
		t.Fatal(err)
	}
	kinds := map[ledger.Kind]int{}
	var deployment *ledger.Deployment
	for _, r := range recs {
		kinds[r.RecordHeader().Kind]++
		switch r := r.(type) {
		case *ledger.Commit:
			if r.Repo != "octo-org/storefront" || r.Branch != "main" || r.Pusher != "lena-ortiz" || r.App != "storefront" {
				t.Errorf("commit record = %+v, want storefront's push to main by lena-ortiz", r)
			}
		case *ledger.GateDecision:
			if r.Verdict != ledger.VerdictPass {
				t.Errorf("gate decision = %s, want pass", r.Verdict)
			}
		case *ledger.Deployment:
			deployment = r
		}
	}
	for _, k := range []ledger.Kind{ledger.KindCommit, ledger.KindBuild, ledger.KindGateDecision, ledger.KindArtifact, ledger.KindPromotion, ledger.KindDeployment} {
		if kinds[k] != 1 {
			t.Errorf("chain(%s) has %d %s records, want 1:\n%s", storefrontHead[:7], kinds[k], k, out.String())
		}
	}
	if deployment == nil || deployment.App != "storefront" || deployment.Env != "dev" || deployment.Status != ledger.DeploymentSuccess {
		t.Fatalf("chain(%s) deployment = %+v, want storefront/dev, successful:\n%s", storefrontHead[:7], deployment, out.String())
	}
	if !strings.Contains(out.String(), "octo-org/storefront@main") {
		t.Errorf("the timeline does not name the GitHub repository:\n%s", out.String())
	}
	first, err := l.ByCommit(ctx, storefrontFirst)
	if err != nil || len(first) != 1 {
		t.Errorf("the push's first commit has %d records (%v), want 1", len(first), err)
	}

	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := doraTable(ctx, l, p, "storefront", "dev", deployment.FinishedAt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var week *dora.Row
	for i := range rows {
		if rows[i].Window == "7d" {
			week = &rows[i]
		}
	}
	committed := time.Date(2026, 11, 17, 12, 4, 37, 0, time.UTC)
	if week == nil || week.Metrics.Deployments != 1 || week.Metrics.Commits == 0 ||
		week.Metrics.LeadTimeMedian < deployment.FinishedAt.Sub(committed) {
		t.Errorf("storefront/dev over 7 days = %+v, want one deployment, lead time from the GitHub commit's time %v on", week, committed)
	}
}
