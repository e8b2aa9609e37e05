package gating

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/highwayhq/highway/shared/report"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// jobAnswerer is the part of the CodePipeline client that answers a job.
type jobAnswerer interface {
	PutJobSuccessResult(ctx context.Context, params *codepipeline.PutJobSuccessResultInput, optFns ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(ctx context.Context, params *codepipeline.PutJobFailureResultInput, optFns ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

var _ jobAnswerer = (*codepipeline.Client)(nil)

// JobParameters are the UserParameters of the pipeline's Lambda invoke action,
// as JSON: {"app": "checkout"}.
type JobParameters struct {
	// App is the app whose gate judges the job's input artifact.
	App string `json:"app"`
}

// JobClients are what a job handler needs in the pipeline's account.
type JobClients struct {
	// Jobs answers the job.
	Jobs jobAnswerer
	// Artifacts reads the job's input artifact with the job's own credentials.
	Artifacts func(creds events.CodePipelineArtifactCredentials) (evidence.ObjectGetter, error)
}

// Jobs judges the input artifact of a CodePipeline Lambda invoke action.
type Jobs struct {
	core
	clients func(account string) JobClients
}

// NewJobs returns the job handler; see NewBuilds for the other arguments.
func NewJobs(p *policy.Policy, clients func(account string) JobClients, l ledger.Ledger, b bus.Publisher, n notifier, topic string, opts ...Option) *Jobs {
	return &Jobs{core: newCore(p, l, b, n, topic, opts), clients: clients}
}

// Handle judges a job and always answers it, success or failure, on internal
// errors too, so a pipeline never waits for its action's timeout. Only when the
// answer itself cannot be sent is an error returned, for a retry.
func (h *Jobs) Handle(ctx context.Context, ev events.CodePipelineJobEvent) (Result, error) {
	job := ev.CodePipelineJob
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: job.ID})
	if job.ID == "" {
		return ignore(ctx, "the event carries no job id")
	}
	c := h.clients(job.AccountID)
	d, created, err := h.judge(ctx, job, c)
	if err != nil {
		// Nothing was decided: fail the job with the reason, so the pipeline
		// stops now and says why.
		slog.ErrorContext(ctx, "gate job failed", "job", job.ID, "error", err)
		if answerErr := answerFailure(ctx, c.Jobs, job.ID, cptypes.FailureTypeJobFailed, "Highway gate could not judge the build: "+err.Error()); answerErr != nil {
			return Result{}, errors.Join(err, answerErr)
		}
		return Result{Outcome: OutcomeDecided, Build: job.ID, Verdict: ledger.VerdictFail, Enforcement: "job failed: " + err.Error()}, nil
	}
	err = h.settle(ctx, d, func(ctx context.Context) (string, error) {
		return h.answer(ctx, c.Jobs, job.ID, d)
	})
	if err != nil {
		return Result{}, err
	}
	outcome := OutcomeDecided
	if !created {
		outcome = OutcomeDuplicate
	}
	logDecision(ctx, d, outcome)
	return Result{Outcome: outcome, App: d.App, Build: d.ID, Verdict: d.Verdict, Enforcement: d.Enforcement}, nil
}

// judge reads the job's input artifact, evaluates the app's gate, and records
// the decision once per job.
func (h *Jobs) judge(ctx context.Context, job events.CodePipelineJob, c JobClients) (*ledger.GateDecision, bool, error) {
	var params JobParameters
	if err := json.Unmarshal([]byte(job.Data.ActionConfiguration.Configuration.UserParameters), &params); err != nil || params.App == "" {
		return nil, false, fmt.Errorf(`UserParameters must be JSON naming the app, like {"app": "checkout"}: got %q`, job.Data.ActionConfiguration.Configuration.UserParameters)
	}
	app, ok := h.policy.App(params.App)
	switch {
	case !ok:
		return nil, false, fmt.Errorf("app %q is not in the policy", params.App)
	case app.Gate == nil:
		return nil, false, fmt.Errorf("app %q has no gate in the policy", params.App)
	case job.AccountID != app.Account:
		return nil, false, fmt.Errorf("job of account %s, but app %s is delivered from account %s", job.AccountID, app.Name, app.Account)
	}
	var input *events.CodePipelineInputArtifact
	for i := range job.Data.InputArtifacts {
		if a := &job.Data.InputArtifacts[i]; a.Location.S3Location.BucketName != "" {
			input = a
			break
		}
	}
	if input == nil {
		return nil, false, errors.New("the action has no input artifact in S3: give it the build's output artifact")
	}
	s3c, err := c.Artifacts(job.Data.ArtifactCredentials)
	if err != nil {
		return nil, false, err
	}
	build := gate.Build{ID: job.ID, App: app.Name, Commit: aws.ToString(input.Revision), Status: "SUCCEEDED", At: h.now()}
	ev := gate.Evidence{Build: build}
	loc := evidence.Location{Bucket: input.Location.S3Location.BucketName, Key: input.Location.S3Location.ObjectKey}
	ev.Tests, ev.SARIF, ev.Coverage = evidence.FromS3(ctx, s3c, loc, app.Gate.Reports)

	return h.record(ctx, "gate:job:"+job.ID, gate.Evaluate(ArtifactOnly(app.Gate), ev, h.now()))
}

// ArtifactOnly is g without what only a CodeBuild build event can show: the
// compile check (build phases) and the image part of the security check. A
// pipeline job, or a local evaluation of report files, judges the rest.
func ArtifactOnly(g *policy.Gate) *policy.Gate {
	out := *g
	out.Checks.Compile = nil
	if s := out.Checks.Security; s != nil && s.Image {
		sec := *s
		sec.Image = false
		out.Checks.Security = &sec
	}
	return &out
}

// answer tells CodePipeline the verdict, and people of a failure.
func (h *Jobs) answer(ctx context.Context, jobs jobAnswerer, id string, d *ledger.GateDecision) (string, error) {
	if d.Verdict == ledger.VerdictPass {
		_, err := jobs.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
			JobId:            aws.String(id),
			ExecutionDetails: &cptypes.ExecutionDetails{Summary: aws.String(report.Shorten(Explain(d), 2048))},
		})
		if err != nil && !answered(err) {
			return "", fmt.Errorf("put job success %s: %w", id, err)
		}
		return "job succeeded", nil
	}
	if err := answerFailure(ctx, jobs, id, cptypes.FailureTypeJobFailed, "Highway gate failed: "+failures(d)); err != nil {
		return "", err
	}
	what := "job failed: " + failures(d)
	if err := h.tell(ctx, d, what); err != nil {
		return "", err
	}
	return what, nil
}

func answerFailure(ctx context.Context, jobs jobAnswerer, id string, kind cptypes.FailureType, message string) error {
	_, err := jobs.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId:          aws.String(id),
		FailureDetails: &cptypes.FailureDetails{Type: kind, Message: aws.String(report.Shorten(message, 5000))},
	})
	if err != nil && !answered(err) {
		return fmt.Errorf("put job failure %s: %w", id, err)
	}
	return nil
}

// answered reports the errors of a job that was already answered or is gone:
// there is nothing left to tell CodePipeline.
func answered(err error) bool {
	var (
		state    *cptypes.InvalidJobStateException
		notFound *cptypes.JobNotFoundException
	)
	return errors.As(err, &state) || errors.As(err, &notFound)
}
