package gating

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// answers is a hand-written fake of the job answerer that counts its answers.
type answers struct{ success, failure int }

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
// hands them to the job handler: it must never panic, and a job with an id must
// be answered exactly once, whatever else is wrong with it.
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
			return JobClients{Jobs: a, Artifacts: func(events.CodePipelineArtifactCredentials) (evidence.ObjectGetter, error) { return noObjects{}, nil }}
		}, ledger.NewMemory(), &publisher{}, silent{}, topic)
		if _, err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("Handle(%s) error = %v; the fakes never fail, so the job must be answered", data, err)
		}
		if n := a.success + a.failure; ev.CodePipelineJob.ID != "" && n != 1 {
			t.Errorf("Handle(%s) answered the job %d times, want once", data, n)
		}
	})
}
