package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
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
	ActionSkipped     = "skipped"     // an earlier action failed or was stopped
	ActionSuppressed  = "suppressed"  // CloudWatch suppressed the alarm's actions
	ActionPending     = "pending"     // a retry can fix what stopped it: the invocation's retry runs it
	ActionInProgress  = "in-progress" // another delivery runs it
)

// Rollbacker asks promotion to put an environment back on the artifact it
// ran before; the answer says what was asked, in one line. An error that
// wraps remediate.ErrRefused fails the action; any other is one the
// invocation's retry can fix (the rollback is asked again then).
type Rollbacker interface {
	Rollback(ctx context.Context, app *policy.App, env *policy.Environment, req RollbackRequest) (string, error)
}

// RollbackRequest is the detail of a Rollback Requested event
// (route.DetailTypeRollbackRequested).
type RollbackRequest struct {
	App    string `json:"app"`
	Env    string `json:"env"`
	Reason string `json:"reason"`
	// Incident is the incident the rollback answers: promotion rolls an
	// environment back once per incident, however often the request is
	// delivered, and whenever.
	Incident string `json:"incident,omitempty"`
	// AlarmAt is when the alarm went into ALARM: a deployment started after
	// it is not the one to blame.
	AlarmAt time.Time `json:"alarmAt,omitzero"`
}

// RollbackByEvent asks for rollbacks on the bus: the promote function, which
// alone deploys, performs them, so the respond function needs no deploy
// permissions and the ledger stays the one truth.
type RollbackByEvent struct {
	Bus bus.Publisher
	Now func() time.Time
}

// Rollback publishes Rollback Requested.
func (r RollbackByEvent) Rollback(ctx context.Context, app *policy.App, env *policy.Environment, req RollbackRequest) (string, error) {
	at := time.Now()
	if r.Now != nil {
		at = r.Now()
	}
	req.App, req.Env = app.Name, env.Name
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
	// deliveries numbers the deliveries handled outside Lambda, whose
	// context carries no request id to name them by.
	deliveries atomic.Uint64
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

// The outcomes of Handle.
const (
	OutcomeUnmatched = "unmatched" // no runbook matches the alarm
	OutcomeRecorded  = "recorded"  // INSUFFICIENT_DATA: logged, nothing done
	OutcomeOpened    = "opened"    // ALARM: this delivery opened the incident
	OutcomeResumed   = "resumed"   // ALARM: this delivery did steps an earlier one left
	OutcomeResolved  = "resolved"  // OK
	OutcomeDuplicate = "duplicate" // nothing left to do: the transition was answered, or another delivery holds what is left
)

// Result is the answer to one alarm event.
type Result struct {
	// Outcome is one of the Outcome constants.
	Outcome  string          `json:"outcome"`
	Alarm    string          `json:"alarm"`
	State    string          `json:"state"`
	Runbooks []RunbookResult `json:"runbooks,omitempty"`
}

// RunbookResult is what one matched runbook did.
type RunbookResult struct {
	Runbook  string `json:"runbook"`
	Incident string `json:"incident,omitempty"`
	// Suppressed says why CloudWatch suppressed the alarm's actions, when it
	// did: then the incident is opened and no action runs.
	Suppressed string `json:"suppressed,omitempty"`
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

// delivery is one delivery of an alarm transition's event: its claims on
// the response's steps, and what it found and did.
type delivery struct {
	claims
	opened bool // it opened an incident
	acted  bool // it ran a step
	// unfinished: a step is left, to another delivery that holds it or to
	// the invocation's retry.
	unfinished bool
}

// Handle answers one "CloudWatch Alarm State Change" event. The runbooks
// that match the alarm each answer once per transition, however often the
// event is delivered: ALARM opens an incident in the runbook's environment
// and runs its actions in order, each through the guards (none while
// CloudWatch suppresses the alarm's actions); OK resolves the incident;
// INSUFFICIENT_DATA is logged and acts on nothing.
//
// Each step of the response (the incident's notice, each action, each
// resolution) is claimed, then recorded done, on the ledger: a concurrent
// delivery leaves a step another delivery holds to it, and a retry resumes
// what did not finish and never repeats what was done. A step that failed
// in a way a retry can fix (a bus, SNS, ledger or AWS error that is not a
// refusal) is released and Handle returns an error, after recording what
// was done, so that Lambda retries the invocation.
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
		res.Outcome = OutcomeUnmatched
		slog.InfoContext(ctx, "alarm matches no runbook", "alarm", s.Name, "state", s.State)
		return res, nil
	}
	if s.State == alarm.StateInsufficientData {
		res.Outcome = OutcomeRecorded
		slog.InfoContext(ctx, "alarm has insufficient data: nothing done", "alarm", s.Name, "runbooks", len(runbooks))
		return res, nil
	}
	d := &delivery{claims: newClaims(h.c.Ledger, h.c.Now, h.holder(ctx, ev))}
	t, answered, err := d.transition(ctx, s)
	if err != nil {
		return Result{}, err
	}
	if answered {
		res.Outcome = OutcomeDuplicate
		return res, nil
	}
	var errs []error
	for _, rb := range runbooks {
		var rr RunbookResult
		var err error
		if s.State == alarm.StateOK {
			rr, err = h.resolve(ctx, d, s, rb)
		} else {
			rr, err = h.open(ctx, d, s, rb)
		}
		res.Runbooks = append(res.Runbooks, rr)
		errs = append(errs, err)
	}
	switch {
	case s.State == alarm.StateOK:
		res.Outcome = OutcomeResolved
	case d.opened:
		res.Outcome = OutcomeOpened
	case d.acted:
		res.Outcome = OutcomeResumed
	default:
		res.Outcome = OutcomeDuplicate
	}
	if err := errors.Join(errs...); err != nil || d.unfinished {
		return res, err
	}
	d.answered(ctx, t)
	return res, nil
}

// holder names this delivery for its claims: the Lambda request id, which
// Lambda's retries of an asynchronous invocation keep; outside Lambda, the
// event id and a number of this Handler's own.
func (h *Handler) holder(ctx context.Context, ev events.CloudWatchEvent) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return fmt.Sprintf("%s#%d", ev.ID, h.deliveries.Add(1))
}

// transition records the alarm transition (its key: alarm ARN, state and
// state timestamp) on first delivery, and says whether its response is
// finished, so a redelivery of an answered transition costs one write.
func (d *delivery) transition(ctx context.Context, s alarm.StateChange) (*ledger.Lock, bool, error) {
	key := "alarm:" + s.Key()
	t := &ledger.Lock{Header: ledger.Header{ID: key, At: d.Now()}, Holder: d.Holder}
	stored, _, err := ledger.RecordOnce(ctx, d.Ledger, key, transitionTTL, t)
	if err != nil {
		return nil, false, fmt.Errorf("record transition %s: %w", s.Key(), err)
	}
	// A token of the same key with another id was written by an earlier
	// version of this function, which recorded no steps and never answered
	// a transition twice: its redeliveries stay duplicates.
	return stored, stored.Holder == finished || stored.ID != key, nil
}

// answered marks the transition's response finished. A failure is only
// logged: a redelivery then finds every step done.
func (d *delivery) answered(ctx context.Context, t *ledger.Lock) {
	t.Holder = finished
	if err := d.Ledger.Update(ctx, t); err != nil && !errors.Is(err, ledger.ErrStale) {
		slog.WarnContext(ctx, "transition not marked answered", "transition", t.ID, "error", err)
	}
}

// stepKey is the idempotency key of a step of a runbook's response to the
// transition.
func stepKey(s alarm.StateChange, rb *policy.Runbook, step string) string {
	return s.Key() + "|" + rb.App + "/" + rb.Env + "|" + rb.Name + "|" + step
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
	// ActionsSuppressedBy and ActionsSuppressedReason are the alarm's, when
	// CloudWatch suppressed its actions (alarm.SuppressedByWaitPeriod, ...):
	// then the runbook's actions did not run.
	ActionsSuppressedBy     string `json:"actionsSuppressedBy,omitempty"`
	ActionsSuppressedReason string `json:"actionsSuppressedReason,omitempty"`
	// TimeToRestoreSeconds is how long the incident was open, once resolved.
	TimeToRestoreSeconds float64 `json:"timeToRestoreSeconds,omitempty"`
}

// resolve resolves the incidents the alarm opened in the runbook's
// environment. Each resolution is a step: its notice goes out first, then
// the incident is marked resolved, so a notice that failed leaves the
// incident open for the retry to find (a retry after a failed write of the
// incident may repeat the notice).
func (h *Handler) resolve(ctx context.Context, d *delivery, s alarm.StateChange, rb *policy.Runbook) (RunbookResult, error) {
	rr := RunbookResult{Runbook: rb.Name}
	open, err := IncidentsToResolve(ctx, h.c.Ledger, s, rb.App, rb.Env)
	if err != nil {
		d.unfinished = true
		return rr, err
	}
	var errs []error
	for _, inc := range open {
		lock, state, err := d.claim(ctx, "resolve|"+inc.ID, inc.ID+"-resolved")
		if err != nil || state != claimHeld {
			d.unfinished = d.unfinished || err != nil || state == claimBusy
			errs = append(errs, err)
			continue
		}
		d.acted = true
		restored := s.StateTime.Sub(inc.At)
		n := IncidentNotice{Incident: inc.ID, App: inc.App, Env: inc.Env, Alarm: s.Name, Runbook: rb.Name,
			Deployment: inc.DeploymentID, Digest: inc.Digest, TimeToRestoreSeconds: restored.Seconds()}
		if err := h.c.Bus.Publish(ctx, bus.Event{DetailType: DetailTypeIncidentResolved, Detail: n, Time: s.StateTime}); err != nil {
			d.release(ctx, lock)
			d.unfinished = true
			errs = append(errs, fmt.Errorf("announce resolution of incident %s: %w", inc.ID, err))
			continue
		}
		if err := ResolveIncident(ctx, h.c.Ledger, inc, s.StateTime); err != nil {
			d.release(ctx, lock)
			d.unfinished = true
			errs = append(errs, err)
			continue
		}
		if err := d.done(ctx, lock); err != nil {
			d.unfinished = true
			errs = append(errs, err)
		}
		rr.Incident, rr.Restored = inc.ID, restored
		rr.TimeToRestore = restored.Round(time.Second).String()
		slog.InfoContext(ctx, "incident resolved", "incident", inc.ID, "timeToRestore", restored)
	}
	return rr, errors.Join(errs...)
}

// open opens the transition's incident in the runbook's environment,
// announces it and runs the runbook's actions in order: an action that
// failed, was stopped by a guard, is left for a retry or runs in another
// delivery stops the ones after it (skipped). The actions do not wait for
// the notice: a notice that failed is sent by the retry.
func (h *Handler) open(ctx context.Context, d *delivery, s alarm.StateChange, rb *policy.Runbook) (RunbookResult, error) {
	rr := RunbookResult{Runbook: rb.Name}
	rr.Suppressed, _ = s.Suppressed()
	inc, created, err := OpenIncident(ctx, h.c.Ledger, s, rb.App, rb.Env, orDefault(h.c.Policy.Alarms.IncidentWindow, policy.DefaultIncidentWindow))
	if err != nil {
		d.unfinished = true
		return rr, err
	}
	d.opened = d.opened || created
	rr.Incident = inc.ID
	busy, err := h.announce(ctx, d, s, rb, inc)
	if busy {
		return rr, nil // the delivery that holds the notice runs the actions after it
	}
	errs := []error{err}
	stopped := ""
	for i, act := range rb.Actions {
		name := actionName(act)
		if stopped != "" {
			rr.Actions = append(rr.Actions, ActionResult{Action: name, Outcome: ActionSkipped, Detail: stopped})
			continue
		}
		ar, err := h.step(ctx, d, s, rb, inc, i, act, rr.Actions)
		rr.Actions = append(rr.Actions, ar)
		errs = append(errs, err)
		switch ar.Outcome {
		case ActionFailed, ActionRateLimited, ActionBreakerOpen, ActionPending, ActionInProgress:
			stopped = fmt.Sprintf("%s %s", name, ar.Outcome)
		}
	}
	return rr, errors.Join(errs...)
}

// announce publishes the runbook's Incident Opened, once; busy when another
// delivery holds the step.
func (h *Handler) announce(ctx context.Context, d *delivery, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident) (busy bool, err error) {
	lock, state, err := d.claim(ctx, stepKey(s, rb, "opened"), inc.ID+"-"+rb.Name+"-opened")
	if err != nil || state != claimHeld {
		d.unfinished = d.unfinished || err != nil || state == claimBusy
		return state == claimBusy, err
	}
	d.acted = true
	n := IncidentNotice{Incident: inc.ID, App: rb.App, Env: rb.Env, Alarm: s.Name, Runbook: rb.Name, Deployment: inc.DeploymentID, Digest: inc.Digest}
	if _, suppressed := s.Suppressed(); suppressed {
		n.ActionsSuppressedBy, n.ActionsSuppressedReason = s.ActionsSuppressedBy, s.ActionsSuppressedReason
	}
	if err := h.c.Bus.Publish(ctx, bus.Event{DetailType: DetailTypeIncidentOpened, Detail: n, Time: s.StateTime}); err != nil {
		d.release(ctx, lock)
		d.unfinished = true
		return false, fmt.Errorf("announce incident %s: %w", inc.ID, err)
	}
	if err := d.done(ctx, lock); err != nil {
		d.unfinished = true
		return false, err
	}
	return false, nil
}

// remediationID names the remediation of action i of a runbook for an
// incident: the id of its record, its claim and its guard tokens.
func remediationID(inc *ledger.Incident, rb *policy.Runbook, i int) string {
	return fmt.Sprintf("%s-%s-%d", inc.ID, rb.Name, i)
}

// step is action i of a runbook, as one step of the response: claimed,
// run through the guards, its outcome recorded as a remediation (but for a
// cooldown, which is not one), announced (Remediation Ran), then marked
// done. A delivery that finds the remediation recorded does not run the
// action again: it only finishes the step. An error is for the retry: the
// action is then ActionPending (not run, or run but not recorded), or has
// its outcome with only its announcement left.
func (h *Handler) step(ctx context.Context, d *delivery, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident, i int, act policy.Action, done []ActionResult) (ActionResult, error) {
	name := actionName(act)
	key := stepKey(s, rb, fmt.Sprintf("%d:%s", i, name))
	id := remediationID(inc, rb, i)
	pending := func(lock *ledger.Lock, err error) (ActionResult, error) {
		if lock != nil {
			d.release(ctx, lock)
		}
		d.unfinished = true
		return ActionResult{Action: name, Outcome: ActionPending, Detail: err.Error()}, fmt.Errorf("runbook %s, %s: %w", rb.Name, name, err)
	}
	lock, state, err := d.claim(ctx, key, id)
	switch {
	case err != nil:
		return pending(nil, err)
	case state == claimBusy:
		d.unfinished = true
		return ActionResult{Action: name, Outcome: ActionInProgress, Detail: "another delivery runs it"}, nil
	}
	r, err := h.remediation(ctx, id)
	switch {
	case err != nil && state == claimDone:
		return pending(nil, err) // its outcome decides whether the actions after it run
	case err != nil:
		return pending(lock, err)
	case state == claimDone && r == nil:
		return ActionResult{Action: name, Outcome: ActionCooldown}, nil
	case state == claimDone:
		return outcomeOf(r), nil
	}
	d.acted = true
	if r == nil { // not run yet, or its delivery died running it
		ar, err := h.act(ctx, s, rb, inc, i, act, done)
		if err != nil {
			return pending(lock, err)
		}
		slog.InfoContext(ctx, "runbook action", "runbook", rb.Name, "incident", inc.ID, "action", name, "outcome", ar.Outcome, "detail", ar.Detail)
		if ar.Outcome == ActionCooldown { // not a remediation: nothing to record
			if err := d.done(ctx, lock); err != nil {
				d.unfinished = true
				return ar, err
			}
			return ar, nil
		}
		r = &ledger.Remediation{Header: ledger.Header{ID: id, App: rb.App, Env: rb.Env, Digest: inc.Digest, At: h.c.Now()},
			IncidentID: inc.ID, Action: name, DryRun: ar.Outcome == ActionDryRun, Failed: ar.Outcome == ActionFailed, Result: resultLine(ar)}
		if r, _, err = ledger.RecordOnce(ctx, h.c.Ledger, "remediation:"+key, transitionTTL, r); err != nil {
			return pending(lock, fmt.Errorf("%s, not recorded: %w", resultLine(ar), err))
		}
	}
	ar := outcomeOf(r)
	if err := h.c.Bus.Publish(ctx, bus.Event{DetailType: DetailTypeRemediation, Detail: r, Time: r.At}); err != nil {
		d.release(ctx, lock)
		d.unfinished = true
		return ar, fmt.Errorf("announce remediation %s: %w", id, err)
	}
	if err := d.done(ctx, lock); err != nil {
		d.unfinished = true
		return ar, err
	}
	return ar, nil
}

// remediation returns the remediation recorded under id, or nil.
func (h *Handler) remediation(ctx context.Context, id string) (*ledger.Remediation, error) {
	rec, err := h.c.Ledger.Latest(ctx, ledger.KindRemediation, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, ok := rec.(*ledger.Remediation)
	if !ok {
		return nil, fmt.Errorf("remediation %s: a %T", id, rec)
	}
	return r, nil
}

// resultLine is how a remediation record says an action's outcome;
// outcomeOf reads it back.
func resultLine(ar ActionResult) string {
	if ar.Detail == "" {
		return ar.Outcome
	}
	return ar.Outcome + ": " + ar.Detail
}

func outcomeOf(r *ledger.Remediation) ActionResult {
	outcome, detail, _ := strings.Cut(r.Result, ": ")
	return ActionResult{Action: r.Action, Outcome: outcome, Detail: detail}
}

// act decides one action through the guards and, if they let it, runs it.
// Nothing runs while CloudWatch suppresses the alarm's actions. An error is
// one a retry can fix, and the action did not run: a guard's or the
// ledger's error, or the action's own unless it wraps remediate.ErrRefused
// (then the action failed, which counts for the breaker).
func (h *Handler) act(ctx context.Context, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident, i int, act policy.Action, done []ActionResult) (ActionResult, error) {
	ar := ActionResult{Action: actionName(act)}
	if why, suppressed := s.Suppressed(); suppressed {
		ar.Outcome, ar.Detail = ActionSuppressed, why
		return ar, nil
	}
	holder := remediationID(inc, rb, i)
	open, err := h.guards.BreakerOpen(ctx, rb.App, rb.Env)
	if err != nil {
		return ar, err
	}
	if open {
		if err := h.needsHuman(ctx, s, rb, inc); err != nil {
			return ar, err
		}
		ar.Outcome, ar.Detail = ActionBreakerOpen, "too many failed remediations: a human is needed"
		return ar, nil
	}
	ok, err := h.guards.Cooldown(ctx, s.ARN, rb.Name, i, rb.Cooldown, holder)
	if err != nil {
		return ar, err
	}
	if !ok {
		ar.Outcome = ActionCooldown
		return ar, nil
	}
	if act.Notify == nil { // notifications are not remediations: they take no slot
		ok, err := h.guards.Slot(ctx, rb.App, rb.Env, holder)
		if err != nil {
			return ar, err
		}
		if !ok {
			ar.Outcome = ActionRateLimited
			return ar, nil
		}
	}
	if h.c.Policy.Alarms.DryRun || rb.DryRun {
		ar.Outcome, ar.Detail = ActionDryRun, "would run "+ar.Action
		return ar, nil
	}
	detail, err := h.run(ctx, s, rb, inc, act, done)
	switch {
	case errors.Is(err, remediate.ErrRefused):
		ar.Outcome, ar.Detail = ActionFailed, err.Error()
	case err != nil:
		return ar, err
	default:
		ar.Outcome, ar.Detail = ActionDone, detail
	}
	return ar, nil
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
		(act.AppRunnerRedeploy != nil || act.AppRunnerPause != nil || act.AppRunnerResume != nil) && c.AppRunner == nil,
		(act.EKSRolloutRestart != nil || act.EKSScale != nil) && c.Kube == nil,
		act.LambdaAliasRollback != nil && c.Lambda == nil,
		act.SSMAutomation != nil && c.SSM == nil:
		return "", fmt.Errorf("%w: no client for %s in %s/%s", remediate.ErrRefused, actionName(act), env.Account, env.Region)
	}
	switch {
	case act.Rollback != nil:
		return h.c.Rollback.Rollback(ctx, app, env, RollbackRequest{
			Reason:   fmt.Sprintf("alarm %s (incident %s, runbook %s)", s.Name, inc.ID, rb.Name),
			Incident: inc.ID, AlarmAt: s.StateTime,
		})
	case act.ECSRedeploy != nil:
		out, err = remediate.ECSRedeploy(ctx, c.ECS, *act.ECSRedeploy, env)
	case act.ECSScale != nil:
		out, err = remediate.ECSScale(ctx, c.ECS, *act.ECSScale, env)
	case act.AppRunnerRedeploy != nil:
		out, err = remediate.AppRunnerRedeploy(ctx, c.AppRunner, *act.AppRunnerRedeploy, env)
	case act.AppRunnerPause != nil:
		out, err = remediate.AppRunnerPause(ctx, c.AppRunner, *act.AppRunnerPause, env)
	case act.AppRunnerResume != nil:
		out, err = remediate.AppRunnerResume(ctx, c.AppRunner, *act.AppRunnerResume, env)
	case act.EKSRolloutRestart != nil:
		// Stamped with the alarm's state time, not the clock: a delivery
		// that runs it again, after one that restarted but could not record
		// it, writes the same restartedAt, and the pods roll once.
		out, err = remediate.EKSRolloutRestart(ctx, c.Kube, *act.EKSRolloutRestart, env, s.StateTime)
	case act.EKSScale != nil:
		out, err = remediate.EKSScale(ctx, c.Kube, *act.EKSScale, env)
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
func (h *Handler) needsHuman(ctx context.Context, s alarm.StateChange, rb *policy.Runbook, inc *ledger.Incident) error {
	subject := fmt.Sprintf("Highway needs a human: %s/%s", rb.App, rb.Env)
	msg := fmt.Sprintf("Alarm %s fired (incident %s), but remediations in %s/%s failed too often: Highway stopped acting there. Look at the environment.\n",
		s.Name, inc.ID, rb.App, rb.Env)
	if _, err := h.c.Notify.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(h.c.Topic), Subject: aws.String(subject), Message: aws.String(msg)}); err != nil {
		return fmt.Errorf("ask for a human: %w", err)
	}
	return nil
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
	case a.AppRunnerRedeploy != nil:
		return "apprunner-redeploy"
	case a.AppRunnerPause != nil:
		return "apprunner-pause"
	case a.AppRunnerResume != nil:
		return "apprunner-resume"
	case a.EKSRolloutRestart != nil:
		return "eks-rollout-restart"
	case a.EKSScale != nil:
		return "eks-scale"
	case a.LambdaAliasRollback != nil:
		return "lambda-alias-rollback"
	case a.SSMAutomation != nil:
		return "ssm-automation"
	case a.Notify != nil:
		return "notify"
	}
	return "unknown"
}
