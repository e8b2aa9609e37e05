// Package gating runs Highway's build gate on the events that finish a build: a
// CodeBuild build state change (Builds) and a CodePipeline Lambda invoke action
// (Jobs). Each gathers the build's evidence, asks gate.Evaluate, records the
// decision once (keyed by the build or job id), announces it on the bus, and
// enforces it: a failed build's pipeline execution is stopped, a job is answered.
//
// Delivery is at least once. The decision carries what has been done (Announced,
// Enforced), so a redelivery after a partial failure finishes the remaining
// effects and never repeats a finished one, nor writes a second decision. Of
// deliveries that race, only the one that claims the decision acts on it; the
// others do nothing and ask for a retry (ErrSettling).
package gating

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/telemetry"
)

// DetailTypeGateDecided is the domain event of every gate decision.
const DetailTypeGateDecided = route.DetailTypeGateDecided

// Outcome says what became of one event.
type Outcome string

// The outcomes of a gating event.
const (
	// OutcomeDecided: the build was judged now.
	OutcomeDecided Outcome = "decided"
	// OutcomeDuplicate: the build was judged before; remaining effects were finished.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeIgnored: the event is not for the gate; Reason says why.
	OutcomeIgnored Outcome = "ignored"
)

// Result is a handler's answer for one event, logged and returned to Lambda.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Reason explains an ignored event.
	Reason string `json:"reason,omitempty"`
	// App, Build and Verdict identify the decision.
	App     string         `json:"app,omitempty"`
	Build   string         `json:"build,omitempty"`
	Verdict ledger.Verdict `json:"verdict,omitempty"`
	// Enforcement says what was done about the decision.
	Enforcement string `json:"enforcement,omitempty"`
}

// notifier is the part of the SNS client the gate uses to tell people.
type notifier interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ notifier = (*sns.Client)(nil)

// Decided is the detail of a "Gate Decided" event: the whole decision.
type Decided struct {
	App     string               `json:"app"`
	Build   string               `json:"build"`
	Commit  string               `json:"commit,omitempty"`
	Digest  string               `json:"digest,omitempty"`
	Verdict ledger.Verdict       `json:"verdict"`
	Checks  []ledger.CheckResult `json:"checks"`
	// Artifact locates what the build produced, for promotion.
	Artifact *ledger.ArtifactRef `json:"artifact,omitempty"`
}

// core is what both triggers share: where decisions go and who hears of them.
type core struct {
	policy  *policy.Policy
	ledger  ledger.Ledger
	bus     bus.Publisher
	notify  notifier
	topic   string
	now     func() time.Time
	metrics telemetry.Putter
	limits  evidence.Limits
}

// Option configures a gate handler.
type Option func(*core)

// WithMetrics counts the decisions in m (telemetry.MetricGatePassed); without it they
// are not counted.
func WithMetrics(m telemetry.Putter) Option { return func(c *core) { c.metrics = m } }

// WithArtifactLimits bounds what reading one build artifact may cost; give it
// evidence.LimitsForMemory of the function's memory. Without it, the limits
// are those of evidence.DefaultMemoryMB.
func WithArtifactLimits(l evidence.Limits) Option { return func(c *core) { c.limits = l } }

// newCore returns the core of a handler.
func newCore(p *policy.Policy, l ledger.Ledger, b bus.Publisher, n notifier, topic string, opts []Option) core {
	c := core{policy: p, ledger: l, bus: b, notify: n, topic: topic, now: time.Now,
		limits: evidence.LimitsFor(evidence.DefaultMemoryMB)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// record stores d once under key and returns the decision that stands (the first
// one, on a redelivery) and whether it was stored now.
func (c *core) record(ctx context.Context, key string, d *ledger.GateDecision) (*ledger.GateDecision, bool, error) {
	stored, created, err := ledger.RecordOnce(ctx, c.ledger, key, 0, d)
	if err != nil {
		return nil, false, fmt.Errorf("record decision %s: %w", d.ID, err)
	}
	if created && c.metrics != nil {
		passed := 0.0
		if stored.Verdict == ledger.VerdictPass {
			passed = 1
		}
		if err := c.metrics.Put(telemetry.MetricGatePassed, passed, telemetry.None, telemetry.Dimensions{telemetry.DimApp: stored.App}); err != nil {
			slog.WarnContext(ctx, "gate metric not written", "error", err)
		}
	}
	return stored, created, nil
}

// decided returns the decision recorded for build id of commit, nil when
// there is none yet.
func (c *core) decided(ctx context.Context, commit, id string) (*ledger.GateDecision, error) {
	if commit == "" {
		return nil, nil
	}
	recs, err := c.ledger.ByCommit(ctx, commit)
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("decision of %s: %w", id, err)
	}
	for _, r := range recs {
		if d, ok := r.(*ledger.GateDecision); ok && d.ID == id {
			return d, nil
		}
	}
	return nil, nil
}

// ErrSettling is the error of a delivery that found another one settling the
// same decision: it did nothing, and a retry will find the effects done, or
// take over the claim of a delivery that died. (Acknowledging instead could
// lose the effects: the retry of a delivery that crashed may come while its
// claim still looks alive.)
var ErrSettling = errors.New("another delivery is settling the decision")

// claimFor is how long a delivery holds the claim on a decision before
// another may take it over: longer than the gate's timeout, so a live
// delivery never loses it. The delivery's own retry (the same Lambda
// request) takes it over at once.
const claimFor = 2 * time.Minute

// settle finishes the effects of the decision recorded under key that are not
// done yet: the announcement, then enforce. Each effect is claimed, then done:
// the delivery takes the decision's claim (a ledger lock named by key, taken
// with a conditional write), reads the decision again when another delivery
// held the claim before, and records each effect on the decision as soon as it
// is done. A concurrent delivery finds the claim held and does nothing
// (ErrSettling); a retry after a crash takes over the claim once it expires and
// resumes what was not recorded done. An error leaves the rest for the retry.
// It returns the decision as it stands.
func (c *core) settle(ctx context.Context, key string, d *ledger.GateDecision, enforce func(context.Context, *ledger.GateDecision) (string, error)) (*ledger.GateDecision, error) {
	if d.Announced && d.Enforced {
		return d, nil
	}
	claims := &ledger.Claims{Ledger: c.ledger, Now: c.now, Holder: ledger.HolderOf(ctx), Lease: claimFor}
	lock, state, err := claims.Claim(ctx, "claim:"+key, key, d.App)
	switch {
	case err != nil:
		return d, err
	case state != ledger.ClaimHeld:
		return d, fmt.Errorf("%w: %s is claimed until %s", ErrSettling, key, lock.Until.UTC().Format(time.RFC3339))
	}
	// A delivery that held the claim before may have done some effects.
	stored, _, err := ledger.RecordOnce(ctx, c.ledger, key, 0, d)
	if err != nil {
		claims.Release(ctx, lock)
		return d, fmt.Errorf("read decision %s: %w", key, err)
	}
	d = stored
	if !d.Announced {
		err := c.bus.Publish(ctx, bus.Event{DetailType: DetailTypeGateDecided, Time: d.At, Detail: Decided{
			App: d.App, Build: d.ID, Commit: d.Commit, Digest: d.Digest, Verdict: d.Verdict, Checks: d.Checks, Artifact: d.Artifact,
		}})
		if err != nil {
			claims.Release(ctx, lock)
			return d, fmt.Errorf("announce decision %s: %w", d.ID, err)
		}
		d.Announced = true
		if err := c.done(ctx, d); err != nil {
			return d, err
		}
	}
	if !d.Enforced {
		what, err := enforce(ctx, d)
		if err != nil {
			claims.Release(ctx, lock)
			return d, fmt.Errorf("enforce decision %s: %w", d.ID, err)
		}
		d.Enforced, d.Enforcement = true, what
		if err := c.done(ctx, d); err != nil {
			return d, err
		}
	}
	claims.Release(ctx, lock)
	return d, nil
}

// done records on d an effect just done, under the claim. Its claim is not
// released when this fails: the retry that takes it over resumes from what is
// recorded.
func (c *core) done(ctx context.Context, d *ledger.GateDecision) error {
	if err := c.ledger.Update(ctx, d); err != nil {
		// ErrStale too: the claim expired and another delivery took it over.
		return fmt.Errorf("record effects of %s: %w", d.ID, err)
	}
	return nil
}

// tell publishes a failed decision to the notification topic.
func (c *core) tell(ctx context.Context, d *ledger.GateDecision, what string) error {
	if c.topic == "" {
		return nil
	}
	subject := fmt.Sprintf("Highway gate FAILED: %s %s", d.App, short(d.Commit))
	_, err := c.notify.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(c.topic),
		Subject:  aws.String(report.Shorten(subject, 100)),
		Message:  aws.String(Explain(d) + "\n" + what + "\n"),
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// Explain renders a decision for people: the verdict, then one line per check.
func Explain(d *ledger.GateDecision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Gate %s for %s build %s", strings.ToUpper(string(d.Verdict)), d.App, d.ID)
	if d.Commit != "" {
		fmt.Fprintf(&b, " (commit %s)", short(d.Commit))
	}
	b.WriteString("\n")
	for _, c := range d.Checks {
		mark := "PASS"
		switch {
		case c.Waived:
			mark = "WAIVED"
		case !c.Passed:
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %-6s %-10s %s", mark, c.Name, c.Reason)
		if c.Input != "" {
			fmt.Fprintf(&b, " [%s]", c.Input)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// failures summarizes the failed, unwaived checks in one line.
func failures(d *ledger.GateDecision) string {
	var parts []string
	for _, c := range d.Checks {
		if !c.Passed && !c.Waived {
			parts = append(parts, c.Name+": "+c.Reason)
		}
	}
	return strings.Join(parts, "; ")
}

// baseline reads the timing baseline of an app's branch.
func (c *core) baseline(ctx context.Context, app, branch string) (*ledger.Baseline, error) {
	rec, err := c.ledger.Latest(ctx, ledger.KindBaseline, app+"/"+branch)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, ok := rec.(*ledger.Baseline)
	if !ok {
		return nil, fmt.Errorf("baseline %s/%s: found a %T", app, branch, rec)
	}
	return b, nil
}

// learn adds a passing build's timings to its branch's baseline, retrying when a
// concurrent build of the same branch got there first.
func (c *core) learn(ctx context.Context, app, branch string, r *policy.Regression, tests report.Tests) error {
	for range 3 {
		stored, err := c.baseline(ctx, app, branch)
		if err != nil {
			return err
		}
		var current *gate.Baseline
		if stored != nil {
			current = &gate.Baseline{Suite: stored.Suite, Tests: stored.Tests}
		}
		next := current.Add(tests, r.Builds, r.MinDuration) // zero values take the defaults
		if stored == nil {
			err = c.ledger.Put(ctx, &ledger.Baseline{
				Header: ledger.Header{ID: app + "/" + branch, App: app, At: c.now()},
				Suite:  next.Suite, Tests: next.Tests,
			})
		} else {
			stored.Suite, stored.Tests = next.Suite, next.Tests
			err = c.ledger.Update(ctx, stored)
		}
		if !errors.Is(err, ledger.ErrStale) && !errors.Is(err, ledger.ErrExists) {
			return err
		}
	}
	return fmt.Errorf("baseline %s/%s: too many concurrent updates", app, branch)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// logDecision logs a decision with its verdict and failures.
func logDecision(ctx context.Context, d *ledger.GateDecision, outcome Outcome) {
	slog.InfoContext(ctx, "gate decided", "outcome", outcome, "app", d.App, "build", d.ID,
		"verdict", d.Verdict, "failures", failures(d), "enforcement", d.Enforcement)
}
