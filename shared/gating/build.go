package gating

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/highwayhq/highway/shared/awserr"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/telemetry"
)

// pipelineStopper is the part of the CodePipeline client that finds the
// execution that ran a build, and stops it.
type pipelineStopper interface {
	ListActionExecutions(ctx context.Context, params *codepipeline.ListActionExecutionsInput, optFns ...func(*codepipeline.Options)) (*codepipeline.ListActionExecutionsOutput, error)
	StopPipelineExecution(ctx context.Context, params *codepipeline.StopPipelineExecutionInput, optFns ...func(*codepipeline.Options)) (*codepipeline.StopPipelineExecutionOutput, error)
}

var _ pipelineStopper = (*codepipeline.Client)(nil)

// reportReader reads a build's test and coverage reports from CodeBuild's report
// groups (reportgroups.Reader).
type reportReader interface {
	Read(ctx context.Context, build string) (gate.Input[report.Tests], gate.Input[report.Coverage])
}

// imageScanner reads the scan of an image (imagescan.Scanner).
type imageScanner interface {
	ImageScan(ctx context.Context, repository, digest string) gate.Input[gate.ImageScan]
}

// BuildClients are the clients of the delivery account a build ran in.
type BuildClients struct {
	// Reports reads the build's CodeBuild test and coverage reports.
	Reports reportReader
	// Images reads ECR image scans.
	Images imageScanner
	// Artifacts reads the build's output artifact from S3.
	Artifacts evidence.ObjectGetter
	// Pipelines finds and stops pipeline executions.
	Pipelines pipelineStopper
}

// Builds judges finished CodeBuild builds of the policy's gated projects.
type Builds struct {
	core
	clients func(app, account, region string) BuildClients
}

// NewBuilds returns the build handler: it reads evidence with the clients of
// each app in its delivery account, records decisions in l, announces them on b, and tells
// people of failures on topic (none when empty) through n.
func NewBuilds(p *policy.Policy, clients func(app, account, region string) BuildClients, l ledger.Ledger, b bus.Publisher, n notifier, topic string, opts ...Option) *Builds {
	return &Builds{core: newCore(p, l, b, n, topic, opts), clients: clients}
}

// Handle judges one "CodeBuild Build State Change" event. Builds still running,
// of projects no app gates, or from an account other than the app's are
// acknowledged and ignored. Failures a retry can fix are returned.
func (h *Builds) Handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: ev.ID})
	be, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		return ignore(ctx, err.Error())
	}
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{Commit: be.Build.Commit, Digest: be.Build.Digest})
	app := h.appOf(be.Build.Project)
	switch {
	case app == nil:
		return ignore(ctx, fmt.Sprintf("project %q is gated by no app in the policy", be.Build.Project))
	case be.Account != app.Account:
		return ignore(ctx, fmt.Sprintf("build of %s in account %s, but app %s is delivered from account %s",
			be.Build.Project, be.Account, app.Name, app.Account))
	case !be.Complete || !slices.Contains([]string{"SUCCEEDED", "FAILED", "STOPPED"}, be.Build.Status):
		return ignore(ctx, fmt.Sprintf("build %s is %s, not finished", be.Build.ID, be.Build.Status))
	}
	be.Build.App = app.Name
	clients := h.clients(app.Name, be.Account, be.Region)

	seen, err := h.recordBuild(ctx, be)
	if err != nil {
		return Result{}, err
	}
	// A redelivery finds the decision already made, and gathers no evidence
	// again (no artifact download, no scan read).
	var d *ledger.GateDecision
	if seen {
		if d, err = h.decided(ctx, be.Build.Commit, be.Build.ID); err != nil {
			return Result{}, err
		}
	}
	created := false
	if d == nil {
		ev2, tests, err := h.collect(ctx, app, be, clients)
		if err != nil {
			return Result{}, err
		}
		decision := gate.Evaluate(app.Gate, ev2, h.now())
		decision.Artifact, decision.Digest = artifactOf(be)
		if d, created, err = h.record(ctx, "gate:build:"+be.Build.ID, decision); err != nil {
			return Result{}, err
		}
		if created && d.Verdict == ledger.VerdictPass {
			h.learnFrom(ctx, app, be.Build.Branch, tests)
		}
	}
	d, err = h.settle(ctx, "gate:build:"+be.Build.ID, d, func(ctx context.Context, d *ledger.GateDecision) (string, error) {
		return h.enforce(ctx, app, be, d, clients.Pipelines)
	})
	if err != nil {
		return Result{}, err
	}
	outcome := OutcomeDecided
	if !created {
		outcome = OutcomeDuplicate
	}
	logDecision(ctx, d, outcome)
	return Result{Outcome: outcome, App: app.Name, Build: d.ID, Verdict: d.Verdict, Enforcement: d.Enforcement}, nil
}

// artifactOf is what the build produced, and its digest: the image it pushed,
// else its S3 output artifact by the SHA-256 CodeBuild reported.
func artifactOf(be evidence.BuildEvent) (*ledger.ArtifactRef, string) {
	switch {
	case be.ImageRepository != "" && be.ImageDigest != "":
		return &ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: be.ImageRepository}, be.ImageDigest
	case be.Artifact.Bucket != "" && be.ArtifactSHA256 != "":
		return &ledger.ArtifactRef{Type: ledger.ArtifactS3, Bucket: be.Artifact.Bucket, Key: be.Artifact.Key,
			ObjectVersion: be.Artifact.VersionID}, "sha256:" + be.ArtifactSHA256
	}
	return nil, be.Build.Digest
}

// recordBuild files the build in its commit's timeline, once: it started when
// its first phase did, and ended when the event was sent. seen says it was
// filed before: the event is a redelivery.
func (h *Builds) recordBuild(ctx context.Context, be evidence.BuildEvent) (seen bool, err error) {
	b := be.Build
	took := time.Duration(0)
	phases := make([]ledger.BuildPhase, 0, len(b.Phases))
	for _, p := range b.Phases {
		took += p.Duration
		phases = append(phases, ledger.BuildPhase{Name: p.Name, Status: p.Status, Duration: p.Duration})
	}
	rec := &ledger.Build{
		Header:  ledger.Header{ID: b.ID, App: b.App, Commit: b.Commit, Digest: b.Digest, At: b.At.Add(-took)},
		Project: b.Project, Status: b.Status, Phases: phases, EndedAt: b.At,
	}
	err = h.ledger.Put(ctx, rec)
	if errors.Is(err, ledger.ErrExists) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("record build %s: %w", b.ID, err)
	}
	return false, nil
}

// collect gathers the build's evidence: phases from the event, test and
// coverage reports from the artifact (else CodeBuild's report groups), SARIF
// from the artifact, the image scan, and the branch's baseline.
func (h *Builds) collect(ctx context.Context, app *policy.App, be evidence.BuildEvent, c BuildClients) (gate.Evidence, gate.Input[report.Tests], error) {
	ev := gate.Evidence{Build: be.Build}
	g := app.Gate
	if be.Artifact.Bucket != "" {
		ev.Tests, ev.SARIF, ev.Coverage = evidence.FromS3(ctx, c.Artifacts, be.Artifact, g.Reports, h.limits)
	} else {
		none := fmt.Sprintf("build %s has no S3 output artifact", be.Build.ID)
		ev.SARIF = gate.Input[[]report.Run]{From: none}
	}
	if !ev.Tests.Found || !ev.Coverage.Found {
		tests, cov := c.Reports.Read(ctx, be.BuildARN)
		if !ev.Tests.Found {
			ev.Tests = tests
		}
		if !ev.Coverage.Found {
			ev.Coverage = cov
		}
	}
	if g.Checks.Security != nil && g.Checks.Security.Image {
		if be.ImageDigest != "" && be.ImageRepository != "" {
			ev.ImageScan = c.Images.ImageScan(ctx, be.ImageRepository, be.ImageDigest)
		} else {
			ev.ImageScan = gate.Input[gate.ImageScan]{From: fmt.Sprintf("the build exported no %s and %s", evidence.EnvImageRepository, evidence.EnvImageDigest)}
		}
	}
	if err := missedByChance(ev); err != nil {
		return gate.Evidence{}, ev.Tests, err
	}
	if be.Build.Branch != "" && g.Checks.SlowTests != nil && g.Checks.SlowTests.Regression != nil {
		b, err := h.baseline(ctx, app.Name, be.Build.Branch)
		if err != nil {
			return gate.Evidence{}, ev.Tests, err
		}
		if b != nil {
			ev.Baseline = &gate.Baseline{Suite: b.Suite, Tests: b.Tests}
		}
	}
	return ev, ev.Tests, nil
}

// missedByChance returns an error when a piece of evidence could not be read
// for a reason a retry may fix (AWS throttled or failed the read): such
// evidence is not missing, and deciding without it would fail a good build
// for good. The invocation fails instead, and its retry reads it again.
// Evidence that is absent, refused or unreadable as it is still fails its
// check closed.
func missedByChance(ev gate.Evidence) error {
	for _, err := range []error{ev.Tests.Err, ev.SARIF.Err, ev.Coverage.Err, ev.ImageScan.Err} {
		if awserr.Transient(err) {
			return fmt.Errorf("evidence not read, a retry reads it again: %w", err)
		}
	}
	return nil
}

// learnFrom adds a passing build's timings to its branch's baseline. A failure
// costs the baseline one sample, not the decision, so it is logged.
func (h *Builds) learnFrom(ctx context.Context, app *policy.App, branch string, tests gate.Input[report.Tests]) {
	st := app.Gate.Checks.SlowTests
	if branch == "" || st == nil || st.Regression == nil || !tests.Found || tests.Err != nil {
		return
	}
	if err := h.learn(ctx, app.Name, branch, st.Regression, tests.Value); err != nil {
		slog.WarnContext(ctx, "baseline not updated", "app", app.Name, "branch", branch, "error", err)
	}
}

// enforce acts on a decision: a failed build's pipeline execution is stopped and
// people are told. A pass needs nothing.
func (h *Builds) enforce(ctx context.Context, app *policy.App, be evidence.BuildEvent, d *ledger.GateDecision, p pipelineStopper) (string, error) {
	if d.Verdict == ledger.VerdictPass {
		return "none: the build passed", nil
	}
	what := "no pipeline to stop: the build was not started by a pipeline of the app"
	if be.Pipeline != "" && slices.Contains(app.Pipelines, be.Pipeline) {
		var err error
		if what, err = stopExecution(ctx, p, be.Pipeline, be.PipelineExecution, be.Build.ID, "Highway gate failed: "+failures(d)); err != nil {
			return "", err
		}
	} else if be.Pipeline != "" {
		what = fmt.Sprintf("not stopping pipeline %s: the policy does not list it for app %s", be.Pipeline, app.Name)
	}
	if err := h.tell(ctx, d, what); err != nil {
		return "", err
	}
	return what, nil
}

// maxActionPages bounds the search for the action execution of a build among
// a pipeline's most recent ones, a hundred a page.
const maxActionPages = 10

// stopExecution finds the pipeline execution whose action ran build, and stops
// it, abandoning what is in progress, wherever the execution has got to. An
// execution that already ended is fine. execution, when known, is where to look
// first.
func stopExecution(ctx context.Context, p pipelineStopper, pipeline, execution, build, reason string) (string, error) {
	found, err := findExecution(ctx, p, pipeline, execution, build)
	if err == nil && found == "" && execution != "" {
		// The build named an execution that did not run it: look among the
		// pipeline's recent ones.
		found, err = findExecution(ctx, p, pipeline, "", build)
	}
	if err != nil {
		return "", err
	}
	if found == "" {
		return fmt.Sprintf("no recent execution of %s ran build %s: nothing to stop", pipeline, build), nil
	}
	execution = found
	_, err = p.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{
		PipelineName:        aws.String(pipeline),
		PipelineExecutionId: aws.String(execution),
		Abandon:             true,
		Reason:              aws.String(report.Shorten(reason, 200)),
	})
	var (
		notStoppable *cptypes.PipelineExecutionNotStoppableException
		duplicate    *cptypes.DuplicatedStopRequestException
	)
	switch {
	case errors.As(err, &notStoppable):
		return fmt.Sprintf("execution %s of %s had already ended", execution, pipeline), nil
	case errors.As(err, &duplicate):
		return fmt.Sprintf("stopped execution %s of %s (stop already requested)", execution, pipeline), nil
	case err != nil:
		return "", fmt.Errorf("stop execution %s of %s: %w", execution, pipeline, err)
	}
	return fmt.Sprintf("stopped execution %s of %s", execution, pipeline), nil
}

// findExecution returns the pipeline execution of which an action ran build
// (CodeBuild's build id is the action's external execution id): among the
// action executions of execution when it is given, else among the pipeline's
// maxActionPages most recent pages of them. It returns "" when none did.
func findExecution(ctx context.Context, p pipelineStopper, pipeline, execution, build string) (string, error) {
	in := &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(pipeline), MaxResults: aws.Int32(100)}
	if execution != "" {
		in.Filter = &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(execution)}
	}
	want := evidence.BuildID(build)
	pages := codepipeline.NewListActionExecutionsPaginator(p, in)
	for range maxActionPages {
		if !pages.HasMorePages() {
			break
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list action executions of %s: %w", pipeline, err)
		}
		for _, a := range page.ActionExecutionDetails {
			if a.Output == nil || a.Output.ExecutionResult == nil {
				continue
			}
			if evidence.BuildID(aws.ToString(a.Output.ExecutionResult.ExternalExecutionId)) == want {
				return aws.ToString(a.PipelineExecutionId), nil
			}
		}
	}
	return "", nil
}

// appOf finds the app that gates project.
func (h *Builds) appOf(project string) *policy.App {
	for i := range h.policy.Apps {
		if a := &h.policy.Apps[i]; a.Gate != nil && slices.Contains(a.Gate.Projects, project) {
			return a
		}
	}
	return nil
}

func ignore(ctx context.Context, reason string) (Result, error) {
	slog.WarnContext(ctx, "event ignored", "reason", reason)
	return Result{Outcome: OutcomeIgnored, Reason: reason}, nil
}
