package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Result is the promote function's answer for one event.
type Result struct {
	// Outcome says what the event did: registered, rebuild, finished, tick,
	// rollback, nothing-to-roll-back, or ignored.
	Outcome string `json:"outcome"`
	// Reason explains an ignored event or a refusal.
	Reason string `json:"reason,omitempty"`
	// App and Env locate what changed.
	App string `json:"app,omitempty"`
	Env string `json:"env,omitempty"`
	// Digest is the artifact concerned.
	Digest string `json:"digest,omitempty"`
	// Promotion is the promotion a rollback started.
	Promotion string `json:"promotion,omitempty"`
}

// Invoke is the promote function's handler: it takes either an EventBridge
// event (Handle) or a step of the approval workflow (Step, recognised by its
// "step" field). A failed precondition is returned as *PreconditionFailed
// itself, so Step Functions sees its name.
func (p *Promoter) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		Step string `json:"step"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return ignore(ctx, "the payload is not a JSON object: "+err.Error())
	}
	if probe.Step != "" {
		var in StepInput
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, &PreconditionFailed{Reason: "undecodable step: " + err.Error()}
		}
		out, err := p.Step(ctx, in)
		if pf, ok := errors.AsType[*PreconditionFailed](err); ok {
			return nil, pf
		}
		return out, err
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return ignore(ctx, "undecodable event: "+err.Error())
	}
	return p.Handle(ctx, ev)
}

// Handle reacts to the events the promote routes deliver: a passed gate starts
// promotion, an environment's pipeline or ECS deployment finishing records the
// deployment, and the scheduled tick advances queues whose time has come.
// The routes select pipeline and ECS events by account only, so Handle checks
// the rest: the detail type (a stage's or an action's end is not the
// execution's), the state, and the pipeline or service of an environment in
// that account and region. Events that do not concern Highway are
// acknowledged; failures a retry can fix are returned.
func (p *Promoter) Handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: ev.ID})
	switch {
	case ev.Source == route.SourceHighway && ev.DetailType == route.DetailTypeGateDecided:
		return p.gatePassed(ctx, ev)
	case ev.Source == route.SourceHighway && ev.DetailType == route.DetailTypeRollbackRequested:
		return p.rollbackRequested(ctx, ev)
	case ev.Source == route.SourceCodePipeline && ev.DetailType == route.DetailTypePipelineExecutionStateChange:
		return p.pipelineFinished(ctx, ev)
	case ev.Source == route.SourceECS && ev.DetailType == route.DetailTypeECSDeploymentStateChange:
		return p.serviceDeployed(ctx, ev)
	case ev.Source == "aws.events" && ev.DetailType == "Scheduled Event":
		return Result{Outcome: "tick"}, p.Tick(ctx)
	}
	return ignore(ctx, fmt.Sprintf("%q from %q is not for promotion", ev.DetailType, ev.Source))
}

// rollbackRequested is what promotion reads of a "Rollback Requested" event
// (published by package respond).
type rollbackRequested struct {
	App      string    `json:"app"`
	Env      string    `json:"env"`
	Reason   string    `json:"reason"`
	Incident string    `json:"incident"`
	AlarmAt  time.Time `json:"alarmAt"`
}

// rollbackRequested rolls an environment back as an alarm's runbook asked.
// Nothing to roll back to is an answer, not a failure to retry.
func (p *Promoter) rollbackRequested(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	var r rollbackRequested
	if err := json.Unmarshal(ev.Detail, &r); err != nil {
		return ignore(ctx, "undecodable Rollback Requested detail: "+err.Error())
	}
	app, ok := p.policy.App(r.App)
	if !ok {
		return ignore(ctx, fmt.Sprintf("app %q is not in the policy", r.App))
	}
	env, ok := app.Environment(r.Env)
	if !ok || env.Deploy == nil {
		return ignore(ctx, fmt.Sprintf("app %q has no environment %q that Highway deploys", r.App, r.Env))
	}
	// A rollback answers an incident the respond function opened in that
	// environment and that is still open: a request naming none, another
	// environment's, or one resolved since (a late delivery) changes nothing,
	// whoever put it on the bus.
	open, err := p.ledger.OpenIncidents(ctx)
	if err != nil {
		return Result{}, err
	}
	if !slices.ContainsFunc(open, func(inc *ledger.Incident) bool { return inc.ID == r.Incident && inc.App == r.App && inc.Env == r.Env }) {
		return ignore(ctx, fmt.Sprintf("no open incident %q in %s/%s: a rollback answers one", r.Incident, r.App, r.Env))
	}
	pr, err := p.RollbackFor(ctx, app, env, r.Reason, r.Incident, r.AlarmAt)
	if errors.Is(err, ErrNothingToRollBack) {
		slog.WarnContext(ctx, "rollback asked, nothing to roll back to", "app", r.App, "env", r.Env, "error", err)
		return Result{Outcome: "nothing-to-roll-back", Reason: err.Error(), App: r.App, Env: r.Env}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: "rollback", App: r.App, Env: r.Env, Digest: pr.Digest, Promotion: pr.ID}, nil
}

// gateDecided is what promotion reads of a "Gate Decided" event (published by
// package gating): a subscriber declares the fields it needs.
type gateDecided struct {
	App      string              `json:"app"`
	Commit   string              `json:"commit"`
	Digest   string              `json:"digest"`
	Verdict  ledger.Verdict      `json:"verdict"`
	Artifact *ledger.ArtifactRef `json:"artifact"`
}

func (p *Promoter) gatePassed(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	var d gateDecided
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return ignore(ctx, "undecodable Gate Decided detail: "+err.Error())
	}
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{Commit: d.Commit, Digest: d.Digest})
	app, ok := p.policy.App(d.App)
	switch {
	case d.Verdict != ledger.VerdictPass:
		return ignore(ctx, "the gate did not pass")
	case !ok:
		return ignore(ctx, fmt.Sprintf("app %q is not in the policy", d.App))
	case d.Artifact == nil || d.Digest == "" || d.Commit == "":
		return ignore(ctx, "the build produced no artifact to promote")
	case len(app.Environments) == 0:
		return ignore(ctx, "the app has no environments")
	}
	a, err := p.Register(ctx, d.App, d.Commit, d.Digest, *d.Artifact)
	if errors.Is(err, ErrRebuild) {
		slog.WarnContext(ctx, "rebuild refused", "app", d.App, "digest", d.Digest, "error", err)
		return Result{Outcome: "rebuild", Reason: err.Error(), App: d.App, Digest: d.Digest}, nil
	}
	if err != nil {
		return Result{}, err
	}
	first := &app.Environments[0]
	if _, err := p.Request(ctx, a, first, "", p.now()); err != nil {
		return Result{}, err
	}
	if err := p.Advance(ctx, app, first); err != nil {
		return Result{}, err
	}
	return Result{Outcome: "registered", App: d.App, Env: first.Name, Digest: d.Digest}, nil
}

// pipelineDetail is the detail of a "CodePipeline Pipeline Execution State
// Change" event (route.DetailTypePipelineExecutionStateChange).
type pipelineDetail struct {
	Pipeline    string `json:"pipeline"`
	ExecutionID string `json:"execution-id"`
	State       string `json:"state"`
}

func (p *Promoter) pipelineFinished(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	var d pipelineDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.ExecutionID == "" {
		return ignore(ctx, "undecodable pipeline execution detail")
	}
	app, env := p.deployedBy(ev.AccountID, ev.Region, func(dep *policy.Deploy) bool { return dep.Pipeline != nil && dep.Pipeline.Name == d.Pipeline })
	if env == nil {
		return ignore(ctx, fmt.Sprintf("pipeline %s in %s %s deploys no environment of the policy", d.Pipeline, ev.AccountID, ev.Region))
	}
	if d.State != "SUCCEEDED" && d.State != "FAILED" && d.State != "STOPPED" && d.State != "SUPERSEDED" {
		return ignore(ctx, "execution "+d.ExecutionID+" is "+d.State)
	}
	return p.finished(ctx, app, env, d.ExecutionID, d.State == "SUCCEEDED", "pipeline "+d.Pipeline+" execution "+d.ExecutionID+" "+strings.ToLower(d.State))
}

// ecsDetail is the detail of an "ECS Deployment State Change" event
// (route.DetailTypeECSDeploymentStateChange).
type ecsDetail struct {
	EventName    string `json:"eventName"`
	DeploymentID string `json:"deploymentId"`
	Reason       string `json:"reason"`
}

func (p *Promoter) serviceDeployed(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	var d ecsDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.DeploymentID == "" || len(ev.Resources) == 0 {
		return ignore(ctx, "undecodable ECS deployment detail")
	}
	service := ev.Resources[0]
	app, env := p.deployedBy(ev.AccountID, ev.Region, func(dep *policy.Deploy) bool {
		return dep.ECS != nil && strings.HasSuffix(service, ":service/"+dep.ECS.Cluster+"/"+dep.ECS.Service)
	})
	if env == nil {
		return ignore(ctx, fmt.Sprintf("service %s deploys no environment of the policy", service))
	}
	if d.EventName != "SERVICE_DEPLOYMENT_COMPLETED" && d.EventName != "SERVICE_DEPLOYMENT_FAILED" {
		return ignore(ctx, "deployment "+d.DeploymentID+" is "+d.EventName)
	}
	return p.finished(ctx, app, env, d.DeploymentID, d.EventName == "SERVICE_DEPLOYMENT_COMPLETED", strings.TrimSpace("ECS deployment "+d.DeploymentID+": "+d.Reason))
}

func (p *Promoter) finished(ctx context.Context, app *policy.App, env *policy.Environment, handle string, success bool, detail string) (Result, error) {
	ours, err := p.Finished(ctx, app, env, handle, success, detail)
	if err != nil {
		return Result{}, err
	}
	if !ours {
		return ignore(ctx, detail+": not a deployment Highway started")
	}
	return Result{Outcome: "finished", App: app.Name, Env: env.Name, Reason: detail}, nil
}

// deployedBy finds the environment in account and region whose deploy
// matches: a pipeline or service of the same name elsewhere is not its.
func (p *Promoter) deployedBy(account, region string, match func(*policy.Deploy) bool) (*policy.App, *policy.Environment) {
	for i := range p.policy.Apps {
		app := &p.policy.Apps[i]
		for j := range app.Environments {
			if env := &app.Environments[j]; env.Deploy != nil && env.Account == account && env.Region == region && match(env.Deploy) {
				return app, env
			}
		}
	}
	return nil, nil
}

func ignore(ctx context.Context, reason string) (Result, error) {
	slog.WarnContext(ctx, "event ignored", "reason", reason)
	return Result{Outcome: "ignored", Reason: reason}, nil
}
