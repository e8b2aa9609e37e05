package drift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Terraform workspaces are checked as stacks are, through the same queue,
// limits, claims, triage and reports. Detect starts the CodeBuild project of
// each workspace, which plans it with terraform plan -refresh-only and writes
// terraform show -json of the plan to drift.json in its artifact; the
// build's "CodeBuild Build State Change" event brings OnBuild, which reads
// the plan from the artifact, triages its resource_drift and reports it.
// SweepStale asks CodeBuild about builds whose event never came.

// Builds starts and reads the CodeBuild builds that plan Terraform
// workspaces.
type Builds interface {
	StartBuild(ctx context.Context, params *codebuild.StartBuildInput, optFns ...func(*codebuild.Options)) (*codebuild.StartBuildOutput, error)
	BatchGetBuilds(ctx context.Context, params *codebuild.BatchGetBuildsInput, optFns ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error)
}

var _ Builds = (*codebuild.Client)(nil)

// BuildClients are the clients of one account and region with which
// Terraform workspaces are checked.
type BuildClients struct {
	// Builds starts the workspaces' builds and reads how they ended.
	Builds Builds
	// Artifacts downloads the builds' artifacts (S3).
	Artifacts evidence.ObjectGetter
}

// workspaceKey is how a workspace stands among an account's stacks in ledger
// ids and queue names: a stack name holds no ':'.
func workspaceKey(name string) string { return "terraform:" + name }

// WorkspaceReportID is the ledger id of a Terraform workspace's drift
// reports (account/region/terraform:<name>): Latest(KindDriftReport, ...) is
// its last report.
func WorkspaceReportID(w policy.TerraformWorkspace) string {
	return ReportID(w.Account, w.Region, workspaceKey(w.Name))
}

// WorkspacePendingID is the ledger id of a workspace's pending builds.
func WorkspacePendingID(w policy.TerraformWorkspace) string {
	return PendingID(w.Account, w.Region, workspaceKey(w.Name))
}

// codeBuildLimit is the key of an account's CodeBuild calls in Limits:
// CodeBuild throttles them apart from CloudFormation's.
func codeBuildLimit(account string) string { return "codebuild/" + account }

// noBuildRetries makes a paced CodeBuild call a single attempt.
func noBuildRetries(o *codebuild.Options) { o.RetryMaxAttempts = 1 }

// workspace returns the policy's workspace called name.
func (h *Handler) workspace(name string) (policy.TerraformWorkspace, bool) {
	i := slices.IndexFunc(h.drift.Terraform, func(w policy.TerraformWorkspace) bool { return w.Name == name })
	if i < 0 {
		return policy.TerraformWorkspace{}, false
	}
	return h.drift.Terraform[i], true
}

// workspaceOf returns the workspace the policy plans with project in
// account and region.
func (h *Handler) workspaceOf(account, region, project string) (policy.TerraformWorkspace, bool) {
	i := slices.IndexFunc(h.drift.Terraform, func(w policy.TerraformWorkspace) bool {
		return w.Account == account && w.Region == region && w.Project == project
	})
	if i < 0 {
		return policy.TerraformWorkspace{}, false
	}
	return h.drift.Terraform[i], true
}

// planMessage starts the build of the workspace a queue message names; an
// error means a retry may work.
func (h *Handler) planMessage(ctx context.Context, m events.SQSMessage, name string) error {
	w, ok := h.workspace(name)
	if !ok {
		slog.ErrorContext(ctx, "drift message dropped: no such Terraform workspace in the policy", "message", m.MessageId, "workspace", name)
		return nil
	}
	started, err := h.startWorkspace(ctx, w, ledger.HolderOf(ctx)+"/"+m.MessageId)
	if err != nil {
		if permanent(err) {
			slog.ErrorContext(ctx, "Terraform workspace's build refused", "workspace", w.Name, "project", w.Project, "error", err)
			return nil
		}
		return err
	}
	if started == nil {
		slog.InfoContext(ctx, "Terraform workspace's build already started", "workspace", w.Name)
		return nil
	}
	slog.InfoContext(ctx, "Terraform workspace's build started", "workspace", w.Name, "project", w.Project, "build", started.DetectionID)
	return nil
}

// StartWorkspace starts the build that plans workspace w, within the limits
// (CodeBuild's calls of an account keep to the same rate as CloudFormation's,
// in a budget of their own), and files it as pending (Status DETECTING, id
// WorkspacePendingID, DetectionID the build id). Like Start, it returns nil
// when a build of w started within Rerun or is being started by another
// delivery; each start's request carries an idempotency token derived from
// its claim, so that CodeBuild itself starts no second build for a request
// sent again.
func (h *Handler) StartWorkspace(ctx context.Context, w policy.TerraformWorkspace) (*ledger.DriftReport, error) {
	return h.startWorkspace(ctx, w, ledger.HolderOf(ctx))
}

func (h *Handler) startWorkspace(ctx context.Context, w policy.TerraformWorkspace, holder string) (*ledger.DriftReport, error) {
	pid := WorkspacePendingID(w)
	return h.startOnce(ctx, pid, workspaceKey(w.Name), holder, func(key string) (*ledger.DriftReport, error) {
		return h.startBuild(ctx, w, pid, key)
	})
}

// startBuild calls StartBuild on w's project and files the pending build; it
// fails only when the build did not start.
func (h *Handler) startBuild(ctx context.Context, w policy.TerraformWorkspace, pid, claim string) (*ledger.DriftReport, error) {
	api := h.builds(w.Account, w.Region).Builds
	token := sha256.Sum256([]byte(claim))
	in := &codebuild.StartBuildInput{ProjectName: aws.String(w.Project), IdempotencyToken: aws.String(hex.EncodeToString(token[:16]))}
	var out *codebuild.StartBuildOutput
	err := h.limits.Run(ctx, codeBuildLimit(w.Account), func(ctx context.Context) error {
		var err error
		out, err = api.StartBuild(ctx, in, noBuildRetries)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start build of %s for workspace %s: %w", w.Project, w.Name, err)
	}
	if out.Build == nil || aws.ToString(out.Build.Id) == "" {
		return nil, fmt.Errorf("start build of %s for workspace %s: CodeBuild answered without a build id", w.Project, w.Name)
	}
	pending := &ledger.DriftReport{
		Header:    ledger.Header{ID: pid, At: h.now()},
		Workspace: w.Name, Project: w.Project, Status: StatusDetecting,
		Account: w.Account, Region: w.Region, DetectionID: aws.ToString(out.Build.Id),
	}
	if err := h.ledger.Put(ctx, pending); err != nil {
		// Started all the same, as a stack's detection: its end is reported
		// as a build Highway did not start.
		slog.WarnContext(ctx, "Terraform workspace's build started but not filed as pending", "workspace", w.Name,
			"build", pending.DetectionID, "error", err)
	}
	return pending, nil
}

// buildEnd is a finished build of a workspace, from its event or from
// BatchGetBuilds.
type buildEnd struct {
	id       string // project:uuid
	status   string // SUCCEEDED, FAILED, FAULT, STOPPED, TIMED_OUT
	artifact evidence.Location
	at       time.Time
}

// OnBuild reports a Terraform workspace's check from its build's "CodeBuild
// Build State Change" event: for a finished build of a project the policy
// names for a workspace in that account and region, it reads the plan from
// the build's artifact (drift.json, whether the build SUCCEEDED or FAILED:
// terraform plan -detailed-exitcode ends in 2 when it finds drift), reports
// resource_drift as stacks' drift is reported, triaged and announced once
// per build, and keeps a report of a check that failed, with the reason,
// when the build left no plan Highway can read: none, one too large, one in
// another bucket than the policy's, or one that is not a plan. Events of
// builds still running, of other projects, or that do not decode are
// ignored; a read a retry may finish (S3 throttling, say) is an error.
func (h *Handler) OnBuild(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: ev.ID})
	be, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		return ignore(ctx, err.Error())
	}
	w, ok := h.workspaceOf(be.Account, be.Region, be.Build.Project)
	if !ok {
		return ignore(ctx, fmt.Sprintf("project %s in %s/%s plans no Terraform workspace of the policy", be.Build.Project, be.Account, be.Region))
	}
	if be.Build.Status == string(cbtypes.StatusTypeInProgress) {
		return ignore(ctx, fmt.Sprintf("build %s of workspace %s is still running", be.Build.ID, w.Name))
	}
	return h.reportBuild(ctx, w, buildEnd{id: be.Build.ID, status: be.Build.Status, artifact: be.Artifact, at: ev.Time})
}

// reportBuild records the report of a workspace's finished build once and
// acts on it.
func (h *Handler) reportBuild(ctx context.Context, w policy.TerraformWorkspace, b buildEnd) (Result, error) {
	rid := WorkspaceReportID(w)
	pending, err := latestReport(ctx, h.ledger, WorkspacePendingID(w))
	if err != nil {
		return Result{}, err
	}
	ours := pending != nil && pending.DetectionID == b.id
	prev, err := latestReport(ctx, h.ledger, rid)
	if err != nil {
		return Result{}, err
	}
	if prev != nil && prev.DetectionID == b.id {
		return h.settle(ctx, prev, pending, ours)
	}
	at := b.at
	if ours {
		at = pending.At // when the check ran
	}
	if at.IsZero() {
		at = h.now()
	}
	rep := &ledger.DriftReport{
		Header:    ledger.Header{ID: rid, At: at},
		Workspace: w.Name, Project: w.Project, Account: w.Account, Region: w.Region, DetectionID: b.id,
	}
	plan, err := h.readPlan(ctx, w, b)
	switch {
	case err == nil:
		rep.Resources, rep.Drifted, rep.Status = plan.Resources, plan.Drifted, StatusInSync
		if len(plan.Drifted) > 0 {
			rep.Status = StatusDrifted
		}
	case transient(err):
		return Result{}, fmt.Errorf("read the plan of workspace %s: %w", w.Name, err)
	default:
		rep.Status = StatusDetectionFailed
		rep.Reason = fmt.Sprintf("build %s, no plan Highway can read: %v", b.status, err)
		if prev != nil {
			rep.Drifted = slices.Clone(prev.Drifted) // a failed check changes nothing known
		}
	}
	return h.file(ctx, rep, prev, pending, ours)
}

// The statuses of a workspace's report, as CloudFormation names a stack's.
const (
	// StatusDrifted is a check that found drift.
	StatusDrifted = "DRIFTED"
	// StatusInSync is a check that found none.
	StatusInSync = "IN_SYNC"
)

// unreadable is why a build's plan cannot be read for good: retrying reads
// the same artifact.
type unreadable struct{ why string }

func (e unreadable) Error() string { return e.why }

// readPlan reads the plan of workspace w from build b's artifact, in the
// bucket the policy names for it only, within the artifact limits.
func (h *Handler) readPlan(ctx context.Context, w policy.TerraformWorkspace, b buildEnd) (TerraformPlan, error) {
	switch {
	case b.artifact.Bucket == "":
		return TerraformPlan{}, unreadable{"the build left no S3 artifact"}
	case b.artifact.Bucket != w.ArtifactBucket:
		return TerraformPlan{}, unreadable{fmt.Sprintf("its artifact %s is not in %s, the workspace's artifactBucket, and was not read", b.artifact, w.ArtifactBucket)}
	}
	api := h.builds(w.Account, w.Region).Artifacts
	return evidence.BuildFile(ctx, api, b.artifact, TerraformPlanFile, ParseTerraformPlan, h.artifacts)
}

// transient reports errors a later attempt may not meet.
func transient(err error) bool {
	return !errors.As(err, new(unreadable)) && (retryable(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}

// staleWorkspace reports a workspace's build whose event never came: when
// its pending build is older than olderThan, it asks BatchGetBuilds and,
// when the build is over, reports it as OnBuild would.
func (h *Handler) staleWorkspace(ctx context.Context, w policy.TerraformWorkspace, olderThan time.Duration) (staleFinding, error) {
	pending, err := latestReport(ctx, h.ledger, WorkspacePendingID(w))
	if err != nil {
		return notStale, err
	}
	if pending == nil || pending.Status != StatusDetecting || h.now().Sub(pending.At) < olderThan {
		return notStale, nil
	}
	api := h.builds(w.Account, w.Region).Builds
	var out *codebuild.BatchGetBuildsOutput
	err = h.limits.Run(ctx, codeBuildLimit(w.Account), func(ctx context.Context) error {
		var err error
		out, err = api.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{pending.DetectionID}}, noBuildRetries)
		return err
	})
	if err != nil {
		if !retryable(err) {
			slog.WarnContext(ctx, "stale build of a Terraform workspace not read", "workspace", w.Name, "build", pending.DetectionID, "error", err)
			return staleUnknown, nil
		}
		return staleFailed, fmt.Errorf("read build %s of workspace %s: %w", pending.DetectionID, w.Name, err)
	}
	if len(out.Builds) == 0 {
		slog.WarnContext(ctx, "stale build of a Terraform workspace unknown to CodeBuild", "workspace", w.Name, "build", pending.DetectionID)
		return staleUnknown, nil
	}
	build := out.Builds[0]
	if !build.BuildComplete {
		return staleRunning, nil
	}
	end := buildEnd{id: pending.DetectionID, status: string(build.BuildStatus), at: aws.ToTime(build.EndTime)}
	if build.Artifacts != nil {
		end.artifact, _ = evidence.ParseS3ARN(aws.ToString(build.Artifacts.Location)) // none: reported as no artifact
	}
	if _, err := h.reportBuild(ctx, w, end); err != nil {
		return staleFailed, err
	}
	return staleReported, nil
}
