package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

const (
	bucket      = "codepipeline-eu-west-1-222222222222"
	failedBuild = "checkout-build:5490fd06-2bc7-5275-a2f3-37be43fae806"
)

// deploy prepares the gate with the sample builds' output artifacts in S3
// (its endpoint added to the environment), the pipeline execution of the
// failed build among its action executions, to stop, and every other service
// answering success.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "gate")
	store := d.StartS3(tb, bucket)
	for key, dir := range map[string]string{"checkout-pipeline/BuildArtif/m4Tz9Qe": "Xq7Rb2K", "checkout-pipeline/BuildArtif/Xq7Rb2K": "Xq7Rb2K"} {
		zipped, err := localaws.ZipFolder(filepath.Join("../../events/artifacts", dir))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := store.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(zipped))}); err != nil {
			tb.Fatal(err)
		}
	}
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("DescribeImageScanFindings", awsfake.JSON(200, `{"imageScanStatus":{"status":"COMPLETE"},"imageScanFindings":{"findingSeverityCounts":{"LOW":2}}}`))
	d.AWS.On("ListActionExecutions", awsfake.JSON(200, `{"actionExecutionDetails":[{"pipelineExecutionId":"e-42","actionExecutionId":"0f6c3a8e-2b1d-4e59-a7c4-93d8e1b2f6a0",
		"pipelineVersion":7,"stageName":"Build","actionName":"Build","startTime":1763372780.114,"lastUpdateTime":1763372846.902,"status":"Failed",
		"input":{"actionTypeId":{"category":"Build","owner":"AWS","provider":"CodeBuild","version":"1"},"configuration":{"ProjectName":"checkout-build"}},
		"output":{"executionResult":{"externalExecutionId":"`+failedBuild+`"},"outputArtifacts":[],"outputVariables":{}}}]}`))
	d.AWS.On("StopPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"e-42"}`))
	d.AWS.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	d.Env = append(d.Env, "AWS_ENDPOINT_URL_S3="+store.URL)
	return d
}

// event is the sample CodeBuild event events/<name>, as EventBridge delivers it.
func event(tb testing.TB, name string) []byte {
	tb.Helper()
	ev, err := json.Marshal(localaws.Event(tb, name, nil))
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// TestBootstrapUnderEmulator runs the gate as built, under the Lambda Runtime
// Interface Emulator, on the sample CodeBuild events: the build that failed to
// compile stops its pipeline execution in the delivery account (through the
// spoke role), and the passing build stops nothing.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tt := range []struct {
		event string
		want  ledger.Verdict
	}{
		{"codebuild-build-failed.json", ledger.VerdictFail},
		{"codebuild-build-succeeded.json", ledger.VerdictPass},
	} {
		body, err := emu.Invoke(ctx, event(t, tt.event))
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", tt.event, err, emu.Log())
		}
		var got gating.Result
		if err := json.Unmarshal(body, &got); err != nil || got.Outcome != gating.OutcomeDecided || got.Verdict != tt.want {
			t.Errorf("%s: response %s (%v), want a %s decision\nlog:\n%s", tt.event, body, err, tt.want, emu.Log())
		}
	}

	stops := d.AWS.Invocations("StopPipelineExecution")
	if len(stops) != 1 {
		t.Fatalf("StopPipelineExecution calls = %d, want 1 (for the failed build only)", len(stops))
	}
	for _, call := range append(stops, d.AWS.Invocations("ListActionExecutions")...) {
		if role, want := d.RoleOf(call), d.AccessRole("222222222222"); role != want {
			t.Errorf("%s was made through role %q, want the access role in the delivery account, %s", call.Operation, role, want)
		}
	}
	for commit, want := range map[string]ledger.Verdict{"4032766a1f4d50cd05796f97468fa2761db7ef23": ledger.VerdictFail, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f": ledger.VerdictPass} {
		recs, err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).ByCommit(ctx, commit)
		if err != nil {
			t.Fatal(err)
		}
		var verdicts []ledger.Verdict
		for _, r := range recs {
			if g, ok := r.(*ledger.GateDecision); ok {
				verdicts = append(verdicts, g.Verdict)
				if !g.Announced || !g.Enforced {
					t.Errorf("decision of %s not settled: %+v", commit, g)
				}
			}
		}
		if len(verdicts) != 1 || verdicts[0] != want {
			t.Errorf("decisions of %s in DynamoDB Local = %v, want one %s", commit, verdicts, want)
		}
	}
}

// BenchmarkInvoke measures gate as built, under the emulator, with the sample
// passing build (codebuild-build-succeeded.json, the common case, through
// localaws.BenchInvoke); make bench runs it. The first invoke decides; every
// redelivery finds the decision settled and answers it as a duplicate pass,
// which the check requires.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	want := gating.OutcomeDecided
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, event(b, "codebuild-build-succeeded.json"), func(body []byte) error {
		var got gating.Result
		if err := json.Unmarshal(body, &got); err != nil || got.Outcome != want || got.Verdict != ledger.VerdictPass {
			return fmt.Errorf("response %s (%v), want %s pass", body, err, want)
		}
		want = gating.OutcomeDuplicate
		return nil
	})
}
