package timeline

import (
	"bytes"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

func TestLine(t *testing.T) {
	at := time.Date(2026, 11, 17, 9, 42, 18, 0, time.FixedZone("CET", 3600))
	h := func(kind ledger.Kind, id string) ledger.Header {
		return ledger.Header{Kind: kind, ID: id, App: "checkout", Env: "prod", At: at}
	}
	tests := []struct {
		name string
		give ledger.Record
		want string
	}{
		{"commit", &ledger.Commit{Header: h(ledger.KindCommit, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"), Repo: "checkout-service", Branch: "main",
			Pusher: "arn:aws:sts::222222222222:assumed-role/Developer/dana.okafor", Author: "Dana <d@example.com>", CommittedAt: at.Add(-10 * time.Minute)},
			"2026-11-17 08:42:18Z  commit        9f4e2c1b7a6d  checkout-service@main  app checkout  committed 2026-11-17 08:32:18Z  by Dana <d@example.com>  pushed by dana.okafor"},
		{"build", &ledger.Build{Header: h(ledger.KindBuild, "checkout:b-1"), Project: "checkout", Status: "SUCCEEDED", EndedAt: at.Add(95 * time.Second)},
			"2026-11-17 08:42:18Z  build         checkout:b-1  checkout  SUCCEEDED  took 1m35s"},
		{"failed gate names the failing, unwaived checks", &ledger.GateDecision{Header: h(ledger.KindGateDecision, "b-1"), Verdict: ledger.VerdictFail,
			Checks: []ledger.CheckResult{{Name: "lint", Reason: "3 errors > 0"}, {Name: "tests", Passed: true}, {Name: "coverage", Reason: "71% < 80%", Waived: true}}},
			"2026-11-17 08:42:18Z  gateDecision  FAIL  build b-1  3 checks  failed: lint (3 errors > 0)"},
		{"image artifact", &ledger.Artifact{Header: ledger.Header{Kind: ledger.KindArtifact, ID: "a", App: "checkout", At: at, Digest: "sha256:0123456789abcdef0123"},
			Type: ledger.ArtifactImage, Repository: "checkout", Quarantined: true},
			"2026-11-17 08:42:18Z  artifact      sha256:0123456789ab  image  checkout  app checkout  QUARANTINED"},
		{"promotion", &ledger.Promotion{Header: h(ledger.KindPromotion, "p"), From: "staging", Status: ledger.PromotionWaiting},
			"2026-11-17 08:42:18Z  promotion     staging → prod  app checkout  waitingApproval"},
		{"approval says who decided", &ledger.Approval{Header: h(ledger.KindApproval, "ap"), Approver: "arn:aws:iam::1:user/lee", Decision: ledger.DecisionApproved},
			"2026-11-17 08:42:18Z  approval      approved  by lee  for checkout/prod"},
		{"resolved incident", &ledger.Incident{Header: h(ledger.KindIncident, "i"), Alarm: "checkout-5xx", ResolvedAt: at.Add(7 * time.Minute), DeploymentID: "d-9"},
			"2026-11-17 08:42:18Z  incident      checkout-5xx  checkout/prod  resolved after 7m0s  deployment d-9"},
		{"dry-run remediation", &ledger.Remediation{Header: h(ledger.KindRemediation, "r"), IncidentID: "i", Action: "rollback", DryRun: true},
			"2026-11-17 08:42:18Z  remediation   rollback  (dry-run)  incident i"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.give); got != tt.want {
				t.Errorf("Line() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestWriteKeepsOrder(t *testing.T) {
	at := time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	err := Write(&buf, []ledger.Record{
		&ledger.Commit{Header: ledger.Header{Kind: ledger.KindCommit, ID: "b", At: at.Add(time.Minute)}, Repo: "r", Branch: "x"},
		&ledger.Commit{Header: ledger.Header{Kind: ledger.KindCommit, ID: "a", At: at}, Repo: "r", Branch: "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-11-17 09:01:00Z  commit        b  r@x\n2026-11-17 09:00:00Z  commit        a  r@x\n"
	if buf.String() != want {
		t.Errorf("Write() =\n%s\nwant\n%s", buf.String(), want)
	}
}
