package gating

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// jobDetails answers GetJobDetails with testdata/get-job-details.json, the
// sample job as CodePipeline describes it, changed by edit.
func jobDetails(t *testing.T, edit func(details map[string]any)) awsfake.Response {
	t.Helper()
	var out struct {
		JobDetails map[string]any `json:"jobDetails"`
	}
	if err := json.Unmarshal([]byte(testdata(t, "get-job-details.json")), &out); err != nil {
		t.Fatal(err)
	}
	edit(out.JobDetails)
	return awsfake.JSONOf(t, out)
}

// field returns the object at path inside v, a decoded JSON object.
func field(v map[string]any, path ...string) map[string]any {
	for _, p := range path {
		v = v[p].(map[string]any)
	}
	return v
}

// The job the gate judges is the one CodePipeline describes: whatever the
// invoking payload says of its app, artifact and credentials, the gate reads
// the job through the access role of the account the payload claims, and
// judges the artifact GetJobDetails locates, with the credentials it returns.
func TestJobActsOnWhatGetJobDetailsSays(t *testing.T) {
	tests := []struct {
		name string
		edit func(j *events.CodePipelineJob)
	}{
		{"the payload as CodePipeline sends it", func(*events.CodePipelineJob) {}},
		{"a payload naming another artifact and credentials", func(j *events.CodePipelineJob) {
			j.Data.InputArtifacts[0].Location.S3Location.ObjectKey = "checkout-pipeline/BuildArtif/forged"
			j.Data.ArtifactCredentials = events.CodePipelineArtifactCredentials{AccessKeyID: "ASIAFORGED", SecretAccessKey: "s", SessionToken: "t"}
		}},
		{"a payload naming another app", func(j *events.CodePipelineJob) {
			j.Data.ActionConfiguration.Configuration.UserParameters = `{"app": "billing"}`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN the job's artifact, with a failing test, where
			// GetJobDetails locates it, and a passing one at the forged key
			f := newFixture(t)
			f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitFail, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
			f.artifact(t, "checkout-pipeline/BuildArtif/forged", map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
			f.aws.On("PutJobFailureResult", awsfake.JSON(200, `{}`))
			ev := localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json")
			tt.edit(&ev.CodePipelineJob)

			// WHEN the gate is invoked with the payload
			res, err := f.jobs().Handle(context.Background(), ev)

			// THEN it judged checkout's artifact where GetJobDetails put it,
			// read with the credentials GetJobDetails gave, through the role of
			// the payload's account
			if err != nil || res.Outcome != OutcomeDecided || res.App != "checkout" || res.Verdict != ledger.VerdictFail {
				t.Fatalf("Handle() = %+v, %v; want checkout's artifact judged, and failed", res, err)
			}
			calls := f.aws.Invocations("GetJobDetails")
			var in struct{ JobId string }
			if len(calls) != 1 || calls[0].DecodeJSON(&in) != nil || in.JobId != "11111111-abcd-1111-abcd-111111abcdef" {
				t.Fatalf("GetJobDetails calls = %d (%+v), want one for the payload's job", len(calls), in)
			}
			if len(f.accounts) != 1 || f.accounts[0] != "222222222222" {
				t.Errorf("clients asked for accounts %v, want the payload's 222222222222", f.accounts)
			}
			if len(f.creds) != 1 || aws.ToString(f.creds[0].AccessKeyId) != "ASIA4EXAMPLEJOBREAD" || aws.ToString(f.creds[0].SessionToken) == "" {
				t.Errorf("artifact read with %+v, want GetJobDetails' credentials", f.creds)
			}
			if n := len(f.aws.Invocations("PutJobFailureResult")); n != 1 {
				t.Errorf("PutJobFailureResult calls = %d, want 1", n)
			}
		})
	}
}

// A job CodePipeline describes otherwise than the policy allows is refused:
// answered with a failure that says why, and not judged (no artifact read, no
// decision). Nothing the payload says can make it acceptable.
func TestJobNotMatchingThePolicyIsRefused(t *testing.T) {
	tests := []struct {
		name    string
		account string // the account the payload claims
		edit    func(details map[string]any)
		want    string
	}{
		{"another pipeline of the account", "222222222222", func(d map[string]any) {
			field(d, "data", "pipelineContext")["pipelineName"] = "billing-pipeline"
		}, `job of pipeline "billing-pipeline", which the policy does not list for app checkout`},
		{"a pipeline of another app's account", "333333333333", func(d map[string]any) {
			d["accountId"] = "333333333333"
			field(d, "data", "pipelineContext")["pipelineName"] = "billing-pipeline"
		}, "job of account 333333333333, but app checkout is delivered from account 222222222222"},
		{"another account than the payload claims", "222222222222", func(d map[string]any) {
			d["accountId"] = "333333333333"
		}, `CodePipeline says job 11111111-abcd-1111-abcd-111111abcdef is of account "333333333333", not 222222222222`},
		{"no app in the parameters", "222222222222", func(d map[string]any) {
			field(d, "data", "actionConfiguration", "configuration")["UserParameters"] = "checkout"
		}, "UserParameters must be JSON"},
		{"an unknown app", "222222222222", func(d map[string]any) {
			field(d, "data", "actionConfiguration", "configuration")["UserParameters"] = `{"app": "payments"}`
		}, `app "payments" is not in the policy`},
		{"no input artifact", "222222222222", func(d map[string]any) {
			field(d, "data")["inputArtifacts"] = []any{}
		}, "no input artifact"},
		{"no artifact credentials", "222222222222", func(d map[string]any) {
			delete(field(d, "data"), "artifactCredentials")
		}, "no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.aws.On("GetJobDetails", jobDetails(t, tt.edit))
			f.aws.On("PutJobFailureResult", awsfake.JSON(200, `{}`))
			ev := localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json")
			ev.CodePipelineJob.AccountID = tt.account

			res, err := f.jobs().Handle(context.Background(), ev)
			if err != nil || res.Outcome != OutcomeIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Fatalf("Handle() = %+v, %v; want refused because %q", res, err, tt.want)
			}
			calls := f.aws.Invocations("PutJobFailureResult")
			if len(calls) != 1 {
				t.Fatalf("PutJobFailureResult calls = %d, want 1", len(calls))
			}
			var in struct {
				JobId          string
				FailureDetails struct{ Type, Message string }
			}
			if err := calls[0].DecodeJSON(&in); err != nil || in.FailureDetails.Type != "ConfigurationError" || !strings.Contains(in.FailureDetails.Message, tt.want) {
				t.Errorf("PutJobFailureResult(%+v), %v; want a ConfigurationError saying %q", in, err, tt.want)
			}
			if len(f.accounts) != 1 || f.accounts[0] != tt.account {
				t.Errorf("clients asked for accounts %v, want %s, where CodePipeline was asked", f.accounts, tt.account)
			}
			if n := f.store.Gets(); n != 0 || len(f.creds) != 0 {
				t.Errorf("read %d artifacts with %d credentials, want none", n, len(f.creds))
			}
			if n := len(f.pub.events) + len(f.aws.Invocations("Publish")); n != 0 {
				t.Errorf("announced or notified %d times, want none: nothing was decided", n)
			}
		})
	}
}

// A job is answered only in an account where CodePipeline knows it: a payload
// claiming an account the gate has no role in is read nowhere, and a job
// CodePipeline does not know is not answered. A failure a retry may fix is
// returned.
func TestJobsCodePipelineDoesNotKnowAreNotAnswered(t *testing.T) {
	tests := []struct {
		name    string
		account string
		details awsfake.Response
		wantErr bool
		asked   bool // whether CodePipeline is asked for the job
	}{
		{"an account without gated pipelines", "999999999999", awsfake.JSON(200, `{}`), false, false},
		{"a job the account does not have", "222222222222", awsfake.APIError(400, "JobNotFoundException", "The job was not found."), false, true},
		{"a job id CodePipeline refuses", "222222222222", awsfake.APIError(400, "ValidationException", "1 validation error detected"), false, true},
		{"CodePipeline unavailable", "222222222222", awsfake.APIError(503, "ServiceUnavailableException", "unavailable"), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.aws.On("GetJobDetails", tt.details)
			ev := localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json")
			ev.CodePipelineJob.AccountID = tt.account

			res, err := f.jobs().Handle(context.Background(), ev)
			if (err != nil) != tt.wantErr || (!tt.wantErr && res.Outcome != OutcomeIgnored) {
				t.Errorf("Handle() = %+v, %v; want ignored, or an error for a retry: %v", res, err, tt.wantErr)
			}
			if asked := len(f.aws.Calls("GetJobDetails")) > 0; asked != tt.asked {
				t.Errorf("CodePipeline asked for the job: %v, want %v", asked, tt.asked)
			}
			if n := len(f.aws.Calls("PutJobFailureResult")) + len(f.aws.Calls("PutJobSuccessResult")); n != 0 {
				t.Errorf("answered the job %d times, want never", n)
			}
		})
	}
}
