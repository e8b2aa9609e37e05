package promotion

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
)

// errThrottled is the ledger's answer to the write lossy loses.
var errThrottled = errors.New("ProvisionedThroughputExceededException: the write was throttled")

// lossy is a ledger that loses one write: the first update of a promotion
// carrying its adapter's answer (a handle, or done) fails and stores nothing,
// as a throttled write does, or one whose function stopped.
type lossy struct {
	ledger.Ledger
	lost bool
}

func (l *lossy) Update(ctx context.Context, rec ledger.Record) error {
	if pr, ok := rec.(*ledger.Promotion); ok && !l.lost && (pr.Handle != "" || pr.Deployed) {
		l.lost = true
		return errThrottled
	}
	return l.Ledger.Update(ctx, rec)
}

// sentCount is how many events of detailType were published.
func (f *fixture) sentCount(detailType string) int {
	f.bus.mu.Lock()
	defer f.bus.mu.Unlock()
	n := 0
	for _, dt := range f.bus.sent {
		if dt == detailType {
			n++
		}
	}
	return n
}

// patches is how many PATCH requests the cluster received.
func patches(fake *kubefake.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPatch {
			n++
		}
	}
	return n
}

// loseStart registers the artifact and has a tick deploy it to dev, a
// Deployment, whose patch goes through while the write of its handle is lost:
// it returns the promotion, deploying without a handle.
func loseStart(t *testing.T, f *fixture, fake *kubefake.Server) *ledger.Promotion {
	t.Helper()
	ctx := context.Background()
	a := f.register(t, commit, digest)
	_, dev := f.env(t, "dev")
	if _, err := f.p.Request(ctx, a, dev, "", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Tick(ctx); !errors.Is(err, errThrottled) {
		t.Fatalf("the tick that lost the handle's write = %v, want %v", err, errThrottled)
	}
	pr := f.promotions(t, "dev")[0]
	if pr.Status != ledger.PromotionDeploying || pr.Handle != "" || pr.Deployed || !pr.StartedAt.Equal(f.now) {
		t.Fatalf("after the lost write: %s, handle %q, done %v, started %s; want deploying without a handle, started %s", pr.Status, pr.Handle, pr.Deployed, pr.StartedAt, f.now)
	}
	d := fake.Get("checkout", "web")
	if img := d.Spec.Template.Spec.Containers[0].Image; d.Generation != 2 || patches(fake) != 1 || img != "checkout-service@"+digest {
		t.Fatalf("the Deployment runs %s at generation %d after %d patches, want the artifact at 2 after 1", img, d.Generation, patches(fake))
	}
	return pr
}

// A promotion whose adapter started a rollout, but whose handle's write was
// lost, is left alone while a delivery may still be inside its own call of
// the adapter. After that, a tick deploys it again, with the same target:
// the adapter finds the image set, patches nothing and answers the
// generation it rolls out, which the tick records and follows to its end,
// as if the write had not been lost. It runs on the in-memory ledger and on
// DynamoDB Local.
func TestTickRecoversTheLostHandleOfARollout(t *testing.T) {
	ledgers(t, func(t *testing.T, l ledger.Ledger) {
		ctx := context.Background()
		f, fake := eksFixture(t, &lossy{Ledger: l})
		pr := loseStart(t, f, fake)
		claimed := pr.StartedAt

		// Within the grace: no request reaches the cluster.
		for f.now.Sub(claimed) < relaunchGrace {
			f.now = f.now.Add(time.Minute)
			before := len(fake.Requests())
			if err := f.p.Tick(ctx); err != nil {
				t.Fatalf("tick at +%s: %v", f.now.Sub(claimed), err)
			}
			if n := len(fake.Requests()); n != before {
				t.Fatalf("tick at +%s sent %d requests to the cluster, want none while the first delivery may run", f.now.Sub(claimed), n-before)
			}
			if got := f.promotions(t, "dev")[0]; got.Status != ledger.PromotionDeploying || got.Handle != "" {
				t.Fatalf("tick at +%s: %s, handle %q; want deploying without a handle", f.now.Sub(claimed), got.Status, got.Handle)
			}
		}
		if got := f.lockHolder(t, "dev"); got != pr.ID {
			t.Fatalf("dev's lock is held by %q, want %s, which is deploying", got, pr.ID)
		}

		// After it: the handle is recovered, the Deployment not patched again.
		f.now = f.now.Add(time.Minute)
		if err := f.p.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		got := f.promotions(t, "dev")[0]
		if got.Status != ledger.PromotionDeploying || got.Handle != "2" || !got.StartedAt.Equal(claimed) {
			t.Fatalf("after the grace: %s, handle %q, started %s; want deploying generation 2, started %s", got.Status, got.Handle, got.StartedAt, claimed)
		}
		if gen, n := fake.Get("checkout", "web").Generation, patches(fake); gen != 2 || n != 1 {
			t.Errorf("the Deployment is at generation %d after %d patches, want 2 after the first delivery's 1", gen, n)
		}
		if n := f.sentCount(DetailTypeArtifactPromoted); n != 1 {
			t.Errorf("%d %q events, want 1 once the handle is recorded", n, DetailTypeArtifactPromoted)
		}

		// The rollout ends: the next tick finishes the promotion.
		rolled(fake, "NewReplicaSetAvailable")
		f.now = f.now.Add(time.Minute)
		if err := f.p.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		got = f.promotions(t, "dev")[0]
		if got.Status != ledger.PromotionSucceeded {
			t.Fatalf("rolled out: %s (%s), want succeeded", got.Status, got.Reason)
		}
		deps, err := f.l.Deployments(ctx, "checkout", "dev", claimed.Add(-time.Hour), f.now.Add(time.Hour))
		if err != nil || len(deps) != 1 || deps[0].Status != ledger.DeploymentSuccess || deps[0].PromotionID != pr.ID || !deps[0].At.Equal(claimed) {
			t.Errorf("deployments %+v, %v; want one success of %s, started %s", deps, err, pr.ID, claimed)
		}
		if got := f.lockHolder(t, "dev"); got != "" {
			t.Errorf("dev's lock is held by %q after the promotion ended, want free", got)
		}
		if got := f.dep.deployed("staging"); len(got) != 1 || got[0] != digest {
			t.Errorf("staging deployed %v, want the digest after dev", got)
		}
		if n := f.sentCount(DetailTypeArtifactPromoted); n != 2 { // dev's, then staging's
			t.Errorf("%d %q events, want 2: dev's and staging's", n, DetailTypeArtifactPromoted)
		}
	})
}

// A rollout that completed before the tick asks its adapter again is done
// at once: the tick finishes the promotion.
func TestTickFinishesALostStartThatRolledOut(t *testing.T) {
	ctx := context.Background()
	f, fake := eksFixture(t, &lossy{Ledger: ledger.NewMemory()})
	pr := loseStart(t, f, fake)
	rolled(fake, "NewReplicaSetAvailable")

	f.now = pr.StartedAt.Add(relaunchGrace + time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}

	got := f.promotions(t, "dev")[0]
	if got.Status != ledger.PromotionSucceeded || !got.Deployed || !strings.Contains(got.Reason, "already runs") {
		t.Fatalf("%s, done %v (%s); want succeeded, done at the adapter's answer", got.Status, got.Deployed, got.Reason)
	}
	if n := patches(fake); n != 1 {
		t.Errorf("%d patches, want the first delivery's 1", n)
	}
	deps, err := f.l.Deployments(ctx, "checkout", "dev", pr.StartedAt.Add(-time.Hour), f.now.Add(time.Hour))
	if err != nil || len(deps) != 1 || deps[0].Status != ledger.DeploymentSuccess {
		t.Errorf("deployments %+v, %v; want one success", deps, err)
	}
}

// When the cluster fails the tick's second call of the adapter, the
// promotion stays claimed, and the next tick asks again.
func TestTickAsksAgainForALostStartAfterAClusterError(t *testing.T) {
	ctx := context.Background()
	f, fake := eksFixture(t, &lossy{Ledger: ledger.NewMemory()})
	pr := loseStart(t, f, fake)

	fake.Inject(kubefake.Fault{Method: http.MethodGet, Status: http.StatusServiceUnavailable})
	f.now = pr.StartedAt.Add(relaunchGrace + time.Minute)
	if err := f.p.Tick(ctx); err == nil || !strings.Contains(err.Error(), "deploy "+digest+" to dev") {
		t.Fatalf("tick with the cluster unavailable = %v, want the deploy's error", err)
	}
	if got := f.promotions(t, "dev")[0]; got.Status != ledger.PromotionDeploying || got.Handle != "" {
		t.Fatalf("after the error: %s, handle %q; want deploying without a handle", got.Status, got.Handle)
	}

	f.now = f.now.Add(time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.promotions(t, "dev")[0]; got.Status != ledger.PromotionDeploying || got.Handle != "2" {
		t.Errorf("the next tick: %s, handle %q; want deploying generation 2", got.Status, got.Handle)
	}
	if n := patches(fake); n != 1 {
		t.Errorf("%d patches, want the first delivery's 1", n)
	}
}

// A refusal of the tick's second call of the adapter (the container is gone
// from the Deployment) fails the promotion, as it fails a first deployment,
// and frees the environment.
func TestTickFailsALostStartTheClusterRefuses(t *testing.T) {
	ctx := context.Background()
	f, fake := eksFixture(t, &lossy{Ledger: ledger.NewMemory()})
	pr := loseStart(t, f, fake)
	d := fake.Get("checkout", "web")
	d.Spec.Template.Spec.Containers[0].Name = "server"
	fake.Put(d)

	f.now = pr.StartedAt.Add(relaunchGrace + time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}

	got := f.promotions(t, "dev")[0]
	if got.Status != ledger.PromotionFailed || !strings.Contains(got.Reason, `no container "app"`) {
		t.Fatalf("%s (%s), want failed: the container is gone", got.Status, got.Reason)
	}
	if holder := f.lockHolder(t, "dev"); holder != "" {
		t.Errorf("dev's lock is held by %q, want free", holder)
	}
	if n := patches(fake); n != 1 {
		t.Errorf("%d patches, want the first delivery's 1", n)
	}
}

// A pipeline's start whose answer was lost is asked for again too, after the
// grace: its client token makes the second call the first's execution, and
// the handle is recorded, for the execution's event to finish it.
func TestTickRecoversALostPipelineStart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &lossy{Ledger: ledger.NewMemory()})
	a := f.register(t, commit, digest)
	app, staging := f.env(t, "staging")
	if _, err := f.p.Request(ctx, a, staging, "dev", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Tick(ctx); !errors.Is(err, errThrottled) {
		t.Fatalf("the tick that lost the handle's write = %v, want %v", err, errThrottled)
	}
	claimed := f.now

	f.now = claimed.Add(relaunchGrace - time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.dep.deployed("staging"); len(got) != 1 {
		t.Errorf("staging deployed %v within the grace, want the first delivery's call alone", got)
	}
	f.now = claimed.Add(relaunchGrace + time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.promotions(t, "staging")[0]
	if got.Status != ledger.PromotionDeploying || got.Handle == "" || !got.StartedAt.Equal(claimed) || len(f.dep.deployed("staging")) != 2 {
		t.Fatalf("after the grace: %s, handle %q, started %s, deployed %v; want the handle recorded, the claim's start kept", got.Status, got.Handle, got.StartedAt, f.dep.deployed("staging"))
	}
	if ours, err := f.p.Finished(ctx, app, staging, got.Handle, true, "pipeline succeeded"); err != nil || !ours {
		t.Fatalf("the execution's end = %v, %v; want it Highway's", ours, err)
	}
	if got := f.promotions(t, "staging")[0]; got.Status != ledger.PromotionSucceeded {
		t.Errorf("after the execution's end: %s, want succeeded", got.Status)
	}
}

// The approval workflow's status step, which polls a deployment it started,
// recovers a lost handle as the tick does, once the grace has passed.
func TestStatusStepRecoversALostHandle(t *testing.T) {
	ctx := context.Background()
	f, fake := eksFixture(t, &lossy{Ledger: ledger.NewMemory()})
	pr := loseStart(t, f, fake)
	in := StepInput{Step: StepStatus, PromotionID: pr.ID, App: "checkout", Env: "dev"}

	f.now = pr.StartedAt.Add(relaunchGrace)
	before := len(fake.Requests())
	if out, err := f.p.Step(ctx, in); err != nil || out.Status != StatusDeploying || len(fake.Requests()) != before {
		t.Fatalf("status step within the grace = %+v, %v after %d cluster requests; want deploying, and none", out, err, len(fake.Requests())-before)
	}

	f.now = f.now.Add(StatusPoll + time.Second)
	out, err := f.p.Step(ctx, in)
	if err != nil || out.Status != StatusDeploying {
		t.Fatalf("status step after the grace = %+v, %v; want deploying", out, err)
	}
	if got := f.promotions(t, "dev")[0]; got.Handle != "2" || patches(fake) != 1 {
		t.Errorf("after the status step: handle %q after %d patches, want generation 2 after the first delivery's 1", got.Handle, patches(fake))
	}
}

// Two deliveries recover the same lost handle at once (the tick, and the
// approval workflow's status step between the tick's read and its write):
// the adapter patches nothing for either, one records the handle, and the
// other's stale write stops it quietly; the start is announced once.
func TestConcurrentRecoveriesRecordOneHandle(t *testing.T) {
	ctx := context.Background()
	l := &interleaved{Ledger: &lossy{Ledger: ledger.NewMemory()}}
	f, fake := eksFixture(t, l)
	pr := loseStart(t, f, fake)
	f.now = pr.StartedAt.Add(relaunchGrace + time.Minute)
	l.other = func() {
		in := StepInput{Step: StepStatus, PromotionID: pr.ID, App: "checkout", Env: "dev"}
		if out, err := f.p.Step(ctx, in); err != nil || out.Status != StatusDeploying {
			t.Errorf("the status step = %+v, %v; want deploying", out, err)
		}
	}

	if err := f.p.Tick(ctx); err != nil {
		t.Fatalf("the tick = %v, want its stale write to stop it quietly", err)
	}

	got := f.promotions(t, "dev")[0]
	if got.Status != ledger.PromotionDeploying || got.Handle != "2" {
		t.Errorf("%s, handle %q; want deploying generation 2", got.Status, got.Handle)
	}
	if n := patches(fake); n != 1 {
		t.Errorf("%d patches, want the first delivery's 1", n)
	}
	if n := f.sentCount(DetailTypeArtifactPromoted); n != 1 {
		t.Errorf("%d %q events, want 1", n, DetailTypeArtifactPromoted)
	}
}
