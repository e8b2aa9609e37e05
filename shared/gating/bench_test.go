package gating

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// BenchmarkHandleGate measures the build gate on events/codebuild-build-failed.json,
// the first delivery of a build whose BUILD phase failed: decoding the event,
// recording the build, reading its JUnit, SARIF and Cobertura reports from the
// zipped output artifact (an in-memory S3 fake; the artifact is spooled to a
// temporary file, as to Lambda's /tmp), evaluating the gate (verdict fail:
// compile), recording and counting the decision, claiming it, announcing it on
// the recording bus fake, finding the pipeline execution that ran the build
// among its action executions and stopping it (an in-memory CodePipeline fake)
// and notifying through an SNS fake. Every iteration starts from an empty
// ledger and metrics recorder, made inside the timed loop (a few small
// allocations), so none of them measures a redelivery. Logs are formatted as
// JSON, as under the Lambda runtime, and discarded.
func BenchmarkHandleGate(b *testing.B) {
	artifacts := objects{bucket + "/" + failedKey: zipOf(b, map[string]string{
		"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80,
	})}
	reports, images, pipe := &noReportGroups{}, &noImageScans{}, newPipeline(failedBuild)
	pub := &publisher{}
	h := NewBuilds(benchPolicy(b), func(string, string, string) BuildClients {
		return BuildClients{Reports: reports, Images: images, Artifacts: artifacts, Pipelines: pipe}
	}, ledger.NewMemory(), pub, silent{}, topic, WithMetrics(&telemetrytest.Recorder{}))
	ev := localaws.Sample[events.CloudWatchEvent](b, "codebuild-build-failed.json")
	telemetrytest.DiscardLogs(b)
	ctx := context.Background()
	var metrics *telemetrytest.Recorder

	b.ReportAllocs()
	for b.Loop() {
		metrics = &telemetrytest.Recorder{}
		h.ledger, h.metrics = ledger.NewMemory(), metrics
		pub.events, pipe.stopped = pub.events[:0], pipe.stopped[:0]

		res, err := h.Handle(ctx, ev)
		if err != nil || res.Outcome != OutcomeDecided || res.Verdict != ledger.VerdictFail ||
			res.Enforcement != "stopped execution e-42 of checkout-pipeline" {
			b.Fatalf("Handle() = %+v, %v; want decided, fail, stopped execution e-42 of checkout-pipeline", res, err)
		}
		if len(pub.events) != 1 || len(pipe.stopped) != 1 {
			b.Fatalf("published %d events and stopped %d executions, want 1 and 1", len(pub.events), len(pipe.stopped))
		}
	}
	if got := metrics.Values(telemetry.MetricGatePassed); len(got) != 1 || got[0].Value != 0 {
		b.Fatalf("%s of the last iteration = %+v, want one 0", telemetry.MetricGatePassed, got)
	}
	if reports.reads != 0 || images.scans != 0 {
		b.Fatalf("read report groups %d times and image scans %d times, want neither: the artifact has every report and the build exported no image",
			reports.reads, images.scans)
	}
}

// BenchmarkHandleGateJob measures the pipeline job gate on
// events/codepipeline-job.json, the first delivery of a job whose input
// artifact passes: reading the job's details (a fake answering GetJobDetails
// for the sample job) and checking them against the policy, reading the JUnit,
// SARIF and Cobertura reports from the zipped input artifact (an in-memory S3
// fake; the artifact is spooled to a temporary file), evaluating the
// artifact-only gate (verdict pass), recording and counting the decision,
// claiming it, announcing it on the recording bus fake and answering the job
// with PutJobSuccessResult (a counting fake). Every iteration starts from an
// empty ledger and metrics recorder, made inside the timed loop (a few small
// allocations), so none of them measures a redelivery. Logs are formatted as
// JSON, as under the Lambda runtime, and discarded.
func BenchmarkHandleGateJob(b *testing.B) {
	artifacts := objects{bucket + "/" + succeededKey: zipOf(b, map[string]string{
		"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80,
	})}
	answered := &answers{}
	pub := &publisher{}
	h := NewJobs(benchPolicy(b), func(string) JobClients {
		return JobClients{Jobs: answered, Artifacts: func(cptypes.AWSSessionCredentials) (evidence.ObjectGetter, error) {
			return artifacts, nil
		}}
	}, ledger.NewMemory(), pub, silent{}, topic, WithMetrics(&telemetrytest.Recorder{}))
	ev := localaws.Sample[events.CodePipelineJobEvent](b, "codepipeline-job.json")
	telemetrytest.DiscardLogs(b)
	ctx := context.Background()
	var metrics *telemetrytest.Recorder

	b.ReportAllocs()
	for b.Loop() {
		metrics = &telemetrytest.Recorder{}
		h.ledger, h.metrics = ledger.NewMemory(), metrics
		pub.events, *answered = pub.events[:0], answers{}

		res, err := h.Handle(ctx, ev)
		if err != nil || res.Outcome != OutcomeDecided || res.Verdict != ledger.VerdictPass || res.Enforcement != "job succeeded" {
			b.Fatalf("Handle() = %+v, %v; want decided, pass, job succeeded", res, err)
		}
		if len(pub.events) != 1 || answered.success != 1 || answered.failure != 0 {
			b.Fatalf("published %d events, answered %d successes and %d failures; want 1, 1, 0",
				len(pub.events), answered.success, answered.failure)
		}
	}
	if got := metrics.Values(telemetry.MetricGatePassed); len(got) != 1 || got[0].Value != 1 {
		b.Fatalf("%s of the last iteration = %+v, want one 1", telemetry.MetricGatePassed, got)
	}
}

// benchPolicy is testPolicy, parsed.
func benchPolicy(b *testing.B) *policy.Policy {
	b.Helper()
	p, err := policy.Parse([]byte(testPolicy), "test.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// objects is a hand-written in-memory fake of S3's GetObject: zipped
// artifacts by "bucket/key".
type objects map[string][]byte

func (o objects) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	body, ok := o[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body)))}, nil
}

// zipOf zips files, as CodeBuild uploads an output artifact.
func zipOf(b *testing.B, files map[string]string) []byte {
	b.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// noReportGroups is a hand-written fake of the CodeBuild report groups reader
// for a build that has none; it counts its reads.
type noReportGroups struct{ reads int }

func (r *noReportGroups) Read(_ context.Context, build string) (gate.Input[report.Tests], gate.Input[report.Coverage]) {
	r.reads++
	from := "report groups of " + build
	return gate.Input[report.Tests]{From: from}, gate.Input[report.Coverage]{From: from}
}

// noImageScans is a hand-written fake of the ECR image scan reader for images
// that have no scan; it counts its reads.
type noImageScans struct{ scans int }

func (s *noImageScans) ImageScan(_ context.Context, repository, digest string) gate.Input[gate.ImageScan] {
	s.scans++
	return gate.Input[gate.ImageScan]{From: "scan of " + repository + "@" + digest}
}

// pipeline is a hand-written in-memory fake of CodePipeline's action
// executions and stop calls: checkout-pipeline's execution e-42 ran build in
// its Build stage. It records the executions it stops.
type pipeline struct {
	actions *codepipeline.ListActionExecutionsOutput
	stopped []string
}

func newPipeline(build string) *pipeline {
	return &pipeline{actions: &codepipeline.ListActionExecutionsOutput{
		ActionExecutionDetails: []cptypes.ActionExecutionDetail{
			{
				PipelineExecutionId: aws.String("e-42"), StageName: aws.String("Build"), ActionName: aws.String("Build"),
				Status: cptypes.ActionExecutionStatusInProgress,
				Output: &cptypes.ActionExecutionOutput{ExecutionResult: &cptypes.ActionExecutionResult{ExternalExecutionId: aws.String(build)}},
			},
			{
				PipelineExecutionId: aws.String("e-42"), StageName: aws.String("Source"), ActionName: aws.String("Source"),
				Status: cptypes.ActionExecutionStatusSucceeded,
				Output: &cptypes.ActionExecutionOutput{ExecutionResult: &cptypes.ActionExecutionResult{ExternalExecutionId: aws.String("9f4e2c1")}},
			},
		},
	}}
}

func (p *pipeline) ListActionExecutions(context.Context, *codepipeline.ListActionExecutionsInput, ...func(*codepipeline.Options)) (*codepipeline.ListActionExecutionsOutput, error) {
	return p.actions, nil
}

func (p *pipeline) StopPipelineExecution(_ context.Context, in *codepipeline.StopPipelineExecutionInput, _ ...func(*codepipeline.Options)) (*codepipeline.StopPipelineExecutionOutput, error) {
	p.stopped = append(p.stopped, aws.ToString(in.PipelineExecutionId))
	return &codepipeline.StopPipelineExecutionOutput{PipelineExecutionId: in.PipelineExecutionId}, nil
}
