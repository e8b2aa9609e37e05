package main

import (
	"context"
	"encoding/json"
	"fmt"
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
// endpoint added to the environment); CodePipeline and EventBridge accept
// every call.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "gatejob")
	store := localaws.StartS3(tb, "codepipeline-eu-west-1-222222222222")
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
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("PutJobSuccessResult", awsfake.JSON(200, `{}`))
	d.Env = append(d.Env, "AWS_ENDPOINT_URL_S3="+store.URL)
	return d
}

// sampleEvent is the sample CodePipeline job.
func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, "codepipeline-job.json")
}

// TestBootstrapUnderEmulator runs gatejob as built, under the Lambda Runtime
// Interface Emulator, on the sample CodePipeline job: it reads the input
// artifact with the job's own credentials, judges it, and answers the job in the
// pipeline's account through the spoke role.
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
	answers := d.AWS.Calls("PutJobSuccessResult")
	if len(answers) != 1 {
		t.Fatalf("PutJobSuccessResult calls = %d, want 1: the redelivery answers nothing again", len(answers))
	}
	var in struct{ JobId string }
	if err := answers[0].DecodeJSON(&in); err != nil || in.JobId != "11111111-abcd-1111-abcd-111111abcdef" {
		t.Errorf("PutJobSuccessResult for job %q (%v), want the sample's", in.JobId, err)
	}
	if auth := answers[0].Header.Get("Authorization"); !strings.Contains(auth, "Credential="+localaws.SpokeAccessKey+"/") {
		t.Errorf("the job was not answered with the spoke role's credentials: %s", auth)
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
