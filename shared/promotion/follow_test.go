package promotion

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

const eksPolicy = `
version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - name: dev
        account: "222222222222"
        region: eu-west-1
        deploy: {eks: {cluster: shop, namespace: checkout, deployment: web, container: app}}
      - name: staging
        account: "333333333333"
        region: eu-west-1
        deploy: {ssm: {parameter: /checkout/staging/image}}
`

// eksFixture is a promoter whose dev environment is a Deployment in a fake
// EKS cluster, deployed and followed by the real eks adapter, recording in l.
func eksFixture(t *testing.T, l ledger.Ledger) (*fixture, *kubefake.Server) {
	t.Helper()
	pol, err := policy.Parse([]byte(eksPolicy), "eks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fake := kubefake.New(t)
	fake.Put(kubefake.RolledOut("checkout", "web", "app", "checkout-service:1.0", 2, 1))
	connect := func(context.Context, string) (*kube.Cluster, error) { return kube.New(fake.Config("k8s-aws-v1.test")) }
	f := &fixture{l: l, dep: &deployer{}, wf: &workflows{}, bus: &published{}, now: time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC), policy: pol}
	deployers := func(app *policy.App, env *policy.Environment) (deploy.Deployer, error) {
		if env.Deploy.EKS != nil {
			return deploy.For(env.Deploy, deploy.Clients{Kube: connect})
		}
		return f.dep.For(app, env)
	}
	f.p = New(pol, f.l, f.bus, deployers, f.wf, "arn:aws:states:eu-west-1:111111111111:stateMachine:highway-approval",
		WithClock(func() time.Time { return f.now }))
	return f, fake
}

// rolled makes the fake's controller finish (or fail, with reason
// ProgressDeadlineExceeded) the rollout of the Deployment's latest spec.
func rolled(fake *kubefake.Server, reason string) {
	d := fake.Get("checkout", "web")
	d.Status.ObservedGeneration, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = d.Generation, 2, 2
	status := corev1.ConditionTrue
	if reason == "ProgressDeadlineExceeded" {
		status, d.Status.UpdatedReplicas = corev1.ConditionFalse, 1
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason}}
	fake.Put(d)
}

// start registers the artifact and deploys it to dev, and returns its
// promotion there, deploying.
func start(t *testing.T, f *fixture) *ledger.Promotion {
	t.Helper()
	ctx := context.Background()
	a := f.register(t, commit, digest)
	app, env := f.env(t, "dev")
	if _, err := f.p.Request(ctx, a, env, "", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Advance(ctx, app, env); err != nil {
		t.Fatal(err)
	}
	ps := f.promotions(t, "dev")
	if len(ps) != 1 || ps[0].Status != ledger.PromotionDeploying || ps[0].Handle != "2" {
		t.Fatalf("dev promotions %+v, want one deploying generation 2", ps)
	}
	return ps[0]
}

// Each tick asks the cluster how the rollout stands; the one that finds it
// complete finishes the promotion, records the deployment and requests the
// next environment.
func TestTickFollowsARolloutToItsEnd(t *testing.T) {
	f, fake := eksFixture(t, ledger.NewMemory())
	ctx := context.Background()
	start(t, f)
	f.now = f.now.Add(time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if ps := f.promotions(t, "dev"); ps[0].Status != ledger.PromotionDeploying {
		t.Fatalf("rollout in progress: promotion %s, want deploying", ps[0].Status)
	}
	rolled(fake, "NewReplicaSetAvailable")
	f.now = f.now.Add(time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	pr := f.promotions(t, "dev")[0]
	if pr.Status != ledger.PromotionSucceeded {
		t.Fatalf("rolled out: promotion %s (%s), want succeeded", pr.Status, pr.Reason)
	}
	deps, err := f.l.Deployments(ctx, "checkout", "dev", f.now.Add(-time.Hour), f.now.Add(time.Hour))
	if err != nil || len(deps) != 1 || deps[0].Status != ledger.DeploymentSuccess {
		t.Errorf("deployments %+v, %v; want one success", deps, err)
	}
	if got := f.dep.deployed("staging"); len(got) != 1 || got[0] != digest {
		t.Errorf("staging deployed %v, want the digest after dev", got)
	}
}

// A rollout past its progress deadline fails the promotion and quarantines
// the artifact, as a failed ECS deployment does.
func TestTickFailsARolloutPastItsProgressDeadline(t *testing.T) {
	f, fake := eksFixture(t, ledger.NewMemory())
	start(t, f)
	rolled(fake, "ProgressDeadlineExceeded")
	f.now = f.now.Add(time.Minute)
	if err := f.p.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	pr := f.promotions(t, "dev")[0]
	if pr.Status != ledger.PromotionFailed || !strings.Contains(pr.Reason, "progress deadline") {
		t.Fatalf("promotion %s (%s), want failed at the deadline", pr.Status, pr.Reason)
	}
	a, err := f.p.artifact(context.Background(), digest)
	if err != nil || !a.Quarantined {
		t.Errorf("artifact %+v, %v; want quarantined", a, err)
	}
}

// A rollout that never ends, and that the cluster never fails (no progress
// deadline), fails once the adapter's timeout passed.
func TestTickFailsARolloutThatOutlivesItsTimeout(t *testing.T) {
	f, _ := eksFixture(t, ledger.NewMemory())
	start(t, f)
	f.now = f.now.Add(59 * time.Minute)
	if err := f.p.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pr := f.promotions(t, "dev")[0]; pr.Status != ledger.PromotionDeploying {
		t.Fatalf("before the timeout: %s, want deploying", pr.Status)
	}
	f.now = f.now.Add(2 * time.Minute)
	if err := f.p.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pr := f.promotions(t, "dev")[0]; pr.Status != ledger.PromotionFailed || !strings.Contains(pr.Reason, "not finished within 1h0m0s") {
		t.Errorf("after the timeout: %s (%s), want failed", pr.Status, pr.Reason)
	}
}
