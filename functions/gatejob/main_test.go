package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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

// deploy prepares gatejob with the sample job's input artifact in S3 (its
// endpoint added to the environment); CodePipeline describes the sample job
// as shared/gating/testdata/get-job-details.json does, and a second one,
// otherJob, as a job of another pipeline; CodePipeline and EventBridge accept
// every other call.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "gatejob")
	store := d.StartS3(tb, "codepipeline-eu-west-1-222222222222")
	zipped, err := localaws.ZipFolder("../../events/artifacts/Xq7Rb2K")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := store.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("codepipeline-eu-west-1-222222222222"), Key: aws.String("checkout-pipeline/BuildArtif/Xq7Rb2K"),
		Body: strings.NewReader(string(zipped)),
	}); err != nil {
		tb.Fatal(err)
	}
	details, err := os.ReadFile("../../shared/gating/testdata/get-job-details.json")
	if err != nil {
		tb.Fatal(err)
	}
	d.AWS.OnFunc("GetJobDetails", func(r awsfake.Request) awsfake.Response {
		var in struct{ JobId string }
		if err := r.DecodeJSON(&in); err != nil || in.JobId != otherJob {
			return awsfake.JSON(200, string(details))
		}
		other := strings.ReplaceAll(string(details), "11111111-abcd-1111-abcd-111111abcdef", otherJob)
		return awsfake.JSON(200, strings.ReplaceAll(other, `"pipelineName": "checkout-pipeline"`, `"pipelineName": "payments-pipeline"`))
	})
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("PutJobSuccessResult", awsfake.JSON(200, `{}`))
	d.AWS.On("PutJobFailureResult", awsfake.JSON(200, `{}`))
	d.Env = append(d.Env, "AWS_ENDPOINT_URL_S3="+store.URL)
	return d
}

// otherJob is a job of a pipeline the policy does not list for checkout.
const otherJob = "22222222-abcd-2222-abcd-222222abcdef"

// sampleEvent is the sample CodePipeline job.
func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, "codepipeline-job.json")
}

// TestBootstrapUnderEmulator runs gatejob as built, under the Lambda Runtime
// Interface Emulator, on the sample CodePipeline job: it reads the job's
// details in the pipeline's account through the spoke role, reads the input
// artifact with the credentials they give, judges it, and answers the job there
// through the spoke role. A job of a pipeline the policy does not list is
// refused, whatever its payload says.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	job := sampleEvent(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, want := range []gating.Outcome{gating.OutcomeDecided, gating.OutcomeDuplicate} {
		body, err := emu.Invoke(ctx, job)
		if err != nil {
			t.Fatalf("invoke %d: %v\nlog:\n%s", i+1, err, emu.Log())
		}
		var got gating.Result
		if err := json.Unmarshal(body, &got); err != nil || got.Outcome != want || got.Verdict != ledger.VerdictPass {
			t.Errorf("invoke %d: response %s (%v), want %s pass\nlog:\n%s", i+1, body, err, want, emu.Log())
		}
	}
	other := strings.ReplaceAll(string(job), "11111111-abcd-1111-abcd-111111abcdef", otherJob)
	body, err := emu.Invoke(ctx, []byte(other))
	var got gating.Result
	if err != nil || json.Unmarshal(body, &got) != nil || got.Outcome != gating.OutcomeIgnored || !strings.Contains(got.Reason, `pipeline "payments-pipeline"`) {
		t.Errorf("a job of another pipeline: response %s (%v), want it refused\nlog:\n%s", body, err, emu.Log())
	}

	answers := d.AWS.Invocations("PutJobSuccessResult")
	if len(answers) != 1 {
		t.Fatalf("PutJobSuccessResult calls = %d, want 1: the redelivery answers nothing again", len(answers))
	}
	var in struct{ JobId string }
	if err := answers[0].DecodeJSON(&in); err != nil || in.JobId != "11111111-abcd-1111-abcd-111111abcdef" {
		t.Errorf("PutJobSuccessResult for job %q (%v), want the sample's", in.JobId, err)
	}
	refusals := d.AWS.Invocations("PutJobFailureResult")
	if len(refusals) != 1 || refusals[0].DecodeJSON(&in) != nil || in.JobId != otherJob {
		t.Errorf("PutJobFailureResult calls = %d (job %q), want one, for the other pipeline's job", len(refusals), in.JobId)
	}
	calls := append(append(answers, refusals...), d.AWS.Invocations("GetJobDetails")...)
	if n := len(d.AWS.Invocations("GetJobDetails")); n != 3 {
		t.Errorf("GetJobDetails calls = %d, want 3: one a delivery", n)
	}
	for _, call := range calls {
		if role, want := d.RoleOf(call), d.AccessRole("222222222222"); role != want {
			t.Errorf("%s was made through role %q, want the access role in the pipeline's account, %s", call.Operation, role, want)
		}
	}
}

// BenchmarkInvoke measures gatejob as built, under the emulator, with the
// sample CodePipeline job (through localaws.BenchInvoke); make bench runs it.
// The first invoke judges the artifact and answers the job; every redelivery
// finds the decision settled, calls CodePipeline no more, and answers a
// duplicate pass, which the check requires.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	want := gating.OutcomeDecided
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, sampleEvent(b), func(body []byte) error {
		var got gating.Result
		if err := json.Unmarshal(body, &got); err != nil || got.Outcome != want || got.Verdict != ledger.VerdictPass {
			return fmt.Errorf("response %s (%v), want %s pass", body, err, want)
		}
		want = gating.OutcomeDuplicate
		return nil
	})
}
