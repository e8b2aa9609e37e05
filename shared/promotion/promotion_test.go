package promotion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

const testPolicy = `
version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    account: "222222222222"
    environments:
      - name: dev
        account: "222222222222"
        region: eu-west-1
        deploy: {ssm: {parameter: /checkout/dev/image}}
      - name: staging
        account: "333333333333"
        region: eu-west-1
        soak: 1h
        deploy: {pipeline: {name: checkout-staging}}
      - name: prod
        account: "444444444444"
        region: eu-west-1
        soak: 2h
        approval: {approvers: [ana@example.com]}
        deploy: {ecs: {cluster: shop, service: checkout, container: app}}
`

const (
	commit = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
	digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	other  = "sha256:1d9a4f7c2e5b8a0d3f6c9e2b5a8d1f4c7e0b3a6d9c2f5e8b1a4d7c0f3e6b9a2d"
)

var image = ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"}

// deployer is a hand-written fake deploy.Deployer: SSM and Lambda-like
// environments finish at once, the others return a handle and wait for their
// completion event. It counts calls per environment.
type deployer struct {
	mu     sync.Mutex
	calls  map[string][]string // env → digests deployed
	refuse error
	delay  time.Duration
}

func (d *deployer) For(_ *policy.App, env *policy.Environment) (deploy.Deployer, error) {
	return deployFunc(func(ctx context.Context, t deploy.Target) (deploy.Result, error) {
		time.Sleep(d.delay)
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.refuse != nil {
			return deploy.Result{}, d.refuse
		}
		if d.calls == nil {
			d.calls = map[string][]string{}
		}
		d.calls[env.Name] = append(d.calls[env.Name], t.Artifact.Digest)
		if env.Deploy.SSM != nil {
			return deploy.Result{Done: true, Detail: "wrote " + env.Deploy.SSM.Parameter}, nil
		}
		return deploy.Result{Handle: fmt.Sprintf("h-%s-%d", env.Name, len(d.calls[env.Name])), Detail: "started"}, nil
	}), nil
}

func (d *deployer) deployed(env string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls[env]...)
}

type deployFunc func(context.Context, deploy.Target) (deploy.Result, error)

func (f deployFunc) Deploy(ctx context.Context, t deploy.Target) (deploy.Result, error) {
	return f(ctx, t)
}

// workflows is a hand-written fake of Step Functions' StartExecution: an
// execution name is used once, as Step Functions enforces.
type workflows struct{ started []string }

func (w *workflows) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	for _, s := range w.started {
		if s == aws.ToString(in.Name) {
			return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("exists")}
		}
	}
	w.started = append(w.started, aws.ToString(in.Name))
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:exec:" + aws.ToString(in.Name))}, nil
}

// events is a hand-written fake of bus.Publisher.
type published struct {
	mu   sync.Mutex
	sent []string
}

func (e *published) Publish(_ context.Context, evs ...bus.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range evs {
		e.sent = append(e.sent, ev.DetailType)
	}
	return nil
}

type fixture struct {
	p       *Promoter
	l       ledger.Ledger
	dep     *deployer
	wf      *workflows
	bus     *published
	now     time.Time
	policy  *policy.Policy
	metrics telemetrytest.Recorder
}

func newFixture(t testing.TB, l ledger.Ledger) *fixture {
	t.Helper()
	pol, err := policy.Parse([]byte(testPolicy), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{l: l, dep: &deployer{}, wf: &workflows{}, bus: &published{}, now: time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC), policy: pol}
	f.p = New(pol, l, f.bus, f.dep.For, f.wf, "arn:aws:states:eu-west-1:111111111111:stateMachine:highway-approval",
		WithClock(func() time.Time { return f.now }), WithMetrics(&f.metrics))
	return f
}

func (f *fixture) env(t testing.TB, name string) (*policy.App, *policy.Environment) {
	t.Helper()
	app, _ := f.policy.App("checkout")
	env, ok := app.Environment(name)
	if !ok {
		t.Fatalf("no environment %s", name)
	}
	return app, env
}

func (f *fixture) promotions(t testing.TB, env string) []*ledger.Promotion {
	t.Helper()
	ps, err := f.l.Promotions(context.Background(), "checkout", env, f.now.Add(-window), f.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// register registers an artifact of commit and requests dev, as a passed gate
// does.
func (f *fixture) register(t testing.TB, commit, digest string) *ledger.Artifact {
	t.Helper()
	a, err := f.p.Register(context.Background(), "checkout", commit, digest, image)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ledgers runs a test against the in-memory ledger and DynamoDB Local.
func ledgers(t *testing.T, test func(t *testing.T, l ledger.Ledger)) {
	t.Run("memory", func(t *testing.T) { test(t, ledger.NewMemory()) })
	t.Run("dynamodb", func(t *testing.T) {
		db := localaws.DynamoDB(t)
		test(t, ledger.NewDynamo(db, localaws.LedgerTable(t, db)))
	})
}

func TestRebuiltDigestIsRefused(t *testing.T) { ledgers(t, testRebuiltDigestIsRefused) }

func testRebuiltDigestIsRefused(t *testing.T, l ledger.Ledger) {
	f := newFixture(t, l)
	first := f.register(t, commit, digest)
	if again := f.register(t, commit, digest); again.Digest != first.Digest {
		t.Fatalf("re-registering the same digest = %s, want the first", again.Digest)
	}
	_, err := f.p.Register(context.Background(), "checkout", commit, other, image)
	if !errors.Is(err, ErrRebuild) || !strings.Contains(err.Error(), digest) {
		t.Fatalf("Register(other digest, same commit) error = %v, want ErrRebuild naming the first digest", err)
	}
	rebuilt, err := f.p.artifact(context.Background(), other)
	if err != nil || !rebuilt.Quarantined || !strings.HasPrefix(rebuilt.Reason, "rebuild") {
		t.Errorf("the rebuild is recorded as %+v, %v; want it quarantined as a rebuild", rebuilt, err)
	}
	// A rebuild is never promoted.
	_, dev := f.env(t, "dev")
	if _, err := f.p.Request(context.Background(), rebuilt, dev, "", f.now); err != nil {
		t.Fatal(err)
	}
	app, _ := f.env(t, "dev")
	if err := f.p.Advance(context.Background(), app, dev); err != nil {
		t.Fatal(err)
	}
	if got := f.dep.deployed("dev"); len(got) != 0 {
		t.Errorf("deployed %v to dev, want nothing: the rebuild is quarantined", got)
	}
	if !slices.Contains(f.bus.sent, DetailTypeRebuildRefused) {
		t.Errorf("events = %v, want a Rebuild Refused", f.bus.sent)
	}
}

func TestQuarantinedArtifactIsNeverPromoted(t *testing.T) {
	ledgers(t, testQuarantinedArtifactIsNeverPromoted)
}

func testQuarantinedArtifactIsNeverPromoted(t *testing.T, l ledger.Ledger) {
	f := newFixture(t, l)
	a := f.register(t, commit, digest)
	if err := f.p.Quarantine(context.Background(), digest, "alarm rollback"); err != nil {
		t.Fatal(err)
	}
	app, dev := f.env(t, "dev")
	if _, err := f.p.Request(context.Background(), a, dev, "", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Advance(context.Background(), app, dev); err != nil {
		t.Fatal(err)
	}
	ps := f.promotions(t, "dev")
	if len(f.dep.deployed("dev")) != 0 || len(ps) != 1 || ps[0].Status != ledger.PromotionRefused || !strings.Contains(ps[0].Reason, "alarm rollback") {
		t.Errorf("promotion of a quarantined artifact: deployed %v, promotions %+v; want none deployed, refused with the reason", f.dep.deployed("dev"), ps)
	}
}

// The artifact moves dev (done at once) → staging (after soak, finished by its
// pipeline's event) → prod (after soak, through the approval workflow), with
// the same digest everywhere.
func TestArtifactMovesThroughTheEnvironments(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	committed := f.now.Add(-3 * time.Hour)
	if err := f.l.Put(ctx, &ledger.Commit{Header: ledger.Header{ID: commit, App: "checkout", Commit: commit, At: committed.Add(time.Minute)}, CommittedAt: committed}); err != nil {
		t.Fatal(err)
	}
	a := f.register(t, commit, digest)
	app, dev := f.env(t, "dev")
	_, staging := f.env(t, "staging")
	_, prod := f.env(t, "prod")
	if _, err := f.p.Request(ctx, a, dev, "", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Advance(ctx, app, dev); err != nil {
		t.Fatal(err)
	}
	if got := f.dep.deployed("dev"); len(got) != 1 || got[0] != digest {
		t.Fatalf("dev deployed %v, want the digest once", got)
	}
	// The deployment carries its commit's time, for lead time.
	deps, err := f.l.Deployments(ctx, "checkout", "dev", f.now.Add(-time.Hour), f.now.Add(time.Hour))
	if err != nil || len(deps) != 1 || !deps[0].CommittedAt[commit].Equal(committed) {
		t.Errorf("dev deployments %+v, %v; want one carrying %s's time %s", deps, err, commit, committed)
	}
	// Staging waits for its soak.
	if got := f.dep.deployed("staging"); len(got) != 0 {
		t.Fatalf("staging deployed %v before its soak", got)
	}
	f.now = f.now.Add(61 * time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.dep.deployed("staging"); len(got) != 1 || got[0] != digest {
		t.Fatalf("staging deployed %v after its soak, want the digest", got)
	}
	// The pipeline reports success; a redelivery changes nothing.
	for range 2 {
		if ours, err := f.p.Finished(ctx, app, staging, "h-staging-1", true, "pipeline succeeded"); err != nil || !ours {
			t.Fatalf("Finished(staging) = %v, %v", ours, err)
		}
	}
	// Prod waits for its soak, then for people.
	f.now = f.now.Add(2*time.Hour + time.Minute)
	if err := f.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	ps := f.promotions(t, "prod")
	if len(ps) != 1 || ps[0].Status != ledger.PromotionWaiting || len(f.wf.started) != 1 || f.wf.started[0] != ps[0].ID {
		t.Fatalf("prod promotions %+v, workflows %v; want one waiting for approval in its own workflow", ps, f.wf.started)
	}
	// Each advance of prod measured its approvals waiting: none, then this one.
	waiting := f.metrics.Values(telemetry.MetricApprovalsWaiting)
	for i, v := range waiting {
		want := 0.0
		if i == len(waiting)-1 {
			want = 1
		}
		if v.Value != want || v.Dims["Env"] != "prod" {
			t.Errorf("%s[%d] = %+v, want prod's %v", telemetry.MetricApprovalsWaiting, i, v, want)
		}
	}
	if len(waiting) < 2 {
		t.Errorf("%s = %+v, want prod's 0s, then 1", telemetry.MetricApprovalsWaiting, waiting)
	}
	in := StepInput{PromotionID: ps[0].ID, App: "checkout", Env: "prod"}
	in.Step = StepPreconditions
	out, err := f.p.Step(ctx, in)
	if err != nil {
		t.Fatalf("preconditions: %v", err)
	}
	if s := out.Summary; s.Artifact != "checkout-service@"+digest || s.From != "staging" || len(s.Commits) != 1 || s.Commits[0].SHA != commit ||
		s.SoakSeconds != int64((2*time.Hour+time.Minute).Seconds()) || !strings.HasPrefix(s.Gate, "no gate decision") {
		t.Errorf("summary = %+v", s)
	}
	// Approved: the workflow deploys and polls until the service reports.
	in.Step = StepDeploy
	if out, err := f.p.Step(ctx, in); err != nil || out.Status != "deploying" {
		t.Fatalf("deploy step = %+v, %v", out, err)
	}
	if _, err := f.p.Finished(ctx, app, prod, "h-prod-1", true, "ECS deployment completed"); err != nil {
		t.Fatal(err)
	}
	in.Step = StepStatus
	if out, err := f.p.Step(ctx, in); err != nil || out.Status != "succeeded" {
		t.Fatalf("status step = %+v, %v; want succeeded", out, err)
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		deps, err := f.l.Deployments(ctx, "checkout", env, f.now.Add(-window), f.now.Add(time.Hour))
		if err != nil || len(deps) != 1 || deps[0].Digest != digest || deps[0].Status != ledger.DeploymentSuccess {
			t.Errorf("%s deployments = %+v, %v; want one success of the digest", env, deps, err)
		}
	}
}

func TestPreconditionsRefuseWhatIsNotVerified(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	a := f.register(t, commit, digest)
	_, prod := f.env(t, "prod")
	pr, err := f.p.Request(ctx, a, prod, "staging", f.now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.p.Step(ctx, StepInput{Step: StepPreconditions, PromotionID: pr.ID, App: "checkout", Env: "prod"})
	var pf *PreconditionFailed
	if !errors.As(err, &pf) || !strings.Contains(pf.Reason, "not deployed successfully to staging") {
		t.Errorf("preconditions of an artifact never deployed to staging = %v, want PreconditionFailed", err)
	}
}

func TestFailedDeploymentQuarantines(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	a := f.register(t, commit, digest)
	app, staging := f.env(t, "staging")
	if _, err := f.p.Request(ctx, a, staging, "dev", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Advance(ctx, app, staging); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Finished(ctx, app, staging, "h-staging-1", false, "pipeline failed"); err != nil {
		t.Fatal(err)
	}
	got, err := f.p.artifact(ctx, digest)
	if err != nil || !got.Quarantined || !strings.Contains(got.Reason, "deployment to staging failed") {
		t.Errorf("artifact after a failed deployment = %+v, %v; want quarantined", got, err)
	}
	if ps := f.promotions(t, "prod"); len(ps) != 0 {
		t.Errorf("prod promotions after a failure = %+v, want none", ps)
	}
}

func TestNewerArtifactSupersedesOneStillWaiting(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, staging := f.env(t, "staging")
	older := f.register(t, commit, digest)
	newer := f.register(t, "c3a97e0d5f1b2a4c6e8d0f2a4b6c8e0d1f3a5b7c", other)
	soon := f.now.Add(time.Hour)
	if _, err := f.p.Request(ctx, older, staging, "dev", soon); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.p.Request(ctx, newer, staging, "dev", soon); err != nil {
		t.Fatal(err)
	}
	f.now = soon.Add(time.Minute)
	if err := f.p.Advance(ctx, app, staging); err != nil {
		t.Fatal(err)
	}
	if got := f.dep.deployed("staging"); len(got) != 1 || got[0] != other {
		t.Errorf("staging deployed %v, want only the newer artifact", got)
	}
	for _, pr := range f.promotions(t, "staging") {
		if pr.Digest == digest && pr.Status != ledger.PromotionSuperseded {
			t.Errorf("the older promotion is %s, want superseded", pr.Status)
		}
	}
}

// Two concurrent promotions of one app and environment end in exactly one
// deployment: the lock in the ledger (DynamoDB Local) admits one holder.
func TestConcurrentPromotionsDeployOnce(t *testing.T) {
	db := localaws.DynamoDB(t)
	f := newFixture(t, ledger.NewDynamo(db, localaws.LedgerTable(t, db)))
	f.dep.delay = 20 * time.Millisecond
	ctx := context.Background()
	app, staging := f.env(t, "staging")
	a := f.register(t, commit, digest)
	pr, err := f.p.Request(ctx, a, staging, "dev", f.now)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var won atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *pr // each caller read the same waiting promotion
			ok, err := f.p.Deploy(ctx, app, staging, &mine)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := f.dep.deployed("staging"); len(got) != 1 {
		t.Errorf("8 concurrent promotions deployed %d times, want exactly 1", len(got))
	}
	if n := won.Load(); n != 1 {
		t.Errorf("%d callers got the environment, want 1", n)
	}
}

func TestRefusedDeploymentFailsThePromotion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	f.dep.refuse = fmt.Errorf("%w: no version of checkout has this code", deploy.ErrRefused)
	a := f.register(t, commit, digest)
	app, dev := f.env(t, "dev")
	if _, err := f.p.Request(ctx, a, dev, "", f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Advance(ctx, app, dev); err != nil {
		t.Fatalf("Advance with a refused deployment = %v, want the refusal recorded, not retried", err)
	}
	ps := f.promotions(t, "dev")
	if len(ps) != 1 || ps[0].Status != ledger.PromotionFailed || !strings.Contains(ps[0].Reason, "no version") {
		t.Errorf("promotions = %+v, want failed with the refusal", ps)
	}
}

// Two different artifacts promoted into one environment at the same moment:
// the ledger lock (DynamoDB Local) lets one deploy; the other waits its turn.
func TestConcurrentArtifactsTakeTurns(t *testing.T) {
	db := localaws.DynamoDB(t)
	f := newFixture(t, ledger.NewDynamo(db, localaws.LedgerTable(t, db)))
	f.dep.delay = 20 * time.Millisecond
	ctx := context.Background()
	app, staging := f.env(t, "staging")
	var promos []*ledger.Promotion
	for i, d := range []string{digest, other} {
		a := f.register(t, fmt.Sprintf("%040d", i+1), d)
		pr, err := f.p.Request(ctx, a, staging, "dev", f.now)
		if err != nil {
			t.Fatal(err)
		}
		promos = append(promos, pr)
	}
	var wg sync.WaitGroup
	for _, pr := range promos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.p.Deploy(ctx, app, staging, pr); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := f.dep.deployed("staging"); len(got) != 1 {
		t.Errorf("two artifacts deployed %v to staging at once, want exactly one", got)
	}
}

// A promotion claimed for deployment whose function stopped before the
// deployment started is asked of its adapter again; when the adapter keeps
// failing, the tick ends it once the lock's time is up, and the environment
// is free again.
func TestStalledDeploymentFreesTheEnvironment(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, ledger.NewMemory())
	app, staging := f.env(t, "staging")
	a := f.register(t, commit, digest)
	pr, err := f.p.Request(ctx, a, staging, "dev", f.now)
	if err != nil {
		t.Fatal(err)
	}
	// The claim, as Deploy makes it, and nothing after.
	if held, err := f.p.lock(ctx, "checkout", "staging", pr.ID); err != nil || !held {
		t.Fatal(held, err)
	}
	pr.Status, pr.StartedAt = ledger.PromotionDeploying, f.now
	if err := f.l.Update(ctx, pr); err != nil {
		t.Fatal(err)
	}
	f.dep.refuse = errors.New("pipeline service unavailable") // a retry may help; none does
	f.now = f.now.Add(time.Hour)
	if err := f.p.Advance(ctx, app, staging); err == nil {
		t.Fatal("the adapter's failure asked again was not returned")
	}
	if ps := f.promotions(t, "staging"); ps[0].Status != ledger.PromotionDeploying {
		t.Fatalf("after an hour the promotion is %s, want still deploying", ps[0].Status)
	}
	f.now = f.now.Add(lockTTL)
	if err := f.p.Advance(ctx, app, staging); err != nil {
		t.Fatal(err)
	}
	ps := f.promotions(t, "staging")
	if ps[0].Status != ledger.PromotionFailed || !strings.Contains(ps[0].Reason, "no deployment was started") {
		t.Errorf("stalled promotion = %+v, want failed with the reason", ps[0])
	}
	if held, err := f.p.lock(ctx, "checkout", "staging", "prm-next"); err != nil || !held {
		t.Errorf("the environment is still held after the stalled promotion ended: %v, %v", held, err)
	}
	if got, _ := f.p.artifact(ctx, digest); got.Quarantined {
		t.Error("a stalled promotion quarantined the artifact: nothing says the artifact was at fault")
	}
}
