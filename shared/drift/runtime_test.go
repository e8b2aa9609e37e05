package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/runtimecheck"
	"github.com/highwayhq/highway/shared/telemetry"
)

// runtimePolicy deploys dev and prod through SSM parameters and staging
// through a pipeline, which has no runtime target.
const runtimePolicy = `
version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "444444444444", region: eu-west-1, deploy: {ssm: {parameter: /checkout/dev/image}}}
      - {name: staging, account: "444444444444", region: eu-west-1, deploy: {pipeline: {name: checkout-deploy-staging}}}
      - {name: prod, account: "444444444444", region: eu-west-1, deploy: {ssm: {parameter: /checkout/prod/image}}}
drift:
  schedule: rate(6 hours)
  stacks: {prefixes: [checkout-]}
`

const (
	promotedDigest = "sha256:dce6076a9db1931ce247727b49c0c6aaa57dbd673cf1101e2cb2275bc1bd8337"
	strangerDigest = "sha256:9d8d105ac90cc56852c704633b4c2e233802a97757660935930d86e746d515ea"
)

// runtimeFixture is a fixture whose runtime checks read SSM from its fake,
// where the prod parameter holds *running, and which has prod's promotion
// on its ledger.
func runtimeFixture(t *testing.T, running *string) *fixture {
	t.Helper()
	f := newFixture(t, runtimePolicy)
	client := ssm.NewFromConfig(f.aws.Config())
	f.h.runtime = func(string, string, string) runtimecheck.Clients { return runtimecheck.Clients{SSM: client} }
	f.aws.OnFunc("GetParameter", func(r awsfake.Request) awsfake.Response {
		ref := "@" + *running
		if !strings.HasPrefix(*running, "sha256:") {
			ref = ":" + *running // a tag
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"Parameter":{"Name":"/checkout/prod/image","Type":"String","Version":3,"Value":"222222222222.dkr.ecr.eu-west-1.amazonaws.com/checkout%s"}}`, ref))
	})
	err := f.ledger.Put(context.Background(), &ledger.Deployment{
		Header: ledger.Header{ID: "dep-prod-1", App: "checkout", Env: "prod", Digest: promotedDigest, At: f.clock.Now().Add(-time.Hour)},
		Status: ledger.DeploymentSuccess,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCheckRuntimeAnnouncesArtifactDriftOnChange(t *testing.T) {
	running := promotedDigest
	f := runtimeFixture(t, &running)
	ctx := context.Background()
	round := func() RuntimeResult {
		t.Helper()
		f.clock.Set(f.clock.Now().Add(6 * time.Hour))
		res, err := f.h.CheckRuntime(ctx, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := round()
	if res.Checked != 1 || res.Drifted != 0 || !slices.Equal(res.Skipped, []string{"checkout/dev"}) {
		t.Errorf("in sync: %+v, want prod checked in sync and dev skipped (nothing promoted)", res)
	}
	running = strangerDigest // someone points prod at an image that never passed the gate
	if res := round(); res.Drifted != 1 {
		t.Errorf("after the hand edit: %+v, want prod drifted", res)
	}
	round() // still drifted: no second announcement
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeArtifactDrift}) {
		t.Fatalf("published %v, want one Artifact Drift", got)
	}
	var notice ArtifactNotice
	b, _ := json.Marshal(f.bus.events[0].Detail)
	if err := json.Unmarshal(b, &notice); err != nil {
		t.Fatal(err)
	}
	if notice.App != "checkout" || notice.Env != "prod" || notice.Expected != promotedDigest || notice.Running != strangerDigest {
		t.Errorf("notice = %+v", notice)
	}
	alerts := f.alerts()
	if len(alerts) != 1 || !strings.Contains(alerts[0], "ARTIFACT DRIFT: checkout prod") || !strings.Contains(alerts[0], strangerDigest) {
		t.Errorf("alerts = %q, want one naming prod and the running digest", alerts)
	}
	if got := f.metricLines()[telemetry.MetricArtifactDrift]; !slices.Equal(got, []float64{0, 1, 1}) {
		t.Errorf("%s = %v, want [0 1 1]", telemetry.MetricArtifactDrift, got)
	}
	current, err := f.ledger.CurrentDriftReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(current) != 1 || current[0].ID != "checkout/prod" || current[0].Status != runtimecheck.StatusMismatch {
		t.Errorf("current reports = %+v, want prod's DIGEST_MISMATCH", current)
	}
}

// An environment that names its image by a tag is drift too: anyone can move
// the tag, so what runs cannot be held to the gate.
func TestCheckRuntimeAnnouncesATagAsArtifactDrift(t *testing.T) {
	running := "hotfix"
	f := runtimeFixture(t, &running)
	f.clock.Set(f.clock.Now().Add(6 * time.Hour))
	res, err := f.h.CheckRuntime(context.Background(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Drifted != 1 || !slices.Equal(f.bus.types(), []string{DetailTypeArtifactDrift}) {
		t.Errorf("%+v, published %v; want prod drifted and announced", res, f.bus.types())
	}
	if alerts := f.alerts(); len(alerts) != 1 || !strings.Contains(alerts[0], "without a digest") || !strings.Contains(alerts[0], ":hotfix") {
		t.Errorf("alerts = %q, want one saying prod runs a tag", alerts)
	}
	if got := f.metricLines()[telemetry.MetricArtifactDrift]; !slices.Equal(got, []float64{1}) {
		t.Errorf("%s = %v, want [1]", telemetry.MetricArtifactDrift, got)
	}
}

func TestCheckRuntimeGoesOnPastAnUnreadableEnvironment(t *testing.T) {
	running := promotedDigest
	f := runtimeFixture(t, &running)
	f.aws.On("GetParameter", awsfake.APIError(400, "AccessDeniedException", "not authorized to perform: ssm:GetParameter"))
	err := f.ledger.Put(context.Background(), &ledger.Deployment{
		Header: ledger.Header{ID: "dep-dev-1", App: "checkout", Env: "dev", Digest: promotedDigest, At: f.clock.Now().Add(-2 * time.Hour)},
		Status: ledger.DeploymentSuccess,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.h.CheckRuntime(context.Background(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 2 || res.Checked != 0 {
		t.Errorf("CheckRuntime() = %+v, want dev and prod failed", res)
	}
}

func TestThrottledRuntimeReadFailsTheRoundToBeRunAgain(t *testing.T) {
	running := promotedDigest
	f := runtimeFixture(t, &running)
	throttled := true
	f.aws.OnFunc("GetParameter", func(r awsfake.Request) awsfake.Response {
		if throttled {
			return awsfake.APIError(400, "ThrottlingException", "Rate exceeded")
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"Parameter":{"Name":"/checkout/prod/image","Type":"String","Version":3,"Value":"222222222222.dkr.ecr.eu-west-1.amazonaws.com/checkout@%s"}}`, running))
	})
	ctx := context.Background()
	at := f.clock.Now()
	res, err := f.h.CheckRuntime(ctx, at)
	if err == nil || !strings.Contains(err.Error(), "checkout/prod") {
		t.Fatalf("CheckRuntime() error = %v, want prod's throttled read to fail the round", err)
	}
	if !slices.Equal(res.Failed, []string{"checkout/prod"}) {
		t.Errorf("Failed = %v, want [checkout/prod]", res.Failed)
	}
	throttled = false
	for range 2 { // the retried round, then a redelivery of it
		if _, err := f.h.CheckRuntime(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	current, err := f.ledger.CurrentDriftReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(current) != 1 || current[0].ID != "checkout/prod" || current[0].Status != runtimecheck.StatusInSync {
		t.Errorf("current reports = %+v, want prod's IN_SYNC, filed by the retried round", current)
	}
}

func TestRoundRunAgainAnnouncesArtifactDriftOnce(t *testing.T) {
	running := strangerDigest
	f := runtimeFixture(t, &running)
	snsDown, alerts := true, map[string]bool{} // the calls answered, by invocation
	f.aws.OnFunc("Publish", func(r awsfake.Request) awsfake.Response {
		if snsDown {
			return awsfake.APIError(500, "InternalError", "internal error")
		}
		alerts[r.Header.Get(awsfake.InvocationHeader)] = true
		return awsfake.XML(200, snsOK)
	})
	ctx := context.Background()
	at := f.clock.Now()
	if _, err := f.h.CheckRuntime(ctx, at); err == nil {
		t.Fatal("CheckRuntime() with the alert failing = nil, want the error")
	}
	snsDown = false
	for range 2 { // the round's retry, then a redelivery of the scheduled event
		if _, err := f.h.CheckRuntime(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeArtifactDrift}) {
		t.Errorf("published %v, want one Artifact Drift", got)
	}
	if len(alerts) != 1 {
		t.Errorf("alert sent %d times, want once, by the retried round", len(alerts))
	}
}

func TestInvokeDispatchesOnThePayload(t *testing.T) {
	running := strangerDigest
	f := runtimeFixture(t, &running)
	var d fakeDetections
	d.serve(f.aws)
	onDescribeStacks(f.aws, []fakeStack{managed(prodAccount, networkStack)}, 10)
	onResourceDrifts(t, f.aws)
	q := &fakeQueue{}
	q.serve(f.aws)
	f.h.queue, f.h.queueURL = sqs.NewFromConfig(f.aws.Config()), queueURL
	ctx := context.Background()

	scheduled := fmt.Sprintf(`{"version":"0","id":"s-1","detail-type":"Scheduled Event","source":"aws.events","account":"111111111111","time":%q,"region":"eu-west-1","resources":[],"detail":{}}`,
		f.clock.Now().Format(time.RFC3339))
	out, err := f.h.Invoke(ctx, json.RawMessage(scheduled))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := out.(Round); !ok || r.Runtime.Drifted != 1 || r.Sweep.Stacks != 1 || len(q.bodies) != 1 {
		t.Errorf("scheduled event → %#v, want a round queueing the network stack and finding prod drifted", out)
	}

	sample, err := os.ReadFile(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	out, err = f.h.Invoke(ctx, sample)
	if r, ok := out.(Result); err != nil || !ok || r.Status != "DRIFTED" {
		t.Errorf("status change → %#v, %v; want the DRIFTED report", out, err)
	}

	batch, _ := json.Marshal(stackMessages(t, prodStacks(2)))
	out, err = f.h.Invoke(ctx, batch)
	if n := len(f.aws.Invocations("DetectStackDrift")); err != nil || n != 2 {
		t.Errorf("queue batch → %#v, %v; started %d detections, want 2", out, err, n)
	}

	for _, bad := range []string{`[1,2]`, `{"source":"aws.s3","detail-type":"Object Created"}`} {
		if _, err := f.h.Invoke(ctx, json.RawMessage(bad)); err == nil || !strings.Contains(err.Error(), "drift:") {
			t.Errorf("Invoke(%s) error = %v, want a drift error", bad, err)
		}
	}
}

// An UNVERIFIABLE report that names the promoted digest is a rollout that
// has not settled, not a tag, and its alert says so.
func TestAlertTextOfAnUnsettledRollout(t *testing.T) {
	rep := &ledger.DriftReport{Header: ledger.Header{App: "payments", Env: "staging", Digest: promotedDigest}, Status: runtimecheck.StatusUnverifiable,
		ExpectedDigest: promotedDigest, Target: "eks platform-staging payments/payments container app, rollout paused"}
	if got := alertText(rep); !strings.Contains(got, "rollout has not settled") || strings.Contains(got, "a tag can") {
		t.Errorf("alert %q", got)
	}
	rep.Header.Digest, rep.Target = "", "eks platform-staging payments/payments container app: payments-service:hotfix"
	if got := alertText(rep); !strings.Contains(got, "without a digest") {
		t.Errorf("alert %q", got)
	}
}

// A cluster answering 503 (its API server restarting) fails the round to be
// run again, as a throttled AWS read does; a 403 (RBAC) does not: no retry
// would help, and the environment is reported failed.
func TestClusterErrorsOfARuntimeRead(t *testing.T) {
	const eksPolicy = `
version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: prod, account: "444444444444", region: eu-west-1, deploy: {eks: {cluster: shop, namespace: checkout, deployment: web, container: app}}}
drift:
  schedule: rate(6 hours)
  stacks: {prefixes: [checkout-]}
`
	for _, tc := range []struct {
		status int
		retry  bool
	}{{503, true}, {403, false}} {
		f := newFixture(t, eksPolicy)
		cluster := kubefake.New(t)
		cluster.Put(kubefake.RolledOut("checkout", "web", "app", "222222222222.dkr.ecr.eu-west-1.amazonaws.com/checkout@"+promotedDigest, 2, 1))
		f.h.runtime = func(string, string, string) runtimecheck.Clients {
			return runtimecheck.Clients{Kube: func(context.Context, string) (*kube.Cluster, error) {
				return kube.New(cluster.Config("k8s-aws-v1.test"))
			}}
		}
		if err := f.ledger.Put(context.Background(), &ledger.Deployment{
			Header: ledger.Header{ID: "dep-prod-1", App: "checkout", Env: "prod", Digest: promotedDigest, At: f.clock.Now().Add(-time.Hour)},
			Status: ledger.DeploymentSuccess,
		}); err != nil {
			t.Fatal(err)
		}
		for range 11 { // more than client-go's own retries of a read
			cluster.Inject(kubefake.Fault{Method: "GET", Status: tc.status})
		}
		res, err := f.h.CheckRuntime(context.Background(), f.clock.Now())
		if (err != nil) != tc.retry || !slices.Equal(res.Failed, []string{"checkout/prod"}) {
			t.Errorf("%d: round error %v, failed %v; want the round run again %v, prod failed", tc.status, err, res.Failed, tc.retry)
		}
	}
}
