package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/timeline"
)

// The demo's ledger holds the whole story of commit 9f4e2c1: its chain runs
// from the commit to the incident its prod deployment caused and the
// remediations that answered it, each record once.
func TestChainFollowsACommitToItsIncident(t *testing.T) {
	ctx := context.Background()
	l := demoLedger(t)
	for _, ref := range []string{"9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f", "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"} {
		recs, err := chain(ctx, l, ref)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := timeline.Write(&out, recs); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		kinds := map[ledger.Kind]int{}
		for _, r := range recs {
			kinds[r.RecordHeader().Kind]++
		}
		for _, k := range []ledger.Kind{ledger.KindCommit, ledger.KindBuild, ledger.KindGateDecision, ledger.KindArtifact, ledger.KindPromotion,
			ledger.KindApproval, ledger.KindDeployment, ledger.KindIncident, ledger.KindRemediation} {
			if kinds[k] == 0 {
				t.Errorf("chain(%s) has no %s:\n%s", ref[:12], k, text)
			}
		}
		if kinds[ledger.KindArtifact] != 1 || kinds[ledger.KindIncident] != 1 {
			t.Errorf("chain(%s) kinds = %v, want one artifact and one incident", ref[:12], kinds)
		}
		if !strings.Contains(text, "approved  by ana.silva@example.com") || !strings.Contains(text, "resolved after 14m0s") {
			t.Errorf("chain(%s) lacks who approved or the restore:\n%s", ref[:12], text)
		}
	}
}

// demoLedger is the ledger the demo's scenario leaves.
func demoLedger(t *testing.T) ledger.Ledger {
	t.Helper()
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.NewMemory()
	if _, err := play(context.Background(), io.Discard, p, "../../events", l); err != nil {
		t.Fatal(err)
	}
	return l
}
