package gating

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/imagescan"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/reportgroups"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// testPolicy gates checkout, delivered from the dev account 222222222222 as the
// sample events are, and billing, delivered from 333333333333.
const testPolicy = `
version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    account: "222222222222"
    region: eu-west-1
    pipelines: [checkout-pipeline]
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
    gate:
      projects: [checkout-build]
      artifactBuckets: [codepipeline-eu-west-1-222222222222]
      imageRepositories: [checkout-service]
      reports:
        junit: ["reports/junit/*.xml"]
        sarif: ["reports/*.sarif"]
        coverage: ["reports/coverage.xml"]
      checks:
        compile: {}
        tests: {maxFailed: 0}
        security: {tools: [gosec], image: true}
        coverage: {minLines: 70}
  - name: billing
    repository: billing-service
    account: "333333333333"
    region: eu-west-1
    pipelines: [billing-pipeline]
    environments:
      - {name: dev, account: "333333333333", region: eu-west-1}
    gate:
      projects: [billing-build]
      reports:
        junit: ["reports/junit/*.xml"]
      checks:
        tests: {maxFailed: 0}
`

const (
	bucket       = "codepipeline-eu-west-1-222222222222"
	failedKey    = "checkout-pipeline/BuildArtif/m4Tz9Qe"
	succeededKey = "checkout-pipeline/BuildArtif/Xq7Rb2K"
	failedBuild  = "checkout-build:5490fd06-2bc7-5275-a2f3-37be43fae806"
	topic        = "arn:aws:sns:eu-west-1:111111111111:highway-notifications"
)

// Reports as the tools write them: one failing test or none, a gosec finding or
// none, and Cobertura coverage.
const (
	junitPass = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="checkout/totals" tests="2" failures="0" time="1.5">
<testcase classname="checkout/totals" name="TestRound" time="0.5"/>
<testcase classname="checkout/totals" name="TestSum" time="1.0"/>
</testsuite></testsuites>`
	junitFail = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="checkout/totals" tests="2" failures="1" time="1.5">
<testcase classname="checkout/totals" name="TestRound" time="0.5"><failure message="got 10.01, want 10.00">totals_test.go:12</failure></testcase>
<testcase classname="checkout/totals" name="TestSum" time="1.0"/>
</testsuite></testsuites>`
	sarifClean = `{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"tool":{"driver":{"name":"gosec","rules":[]}},"results":[]}]}`
	coverage80 = `<?xml version="1.0" ?><coverage line-rate="0.8" lines-covered="80" lines-valid="100" version="1"><packages/></coverage>`
)

// publisher is a hand-written fake of bus.Publisher that records the events;
// after, when set, runs once events are published, before Publish returns.
type publisher struct {
	events []bus.Event
	after  func(ctx context.Context)
}

func (p *publisher) Publish(ctx context.Context, evs ...bus.Event) error {
	p.events = append(p.events, evs...)
	if p.after != nil {
		p.after(ctx)
	}
	return nil
}

type fixture struct {
	aws     *awsfake.Server
	s3      *s3.Client
	s3opts  func(*s3.Options)
	store   *localaws.S3
	ledger  ledger.Ledger
	pub     *publisher
	policy  *policy.Policy
	metrics telemetrytest.Recorder
	opts    []Option

	// accounts are the accounts the job handler asked clients for, and
	// creds the artifact credentials it read artifacts with.
	accounts []string
	creds    []cptypes.AWSSessionCredentials
}

// testdata returns the file testdata/name.
func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p, err := policy.Parse([]byte(testPolicy), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{aws: awsfake.New(t), ledger: ledger.NewMemory(), pub: &publisher{}, policy: p}
	f.store = localaws.StartS3(t, bucket)
	f.s3, f.s3opts = f.store.Client, f.store.Options
	f.aws.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	// Execution e-42 of checkout-pipeline runs the failed build.
	f.aws.On("ListActionExecutions", awsfake.JSON(200, testdata(t, "list-action-executions.json")))
	f.aws.On("StopPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"e-42"}`))
	f.aws.On("GetJobDetails", awsfake.JSON(200, testdata(t, "get-job-details.json")))
	// The build has no CodeBuild report groups: reports come from its artifact.
	f.aws.On("BatchGetBuilds", awsfake.JSON(200, `{"builds":[{"id":"`+failedBuild+`","reportArns":[]}]}`))
	f.aws.On("DescribeImageScanFindings", awsfake.JSON(200, `{"repositoryName":"checkout-service","imageScanStatus":{"status":"COMPLETE"},"imageScanFindings":{"findingSeverityCounts":{"LOW":3}}}`))
	return f
}

// artifact stores a zip of files at key, as CodeBuild uploads an output artifact.
func (f *fixture) artifact(t *testing.T, key string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) builds() *Builds {
	cfg := f.aws.Config()
	return NewBuilds(f.policy, func(app, account, region string) BuildClients {
		return BuildClients{
			Reports:   reportgroups.Reader{API: codebuild.NewFromConfig(cfg)},
			Images:    imagescan.Scanner{API: ecr.NewFromConfig(cfg)},
			Artifacts: s3.NewFromConfig(localaws.Config(), f.s3opts),
			Pipelines: codepipeline.NewFromConfig(cfg),
		}
	}, f.ledger, f.pub, sns.NewFromConfig(cfg), topic, append([]Option{WithMetrics(&f.metrics)}, f.opts...)...)
}

func (f *fixture) jobs() *Jobs {
	cfg := f.aws.Config()
	return NewJobs(f.policy, func(account string) JobClients {
		f.accounts = append(f.accounts, account)
		return JobClients{
			Jobs: codepipeline.NewFromConfig(cfg),
			Artifacts: func(creds cptypes.AWSSessionCredentials) (evidence.ObjectGetter, error) {
				f.creds = append(f.creds, creds)
				return s3.NewFromConfig(localaws.Config(), f.s3opts), nil
			},
		}
	}, f.ledger, f.pub, sns.NewFromConfig(cfg), topic, append([]Option{WithMetrics(&f.metrics)}, f.opts...)...)
}

func (f *fixture) decisions(t *testing.T, commit string) []*ledger.GateDecision {
	t.Helper()
	recs, err := f.ledger.ByCommit(context.Background(), commit)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ledger.GateDecision
	for _, r := range recs {
		if d, ok := r.(*ledger.GateDecision); ok {
			out = append(out, d)
		}
	}
	return out
}

// A build whose BUILD phase failed stops the pipeline execution that ran it,
// with the reason; a throttled stop is retried; a redelivered event stops nothing
// twice, writes no second decision and reads no evidence again.
func TestFailedBuildStopsItsPipelineOnce(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, failedKey, map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
	f.aws.Inject(awsfake.Fault{Operation: "StopPipelineExecution", Kind: awsfake.Throttle, First: 1})
	h := f.builds()
	ev := localaws.Sample[events.CloudWatchEvent](t, "codebuild-build-failed.json")

	var reads int64 // artifact reads of the first delivery
	for i, want := range []Outcome{OutcomeDecided, OutcomeDuplicate} {
		res, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("delivery %d: Handle() error = %v", i+1, err)
		}
		if res.Outcome != want || res.Verdict != ledger.VerdictFail || !strings.Contains(res.Enforcement, "stopped execution e-42 of checkout-pipeline") {
			t.Errorf("delivery %d: Handle() = %+v, want %s, fail, stopped e-42", i+1, res, want)
		}
		if i == 0 {
			reads = f.store.Gets()
		}
	}

	stops := f.aws.Invocations("StopPipelineExecution")
	if len(stops) != 1 || stops[0].Fault != awsfake.Throttle {
		t.Fatalf("StopPipelineExecution called %d times, want once, throttled at first and retried by the SDK; none for the redelivery", len(stops))
	}
	var in struct {
		PipelineName, PipelineExecutionId, Reason string
		Abandon                                   bool
	}
	if err := stops[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	if in.PipelineName != "checkout-pipeline" || in.PipelineExecutionId != "e-42" || !in.Abandon ||
		!strings.Contains(in.Reason, "compile") || !strings.Contains(in.Reason, "go build") {
		t.Errorf("StopPipelineExecution(%+v), want e-42 of checkout-pipeline abandoned, the compile failure as reason", in)
	}
	ds := f.decisions(t, "4032766a1f4d50cd05796f97468fa2761db7ef23")
	if len(ds) != 1 || !ds[0].Announced || !ds[0].Enforced {
		t.Fatalf("decisions = %+v, want one, announced and enforced", ds)
	}
	if n := len(f.pub.events); n != 1 || f.pub.events[0].DetailType != DetailTypeGateDecided {
		t.Errorf("published %d events, want one Gate Decided", n)
	}
	if n := len(f.aws.Invocations("Publish")); n != 1 {
		t.Errorf("SNS Publish calls = %d, want 1", n)
	}
	if n := f.store.Gets(); reads == 0 || n != reads {
		t.Errorf("artifact reads = %d, then %d; want the first delivery's only: the redelivery finds the decision and gathers no evidence again", reads, n)
	}
	if got := f.metrics.Values(telemetry.MetricGatePassed); len(got) != 1 || got[0].Value != 0 || got[0].Dims["App"] != "checkout" {
		t.Errorf("%s = %+v, want one 0 for checkout: the decision, counted once", telemetry.MetricGatePassed, got)
	}
}

// When the stop fails past the SDK's retries, the decision stands, announced
// but not enforced, and the redelivery stops the pipeline.
func TestStopFailureIsFinishedByTheRedelivery(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, failedKey, map[string]string{"reports/junit/unit.xml": junitFail})
	f.aws.Inject(awsfake.Fault{Operation: "StopPipelineExecution", Kind: awsfake.ServiceUnavailable, First: 3})
	h := f.builds()
	ev := localaws.Sample[events.CloudWatchEvent](t, "codebuild-build-failed.json")

	if _, err := h.Handle(context.Background(), ev); err == nil {
		t.Fatal("Handle() with CodePipeline down = nil error, want one for a retry")
	}
	ds := f.decisions(t, "4032766a1f4d50cd05796f97468fa2761db7ef23")
	if len(ds) != 1 || !ds[0].Announced || ds[0].Enforced {
		t.Fatalf("after the failed stop: decisions = %+v, want one, announced, not enforced", ds)
	}
	res, err := h.Handle(context.Background(), ev)
	if err != nil || res.Outcome != OutcomeDuplicate || !strings.Contains(res.Enforcement, "stopped execution e-42") {
		t.Fatalf("redelivery: Handle() = %+v, %v; want the stop done", res, err)
	}
	if n := len(f.pub.events); n != 1 {
		t.Errorf("published %d Gate Decided events, want 1", n)
	}
}

func TestPassingBuildStopsNothingAndLearnsNothingWithoutRegression(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
	res, err := f.builds().Handle(context.Background(), localaws.Sample[events.CloudWatchEvent](t, "codebuild-build-succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != ledger.VerdictPass || res.Outcome != OutcomeDecided {
		d := f.decisions(t, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f")
		t.Fatalf("Handle() = %+v, want a pass; decision: %s", res, explainAll(d))
	}
	if n := len(f.aws.Invocations("StopPipelineExecution")) + len(f.aws.Invocations("Publish")); n != 0 {
		t.Errorf("a passing build made %d stop or notify calls, want 0", n)
	}
	scans := f.aws.Invocations("DescribeImageScanFindings")
	if len(scans) != 1 {
		t.Fatalf("DescribeImageScanFindings calls = %d, want 1 for the built image", len(scans))
	}
	var in struct {
		RepositoryName string
		ImageId        struct{ ImageDigest string }
	}
	if err := scans[0].DecodeJSON(&in); err != nil || in.RepositoryName != "checkout-service" || !strings.HasPrefix(in.ImageId.ImageDigest, "sha256:e648") {
		t.Errorf("DescribeImageScanFindings(%+v), %v; want the built image", in, err)
	}
}

// Missing reports fail closed: the gate does not pass what it cannot read.
func TestMissingReportsFailClosed(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"README.md": "no reports here"})
	res, err := f.builds().Handle(context.Background(), localaws.Sample[events.CloudWatchEvent](t, "codebuild-build-succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := f.decisions(t, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f")
	if res.Verdict != ledger.VerdictFail || len(d) != 1 {
		t.Fatalf("Handle() = %+v, want fail", res)
	}
	for _, name := range []string{"tests", "coverage"} {
		for _, c := range d[0].Checks {
			if c.Name == name && c.Passed {
				t.Errorf("check %s passed without a report: %+v", name, c)
			}
		}
	}
}

func TestBuildEventsNotForTheGateAreAcknowledged(t *testing.T) {
	tests := []struct {
		name string
		edit func(ev *events.CloudWatchEvent)
		want string
	}{
		{"unknown project", func(ev *events.CloudWatchEvent) {
			ev.Detail = []byte(strings.ReplaceAll(string(ev.Detail), `"checkout-build"`, `"other-build"`))
		}, `project "other-build" is gated by no app`},
		{"another account", func(ev *events.CloudWatchEvent) { ev.AccountID = "999999999999" }, "in account 999999999999"},
		{"not a build event", func(ev *events.CloudWatchEvent) { ev.DetailType = "CodeBuild Build Phase Change" }, "CodeBuild Build Phase Change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ev := localaws.Sample[events.CloudWatchEvent](t, "codebuild-build-failed.json")
			tt.edit(&ev)
			res, err := f.builds().Handle(context.Background(), ev)
			if err != nil || res.Outcome != OutcomeIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("Handle() = %+v, %v; want ignored with %q", res, err, tt.want)
			}
			if n := len(f.aws.Requests()); n != 0 {
				t.Errorf("an ignored event made %d AWS calls", n)
			}
		})
	}
}

// A job's verdict is its answer: PutJobFailureResult with the reason, once, even
// when the event is delivered again.
func TestJobFailureIsAnsweredWithTheReasonOnce(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitFail, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
	f.aws.On("PutJobFailureResult", awsfake.JSON(200, `{}`))
	f.aws.Inject(awsfake.Fault{Operation: "PutJobFailureResult", Kind: awsfake.Throttle, First: 1})
	h := f.jobs()
	ev := localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json")

	for i, want := range []Outcome{OutcomeDecided, OutcomeDuplicate} {
		res, err := h.Handle(context.Background(), ev)
		if err != nil || res.Outcome != want || res.Verdict != ledger.VerdictFail {
			t.Fatalf("delivery %d: Handle() = %+v, %v; want %s, fail", i+1, res, err, want)
		}
	}
	calls := f.aws.Invocations("PutJobFailureResult")
	if len(calls) != 1 || calls[0].Fault != awsfake.Throttle {
		t.Fatalf("PutJobFailureResult called %d times, want once, throttled at first and retried by the SDK; none for the redelivery", len(calls))
	}
	var in struct {
		JobId          string
		FailureDetails struct{ Type, Message string }
	}
	if err := calls[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	if in.JobId != "11111111-abcd-1111-abcd-111111abcdef" || in.FailureDetails.Type != "JobFailed" || !strings.Contains(in.FailureDetails.Message, "TestRound") {
		t.Errorf("PutJobFailureResult(%+v), want JobFailed naming the failing test", in)
	}
}

func TestJobPassIsAnsweredWithSuccess(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
	f.aws.On("PutJobSuccessResult", awsfake.JSON(200, `{}`))
	res, err := f.jobs().Handle(context.Background(), localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json"))
	if err != nil || res.Verdict != ledger.VerdictPass {
		t.Fatalf("Handle() = %+v, %v; want a pass", res, err)
	}
	calls := f.aws.Invocations("PutJobSuccessResult")
	if len(calls) != 1 {
		t.Fatalf("PutJobSuccessResult calls = %d, want 1", len(calls))
	}
	var in struct {
		JobId            string
		ExecutionDetails struct{ Summary string }
	}
	if err := calls[0].DecodeJSON(&in); err != nil || !strings.Contains(in.ExecutionDetails.Summary, "Gate PASS") {
		t.Errorf("PutJobSuccessResult(%+v), %v; want the decision as summary", in, err)
	}
	if got := f.metrics.Values(telemetry.MetricGatePassed); len(got) != 1 || got[0].Value != 1 || got[0].Dims["App"] != "checkout" {
		t.Errorf("%s = %+v, want one 1 for checkout", telemetry.MetricGatePassed, got)
	}
}

func TestJobAnswerFailureIsRetried(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
	f.aws.On("PutJobSuccessResult", awsfake.APIError(500, "InternalFailure", "down"))
	if _, err := f.jobs().Handle(context.Background(), localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json")); err == nil {
		t.Error("Handle() when the answer cannot be sent = nil error, want one for a retry")
	}
}

func explainAll(ds []*ledger.GateDecision) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(Explain(d))
	}
	return b.String()
}
