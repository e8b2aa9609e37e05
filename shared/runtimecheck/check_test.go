package runtimecheck_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/runtimecheck"
)

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// deployment is a finished deployment of digest into checkout/prod that
// started at started.
func deployment(id, digest string, status ledger.DeploymentStatus, started time.Time) *ledger.Deployment {
	return &ledger.Deployment{
		Header: ledger.Header{ID: id, App: "checkout", Env: "prod", Commit: "9fceb02d0ae598e95dc970b74767f19372d61af8", Digest: digest, At: started},
		Status: status, FinishedAt: started.Add(4 * time.Minute), Duration: 4 * time.Minute,
	}
}

// seeded is a memory ledger on which promoted is checkout/prod's latest
// successful deployment: an older success and a later failure surround it.
func seeded(t *testing.T, extra ...ledger.Record) ledger.Ledger {
	t.Helper()
	l := ledger.NewMemory()
	recs := append([]ledger.Record{
		deployment("dep-1", previous, ledger.DeploymentSuccess, now.Add(-72*time.Hour)),
		deployment("dep-2", promoted, ledger.DeploymentSuccess, now.Add(-24*time.Hour)),
		deployment("dep-3", hotfix, ledger.DeploymentFailure, now.Add(-2*time.Hour)),
	}, extra...)
	for _, r := range recs {
		if err := l.Put(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestCheckComparesWithTheLatestSuccessfulDeployment(t *testing.T) {
	tests := []struct {
		name       string
		env        *policy.Environment
		serve      func(*testing.T, string) *awsfake.Server
		running    string
		wantStatus string
		wantDigest string
		wantTarget string
	}{
		{"lambda in sync", lambdaEnv, serveLambda, b64(promoted), runtimecheck.StatusInSync, promoted, "lambda checkout-api:live → version 7"},
		{"lambda version with other code", lambdaEnv, serveLambda, b64(hotfix), runtimecheck.StatusMismatch, hotfix, "lambda checkout-api:live → version 7"},
		{"lambda runs the previous release", lambdaEnv, serveLambda, b64(previous), runtimecheck.StatusMismatch, previous, "lambda checkout-api:live → version 7"},
		{"ecs in sync", ecsEnv, serveECS, repo + "@" + promoted, runtimecheck.StatusInSync, promoted, "ecs shop/checkout task definition checkout:42 container app"},
		{"ecs image differs", ecsEnv, serveECS, repo + "@" + hotfix, runtimecheck.StatusMismatch, hotfix, "ecs shop/checkout task definition checkout:42 container app"},
		{"ecs image by tag", ecsEnv, serveECS, repo + ":1.4.2", runtimecheck.StatusUnverifiable, "", "by tag"},
		{"ssm in sync", ssmEnv, serveSSM, repo + "@" + promoted, runtimecheck.StatusInSync, promoted, "ssm /checkout/prod/image"},
		{"ssm value differs", ssmEnv, serveSSM, hotfix, runtimecheck.StatusMismatch, hotfix, "ssm /checkout/prod/image"},
		{"apprunner runs the promoted image", appRunnerEnv, serveAppRunner, repo + "@" + promoted, runtimecheck.StatusInSync, promoted, "apprunner python-app"},
		{"apprunner image changed by hand", appRunnerEnv, serveAppRunner, repo + "@" + hotfix, runtimecheck.StatusMismatch, hotfix, "apprunner python-app"},
		{"apprunner image by tag", appRunnerEnv, serveAppRunner, repo + ":1.4.2", runtimecheck.StatusUnverifiable, "", "by tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := seeded(t)
			c := clients(tt.serve(t, tt.running))

			for run, at := range []time.Time{now, now.Add(time.Hour)} {
				rep, err := runtimecheck.Check(ctx, "checkout", tt.env, l, c, at)
				if err != nil {
					t.Fatalf("run %d: Check: %v", run+1, err)
				}
				if rep.Status != tt.wantStatus || rep.Digest != tt.wantDigest || rep.ExpectedDigest != promoted {
					t.Errorf("run %d: Check = %s running %q expected %q, want %s running %q expected %q",
						run+1, rep.Status, rep.Digest, rep.ExpectedDigest, tt.wantStatus, tt.wantDigest, promoted)
				}
				if rep.ID != "checkout/prod" || rep.App != "checkout" || rep.Env != "prod" || !rep.At.Equal(at) ||
					rep.Account != "123456789012" || rep.Region != "us-east-1" || rep.Commit != "" {
					t.Errorf("run %d: Check header = %+v, account %s region %s", run+1, rep.Header, rep.Account, rep.Region)
				}
				if !strings.Contains(rep.Target, tt.wantTarget) || !strings.Contains(rep.Target, tt.running) {
					t.Errorf("run %d: Target = %q, want it to name %q and %q", run+1, rep.Target, tt.wantTarget, tt.running)
				}
				if want := run == 0; rep.Changed != want {
					t.Errorf("run %d: Changed = %v, want %v", run+1, rep.Changed, want)
				}

				stored, err := l.Latest(ctx, ledger.KindDriftReport, "checkout/prod")
				if err != nil {
					t.Fatalf("run %d: Latest: %v", run+1, err)
				}
				if s := stored.(*ledger.DriftReport); !s.At.Equal(at) || s.Status != rep.Status || s.Changed != rep.Changed {
					t.Errorf("run %d: stored %+v, want the report of %v", run+1, s, at)
				}
			}
		})
	}
}

func TestCheckChanged(t *testing.T) {
	tests := []struct {
		name string
		runs []string // what the parameter holds at each check
		want []bool
	}{
		{"in sync twice", []string{repo + "@" + promoted, repo + "@" + promoted}, []bool{true, false}},
		{"in sync, then drift", []string{repo + "@" + promoted, repo + "@" + hotfix}, []bool{true, true}},
		{"the same drift three times", []string{hotfix, hotfix, repo + "@" + hotfix}, []bool{true, false, false}},
		{"drift to another digest", []string{hotfix, previous}, []bool{true, true}},
		{"drift, then back in sync", []string{hotfix, promoted}, []bool{true, true}},
		{"the same tag twice", []string{repo + ":1.4.2", repo + ":1.4.2"}, []bool{true, false}},
		{"another tag", []string{repo + ":1.4.2", repo + ":1.4.3"}, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := seeded(t)
			var got []bool
			for i, value := range tt.runs {
				srv := ssmServer(t, value)
				rep, err := runtimecheck.Check(context.Background(), "checkout", ssmEnv, l, clients(srv), now.Add(time.Duration(i)*time.Hour))
				if err != nil {
					t.Fatalf("check %d: %v", i+1, err)
				}
				got = append(got, rep.Changed)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Changed over %q = %v, want %v", tt.runs, got, tt.want)
			}
		})
	}
}

func TestCheckWeightedAliasRunningOtherCode(t *testing.T) {
	srv := lambdaServer(t, map[string]string{"7": b64(promoted), "8": b64(hotfix)}, map[string]float64{"8": 0.25})
	rep, err := runtimecheck.Check(context.Background(), "checkout", lambdaEnv, seeded(t), clients(srv), now)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.Status != runtimecheck.StatusMismatch || rep.Digest != hotfix || !strings.Contains(rep.Target, "version 8 (weight 0.25)") {
		t.Errorf("Check = %s running %s at %q, want %s running %s at version 8",
			rep.Status, rep.Digest, rep.Target, runtimecheck.StatusMismatch, hotfix)
	}
}

func TestCheckDuringARollout(t *testing.T) {
	tests := []struct {
		name   string
		status ledger.PromotionStatus
		digest string
		want   string
	}{
		{"promotion deploying what runs", ledger.PromotionDeploying, hotfix, runtimecheck.StatusDeploying},
		{"promotion deploying another digest", ledger.PromotionDeploying, previous, runtimecheck.StatusMismatch},
		{"promotion of what runs failed", ledger.PromotionFailed, hotfix, runtimecheck.StatusMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := seeded(t, &ledger.Promotion{
				Header: ledger.Header{ID: "prm-6a1f0c", App: "checkout", Env: "prod", Digest: tt.digest, At: now.Add(-10 * time.Minute)},
				From:   "staging", Status: tt.status, StartedAt: now.Add(-5 * time.Minute),
			})
			rep, err := runtimecheck.Check(context.Background(), "checkout", ecsEnv, l, clients(serveECS(t, repo+"@"+hotfix)), now)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if rep.Status != tt.want || rep.Digest != hotfix {
				t.Errorf("Check = %s running %s, want %s running %s", rep.Status, rep.Digest, tt.want, hotfix)
			}
		})
	}
}

func TestCheckFindsAnOldDeployment(t *testing.T) {
	l := ledger.NewMemory()
	for _, d := range []*ledger.Deployment{
		deployment("dep-1", promoted, ledger.DeploymentSuccess, now.AddDate(-2, 0, 0)),
		deployment("dep-2", hotfix, ledger.DeploymentFailure, now.AddDate(0, 0, -3)),
	} {
		if err := l.Put(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := runtimecheck.Check(context.Background(), "checkout", ssmEnv, l, clients(serveSSM(t, promoted)), now)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.ExpectedDigest != promoted || rep.Status != runtimecheck.StatusInSync {
		t.Errorf("Check = %s expected %s, want %s expected %s", rep.Status, rep.ExpectedDigest, runtimecheck.StatusInSync, promoted)
	}
}

func TestCheckSkips(t *testing.T) {
	onlyFailed := func(t *testing.T) ledger.Ledger {
		l := ledger.NewMemory()
		if err := l.Put(context.Background(), deployment("dep-1", hotfix, ledger.DeploymentFailure, now.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
		return l
	}
	deployed := func(t *testing.T) ledger.Ledger { return seeded(t) }
	tests := []struct {
		name   string
		env    *policy.Environment
		ledger func(*testing.T) ledger.Ledger
		want   error
	}{
		{"never deployed", ssmEnv, func(*testing.T) ledger.Ledger { return ledger.NewMemory() }, runtimecheck.ErrNotPromoted},
		{"only a failed deployment", lambdaEnv, onlyFailed, runtimecheck.ErrNotPromoted},
		{"pipeline", env(&policy.Deploy{Pipeline: &policy.PipelineDeploy{Name: "checkout-prod"}}), deployed, runtimecheck.ErrNoTarget},
		{"not deployed by Highway", env(nil), deployed, runtimecheck.ErrNoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.ledger(t)
			srv := awsfake.New(t) // no stubs: any call fails the test
			rep, err := runtimecheck.Check(context.Background(), "checkout", tt.env, l, clients(srv), now)
			if !errors.Is(err, tt.want) || rep != nil {
				t.Errorf("Check(%s) = %v, %v, want nil, %v", tt.name, rep, err, tt.want)
			}
			if _, err := l.Latest(context.Background(), ledger.KindDriftReport, "checkout/prod"); !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("Latest after a skipped check: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCheckRedeliveredReturnsTheStoredReport(t *testing.T) {
	ctx := context.Background()
	l := seeded(t)
	srv := serveSSM(t, hotfix)
	first, err := runtimecheck.Check(ctx, "checkout", ssmEnv, l, clients(srv), now)
	if err != nil {
		t.Fatalf("first Check: %v", err)
	}
	// What runs changed, but a check at the same time is a redelivery of the
	// first: it answers the first report without reading AWS again.
	srv.On("GetParameter", answer(t, "ssm_get_parameter.json", func(m map[string]any) { object(m, "Parameter")["Value"] = promoted }))
	again, err := runtimecheck.Check(ctx, "checkout", ssmEnv, l, clients(srv), now)
	if err != nil {
		t.Fatalf("redelivered Check: %v", err)
	}
	if again.Status != first.Status || again.Digest != first.Digest || !again.Changed {
		t.Errorf("redelivered Check = %s %s changed %v, want the first %s %s changed true",
			again.Status, again.Digest, again.Changed, first.Status, first.Digest)
	}
	if n := len(srv.Invocations("GetParameter")); n != 1 {
		t.Errorf("GetParameter calls = %d, want 1", n)
	}
	later, err := runtimecheck.Check(ctx, "checkout", ssmEnv, l, clients(srv), now.Add(time.Minute))
	if err != nil || later.Status != runtimecheck.StatusInSync || !later.Changed {
		t.Errorf("later Check = %+v, %v, want IN_SYNC and changed", later, err)
	}
}

func TestCheckPassesOnAWSErrors(t *testing.T) {
	srv := serveSSM(t, promoted)
	srv.Inject(awsfake.Fault{Operation: "GetParameter", Kind: awsfake.InternalFailure})
	l := seeded(t)
	rep, err := runtimecheck.Check(context.Background(), "checkout", ssmEnv, l, clients(srv), now)
	if err == nil || rep != nil || errors.Is(err, runtimecheck.ErrMissing) {
		t.Fatalf("Check = %v, %v, want a retryable error", rep, err)
	}
	if _, err := l.Latest(context.Background(), ledger.KindDriftReport, "checkout/prod"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Latest after a failed check: %v, want ErrNotFound", err)
	}
}
