package promotion

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// The steps of the approval workflow, as the promotion function's payload
// names them.
const (
	StepPreconditions = "preconditions"
	StepDeploy        = "deploy"
	StepStatus        = "status"
	StepRecord        = "record"
)

// StatusPoll is how long the approval workflow waits between two looks at a
// deployment it started.
const StatusPoll = 30 * time.Second

// StepRetries is how many times the approval workflow runs a step again
// when it fails for a reason a retry can fix (a throttled ledger write, say),
// before it records the promotion failed. Every step may run again: the
// preconditions only read, a deployment is claimed once, and a record of an
// ended promotion changes nothing. A refused precondition is never retried.
const StepRetries = 3

// ApprovalRequestRetries is how many times the approval workflow asks again
// when its approval request fails (a throttled notification, say), before it
// records the promotion failed. A rejection, an expiry or bad input is never
// asked again.
const ApprovalRequestRetries = 3

// PreconditionFailed fails the workflow's Preconditions state: the promotion
// may not go ahead. The Lambda runtime reports an error by its type's name, so
// this is the error name the state machine catches.
type PreconditionFailed struct {
	// Reason says which precondition failed.
	Reason string
}

func (e *PreconditionFailed) Error() string { return "precondition failed: " + e.Reason }

// refuse returns a PreconditionFailed with a formatted reason.
func refuse(format string, args ...any) error {
	return &PreconditionFailed{Reason: fmt.Sprintf(format, args...)}
}

// StepInput is what the approval workflow passes to each of its Lambda steps.
type StepInput struct {
	Step        string `json:"step"`
	PromotionID string `json:"promotionId"`
	App         string `json:"app"`
	Env         string `json:"env"`
	// Outcome, for the record step: succeeded, failed, rejected, expired or
	// refused.
	Outcome string `json:"outcome,omitempty"`
}

// StepOutput is a step's answer. Status drives the workflow's wait loop:
// deploying, succeeded or failed. Summary, from the preconditions step, is what
// the approval request shows.
type StepOutput struct {
	Status  string                  `json:"status,omitempty"`
	Summary *ledger.ApprovalSummary `json:"summary,omitempty"`
}

// Step runs one step of the approval workflow for a promotion.
func (p *Promoter) Step(ctx context.Context, in StepInput) (StepOutput, error) {
	app, ok := p.policy.App(in.App)
	if !ok {
		return StepOutput{}, refuse("app %q is not in the policy", in.App)
	}
	env, ok := app.Environment(in.Env)
	if !ok {
		return StepOutput{}, refuse("%s has no environment %q", in.App, in.Env)
	}
	pr, err := p.promotion(ctx, app.Name, env.Name, in.PromotionID)
	if err != nil {
		return StepOutput{}, err
	}
	switch in.Step {
	case StepPreconditions:
		s, err := p.preconditions(ctx, app, env, pr)
		if err != nil {
			return StepOutput{}, err
		}
		return StepOutput{Summary: s}, nil
	case StepDeploy, StepStatus:
		switch {
		case pr.Status == ledger.PromotionWaiting:
			if _, err := p.Deploy(ctx, app, env, pr); err != nil {
				return StepOutput{}, err
			}
		case launched(pr):
			// Started, but what follows the start (its announcement, the
			// finish of a deployment done at once) may have failed on an
			// earlier try of this step: make it, as the tick would, rather
			// than loop on "deploying" until the next tick.
			if err := p.started(ctx, app, env, pr); err != nil {
				return StepOutput{}, err
			}
		}
		if err := p.follow(ctx, app, env, pr); err != nil {
			// The tick follows it too; a failed read must not fail the
			// workflow while the deployment runs.
			slog.WarnContext(ctx, "deployment not followed", "promotion", pr.ID, "error", err)
		}
		return StepOutput{Status: stepStatus(pr.Status)}, nil
	case StepRecord:
		return StepOutput{Status: stepStatus(pr.Status)}, p.record(ctx, pr, in.Outcome)
	}
	return StepOutput{}, fmt.Errorf("unknown step %q", in.Step)
}

// stepStatus is a promotion's status as the workflow's wait loop reads it.
func stepStatus(s ledger.PromotionStatus) string {
	switch s {
	case ledger.PromotionSucceeded:
		return StatusSucceeded
	case ledger.PromotionWaiting, ledger.PromotionDeploying, ledger.PromotionRequested:
		return StatusDeploying
	}
	return StatusFailed
}

// record ends a promotion the workflow gave up on; a promotion that ended
// already (its deployment finished) stays as it is.
func (p *Promoter) record(ctx context.Context, pr *ledger.Promotion, outcome string) error {
	if pr.Status.Final() {
		return nil
	}
	status := map[string]ledger.PromotionStatus{
		OutcomeRejected: ledger.PromotionRejected, OutcomeExpired: ledger.PromotionExpired,
		OutcomeRefused: ledger.PromotionRefused, OutcomeSucceeded: ledger.PromotionSucceeded,
	}[outcome]
	if status == "" {
		status = ledger.PromotionFailed
	}
	_, err := p.end(ctx, pr, status, "approval workflow: "+outcome)
	return err
}

// promotion finds a promotion of an app's environment by id.
func (p *Promoter) promotion(ctx context.Context, app, env, id string) (*ledger.Promotion, error) {
	now := p.now()
	promos, err := p.ledger.Promotions(ctx, app, env, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return nil, err
	}
	for _, pr := range promos {
		if pr.ID == id {
			return pr, nil
		}
	}
	return nil, refuse("no promotion %s of %s/%s", id, app, env)
}

// preconditions checks that a promotion may go to people for approval: the
// artifact is not quarantined, it succeeded in the previous environment and
// soaked there long enough, and the environment has no open incident. It
// returns what the approvers are told.
func (p *Promoter) preconditions(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion) (*ledger.ApprovalSummary, error) {
	now := p.now()
	a, err := p.artifact(ctx, pr.Digest)
	if err != nil {
		return nil, err
	}
	if a.Quarantined {
		return nil, refuse("artifact %s is quarantined: %s", a.Digest, a.Reason)
	}
	s := &ledger.ApprovalSummary{Artifact: locate(a), From: pr.From}
	if s.Commit, err = p.commitLine(ctx, pr.Commit); err != nil {
		return nil, err
	}
	if pr.From != "" {
		prev, err := p.ledger.Deployments(ctx, app.Name, pr.From, now.Add(-window), now.Add(time.Second))
		if err != nil {
			return nil, err
		}
		var verified *ledger.Deployment
		for _, d := range prev {
			if d.Digest == pr.Digest && d.Status == ledger.DeploymentSuccess {
				verified = d
			}
		}
		if verified == nil {
			return nil, refuse("%s was not deployed successfully to %s", pr.Digest, pr.From)
		}
		soaked := now.Sub(verified.FinishedAt)
		if soaked < env.Soak {
			return nil, refuse("%s has soaked in %s for %v of the %v required", pr.Digest, pr.From, soaked.Round(time.Second), env.Soak)
		}
		s.SoakSeconds = int64(soaked.Seconds())
		if s.Commits, s.Running, err = p.brings(ctx, app, env, prev); err != nil {
			return nil, err
		}
	}
	open, err := p.ledger.OpenIncidents(ctx)
	if err != nil {
		return nil, err
	}
	for _, inc := range open {
		if inc.App == app.Name && inc.Env == env.Name {
			s.OpenAlarms = append(s.OpenAlarms, inc.Alarm)
		}
	}
	if len(s.OpenAlarms) > 0 {
		return nil, refuse("%s/%s has open incidents: %s", app.Name, env.Name, strings.Join(s.OpenAlarms, ", "))
	}
	if s.Gate, err = p.gateSummary(ctx, pr.Digest); err != nil {
		return nil, err
	}
	return s, nil
}

// brings lists what the environment runs now and the commits deployed to the
// previous environment since it was deployed: what the promotion brings.
func (p *Promoter) brings(ctx context.Context, app *policy.App, env *policy.Environment, prev []*ledger.Deployment) ([]ledger.CommitLine, string, error) {
	now := p.now()
	here, err := p.ledger.Deployments(ctx, app.Name, env.Name, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return nil, "", err
	}
	since, running := time.Time{}, "nothing deployed by Highway"
	for _, d := range here {
		if d.Status == ledger.DeploymentSuccess {
			since, running = d.FinishedAt, fmt.Sprintf("%s (commit %s, since %s)", d.Digest, d.Commit, d.FinishedAt.UTC().Format(time.RFC3339))
		}
	}
	var seen []string
	var commits []ledger.CommitLine
	for _, d := range prev {
		if d.Status != ledger.DeploymentSuccess || !d.FinishedAt.After(since) {
			continue
		}
		for _, c := range d.Commits {
			if slices.Contains(seen, c) {
				continue
			}
			seen = append(seen, c)
			line, err := p.commitLine(ctx, c)
			if err != nil {
				return nil, "", err
			}
			commits = append(commits, line)
		}
	}
	return commits, running, nil
}

// commitLine describes a commit from its ledger record, or by SHA alone.
func (p *Promoter) commitLine(ctx context.Context, sha string) (ledger.CommitLine, error) {
	line := ledger.CommitLine{SHA: sha}
	if sha == "" {
		return line, nil
	}
	recs, err := p.ledger.ByCommit(ctx, sha)
	if err != nil {
		return line, err
	}
	for _, r := range recs {
		if c, ok := r.(*ledger.Commit); ok {
			line.Author, line.Message = c.Author, c.Message
		}
	}
	return line, nil
}

// gateSummary is the verdict of the gate decision that produced the digest,
// with its failed or waived checks.
func (p *Promoter) gateSummary(ctx context.Context, digest string) (string, error) {
	recs, err := p.ledger.ByDigest(ctx, digest)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		d, ok := r.(*ledger.GateDecision)
		if !ok {
			continue
		}
		var notes []string
		for _, c := range d.Checks {
			if c.Waived || !c.Passed {
				notes = append(notes, c.Name+": "+c.Reason)
			}
		}
		s := fmt.Sprintf("%s (build %s, %d checks)", strings.ToUpper(string(d.Verdict)), d.ID, len(d.Checks))
		if len(notes) > 0 {
			s += "; " + strings.Join(notes, "; ")
		}
		return s, nil
	}
	return "no gate decision recorded for this digest", nil
}

// locate says where an artifact is, for people.
func locate(a *ledger.Artifact) string {
	if a.Type == ledger.ArtifactImage {
		return a.Repository + "@" + a.Digest
	}
	loc := "s3://" + a.Bucket + "/" + a.Key
	if a.ObjectVersion != "" {
		loc += "?versionId=" + a.ObjectVersion
	}
	return loc
}
