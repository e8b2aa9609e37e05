package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
)

// expiredInProd is a ledger in which checkout's artifact of digest, gated
// with verdict and deployed to staging two hours ago, waited for its prod
// approval until it expired; quarantined, when set, is why it was quarantined
// since. It returns the local hub's file holding that ledger, and the expired
// promotion's id.
func expiredInProd(t *testing.T, digest string, verdict ledger.Verdict, quarantined string) (string, string) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hub := filepath.Join(t.TempDir(), "highway-local.json")
	l, err := ledger.OpenFile(hub, ledger.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	pr := promotion.New(p, l, bus.DryRun{W: &bytes.Buffer{}}, nil, nil, "", promotion.WithClock(func() time.Time { return now }))
	const commit = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
	a, err := pr.Register(ctx, "checkout", commit, digest, ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []ledger.Record{
		&ledger.GateDecision{Header: ledger.Header{ID: "checkout-build:1", App: "checkout", Commit: commit, Digest: digest, At: now.Add(-3 * time.Hour)}, Verdict: verdict},
		&ledger.Deployment{Header: ledger.Header{ID: "dep-staging-1", App: "checkout", Env: "staging", Commit: commit, Digest: digest, At: now.Add(-2*time.Hour - 5*time.Minute)},
			Status: ledger.DeploymentSuccess, FinishedAt: now.Add(-2 * time.Hour)},
	} {
		if err := l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	app, _ := p.App("checkout")
	prod, _ := app.Environment("prod")
	first, err := pr.Request(ctx, a, prod, "staging", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Step(ctx, promotion.StepInput{Step: promotion.StepRecord, PromotionID: first.ID, App: "checkout", Env: "prod", Outcome: "expired"}); err != nil {
		t.Fatal(err)
	}
	if quarantined != "" {
		if err := pr.Quarantine(ctx, digest, quarantined); err != nil {
			t.Fatal(err)
		}
	}
	return hub, first.ID
}

func TestPromoteCommand(t *testing.T) {
	const (
		digest  = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
		unknown = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	)
	args := func(more ...string) []string {
		return append([]string{"--policy", "../../infra/highway.yaml"}, more...)
	}
	good := args("--app", "checkout", "--env", "prod", "--digest", digest)
	tests := []struct {
		name        string
		args        []string
		verdict     ledger.Verdict
		quarantined string
		wantStatus  int
		wantOut     string // printed, with <first> for the expired promotion's id
		wantErr     string
	}{
		{name: "a new attempt after an expired one", args: good, verdict: ledger.VerdictPass,
			wantOut: "checkout/prod: promotion <first>-2 of " + digest + " requested; the promote function starts it at its next tick"},
		{name: "a quarantined artifact", args: good, verdict: ledger.VerdictPass, quarantined: "CVE-2026-1234 found after release",
			wantStatus: 1, wantErr: "refused: artifact quarantined: " + digest + ": CVE-2026-1234 found after release"},
		{name: "an artifact whose gate failed", args: good, verdict: ledger.VerdictFail,
			wantStatus: 1, wantErr: "refused: artifact not gated: gate decision checkout-build:1 for " + digest + " is fail"},
		{name: "a digest the ledger has no artifact of", args: args("--app", "checkout", "--env", "prod", "--digest", unknown), verdict: ledger.VerdictPass,
			wantStatus: 1, wantErr: "refused: artifact not gated: the ledger has no artifact " + unknown},
		{name: "no digest", args: args("--app", "checkout", "--env", "prod"), verdict: ledger.VerdictPass,
			wantStatus: 2, wantErr: "--app, --env and --digest are required"},
		{name: "not a digest", args: args("--app", "checkout", "--env", "prod", "--digest", "checkout-service:latest"), verdict: ledger.VerdictPass,
			wantStatus: 2, wantErr: `--digest "checkout-service:latest" is not an artifact digest`},
		{name: "an app not in the policy", args: args("--app", "chekout", "--env", "prod", "--digest", digest), verdict: ledger.VerdictPass,
			wantStatus: 2, wantErr: `app "chekout" is not in ../../infra/highway.yaml`},
		{name: "an environment not in the app", args: args("--app", "checkout", "--env", "production", "--digest", digest), verdict: ledger.VerdictPass,
			wantStatus: 2, wantErr: `app checkout has no environment "production" that Highway deploys`},
		{name: "an unknown flag", args: args("--app", "checkout", "--env", "prod", "--digest", digest, "--force"), verdict: ledger.VerdictPass,
			wantStatus: 2, wantErr: "flag provided but not defined: -force"},
		{name: "help", args: []string{"--help"}, verdict: ledger.VerdictPass,
			wantOut: "usage: highway promote --app A --env E --digest sha256:DIGEST [--policy FILE]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub, first := expiredInProd(t, digest, tt.verdict, tt.quarantined)
			r := highway(t, hub, append([]string{"promote"}, tt.args...)...)
			if r.status != tt.wantStatus {
				t.Errorf("highway promote %v: exit status %d (%s), want %d", tt.args, r.status, r.errOut, tt.wantStatus)
			}
			if want := strings.ReplaceAll(tt.wantOut, "<first>", first); !strings.Contains(r.out, want) {
				t.Errorf("printed %q, want %q", r.out, want)
			}
			if !strings.Contains(r.errOut, tt.wantErr) {
				t.Errorf("stderr %q, want one saying %q", r.errOut, tt.wantErr)
			}
		})
	}
}

// Running the command again, as an operator does when unsure it worked,
// asks for nothing new while the attempt is in flight.
func TestPromoteCommandAsksOnce(t *testing.T) {
	const digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	hub, first := expiredInProd(t, digest, ledger.VerdictPass, "")
	args := []string{"promote", "--policy", "../../infra/highway.yaml", "--app", "checkout", "--env", "prod", "--digest", digest}
	wants := []string{
		"promotion " + first + "-2 of " + digest + " requested",
		"promotion " + first + "-2 of " + digest + " is requested already: nothing new asked",
	}
	for i, want := range wants {
		if r := highway(t, hub, args...); r.status != 0 || !strings.Contains(r.out, want) {
			t.Errorf("run %d: highway promote: exit status %d (%s), printed %q; want %q", i+1, r.status, r.errOut, r.out, want)
		}
	}
}
