package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/route"
)

const third = "sha256:7c3e9a1f5b2d8c4e0a6f3b9d1c7e5a2f8b4d0c6e3a9f1b5d7c2e8a4f0b6d3c9e"

// ship registers an artifact of digest (its commit derived from it) and
// deploys it to env successfully in a promotion of its own, as an approved
// promotion does, a minute after the last.
func (f *fixture) ship(t testing.TB, env, digest string) {
	t.Helper()
	ctx := context.Background()
	f.now = f.now.Add(time.Minute)
	app, e := f.env(t, env)
	a := f.register(t, strings.TrimPrefix(digest, "sha256:")[:40], digest)
	pr, _, err := f.p.request(ctx, &ledger.Promotion{
		Header: ledger.Header{ID: fmt.Sprintf("prm-ship-%s-%d", env, len(f.promotions(t, env))), App: a.App, Env: env, Commit: a.Commit, Digest: digest, At: f.now},
		Status: ledger.PromotionRequested, NotBefore: f.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.p.Deploy(ctx, app, e, pr); err != nil || !ok {
		t.Fatalf("Deploy(%s to %s) = %v, %v", digest, env, ok, err)
	}
	if !pr.Status.Final() {
		if err := f.p.Finish(ctx, app, e, pr, true, "deployed"); err != nil {
			t.Fatal(err)
		}
	}
	f.now = f.now.Add(time.Minute)
}

// rollbacks are env's rollback promotions.
func (f *fixture) rollbacks(t testing.TB, env string) []*ledger.Promotion {
	t.Helper()
	var rbs []*ledger.Promotion
	for _, pr := range f.promotions(t, env) {
		if rollingBack(pr) {
			rbs = append(rbs, pr)
		}
	}
	return rbs
}

func (f *fixture) quarantined(t testing.TB, digest string) bool {
	t.Helper()
	a, err := f.p.artifact(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	return a.Quarantined
}

// Prod ran A, then B; B's alarm rolls it back to A at once, although prod
// requires approval and soak.
func TestRollbackRedeploysThePreviousArtifact(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, prod := f.env(t, "prod")
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	at := f.now

	pr, err := f.p.Rollback(ctx, app, prod, "alarm checkout-5xx")
	if err != nil {
		t.Fatal(err)
	}
	if pr.Digest != digest || pr.Status != ledger.PromotionDeploying || pr.From != "prod" || pr.Handle == "" {
		t.Fatalf("Rollback = %+v, want %s deploying to prod from prod", pr, digest)
	}
	if got := f.dep.deployed("prod"); !slices.Equal(got, []string{digest, other, digest}) {
		t.Errorf("prod deployed %v, want A, B, then A again", got)
	}
	if len(f.wf.started) != 0 {
		t.Errorf("approval workflows %v started, want none: the runbook is the approval", f.wf.started)
	}
	b, err := f.p.artifact(ctx, other)
	if err != nil || !b.Quarantined || !strings.Contains(b.Reason, "alarm checkout-5xx") {
		t.Errorf("B after the rollback = %+v, %v; want quarantined with the alarm", b, err)
	}
	if f.quarantined(t, digest) {
		t.Error("A is quarantined, want it verified")
	}

	if ours, err := f.p.Finished(ctx, app, prod, pr.Handle, true, "ECS deployment completed"); err != nil || !ours {
		t.Fatalf("Finished(rollback) = %v, %v", ours, err)
	}
	deps, err := f.l.Deployments(ctx, "checkout", "prod", at.Add(-time.Hour), f.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	last := deps[len(deps)-1]
	if len(deps) != 3 || last.Digest != digest || last.Status != ledger.DeploymentSuccess || last.PromotionID != pr.ID || !last.At.Equal(at) {
		t.Errorf("prod deployments end with %+v, want the rollback's success of A, started at once", last)
	}
	// The artifact's timeline shows the rollback.
	recs, err := f.l.ByDigest(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	var onTimeline bool
	for _, r := range recs {
		if d, ok := r.(*ledger.Deployment); ok && d.PromotionID == pr.ID {
			onTimeline = true
		}
	}
	if !onTimeline {
		t.Errorf("A's timeline %v does not show the rollback's deployment", recs)
	}
	// Once A runs again, the environment has nothing left to roll back to.
	if _, err := f.p.Rollback(ctx, app, prod, "alarm again"); !errors.Is(err, ErrNothingToRollBack) {
		t.Errorf("Rollback after rolling back to the first artifact = %v, want ErrNothingToRollBack", err)
	}
}

func TestRollbackTarget(t *testing.T) {
	tests := []struct {
		name       string
		shipped    []string
		quarantine []string
		want       string // "" for ErrNothingToRollBack
	}{
		{name: "nothing deployed", want: ""},
		{name: "only the current artifact", shipped: []string{other}, want: ""},
		{name: "the current artifact twice", shipped: []string{other, other}, want: ""},
		{name: "the one before", shipped: []string{digest, other}, want: digest},
		{name: "past a redeploy of the current", shipped: []string{digest, other, other}, want: digest},
		{name: "skips a quarantined one", shipped: []string{third, digest, other}, quarantine: []string{digest}, want: third},
		{name: "only quarantined ones before", shipped: []string{digest, other}, quarantine: []string{digest}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, ledger.NewMemory())
			for _, d := range tt.shipped {
				f.ship(t, "prod", d)
			}
			for _, d := range tt.quarantine {
				if err := f.p.Quarantine(ctx, d, "earlier alarm"); err != nil {
					t.Fatal(err)
				}
			}
			app, prod := f.env(t, "prod")
			pr, err := f.p.Rollback(ctx, app, prod, "alarm checkout-5xx")
			if tt.want == "" {
				if !errors.Is(err, ErrNothingToRollBack) {
					t.Fatalf("Rollback = %+v, %v; want ErrNothingToRollBack", pr, err)
				}
				if len(tt.shipped) > 0 && f.quarantined(t, tt.shipped[len(tt.shipped)-1]) {
					t.Error("the current artifact is quarantined, want nothing changed")
				}
				if rbs := f.rollbacks(t, "prod"); len(rbs) != 0 {
					t.Errorf("rollback promotions %+v, want none", rbs)
				}
				return
			}
			if err != nil || pr.Digest != tt.want {
				t.Fatalf("Rollback = %+v, %v; want a promotion of %s", pr, err, tt.want)
			}
			if !f.quarantined(t, other) {
				t.Error("the current artifact is not quarantined")
			}
		})
	}
}

// An alarm that fires again while its rollback deploys starts no second one.
func TestRollbackIsIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, prod := f.env(t, "prod")
	f.ship(t, "prod", third)
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	first, err := f.p.Rollback(ctx, app, prod, "alarm checkout-5xx")
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	again, err := f.p.Rollback(ctx, app, prod, "alarm checkout-latency")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Digest != digest {
		t.Errorf("second Rollback = %+v, want the first's promotion %s", again, first.ID)
	}
	if got := f.dep.deployed("prod"); len(got) != 4 {
		t.Errorf("prod deployed %v, want the rollback once", got)
	}
	if rbs := f.rollbacks(t, "prod"); len(rbs) != 1 {
		t.Errorf("rollback promotions %+v, want one", rbs)
	}
	if f.quarantined(t, digest) {
		t.Error("the second call quarantined the artifact being rolled back to")
	}
}

// An alarm firing while a deployment runs rolls that deployment back: it
// ends failed (recorded so, its artifact quarantined, the environment freed)
// and the environment goes at once to the last verified artifact, which ran
// before it and stays unquarantined; the alarm firing again starts no second
// rollback, and the deployment's own end, reported late, changes nothing.
func TestRollbackDuringADeploymentRollsItBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, prod := f.env(t, "prod")
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	// A deployment of a third artifact holds prod, waiting for its service.
	busy := f.requestThird(t, "prm-busy")
	if ok, err := f.p.Deploy(ctx, app, prod, busy); err != nil || !ok {
		t.Fatal(ok, err)
	}
	pr, err := f.p.Rollback(ctx, app, prod, "alarm checkout-5xx")
	if err != nil {
		t.Fatal(err)
	}
	if pr.Status != ledger.PromotionDeploying || pr.Digest != other || !slices.Equal(f.dep.deployed("prod"), []string{digest, other, third, other}) {
		t.Fatalf("Rollback while prod deploys = %+v, deployed %v; want B deploying at once", pr, f.dep.deployed("prod"))
	}
	if !f.quarantined(t, third) || f.quarantined(t, other) {
		t.Errorf("quarantined: C %v, B %v; want C alone", f.quarantined(t, third), f.quarantined(t, other))
	}
	deps, err := f.l.Deployments(ctx, "checkout", "prod", f.now.Add(-window), f.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if last := deps[len(deps)-1]; last.Digest != third || last.Status != ledger.DeploymentFailure {
		t.Errorf("prod's last deployment %+v, want C's, failed", last)
	}
	if again, err := f.p.Rollback(ctx, app, prod, "alarm checkout-5xx"); err != nil || again.ID != pr.ID {
		t.Fatalf("second Rollback while the first runs = %+v, %v; want %s", again, err, pr.ID)
	}
	// C's deployment reports its end late: it is over already.
	if _, err := f.p.Finished(ctx, app, prod, busy.Handle, true, "ECS deployment completed"); err != nil {
		t.Fatal(err)
	}
	promos := f.promotions(t, "prod")
	for _, p := range promos {
		if p.ID == "prm-busy" && p.Status != ledger.PromotionFailed {
			t.Errorf("C's promotion %s after its late end, want failed", p.Status)
		}
	}
	if rbs := f.rollbacks(t, "prod"); len(rbs) != 1 || rbs[0].Status != ledger.PromotionDeploying || len(f.wf.started) != 0 {
		t.Errorf("rollback promotions %+v, workflows %v; want one deploying, without approval", rbs, f.wf.started)
	}
}

// A rollback goes ahead of a forward promotion waiting in the environment and
// supersedes nothing; a rolled-back environment requests no next one.
func TestRollbackKeepsForwardPromotions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, staging := f.env(t, "staging")
	f.ship(t, "staging", digest)
	f.ship(t, "staging", other)
	waiting := f.register(t, "c3a97e0d5f1b2a4c6e8d0f2a4b6c8e0d1f3a5b7c", third)
	if _, err := f.p.Request(ctx, waiting, staging, "dev", f.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	prodBefore := len(f.promotions(t, "prod"))
	pr, err := f.p.Rollback(ctx, app, staging, "alarm checkout-5xx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Finished(ctx, app, staging, pr.Handle, true, "pipeline succeeded"); err != nil {
		t.Fatal(err)
	}
	if got := len(f.promotions(t, "prod")); got != prodBefore {
		t.Errorf("the rollback of staging requested %d prod promotions, want none", got-prodBefore)
	}
	f.now = f.now.Add(time.Hour)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.dep.deployed("staging"); !slices.Equal(got, []string{digest, other, digest, third}) {
		t.Errorf("staging deployed %v, want A, B, A (rollback), then the waiting artifact", got)
	}
}

// The respond function asks for rollbacks on the bus.
func TestRollbackRequestedEvent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	event := func(detail string) events.CloudWatchEvent {
		return events.CloudWatchEvent{ID: "e-1", Source: route.SourceHighway, DetailType: route.DetailTypeRollbackRequested, Detail: json.RawMessage(detail)}
	}
	for _, inc := range []*ledger.Incident{
		{Header: ledger.Header{ID: "inc-prod", App: "checkout", Env: "prod", At: f.now}, Alarm: "checkout-prod-5xx"},
		{Header: ledger.Header{ID: "inc-dev", App: "checkout", Env: "dev", At: f.now}, Alarm: "checkout-dev-5xx"},
		{Header: ledger.Header{ID: "inc-over", App: "checkout", Env: "prod", At: f.now.Add(-time.Hour)}, Alarm: "checkout-prod-5xx", ResolvedAt: f.now.Add(-time.Minute)},
	} {
		if err := f.l.Put(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	const asked = `{"app":"checkout","env":"prod","reason":"alarm checkout-prod-5xx","incident":"inc-prod","alarmAt":"2026-11-17T10:00:00Z"}`
	res, err := f.p.Handle(ctx, event(asked))
	if err != nil || res.Outcome != "nothing-to-roll-back" {
		t.Errorf("rollback of a prod that ran nothing = %+v, %v; want nothing-to-roll-back, no error to retry", res, err)
	}
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	// Requests that answer no open incident of prod change nothing, whoever
	// put them on the bus.
	for _, forged := range []string{
		`{"app":"checkout","env":"prod","reason":"no incident"}`,
		`{"app":"checkout","env":"prod","reason":"dev's incident","incident":"inc-dev"}`,
		`{"app":"checkout","env":"prod","reason":"late","incident":"inc-over"}`,
		`{"app":"checkout","env":"prod","reason":"made up","incident":"inc-made-up"}`,
	} {
		if res, err := f.p.Handle(ctx, event(forged)); err != nil || res.Outcome != "ignored" || f.quarantined(t, other) {
			t.Errorf("Handle(%s) = %+v, %v; want ignored, nothing quarantined", forged, res, err)
		}
	}
	res, err = f.p.Handle(ctx, event(asked))
	if err != nil || res.Outcome != "rollback" || res.Digest != digest || res.Promotion == "" || !f.quarantined(t, other) {
		t.Errorf("Handle(Rollback Requested) = %+v, %v; want prod rolled back to %s and %s quarantined", res, err, digest, other)
	}
	for _, bad := range []string{`{"app":"cart","env":"prod"}`, `{"app":"checkout","env":"qa"}`, `not json`} {
		if res, err := f.p.Handle(ctx, event(bad)); err != nil || res.Outcome != "ignored" {
			t.Errorf("Handle(%s) = %+v, %v; want ignored", bad, res, err)
		}
	}
}

// A rollback answers its incident once: the same request delivered again,
// after the rollback finished, returns it and quarantines nothing more (it
// would otherwise blame the artifact just rolled back to, and roll back one
// step further).
func TestRollbackForAnIncidentHappensOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, prod := f.env(t, "prod")
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	alarmAt := f.now
	pr, err := f.p.RollbackFor(ctx, app, prod, "alarm checkout-prod-5xx", "inc-1", alarmAt)
	if err != nil || pr.Digest != digest {
		t.Fatalf("RollbackFor = %+v, %v; want a rollback to A", pr, err)
	}
	if ours, err := f.p.Finished(ctx, app, prod, pr.Handle, true, "ECS deployment completed"); err != nil || !ours {
		t.Fatal(ours, err)
	}
	f.now = f.now.Add(30 * time.Minute)
	again, err := f.p.RollbackFor(ctx, app, prod, "alarm checkout-prod-5xx", "inc-1", alarmAt)
	if err != nil || again.ID != pr.ID || again.Status != ledger.PromotionSucceeded {
		t.Fatalf("the request again = %+v, %v; want the incident's rollback, succeeded", again, err)
	}
	if f.quarantined(t, digest) || !f.quarantined(t, other) || !slices.Equal(f.dep.deployed("prod"), []string{digest, other, digest}) {
		t.Errorf("quarantined A %v, B %v, deployed %v; want B alone quarantined, A deployed once more", f.quarantined(t, digest), f.quarantined(t, other), f.dep.deployed("prod"))
	}
}

// A deployment started after the alarm fired (an approved fix, say) is not
// the one to blame: a late request leaves it alone and rolls back what ran
// when the alarm fired, once it is done.
func TestRollbackForALateRequestSparesALaterDeployment(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, prod := f.env(t, "prod")
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	alarmAt := f.now
	f.now = f.now.Add(10 * time.Minute)
	fix := f.requestThird(t, "prm-fix")
	if ok, err := f.p.Deploy(ctx, app, prod, fix); err != nil || !ok {
		t.Fatal(ok, err)
	}
	pr, err := f.p.RollbackFor(ctx, app, prod, "alarm checkout-prod-5xx", "inc-2", alarmAt)
	if err != nil || pr.Status != ledger.PromotionRequested || pr.Digest != digest {
		t.Fatalf("RollbackFor = %+v, %v; want a rollback to A, waiting", pr, err)
	}
	if f.quarantined(t, third) {
		t.Error("the fix deployed after the alarm was quarantined")
	}
	for _, p := range f.promotions(t, "prod") {
		if p.ID == "prm-fix" && p.Status != ledger.PromotionDeploying {
			t.Errorf("the fix's promotion is %s, want still deploying", p.Status)
		}
	}
}

// A deployment claimed but not started when the alarm fires is blamed too:
// its artifact is quarantined, which its adapter then refuses, and the
// rollback to the last verified artifact waits for it.
func TestRollbackForAClaimedDeploymentQuarantinesIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, prod := f.env(t, "prod")
	f.ship(t, "prod", digest)
	f.ship(t, "prod", other)
	claimed := f.requestThird(t, "prm-claimed")
	claimed.Status, claimed.StartedAt = ledger.PromotionDeploying, f.now // its adapter not called yet
	if err := f.l.Update(ctx, claimed); err != nil {
		t.Fatal(err)
	}
	pr, err := f.p.RollbackFor(ctx, app, prod, "alarm checkout-prod-5xx", "inc-3", f.now.Add(time.Minute))
	if err != nil || pr.Digest != other {
		t.Fatalf("RollbackFor = %+v, %v; want a rollback to B", pr, err)
	}
	if !f.quarantined(t, third) || f.quarantined(t, other) {
		t.Errorf("quarantined C %v, B %v; want C alone", f.quarantined(t, third), f.quarantined(t, other))
	}
}

// requestThird registers a third artifact, C, and requests its promotion to
// prod as id, now.
func (f *fixture) requestThird(t *testing.T, id string) *ledger.Promotion {
	t.Helper()
	c := f.register(t, strings.TrimPrefix(third, "sha256:")[:40], third)
	pr, _, err := f.p.request(context.Background(), &ledger.Promotion{
		Header: ledger.Header{ID: id, App: "checkout", Env: "prod", Commit: c.Commit, Digest: third, At: f.now},
		Status: ledger.PromotionRequested, NotBefore: f.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}
