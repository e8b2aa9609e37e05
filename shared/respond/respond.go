package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/route"
)

// Domain events published on Highway's bus.
const (
	DetailTypeIncidentOpened   = "Incident Opened"
	DetailTypeIncidentResolved = "Incident Resolved"
	DetailTypeRemediation      = "Remediation Ran"
)

// Action outcomes, as recorded and returned.
const (
	ActionDone        = "done"
	ActionDryRun      = "dry-run"
	ActionFailed      = "failed"
	ActionCooldown    = "cooldown"
	ActionRateLimited = "rate-limited"
	ActionBreakerOpen = "breaker-open"
	ActionSkipped     = "skipped" // an earlier action failed or was stopped
)

// Rollbacker asks promotion to put an environment back on the artifact it
// ran before; the answer says what was asked, in one line.
type Rollbacker interface {
	Rollback(ctx context.Context, app *policy.App, env *policy.Environment, reason string) (string, error)
}

// RollbackRequest is the detail of a Rollback Requested event
// (route.DetailTypeRollbackRequested).
type RollbackRequest struct {
	App    string `json:"app"`
	Env    string `json:"env"`
	Reason string `json:"reason"`
}

// RollbackByEvent asks for rollbacks on the bus: the promote function, which
// alone deploys, performs them, so the respond function needs no deploy
// permissions and the ledger stays the one truth.
type RollbackByEvent struct {
	Bus bus.Publisher
	Now func() time.Time
}

// Rollback publishes Rollback Requested.
func (r RollbackByEvent) Rollback(ctx context.Context, app *policy.App, env *policy.Environment, reason string) (string, error) {
	at := time.Now()
	if r.Now != nil {
		at = r.Now()
	}
	req := RollbackRequest{App: app.Name, Env: env.Name, Reason: reason}
	if err := r.Bus.Publish(ctx, bus.Event{DetailType: route.DetailTypeRollbackRequested, Detail: req, Time: at}); err != nil {
		return "", fmt.Errorf("request rollback of %s/%s: %w", app.Name, env.Name, err)
	}
	return fmt.Sprintf("rollback of %s/%s requested from promotion", app.Name, env.Name), nil
}

// Notifier publishes notifications (SNS).
type Notifier interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Config is what a Handler is built from.
type Config struct {
	Policy *policy.Policy
	Ledger ledger.Ledger
	// Tags returns the tag reader of an alarm (alarm.Tags.For).
	Tags func(alarm.StateChange) func(context.Context) (map[string]string, error)
	// Clients returns the clients acting for an app in its environment's
	// account and region.
	Clients  func(app, account, region string) remediate.Clients
	Rollback Rollbacker
	Bus      bus.Publisher
	Notify   Notifier
	Topic    string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Handler answers alarm state changes with the policy's runbooks.
type Handler struct {
	c      Config
	guards *Guards
}

// New returns a Handler, or an error naming what Config lacks.
func New(c Config) (*Handler, error) {
	var missing []string
	for name, unset := range map[string]bool{
		"Policy": c.Policy == nil, "Policy.Alarms": c.Policy != nil && c.Policy.Alarms == nil, "Ledger": c.Ledger == nil,
		"Tags": c.Tags == nil, "Clients": c.Clients == nil, "Rollback": c.Rollback == nil, "Bus": c.Bus == nil,
		"Notify": c.Notify == nil || c.Topic == "",
	} {
		if unset {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("respond: config lacks %s", strings.Join(missing, ", "))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Handler{c: c, guards: NewGuards(c.Ledger, c.Policy.Alarms, c.Now)}, nil
}

// Result is the answer to one alarm event.
type Result struct {
	// Outcome is unmatched, duplicate, recorded (INSUFFICIENT_DATA), opened
	// (ALARM) or resolved (OK).
	Outcome  string          `json:"outcome"`
	Alarm    string          `json:"alarm"`
	State    string          `json:"state"`
	Runbooks []RunbookResult `json:"runbooks,omitempty"`
}

// RunbookResult is what one matched runbook did.
type RunbookResult struct {
	Runbook  string `json:"runbook"`
	Incident string `json:"incident,omitempty"`
	// Restored is the resolved incident's time to restore; TimeToRestore
	// says it for people.
	Restored      time.Duration  `json:"-"`
	TimeToRestore string         `json:"timeToRestore,omitempty"`
	Actions       []ActionResult `json:"actions,omitempty"`
}

// ActionResult is what one action did.
type ActionResult struct {
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// Handle answers one "CloudWatch Alarm State Change" event. The runbooks
// that match the alarm each answer once per transition, however often the
// event is delivered: ALARM opens an incident in the runbook's environment
// and runs its actions in order, each through the guards; OK resolves the
// incident; INSUFFICIENT_DATA is logged and acts on nothing. The transition
// is recorded before any action runs, so an action is never run twice for
// one transition; a delivery that fails midway is not retried into a second
// rollback.
func (h *Handler) Handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	s, err := alarm.Decode(ev)
	if err != nil {
		return Result{}, err
	}
	res := Result{Alarm: s.Name, State: s.State}
	runbooks, err := alarm.Runbooks(ctx, h.c.Policy, s, h.c.Tags(s))
	if err != nil {
		return Result{}, err
	}
	if len(runbooks) == 0 {
		res.Outcome = "unmatched"
		slog.InfoContext(ctx, "alarm matches no runbook", "alarm", s.Name, "state", s.State)
		return res, nil
	}
	if s.State == alarm.StateInsufficientData {
		res.Outcome = "recorded"
		slog.InfoContext(ctx, "alarm has insufficient data: nothing done", "alarm", s.Name, "runbooks", len(runbooks))
		return res, nil
	}
	first, err := h.guards.FirstDelivery(ctx, s.Key(), ev.ID)
	if err != nil {
		return Result{}, err
	}
	if !first {
		res.Outcome = "duplicate"
		return res, nil
	}
	var errs []error
	for _, rb := range runbooks {
		var rr RunbookResult
		var err error
		if s.State == alarm.StateOK {
			res.Outcome = "resolved"
			rr, err = h.resolve(ctx, s, rb)
		} else {
			res.Outcome = "opened"
			rr, err = h.open(ctx, s, rb)
		}
		res.Runbooks = append(res.Runbooks, rr)
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// IncidentNotice is the detail of Incident Opened and Incident Resolved.
type IncidentNotice struct {
	Incident   string `json:"incident"`
	App        string `json:"app"`
	Env        string `json:"env"`
	Alarm      string `json:"alarm"`
	Runbook    string `json:"runbook"`
	Deployment string `json:"deployment,omitempty"`
	Digest     string `json:"digest,omitempty"`
	// TimeToRestoreSeconds is how long the incident was open, once resolved.
	TimeToRestoreSeconds float64 `json:"timeToRestoreSeconds,omitempty"`
}

func (h *Handler) resolve(ctx context.Context, s alarm.StateChange, rb *policy.Runbook) (RunbookResult, error) {
	rr := RunbookResult{Runbook: rb.Name}
	resolved, err := ResolveIncidents(ctx, h.c.Ledger, s, rb.App, rb.Env)
	if err != nil {
		return rr, err
	}
	for _, inc := range resolved {
		rr.Incident, rr.Restored = inc.ID, inc.ResolvedAt.Sub(inc.At)
		rr.TimeToRestore = rr.Restored.Round(time.Second).String()
		n := IncidentNotice{Incident: inc.ID, App: inc.App, Env: inc.Env, Alarm: s.Name, Runbook: rb.Name,
			Deployment: inc.DeploymentID, Digest: inc.Digest, TimeToRestoreSeconds: rr.Restored.Seconds()}
		if err := h.c.Bus.Publish(ctx, bus.Event{DetailType: DetailTypeIncidentResolved, Detail: n, Time: s.StateTime}); err != nil {
			return rr, err
		}
		slog.InfoContext(ctx, "incident resolved", "incident", inc.ID, "timeToRestore", rr.Restored)
	}
	return rr, nil
}

func (h *Handler) open(ctx context.Context, s alarm.StateChange, rb *policy.Runbook) (RunbookResult, error) {
	rr := RunbookResult{Runbook: rb.Name}
	a := h.c.Policy.Alarms
	inc, _, err := OpenIncident(ctx, h.c.Ledger, s, rb.App, rb.Env, orDefault(a.IncidentWindow, policy.DefaultIncidentWindow))
	if err != nil {
		return rr, err
	}
	rr.Incident = inc.ID
	n := IncidentNotice{Incident: inc.ID, App: rb.App, Env: rb.Env, Alarm: s.Name, Runbook: rb.Name, Deployment: inc.DeploymentID, Digest: inc.Digest}
	if err := h.c.Bus.Publish(ctx, bus.Event{DetailType: DetailTypeIncidentOpened, Detail: n, Time: s.StateTime}); err != nil {
		return rr, err
	}
	stopped := ""
	for i, act := range rb.Actions {
		name := actionName(act)
		if stopped != "" {
			rr.Actions = append(rr.Actions, ActionResult{Action: name, Outcome: ActionSkipped, Detail: stopped})
			continue
		}
		ar := h.act(ctx, s, rb, inc, i, act, rr.Actions)
		rr.Actions = append(rr.Actions, ar)
		switch ar.Outcome {
		case ActionFailed, ActionRateLimited, ActionBreakerOpen:
			stopped = fmt.Sprintf("%s %s", name, ar.Outcome)
		}
	}
	return rr, nil
}

// act runs one action through the guards and records it.
func (h *Handler) act(ctx context.Context, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident, i int, act policy.Action, done []ActionResult) ActionResult {
	name := actionName(act)
	ar := ActionResult{Action: name}
	holder := fmt.Sprintf("%s-%s-%d", inc.ID, rb.Name, i)
	guard := func() (string, error) {
		if open, err := h.guards.BreakerOpen(ctx, rb.App, rb.Env); err != nil || open {
			return ActionBreakerOpen, err
		}
		if ok, err := h.guards.Cooldown(ctx, s.ARN, rb.Name, i, rb.Cooldown, holder); err != nil || !ok {
			return ActionCooldown, err
		}
		if act.Notify == nil { // notifications are not remediations: they take no slot
			if ok, err := h.guards.Slot(ctx, rb.App, rb.Env, holder); err != nil || !ok {
				return ActionRateLimited, err
			}
		}
		return "", nil
	}
	stop, err := guard()
	switch {
	case err != nil:
		ar.Outcome, ar.Detail = ActionFailed, err.Error()
	case stop != "":
		ar.Outcome = stop
		if stop == ActionBreakerOpen {
			ar.Detail = "too many failed remediations: a human is needed"
			h.needsHuman(ctx, s, rb, inc)
		}
	case h.c.Policy.Alarms.DryRun || rb.DryRun:
		ar.Outcome, ar.Detail = ActionDryRun, "would run "+name
	default:
		detail, err := h.run(ctx, s, rb, inc, act, done)
		ar.Outcome, ar.Detail = ActionDone, detail
		if err != nil {
			ar.Outcome, ar.Detail = ActionFailed, err.Error()
		}
	}
	if ar.Outcome != ActionCooldown {
		h.record(ctx, rb, inc, holder, ar)
	}
	slog.InfoContext(ctx, "runbook action", "runbook", rb.Name, "incident", inc.ID, "action", name, "outcome", ar.Outcome, "detail", ar.Detail)
	return ar
}

// record files the action on the ledger and the bus; a failure to do so is
// logged: the action itself has happened.
func (h *Handler) record(ctx context.Context, rb *policy.Runbook, inc *ledger.Incident, id string, ar ActionResult) {
	r := &ledger.Remediation{Header: ledger.Header{ID: id, App: rb.App, Env: rb.Env, Digest: inc.Digest, At: h.c.Now()},
		IncidentID: inc.ID, Action: ar.Action, DryRun: ar.Outcome == ActionDryRun, Failed: ar.Outcome == ActionFailed,
		Result: ar.Outcome + ": " + ar.Detail}
	if err := h.c.Ledger.Put(ctx, r); err != nil {
		slog.ErrorContext(ctx, "remediation not recorded", "remediation", id, "error", err)
	}
	if err := h.c.Bus.Publish(ctx, bus.Event{DetailType: DetailTypeRemediation, Detail: r, Time: r.At}); err != nil {
		slog.ErrorContext(ctx, "remediation not announced", "remediation", id, "error", err)
	}
}

// run performs one action in the runbook's environment.
func (h *Handler) run(ctx context.Context, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident, act policy.Action, done []ActionResult) (string, error) {
	app, _ := h.c.Policy.App(rb.App)
	env, _ := app.Environment(rb.Env)
	var (
		out remediate.Outcome
		err error
	)
	c := h.c.Clients(app.Name, env.Account, env.Region)
	switch {
	case (act.ECSRedeploy != nil || act.ECSScale != nil) && c.ECS == nil,
		act.LambdaAliasRollback != nil && c.Lambda == nil,
		act.SSMAutomation != nil && c.SSM == nil:
		return "", fmt.Errorf("%w: no client for %s in %s/%s", remediate.ErrRefused, actionName(act), env.Account, env.Region)
	}
	switch {
	case act.Rollback != nil:
		return h.c.Rollback.Rollback(ctx, app, env, fmt.Sprintf("alarm %s (incident %s, runbook %s)", s.Name, inc.ID, rb.Name))
	case act.ECSRedeploy != nil:
		out, err = remediate.ECSRedeploy(ctx, c.ECS, *act.ECSRedeploy, env)
	case act.ECSScale != nil:
		out, err = remediate.ECSScale(ctx, c.ECS, *act.ECSScale, env)
	case act.LambdaAliasRollback != nil:
		out, err = remediate.LambdaAliasRollback(ctx, c.Lambda, *act.LambdaAliasRollback, env)
	case act.SSMAutomation != nil:
		out, err = remediate.SSMAutomation(ctx, c.SSM, *act.SSMAutomation, remediateAlarm(s))
	case act.Notify != nil:
		return h.notify(ctx, s, rb, inc, done)
	}
	return out.Detail, err
}

func remediateAlarm(s alarm.StateChange) remediate.Alarm {
	a := remediate.Alarm{Name: s.Name, ARN: s.ARN, Account: s.Account, Region: s.Region, State: s.State, Reason: s.Reason}
	if len(s.Metrics) > 0 {
		a.Namespace, a.Metric, a.Dimensions = s.Metrics[0].Namespace, s.Metrics[0].Name, s.Metrics[0].Dimensions
	}
	return a
}

// notify tells people: the alarm, the incident, the environment's recent
// deployments and the actions taken so far.
func (h *Handler) notify(ctx context.Context, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident, done []ActionResult) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Alarm %s is %s in %s/%s (account %s, %s).\n%s\n\n", s.Name, s.State, rb.App, rb.Env, s.Account, s.Region, s.Reason)
	fmt.Fprintf(&b, "Incident %s opened %s", inc.ID, inc.At.UTC().Format(time.RFC3339))
	if inc.DeploymentID != "" {
		fmt.Fprintf(&b, ", blamed on deployment %s of %s", inc.DeploymentID, inc.Digest)
	}
	b.WriteString(".\n\nRecent deployments:\n")
	deps, err := h.c.Ledger.Deployments(ctx, rb.App, rb.Env, s.StateTime.Add(-24*time.Hour), s.StateTime.Add(time.Nanosecond))
	if err != nil {
		return "", err
	}
	if len(deps) == 0 {
		b.WriteString("  none in the last 24 hours\n")
	}
	for _, d := range deps {
		fmt.Fprintf(&b, "  %s  %s  %s\n", d.At.UTC().Format(time.RFC3339), d.Digest, d.Status)
	}
	b.WriteString("\nActions taken:\n")
	if len(done) == 0 {
		b.WriteString("  none before this notification\n")
	}
	for _, a := range done {
		fmt.Fprintf(&b, "  %s: %s %s\n", a.Action, a.Outcome, a.Detail)
	}
	subject := fmt.Sprintf("Highway incident %s: %s in %s/%s", inc.ID, s.Name, rb.App, rb.Env)
	if _, err := h.c.Notify.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(h.c.Topic),
		Subject: aws.String(report.Shorten(subject, 100)), Message: aws.String(b.String())}); err != nil {
		return "", err
	}
	return "notified " + h.c.Topic, nil
}

// needsHuman tells people the breaker stopped Highway from acting.
func (h *Handler) needsHuman(ctx context.Context, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident) {
	subject := fmt.Sprintf("Highway needs a human: %s/%s", rb.App, rb.Env)
	msg := fmt.Sprintf("Alarm %s fired (incident %s), but remediations in %s/%s failed too often: Highway stopped acting there. Look at the environment.\n",
		s.Name, inc.ID, rb.App, rb.Env)
	if _, err := h.c.Notify.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(h.c.Topic), Subject: aws.String(subject), Message: aws.String(msg)}); err != nil {
		slog.ErrorContext(ctx, "needs-a-human notification lost", "incident", inc.ID, "error", err)
	}
}

// actionName is an action's policy key.
func actionName(a policy.Action) string {
	switch {
	case a.Rollback != nil:
		return "rollback"
	case a.ECSRedeploy != nil:
		return "ecs-redeploy"
	case a.ECSScale != nil:
		return "ecs-scale"
	case a.LambdaAliasRollback != nil:
		return "lambda-alias-rollback"
	case a.SSMAutomation != nil:
		return "ssm-automation"
	case a.Notify != nil:
		return "notify"
	}
	return "unknown"
}
