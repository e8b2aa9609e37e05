package gating

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/telemetry"
)

// jobAPI is the part of the CodePipeline client a job handler uses: it reads
// a job as CodePipeline knows it, and answers it.
type jobAPI interface {
	GetJobDetails(ctx context.Context, params *codepipeline.GetJobDetailsInput, optFns ...func(*codepipeline.Options)) (*codepipeline.GetJobDetailsOutput, error)
	PutJobSuccessResult(ctx context.Context, params *codepipeline.PutJobSuccessResultInput, optFns ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(ctx context.Context, params *codepipeline.PutJobFailureResultInput, optFns ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

var _ jobAPI = (*codepipeline.Client)(nil)

// JobParameters are the UserParameters of the pipeline's Lambda invoke action,
// as JSON: {"app": "checkout"}.
type JobParameters struct {
	// App is the app whose gate judges the job's input artifact.
	App string `json:"app"`
}

// JobClients are what a job handler needs in the account a job claims to be
// of.
type JobClients struct {
	// Jobs reads the job's details and answers it, through the account's gate
	// access role.
	Jobs jobAPI
	// Artifacts reads the job's input artifact with the artifact credentials
	// CodePipeline returned with the job's details.
	Artifacts func(creds cptypes.AWSSessionCredentials) (evidence.ObjectGetter, error)
}

// Jobs judges the input artifact of a CodePipeline Lambda invoke action.
type Jobs struct {
	core
	clients func(account string) JobClients
}

// NewJobs returns the job handler: clients gives what it needs in the account
// a job claims to be of; see NewBuilds for the other arguments.
func NewJobs(p *policy.Policy, clients func(account string) JobClients, l ledger.Ledger, b bus.Publisher, n notifier, topic string, opts ...Option) *Jobs {
	return &Jobs{core: newCore(p, l, b, n, topic, opts), clients: clients}
}

// Handle judges a job as CodePipeline describes it, not as the event does: of
// the event it takes only the job id and the account, and asks CodePipeline
// there (GetJobDetails) for the job's pipeline, app, input artifact and
// artifact credentials. A job that account's CodePipeline does not know, or of
// an account where no app has gated pipelines, is acknowledged and not
// answered. A job that does not match the policy (its app unknown or ungated,
// its pipeline not one of the app's, its account not the app's delivery
// account, no input artifact) is answered with a failure and not judged.
//
// A job that is judged is always answered, success or failure, on internal
// errors too, so a pipeline never waits for its action's timeout. Only when the
// answer itself cannot be sent, or a retry can fix what went wrong, is an error
// returned.
func (h *Jobs) Handle(ctx context.Context, ev events.CodePipelineJobEvent) (Result, error) {
	id, account := ev.CodePipelineJob.ID, ev.CodePipelineJob.AccountID
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: id})
	switch {
	case id == "":
		return ignore(ctx, "the event carries no job id")
	case !h.jobAccount(account):
		return ignore(ctx, fmt.Sprintf("job %s claims account %q, where no app of the policy has gated pipelines: not read, not answered", id, account))
	}
	c := h.clients(account)
	out, err := c.Jobs.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: aws.String(id)})
	var (
		notFound *cptypes.JobNotFoundException
		invalid  *cptypes.ValidationException
	)
	switch {
	case errors.As(err, &notFound), errors.As(err, &invalid), err == nil && out.JobDetails == nil:
		return ignore(ctx, fmt.Sprintf("CodePipeline of account %s knows no job %s: not answered", account, id))
	case err != nil:
		return Result{}, fmt.Errorf("get details of job %s: %w", id, err)
	}
	job, err := h.verify(id, account, out.JobDetails)
	if err != nil {
		slog.WarnContext(ctx, "gate job refused", "job", id, "reason", err)
		if answerErr := answerFailure(ctx, c.Jobs, id, cptypes.FailureTypeConfigurationError, "Highway gate refused the job: "+err.Error()); answerErr != nil {
			return Result{}, errors.Join(err, answerErr)
		}
		return Result{Outcome: OutcomeIgnored, Reason: err.Error(), Build: id, Enforcement: "job failed: " + err.Error()}, nil
	}
	d, created, err := h.judge(ctx, job, c)
	if err != nil {
		// Nothing was decided: fail the job with the reason, so the pipeline
		// stops now and says why.
		slog.ErrorContext(ctx, "gate job failed", "job", id, "error", err)
		if answerErr := answerFailure(ctx, c.Jobs, id, cptypes.FailureTypeJobFailed, "Highway gate could not judge the build: "+err.Error()); answerErr != nil {
			return Result{}, errors.Join(err, answerErr)
		}
		return Result{Outcome: OutcomeDecided, App: job.app.Name, Build: id, Verdict: ledger.VerdictFail, Enforcement: "job failed: " + err.Error()}, nil
	}
	d, err = h.settle(ctx, jobKey(id), d, func(ctx context.Context, d *ledger.GateDecision) (string, error) {
		return h.answer(ctx, c.Jobs, id, d)
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

// jobKey is the business key of a job's decision.
func jobKey(id string) string { return "gate:job:" + id }

// jobAccount reports whether an app of the policy with a gate has pipelines
// delivered from account: only there may a job come from, and only there has
// the gate an access role to read and answer it.
func (h *Jobs) jobAccount(account string) bool {
	for _, a := range h.policy.Apps {
		if a.Gate != nil && len(a.Pipelines) > 0 && a.Account == account {
			return true
		}
	}
	return false
}

// pipelineJob is a job as CodePipeline describes it, checked against the
// policy.
type pipelineJob struct {
	id       string
	app      *policy.App
	pipeline string
	input    cptypes.Artifact
	creds    cptypes.AWSSessionCredentials
}

// verify checks job id as CodePipeline of account describes it against the
// policy: its action names a gated app, the job runs in one of the app's
// pipelines in the app's delivery account, and it has an input artifact in S3
// with credentials to read it.
func (h *Jobs) verify(id, account string, details *cptypes.JobDetails) (pipelineJob, error) {
	job := pipelineJob{id: id}
	data := details.Data
	switch described := aws.ToString(details.Id); {
	case described != id:
		return job, fmt.Errorf("CodePipeline described job %q when asked for job %s", described, id)
	case data == nil:
		return job, errors.New("CodePipeline gave no data for the job")
	}
	var params JobParameters
	var userParameters string
	if data.ActionConfiguration != nil {
		userParameters = data.ActionConfiguration.Configuration["UserParameters"]
	}
	if err := json.Unmarshal([]byte(userParameters), &params); err != nil || params.App == "" {
		return job, fmt.Errorf(`UserParameters must be JSON naming the app, like {"app": "checkout"}: got %q`, userParameters)
	}
	app, ok := h.policy.App(params.App)
	switch {
	case !ok:
		return job, fmt.Errorf("app %q is not in the policy", params.App)
	case app.Gate == nil:
		return job, fmt.Errorf("app %q has no gate in the policy", params.App)
	}
	job.app = app
	if data.PipelineContext != nil {
		job.pipeline = aws.ToString(data.PipelineContext.PipelineName)
	}
	switch jobAccount := aws.ToString(details.AccountId); {
	case jobAccount != account:
		return job, fmt.Errorf("CodePipeline says job %s is of account %q, not %s", job.id, jobAccount, account)
	case jobAccount != app.Account:
		return job, fmt.Errorf("job of account %s, but app %s is delivered from account %s", jobAccount, app.Name, app.Account)
	case !slices.Contains(app.Pipelines, job.pipeline):
		return job, fmt.Errorf("job of pipeline %q, which the policy does not list for app %s", job.pipeline, app.Name)
	}
	found := false
	for _, a := range data.InputArtifacts {
		if a.Location != nil && a.Location.S3Location != nil && aws.ToString(a.Location.S3Location.BucketName) != "" {
			job.input, found = a, true
			break
		}
	}
	switch {
	case !found:
		return job, errors.New("the action has no input artifact in S3: give it the build's output artifact")
	case data.ArtifactCredentials == nil:
		return job, errors.New("CodePipeline gave no credentials to read the job's input artifact")
	}
	job.creds = *data.ArtifactCredentials
	return job, nil
}

// judge reads the job's input artifact, evaluates the app's gate, and records
// the decision once per job.
func (h *Jobs) judge(ctx context.Context, job pipelineJob, c JobClients) (*ledger.GateDecision, bool, error) {
	s3c, err := c.Artifacts(job.creds)
	if err != nil {
		return nil, false, err
	}
	app, s3loc := job.app, job.input.Location.S3Location
	build := gate.Build{ID: job.id, App: app.Name, Commit: aws.ToString(job.input.Revision), Status: "SUCCEEDED", At: h.now()}
	ev := gate.Evidence{Build: build}
	loc := evidence.Location{Bucket: aws.ToString(s3loc.BucketName), Key: aws.ToString(s3loc.ObjectKey)}
	ev.Tests, ev.SARIF, ev.Coverage = evidence.FromS3(ctx, s3c, loc, app.Gate.Reports, h.limits)
	if err := missedByChance(ev); err != nil {
		return nil, false, err
	}
	return h.record(ctx, jobKey(job.id), gate.Evaluate(ArtifactOnly(app.Gate), ev, h.now()))
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
func (h *Jobs) answer(ctx context.Context, jobs jobAPI, id string, d *ledger.GateDecision) (string, error) {
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

// answerFailure fails the job with kind and message.
func answerFailure(ctx context.Context, jobs jobAPI, id string, kind cptypes.FailureType, message string) error {
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
