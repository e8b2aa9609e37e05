package promotion

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// gated registers the artifact of digest, as a passed gate does, records the
// gate's decision with verdict, and the artifact's successful deployment to
// staging three hours ago (prod's soak is two).
func (f *fixture) gated(t testing.TB, digest string, verdict ledger.Verdict) *ledger.Artifact {
	t.Helper()
	ctx := context.Background()
	sha := strings.TrimPrefix(digest, "sha256:")[:40]
	a := f.register(t, sha, digest)
	recs := []ledger.Record{
		&ledger.GateDecision{Header: ledger.Header{ID: "checkout-build:" + sha[:8], App: "checkout", Commit: sha, Digest: digest, At: f.now.Add(-4 * time.Hour)}, Verdict: verdict},
		&ledger.Deployment{Header: ledger.Header{ID: "dep-staging-" + sha[:8], App: "checkout", Env: "staging", Commit: sha, Digest: digest, At: f.now.Add(-3*time.Hour - 5*time.Minute)},
			Commits: []string{sha}, Status: ledger.DeploymentSuccess, FinishedAt: f.now.Add(-3 * time.Hour), Duration: 5 * time.Minute},
	}
	for _, r := range recs {
		if err := f.l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// attempt has prod's tick start the approval workflow of the promotion
// waiting for it, which then ends as outcome, as the state machine records it.
func (f *fixture) attempt(t testing.TB, outcome string) *ledger.Promotion {
	t.Helper()
	ctx := context.Background()
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	var waiting *ledger.Promotion
	for _, pr := range f.promotions(t, "prod") {
		if pr.Status == ledger.PromotionWaiting {
			waiting = pr
		}
	}
	if waiting == nil {
		t.Fatalf("no prod promotion waits for approval after the tick: %+v", f.promotions(t, "prod"))
	}
	if _, err := f.p.Step(ctx, StepInput{Step: StepRecord, PromotionID: waiting.ID, App: "checkout", Env: "prod", Outcome: outcome}); err != nil {
		t.Fatal(err)
	}
	return waiting
}

// A prod promotion whose approval expired, was rejected or refused, or whose
// workflow failed (an approval request never sent) is asked for again: each
// new attempt is a promotion of its own, with its own id and approval
// workflow, and asking for it twice asks once. It runs on the in-memory
// ledger and on DynamoDB Local.
func TestRequestAgainStartsANewAttempt(t *testing.T) {
	for _, outcome := range []string{"expired", "rejected", "failed", "refused"} {
		t.Run(outcome, func(t *testing.T) {
			ledgers(t, func(t *testing.T, l ledger.Ledger) {
				ctx := context.Background()
				f := newFixture(t, l)
				a := f.gated(t, digest, ledger.VerdictPass)
				_, prod := f.env(t, "prod")
				if _, err := f.p.Request(ctx, a, prod, "staging", f.now); err != nil {
					t.Fatal(err)
				}
				first := f.attempt(t, outcome)
				if want := promotionID("checkout", "prod", digest); first.ID != want {
					t.Fatalf("the first attempt is %s, want %s as before attempts were numbered", first.ID, want)
				}

				for n, want := range []string{first.ID + "-2", first.ID + "-3"} {
					pr, created, err := f.p.RequestAgain(ctx, "checkout", "prod", digest)
					if err != nil || !created || pr.ID != want || pr.Status != ledger.PromotionRequested || pr.From != "staging" || pr.Digest != digest {
						t.Fatalf("RequestAgain after %s attempt %d = %+v, %v, %v; want %s requested from staging", outcome, n+1, pr, created, err, want)
					}
					// A retried ask (the operator's command run again) asks once.
					again, created, err := f.p.RequestAgain(ctx, "checkout", "prod", digest)
					if err != nil || created || again.ID != want {
						t.Errorf("RequestAgain while %s is requested = %+v, %v, %v; want %s itself", want, again, created, err, want)
					}
					// So does the automatic request, which keeps answering the first.
					if auto, err := f.p.Request(ctx, a, prod, "staging", f.now); err != nil || auto.ID != first.ID {
						t.Errorf("Request = %+v, %v; want the first attempt %s", auto, err, first.ID)
					}
					if got := f.attempt(t, outcome); got.ID != want {
						t.Errorf("the tick started %s's workflow, want %s's", got.ID, want)
					}
				}
				if want := []string{first.ID, first.ID + "-2", first.ID + "-3"}; !slices.Equal(f.wf.started, want) {
					t.Errorf("workflow executions = %v, want one per attempt %v", f.wf.started, want)
				}
			})
		})
	}
}

func TestRequestAgainRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		give    func(t *testing.T, f *fixture)
		env     string
		want    error
		wantMsg string
	}{
		{
			name: "a quarantined artifact",
			give: func(t *testing.T, f *fixture) {
				f.gated(t, digest, ledger.VerdictPass)
				if err := f.p.Quarantine(ctx, digest, "CVE-2026-1234 found after release"); err != nil {
					t.Fatal(err)
				}
			},
			env: "prod", want: ErrQuarantined, wantMsg: "CVE-2026-1234",
		},
		{
			name: "an artifact whose gate failed",
			give: func(t *testing.T, f *fixture) { f.gated(t, digest, ledger.VerdictFail) },
			env:  "prod", want: ErrUngated, wantMsg: "is fail",
		},
		{
			name: "an artifact without a gate decision",
			give: func(t *testing.T, f *fixture) { f.register(t, commit, digest) },
			env:  "dev", want: ErrUngated, wantMsg: "no gate decision",
		},
		{
			name: "a digest the ledger has no artifact of",
			give: func(t *testing.T, f *fixture) {},
			env:  "dev", want: ErrUngated, wantMsg: "no artifact " + digest,
		},
		{
			name: "an artifact not deployed to the environment before",
			give: func(t *testing.T, f *fixture) { f.gated(t, digest, ledger.VerdictPass) },
			env:  "staging", want: ErrUnverified, wantMsg: "not deployed successfully to checkout/dev",
		},
		{
			name: "an artifact promoted already",
			give: func(t *testing.T, f *fixture) {
				a := f.gated(t, digest, ledger.VerdictPass)
				_, prod := f.env(t, "prod")
				if _, err := f.p.Request(ctx, a, prod, "staging", f.now); err != nil {
					t.Fatal(err)
				}
				f.attempt(t, "succeeded")
			},
			env: "prod", want: ErrPromoted, wantMsg: "by " + promotionID("checkout", "prod", digest),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ledger.NewMemory())
			tt.give(t, f)
			before := f.promotions(t, tt.env)

			pr, created, err := f.p.RequestAgain(ctx, "checkout", tt.env, digest)

			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) || pr != nil || created {
				t.Errorf("RequestAgain(%s) = %+v, %v, %v; want %v saying %q", tt.env, pr, created, err, tt.want, tt.wantMsg)
			}
			if after := f.promotions(t, tt.env); len(after) != len(before) {
				t.Errorf("%s promotions %d after a refusal, want %d as before", tt.env, len(after), len(before))
			}
		})
	}
}

// The first attempt asked by hand is the one the flow would have requested:
// the same id, so the flow's own request finds it.
func TestRequestAgainWithoutAnEarlierAttempt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	a := f.gated(t, digest, ledger.VerdictPass)
	_, prod := f.env(t, "prod")

	pr, created, err := f.p.RequestAgain(ctx, "checkout", "prod", digest)

	// staging's deployment ended three hours ago; prod soaks two after it
	wantNotBefore := f.now.Add(-3 * time.Hour).Add(prod.Soak)
	if err != nil || !created || pr.ID != promotionID("checkout", "prod", digest) || !pr.NotBefore.Equal(wantNotBefore) {
		t.Fatalf("RequestAgain = %+v, %v, %v; want the first attempt, not before %s", pr, created, err, wantNotBefore)
	}
	if auto, err := f.p.Request(ctx, a, prod, "staging", f.now); err != nil || auto.ID != pr.ID {
		t.Errorf("the flow's Request = %+v, %v; want %s", auto, err, pr.ID)
	}
}
