package gating

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// answers is a hand-written fake of CodePipeline's job API: it knows one job,
// sampleJobDetails, and counts its answers.
type answers struct{ success, failure int }

func (a *answers) GetJobDetails(_ context.Context, in *codepipeline.GetJobDetailsInput, _ ...func(*codepipeline.Options)) (*codepipeline.GetJobDetailsOutput, error) {
	d := sampleJobDetails()
	if aws.ToString(in.JobId) != aws.ToString(d.Id) {
		return nil, &cptypes.JobNotFoundException{Message: aws.String("The job was not found.")}
	}
	return &codepipeline.GetJobDetailsOutput{JobDetails: d}, nil
}

// sampleJobDetails is what GetJobDetails says of the job of
// events/codepipeline-job.json: an invoke action of checkout-pipeline in
// account 222222222222 gating checkout's build artifact.
func sampleJobDetails() *cptypes.JobDetails {
	return &cptypes.JobDetails{
		Id:        aws.String("11111111-abcd-1111-abcd-111111abcdef"),
		AccountId: aws.String("222222222222"),
		Data: &cptypes.JobData{
			ActionConfiguration: &cptypes.ActionConfiguration{Configuration: map[string]string{
				"FunctionName": "highway-gatejob", "UserParameters": `{"app": "checkout"}`,
			}},
			PipelineContext: &cptypes.PipelineContext{PipelineName: aws.String("checkout-pipeline")},
			InputArtifacts: []cptypes.Artifact{{
				Name:     aws.String("BuildArtifact"),
				Revision: aws.String("9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"),
				Location: &cptypes.ArtifactLocation{Type: cptypes.ArtifactLocationTypeS3, S3Location: &cptypes.S3ArtifactLocation{
					BucketName: aws.String(bucket), ObjectKey: aws.String(succeededKey),
				}},
			}},
			ArtifactCredentials: &cptypes.AWSSessionCredentials{
				AccessKeyId: aws.String("ASIA4EXAMPLE7ARTIFACT"), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"),
			},
		},
	}
}

func (a *answers) PutJobSuccessResult(context.Context, *codepipeline.PutJobSuccessResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	a.success++
	return &codepipeline.PutJobSuccessResultOutput{}, nil
}

func (a *answers) PutJobFailureResult(context.Context, *codepipeline.PutJobFailureResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	a.failure++
	return &codepipeline.PutJobFailureResultOutput{}, nil
}

// noObjects is an S3 without objects.
type noObjects struct{}

func (noObjects) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, errors.New("NoSuchKey")
}

// silent is an SNS that accepts every notification.
type silent struct{}

func (silent) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return &sns.PublishOutput{}, nil
}

// FuzzJobEvent decodes arbitrary job events as the Lambda runtime would and
// hands them to the job handler: it must never panic; the job CodePipeline
// knows (the sample's), claimed from its own account, must be answered exactly
// once, whatever else is wrong with the event; any other must not be answered.
func FuzzJobEvent(f *testing.F) {
	raw, err := os.ReadFile("../../events/codepipeline-job.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"CodePipeline.job":{"id":"j","accountId":"222222222222","data":{"actionConfiguration":{"configuration":{"UserParameters":"{\"app\":1}"}}}}}`))
	f.Add([]byte(`{"CodePipeline.job":{"id":"j","data":{"inputArtifacts":[{"location":{"s3Location":{"bucketName":"b"}}}]}}}`))
	f.Add([]byte(`{}`))
	p, err := policy.Parse([]byte(testPolicy), "test.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.CodePipelineJobEvent
		if json.Unmarshal(data, &ev) != nil {
			return // the runtime refuses it before the handler runs
		}
		a := &answers{}
		h := NewJobs(p, func(string) JobClients {
			return JobClients{Jobs: a, Artifacts: func(cptypes.AWSSessionCredentials) (evidence.ObjectGetter, error) { return noObjects{}, nil }}
		}, ledger.NewMemory(), &publisher{}, silent{}, topic)
		if _, err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("Handle(%s) error = %v; the fakes never fail, so the job must be answered", data, err)
		}
		job := ev.CodePipelineJob
		want := 0
		if job.ID == aws.ToString(sampleJobDetails().Id) && job.AccountID == "222222222222" {
			want = 1
		}
		if n := a.success + a.failure; n != want {
			t.Errorf("Handle(%s) answered the job %d times, want %d", data, n, want)
		}
	})
}
