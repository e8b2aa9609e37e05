// Package promotion moves one immutable artifact, by digest, through an app's
// environments in the policy's order: build once, deploy anywhere.
//
// A passed gate registers the artifact (a second, different digest for the
// same app and commit is refused as a rebuild) and requests its promotion to the
// first environment. A request waits until its time (the previous
// environment's soak) and its turn: promotions of one app and environment are
// serialized by a lock in the ledger, and a newer artifact supersedes an older
// one still waiting. An environment that requires approval hands the promotion
// to the approval workflow. A finished deployment is recorded; a success
// requests the next environment, a failure quarantines the artifact, which is
// then never promoted again. An alarm's runbook may roll an environment back:
// its current artifact is quarantined and the one it ran before is promoted
// into it again, at once; a deployment running when the alarm fires is the
// one rolled back.
//
// A promotion that ended without deploying (its approval expired or was
// rejected, its workflow failed, its preconditions refused it) stays as it
// ended; an operator asks for a new attempt (RequestAgain), which is a
// promotion of its own, with its own id and approval workflow.
package promotion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Domain events promotion publishes.
const (
	DetailTypeArtifactRegistered = "Artifact Registered"
	DetailTypeRebuildRefused     = "Rebuild Refused"
	DetailTypeArtifactPromoted   = "Artifact Promoted"
	DetailTypeDeploymentFinished = "Deployment Finished"
	DetailTypeArtifactQuarantine = "Artifact Quarantined"
)

// Errors the promotion flow reports.
var (
	// ErrRebuild: the app's commit already has an artifact with another digest.
	ErrRebuild = errors.New("rebuild refused")
	// ErrQuarantined: the artifact may not be promoted.
	ErrQuarantined = errors.New("artifact quarantined")
	// ErrNothingToRollBack: the environment has no earlier verified artifact.
	ErrNothingToRollBack = errors.New("nothing to roll back to")
	// ErrUngated: the ledger has no artifact of the digest, or no passed gate
	// decision for it.
	ErrUngated = errors.New("artifact not gated")
	// ErrUnverified: the artifact was not deployed successfully to the
	// environment before the one asked for.
	ErrUnverified = errors.New("artifact not verified")
	// ErrPromoted: the artifact was promoted into the environment already.
	ErrPromoted = errors.New("artifact already promoted")
)

// lockTTL is how long a deployment may hold its environment before another
// promotion may take it: longer than any deployment Highway waits for.
const lockTTL = 2 * time.Hour

// window is how far back the promotions of an environment are read.
const window = 30 * 24 * time.Hour

// maxAttempts bounds the attempts RequestAgain numbers for one artifact and
// environment.
const maxAttempts = 50

// Deployers gives the deployer of an app's environment, acting in its account.
type Deployers func(app *policy.App, env *policy.Environment) (deploy.Deployer, error)

// workflowStarter is the part of the Step Functions client that starts the
// approval workflow.
type workflowStarter interface {
	StartExecution(ctx context.Context, params *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

var _ workflowStarter = (*sfn.Client)(nil)

// Promoter drives promotions.
type Promoter struct {
	policy       *policy.Policy
	ledger       ledger.Ledger
	bus          bus.Publisher
	deployers    Deployers
	workflow     workflowStarter
	stateMachine string
	now          func() time.Time
	metrics      telemetry.Putter
}

// WithMetrics makes Tick write telemetry.MetricApprovalsWaiting to m.
func WithMetrics(m telemetry.Putter) Option { return func(p *Promoter) { p.metrics = m } }

// Option configures a Promoter.
type Option func(*Promoter)

// WithClock sets the clock soak times and records are measured by (default
// time.Now); the local demo runs on a simulated one.
func WithClock(now func() time.Time) Option { return func(p *Promoter) { p.now = now } }

// New returns a promoter that records in l, announces on b, deploys with
// deployers, and starts approval workflows on the state machine with w.
func New(p *policy.Policy, l ledger.Ledger, b bus.Publisher, deployers Deployers, w workflowStarter, stateMachine string, opts ...Option) *Promoter {
	pr := &Promoter{policy: p, ledger: l, bus: b, deployers: deployers, workflow: w, stateMachine: stateMachine, now: time.Now}
	for _, o := range opts {
		o(pr)
	}
	return pr
}

// Register records the artifact a passed gate produced, once per app and
// commit. A redelivery returns the artifact already registered; another digest
// for the same app and commit is a rebuild: it is recorded quarantined, announced,
// and refused with ErrRebuild.
func (p *Promoter) Register(ctx context.Context, app, commit, digest string, ref ledger.ArtifactRef) (*ledger.Artifact, error) {
	a := &ledger.Artifact{
		Header: ledger.Header{ID: digest, App: app, Commit: commit, Digest: digest, At: p.now()},
		Type:   ref.Type, Bucket: ref.Bucket, Key: ref.Key, ObjectVersion: ref.ObjectVersion, Repository: ref.Repository,
	}
	stored, created, err := ledger.RecordOnce(ctx, p.ledger, "artifact:"+app+":"+commit, 0, a)
	if err != nil {
		return nil, fmt.Errorf("register artifact %s: %w", digest, err)
	}
	if stored.Digest == digest {
		if created {
			err = p.announce(ctx, DetailTypeArtifactRegistered, stored)
		}
		return stored, err
	}
	// Build once, deploy anywhere: the commit was built before, to another digest.
	a.Quarantined = true
	a.Reason = fmt.Sprintf("rebuild: commit %s of %s was already built as %s", commit, app, stored.Digest)
	if err := p.ledger.Put(ctx, a); err != nil && !errors.Is(err, ledger.ErrExists) {
		return nil, fmt.Errorf("record rebuild %s: %w", digest, err)
	}
	if err := p.announce(ctx, DetailTypeRebuildRefused, a); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %s", ErrRebuild, a.Reason)
}

// artifact reads the artifact of digest as it stands now (quarantine included).
func (p *Promoter) artifact(ctx context.Context, digest string) (*ledger.Artifact, error) {
	recs, err := p.ledger.ByDigest(ctx, digest)
	if err != nil {
		return nil, err
	}
	var found *ledger.Artifact
	for _, r := range recs {
		if a, ok := r.(*ledger.Artifact); ok {
			if a.Quarantined {
				return a, nil // any record of the digest quarantined quarantines it
			}
			found = a
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no artifact %s in the ledger", digest)
	}
	return found, nil
}

// Quarantine stops the artifact of digest from ever being promoted again.
func (p *Promoter) Quarantine(ctx context.Context, digest, reason string) error {
	recs, err := p.ledger.ByDigest(ctx, digest)
	if err != nil {
		return err
	}
	for _, r := range recs {
		a, ok := r.(*ledger.Artifact)
		if !ok || a.Quarantined {
			continue
		}
		a.Quarantined, a.Reason = true, reason
		if err := p.ledger.Update(ctx, a); err != nil && !errors.Is(err, ledger.ErrStale) {
			return fmt.Errorf("quarantine %s: %w", digest, err)
		}
		if err := p.announce(ctx, DetailTypeArtifactQuarantine, a); err != nil {
			return err
		}
	}
	return nil
}

// Request asks for a to be promoted into env, not before notBefore. Asking
// again for the same artifact and environment changes nothing: it returns the
// first attempt, however it ended (RequestAgain asks for another).
func (p *Promoter) Request(ctx context.Context, a *ledger.Artifact, env *policy.Environment, from string, notBefore time.Time) (*ledger.Promotion, error) {
	pr, _, err := p.request(ctx, p.attempt(a, env.Name, from, notBefore, 1))
	return pr, err
}

// attempt is attempt n of promoting a into env, requested now.
func (p *Promoter) attempt(a *ledger.Artifact, env, from string, notBefore time.Time, n int) *ledger.Promotion {
	return &ledger.Promotion{
		Header:    ledger.Header{ID: attemptID(promotionID(a.App, env, a.Digest), n), App: a.App, Env: env, Commit: a.Commit, Digest: a.Digest, At: p.now()},
		From:      from,
		Status:    ledger.PromotionRequested,
		NotBefore: notBefore,
	}
}

// request records pr once per id; a second request of the same id returns the
// promotion recorded first, as it stands now, and created false.
func (p *Promoter) request(ctx context.Context, pr *ledger.Promotion) (*ledger.Promotion, bool, error) {
	stored, created, err := ledger.RecordOnce(ctx, p.ledger, "promotion:"+pr.ID, 0, pr)
	if err != nil {
		return nil, false, fmt.Errorf("request promotion of %s to %s: %w", pr.Digest, pr.Env, err)
	}
	return stored, created, nil
}

// promotionID names the promotion of a digest into an app's environment (and,
// for a rollback, what it rolls back from); the same inputs give the same id,
// which makes requests idempotent.
func promotionID(app, env, digest string, more ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(append([]string{app, env, digest}, more...), "\x00")))
	return "prm-" + hex.EncodeToString(sum[:8])
}

// attemptID names attempt n of the promotion whose first attempt is id: the
// first keeps id, the next are id-2, id-3 and so on. The approval workflow's
// execution is named by it, so each attempt runs its own.
func attemptID(id string, n int) string {
	if n <= 1 {
		return id
	}
	return id + "-" + strconv.Itoa(n)
}

// RequestAgain asks for a new attempt at promoting the artifact of digest into
// an app's environment, for an operator: after an attempt that ended without
// deploying it (its approval expired or was rejected, its workflow failed, its
// preconditions or a newer artifact stopped it). The promote function's next
// tick advances it like any other request; an environment with approval runs
// a new approval workflow, named by the new attempt's id.
//
// Only a gated artifact is promoted: one the ledger has, with a passed gate
// decision (ErrUngated), not quarantined (ErrQuarantined), and, past the
// app's first environment, deployed successfully to the environment before
// (ErrUnverified), whose soak the new attempt waits for. An attempt that
// succeeded ends the asking (ErrPromoted). While an attempt is requested,
// waiting for approval or deploying, RequestAgain returns it, with created
// false, and starts no other: asking twice asks once.
func (p *Promoter) RequestAgain(ctx context.Context, appName, envName, digest string) (pr *ledger.Promotion, created bool, err error) {
	app, ok := p.policy.App(appName)
	if !ok {
		return nil, false, fmt.Errorf("app %q is not in the policy", appName)
	}
	env, ok := app.Environment(envName)
	if !ok || env.Deploy == nil {
		return nil, false, fmt.Errorf("app %q has no environment %q that Highway deploys", appName, envName)
	}
	a, err := p.gated(ctx, app.Name, digest)
	if err != nil {
		return nil, false, err
	}
	from, notBefore, err := p.verified(ctx, app, env, digest)
	if err != nil {
		return nil, false, err
	}
	for n := 1; n <= maxAttempts; n++ {
		stored, created, err := p.request(ctx, p.attempt(a, env.Name, from, notBefore, n))
		switch {
		case err != nil:
			return nil, false, err
		case created:
			slog.InfoContext(ctx, "promotion requested again", "promotion", stored.ID, "app", app.Name, "env", env.Name, "digest", digest, "attempt", n)
			return stored, true, nil
		case !stored.Status.Final():
			return stored, false, nil // in flight: this is the attempt asked for
		case stored.Status == ledger.PromotionSucceeded:
			return nil, false, fmt.Errorf("%w: %s was promoted to %s/%s by %s", ErrPromoted, digest, app.Name, env.Name, stored.ID)
		}
	}
	return nil, false, fmt.Errorf("promotion of %s to %s/%s: %d attempts already", digest, app.Name, env.Name, maxAttempts)
}

// gated returns the artifact of digest when a gate passed it for app and it
// is not quarantined.
func (p *Promoter) gated(ctx context.Context, app, digest string) (*ledger.Artifact, error) {
	recs, err := p.ledger.ByDigest(ctx, digest)
	if err != nil {
		return nil, err
	}
	var a *ledger.Artifact
	var decision *ledger.GateDecision
	for _, r := range recs {
		switch r := r.(type) {
		case *ledger.Artifact:
			if a == nil || r.Quarantined {
				a = r // any record of the digest quarantined quarantines it
			}
		case *ledger.GateDecision:
			decision = r // the latest
		}
	}
	switch {
	case a == nil:
		return nil, fmt.Errorf("%w: the ledger has no artifact %s", ErrUngated, digest)
	case a.App != app:
		return nil, fmt.Errorf("%s is an artifact of %s, not of %s", digest, a.App, app)
	case a.Quarantined:
		return nil, fmt.Errorf("%w: %s: %s", ErrQuarantined, digest, a.Reason)
	case decision == nil:
		return nil, fmt.Errorf("%w: the ledger has no gate decision for %s", ErrUngated, digest)
	case decision.Verdict != ledger.VerdictPass:
		return nil, fmt.Errorf("%w: gate decision %s for %s is %s", ErrUngated, decision.ID, digest, decision.Verdict)
	}
	return a, nil
}

// verified returns the environment a promotion into env comes from (none for
// the app's first) and when it may start: once the artifact's latest
// successful deployment there has soaked for env's soak time.
func (p *Promoter) verified(ctx context.Context, app *policy.App, env *policy.Environment, digest string) (string, time.Time, error) {
	now := p.now()
	i := slices.IndexFunc(app.Environments, func(e policy.Environment) bool { return e.Name == env.Name })
	if i <= 0 {
		return "", now, nil
	}
	from := app.Environments[i-1].Name
	deps, err := p.ledger.Deployments(ctx, app.Name, from, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return "", time.Time{}, err
	}
	var last *ledger.Deployment
	for _, d := range deps {
		if d.Digest == digest && d.Status == ledger.DeploymentSuccess {
			last = d
		}
	}
	if last == nil {
		return "", time.Time{}, fmt.Errorf("%w: %s was not deployed successfully to %s/%s in the last %v", ErrUnverified, digest, app.Name, from, window)
	}
	return from, last.FinishedAt.Add(env.Soak), nil
}

// Advance moves an environment's queue: the newest waiting request whose time
// has come supersedes older ones and, when the environment is free, is
// deployed, or handed to the approval workflow. A waiting rollback goes first,
// without approval, and neither supersedes nor is superseded. It does nothing
// while a deployment holds the environment, and stops where another delivery
// moved a promotion it read on; the next tick tries again.
func (p *Promoter) Advance(ctx context.Context, app *policy.App, env *policy.Environment) error {
	now := p.now()
	promos, err := p.ledger.Promotions(ctx, app.Name, env.Name, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return err
	}
	if env.Approval != nil && p.metrics != nil {
		defer p.measureWaiting(ctx, app.Name, env.Name, promos) // as they stand once advanced
	}
	var next, rollback *ledger.Promotion
	for _, pr := range promos {
		if stalled(pr, now) {
			// Claimed, but no deployment was ever confirmed or even started (the
			// function stopped between the two): free the environment.
			if ended, err := p.end(ctx, pr, ledger.PromotionFailed, "no deployment was started or confirmed within "+lockTTL.String()); err != nil || !ended {
				return err
			}
			continue
		}
		if launched(pr) {
			// Started: what follows its start may not have been done, and an
			// adapter whose end no event announces is asked how it stands.
			if err := p.started(ctx, app, env, pr); err != nil {
				return err
			}
			if err := p.follow(ctx, app, env, pr); err != nil {
				return err
			}
			continue
		}
		if unrecorded(pr, now) {
			// Claimed, and its adapter's answer never recorded: the adapter
			// is asked for it again (see follow).
			if err := p.follow(ctx, app, env, pr); err != nil {
				return err
			}
			continue
		}
		if unsettled(pr, now) {
			// Ended lately: what follows its end (the deployment record, the
			// next request or the quarantine, the announcement) may not have
			// been made, when the delivery that ended it failed after the
			// status write. The next environment advances on its own turn.
			if _, err := p.settleOnce(ctx, app, env, pr); err != nil {
				return err
			}
			continue
		}
		if pr.Status != ledger.PromotionRequested {
			continue
		}
		if rollingBack(pr) {
			rollback = pr
			continue
		}
		if next != nil && next.Digest != pr.Digest {
			if ended, err := p.end(ctx, next, ledger.PromotionSuperseded, "superseded by "+pr.Digest); err != nil || !ended {
				return err
			}
		}
		next = pr
	}
	if rollback != nil {
		next = rollback
	}
	if next == nil || now.Before(next.NotBefore) {
		return nil
	}
	a, err := p.artifact(ctx, next.Digest)
	if err != nil {
		return err
	}
	if a.Quarantined {
		_, err := p.end(ctx, next, ledger.PromotionRefused, "artifact quarantined: "+a.Reason)
		return err
	}
	if env.Deploy == nil {
		_, err := p.end(ctx, next, ledger.PromotionRefused, "Highway does not deploy to "+env.Name+": the policy gives it no deploy")
		return err
	}
	if env.Approval != nil && !rollingBack(next) {
		return p.requestApproval(ctx, next, env)
	}
	_, err = p.Deploy(ctx, app, env, next)
	return err
}

// launched reports a promotion whose deployment its adapter started: it got
// a handle, or was done at once.
func launched(pr *ledger.Promotion) bool {
	return pr.Status == ledger.PromotionDeploying && (pr.Handle != "" || pr.Deployed)
}

// stalled reports a promotion claimed for deployment whose deployment its
// adapter never started, for longer than the lock lasts.
func stalled(pr *ledger.Promotion, now time.Time) bool {
	return pr.Status == ledger.PromotionDeploying && !launched(pr) && now.Sub(pr.StartedAt) > lockTTL
}

// relaunchGrace is how long a promotion claimed for deployment may go without
// its adapter's answer recorded before the adapter is asked again: longer
// than the promote function's timeout, so a delivery still inside its own
// call of the adapter is not raced.
const relaunchGrace = 5 * time.Minute

// unrecorded reports a promotion claimed for deployment more than
// relaunchGrace ago, not stalled yet, whose adapter's answer (a handle, or
// done) was never recorded: the delivery that claimed it stopped, or lost
// the write, after the adapter started the deployment, or before.
func unrecorded(pr *ledger.Promotion, now time.Time) bool {
	return pr.Status == ledger.PromotionDeploying && !launched(pr) && now.Sub(pr.StartedAt) > relaunchGrace && !stalled(pr, now)
}

// requestApproval starts the approval workflow of a promotion; its execution
// name is the promotion id, so starting it twice starts it once.
func (p *Promoter) requestApproval(ctx context.Context, pr *ledger.Promotion, env *policy.Environment) error {
	timeout := env.Approval.Timeout
	if timeout == 0 {
		timeout = 24 * time.Hour
	}
	heartbeat := env.Approval.Heartbeat
	if heartbeat == 0 {
		heartbeat = timeout
	}
	input := fmt.Sprintf(`{"promotionId":%q,"app":%q,"env":%q,"digest":%q,"commit":%q,"timeoutSeconds":%d,"heartbeatSeconds":%d}`,
		pr.ID, pr.App, pr.Env, pr.Digest, pr.Commit, int(timeout.Seconds()), int(heartbeat.Seconds()))
	_, err := p.workflow.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(p.stateMachine), Name: aws.String(pr.ID), Input: aws.String(input),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("start approval of %s: %w", pr.ID, err)
	}
	pr.Status = ledger.PromotionWaiting
	return p.update(ctx, pr) // the approval request announces itself
}

// Deploy takes the environment's lock for pr and deploys its artifact. It
// returns false, and changes nothing, when another promotion holds the lock.
func (p *Promoter) Deploy(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion) (bool, error) {
	switch {
	case launched(pr):
		return true, p.started(ctx, app, env, pr) // a retried step: resume what follows the start
	case pr.Status == ledger.PromotionDeploying || pr.Status.Final():
		return true, nil // a retried step: the deployment is starting, or ended
	}
	held, err := p.lock(ctx, app.Name, env.Name, pr.ID)
	if err != nil || !held {
		return false, err
	}
	a, err := p.artifact(ctx, pr.Digest)
	if err != nil {
		return false, err
	}
	if a.Quarantined {
		return p.end(ctx, pr, ledger.PromotionRefused, "artifact quarantined: "+a.Reason)
	}
	d, err := p.deployers(app, env)
	if err != nil {
		return false, err
	}
	// Claim the promotion: of concurrent deliveries of it (the lock lets its own
	// holder in again, for a retried step), the one whose update of the
	// version wins deploys; the others stop here.
	from := pr.Status
	pr.Status, pr.StartedAt = ledger.PromotionDeploying, p.now()
	if err := p.ledger.Update(ctx, pr); err != nil {
		pr.Status = from
		if errors.Is(err, ledger.ErrStale) {
			return false, p.movedOn(ctx, pr)
		}
		return false, fmt.Errorf("claim promotion %s: %w", pr.ID, err)
	}
	return p.launch(ctx, app, env, pr, d, a, from)
}

// launch has d deploy a, the artifact of pr, which this delivery holds
// claimed (deploying), records what the adapter answered (its handle, or that
// it is done), and makes what follows the start (started). It reports whether
// the deployment started or the promotion ended. A refusal ends the promotion
// failed. A transient error of the adapter puts pr back to status back, for a
// retry to claim it again; back PromotionDeploying keeps it claimed, for the
// next tick to ask again. A stale write of the answer means another delivery
// moved the promotion on: launch re-reads it and leaves what follows to that
// one.
func (p *Promoter) launch(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion, d deploy.Deployer, a *ledger.Artifact, back ledger.PromotionStatus) (bool, error) {
	res, err := d.Deploy(ctx, target(app, env, a, pr))
	if errors.Is(err, deploy.ErrRefused) {
		_, err := p.end(ctx, pr, ledger.PromotionFailed, err.Error())
		return true, err
	}
	if err != nil {
		err = fmt.Errorf("deploy %s to %s: %w", pr.Digest, env.Name, err)
		if back == ledger.PromotionDeploying {
			return false, err
		}
		// Back to where it was, for the retry; the deployer's own idempotency
		// (the pipeline's client token) keeps a second attempt from doubling.
		pr.Status = back
		return false, errors.Join(err, p.update(ctx, pr))
	}
	was := *pr
	pr.Handle, pr.Reason, pr.Deployed = res.Handle, res.Detail, res.Done
	err = p.ledger.Update(ctx, pr)
	if errors.Is(err, ledger.ErrStale) {
		*pr = was
		return true, p.movedOn(ctx, pr)
	}
	if err != nil {
		// The deployment runs, unrecorded: for a Follower, the tick asks its
		// adapter again after relaunchGrace (see follow); others stall.
		*pr = was
		return false, fmt.Errorf("record the start of %s: %w", pr.ID, err)
	}
	return true, p.started(ctx, app, env, pr)
}

// target is what an adapter deploys for pr: its artifact a, into env.
func target(app *policy.App, env *policy.Environment, a *ledger.Artifact, pr *ledger.Promotion) deploy.Target {
	return deploy.Target{App: app.Name, Env: env.Name, Artifact: a, Promotion: pr.ID, Account: env.Account, Region: env.Region}
}

// started makes what follows a deployment's start, exactly once across
// deliveries and retries: its announcement and, for a deployment done when
// its adapter returned, the promotion's finish. A delivery that failed on
// either leaves the promotion deploying; the retry, or the next tick, finds
// it so and calls started again.
func (p *Promoter) started(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion) error {
	claims := &ledger.Claims{Ledger: p.ledger, Now: p.now, Holder: ledger.HolderOf(ctx), Lease: settleLease}
	done, err := claims.Once(ctx, "promoted:"+pr.ID, pr.ID+"/promoted", pr.App, func() error {
		return p.announce(ctx, DetailTypeArtifactPromoted, pr)
	})
	if err != nil || !done || !pr.Deployed {
		return err
	}
	return p.Finish(ctx, app, env, pr, true, pr.Reason)
}

// follow asks the adapter of a started deployment that no event ends (see
// deploy.Follower) how it stands, and finishes the promotion once the
// deployment ended, its target is gone, or it outlived the adapter's
// timeout. A promotion whose adapter's answer was not recorded (unrecorded)
// is first deployed again, with the same target: the adapter finds what the
// first call started and answers its handle, or that it is done. Other
// deployments, and ones already finished, are left alone.
func (p *Promoter) follow(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion) error {
	relaunch := unrecorded(pr, p.now())
	if !relaunch && (!launched(pr) || pr.Deployed || pr.Handle == "") {
		return nil
	}
	d, err := p.deployers(app, env)
	if err != nil {
		return err
	}
	f, follows := d.(deploy.Follower)
	if !follows && !relaunch {
		return nil
	}
	a, err := p.artifact(ctx, pr.Digest)
	if err != nil {
		return err
	}
	if relaunch {
		// Every adapter may be called again with the same target (a
		// pipeline's client token, an image already set, a value already
		// written): it answers what the first call started, or did.
		slog.WarnContext(ctx, "deployment without a recorded start asked again", "promotion", pr.ID, "app", app.Name, "env", env.Name, "claimed", pr.StartedAt)
		if _, err := p.launch(ctx, app, env, pr, d, a, ledger.PromotionDeploying); err != nil || !launched(pr) || pr.Deployed || !follows {
			return err
		}
	}
	prog, err := f.Follow(ctx, target(app, env, a, pr), pr.Handle)
	late := p.now().Sub(pr.StartedAt) > f.Timeout()
	switch {
	case errors.Is(err, deploy.ErrRefused):
		return p.Finish(ctx, app, env, pr, false, err.Error())
	case err != nil && late:
		return p.Finish(ctx, app, env, pr, false, fmt.Sprintf("not finished within %s: %v", f.Timeout(), err))
	case err != nil:
		return fmt.Errorf("follow deployment %s of %s: %w", pr.Handle, pr.ID, err)
	case prog.Done:
		return p.Finish(ctx, app, env, pr, prog.Success, prog.Detail)
	case late:
		return p.Finish(ctx, app, env, pr, false, fmt.Sprintf("not finished within %s: %s", f.Timeout(), prog.Detail))
	}
	slog.InfoContext(ctx, "deployment in progress", "promotion", pr.ID, "handle", pr.Handle, "detail", prog.Detail)
	return nil
}

// Finished records the end of the deployment whose handle an environment's
// pipeline or ECS service reported. An unknown handle is not Highway's.
func (p *Promoter) Finished(ctx context.Context, app *policy.App, env *policy.Environment, handle string, success bool, detail string) (bool, error) {
	now := p.now()
	promos, err := p.ledger.Promotions(ctx, app.Name, env.Name, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return false, err
	}
	for _, pr := range promos {
		if pr.Handle == handle && handle != "" {
			return true, p.Finish(ctx, app, env, pr, success, detail)
		}
	}
	return false, nil
}

// Finish records a deployment's outcome, once: the promotion's end and the
// lock's release, then what follows from it (settle). A delivery that finds
// the promotion ended by another settles what that one left undone.
func (p *Promoter) Finish(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion, success bool, detail string) error {
	if !pr.Status.Final() {
		status := ledger.PromotionSucceeded
		if !success {
			status = ledger.PromotionFailed
		}
		if _, err := p.end(ctx, pr, status, detail); err != nil {
			return err
		}
	}
	if pr.Status != ledger.PromotionSucceeded && pr.Status != ledger.PromotionFailed {
		return nil // still running, or ended another way (superseded, rejected, ...)
	}
	return p.settle(ctx, app, env, pr)
}

// settleLease is how long a delivery holds the settling of a finished
// promotion before another may take it over: longer than the promote
// function's timeout.
const settleLease = 2 * time.Minute

// settle makes what follows a finished promotion, exactly once across
// deliveries and retries (claimed, then done): the deployment record, the
// next environment's request after its soak (a rollback stays where it is)
// or the artifact's quarantine, and the announcement. Each may be made again
// by a retry that resumes after a failure, and each is idempotent; a
// delivery that finds another settling leaves it to that one. It then
// advances the next environment, as every minute's tick also does.
func (p *Promoter) settle(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion) error {
	next, err := p.settleOnce(ctx, app, env, pr)
	if err != nil || next == nil {
		return err
	}
	return p.Advance(ctx, app, next)
}

// settleWindow is how long after a promotion's end the tick still makes what
// follows it, should the delivery that ended it have failed after the status
// write: longer than Lambda's retries of that delivery take.
const settleWindow = time.Hour

// unsettled reports a promotion whose deployment (started by its adapter)
// ended within settleWindow, whose settling the tick makes sure of. One that
// ended before deploying (refused, rejected, its workflow failed) has nothing
// to settle.
func unsettled(pr *ledger.Promotion, now time.Time) bool {
	return (pr.Status == ledger.PromotionSucceeded || pr.Status == ledger.PromotionFailed) &&
		(pr.Handle != "" || pr.Deployed) && !pr.FinishedAt.IsZero() && now.Sub(pr.FinishedAt) < settleWindow
}

// settleOnce makes what follows a finished promotion once (see settle), and
// returns the next environment to advance when it is settled and one
// follows.
func (p *Promoter) settleOnce(ctx context.Context, app *policy.App, env *policy.Environment, pr *ledger.Promotion) (*policy.Environment, error) {
	success := pr.Status == ledger.PromotionSucceeded
	next, hasNext := app.Next(env.Name)
	hasNext = hasNext && success && !rollingBack(pr)
	claims := &ledger.Claims{Ledger: p.ledger, Now: p.now, Holder: ledger.HolderOf(ctx), Lease: settleLease}
	done, err := claims.Once(ctx, "finished:"+pr.ID, pr.ID+"/finished", pr.App, func() error {
		started := pr.StartedAt
		if started.IsZero() {
			started = pr.At
		}
		dstatus := ledger.DeploymentSuccess
		if !success {
			dstatus = ledger.DeploymentFailure
		}
		dep := &ledger.Deployment{
			Header:      ledger.Header{ID: "dep-" + pr.ID, App: pr.App, Env: pr.Env, Commit: pr.Commit, Digest: pr.Digest, At: started},
			Commits:     []string{pr.Commit},
			PromotionID: pr.ID, Status: dstatus, FinishedAt: pr.FinishedAt, Duration: pr.FinishedAt.Sub(started),
		}
		// The commit's time, carried for lead time; a deployment is recorded
		// without it rather than not at all.
		if at, err := ledger.CommittedAt(ctx, p.ledger, pr.Commit); err != nil {
			slog.WarnContext(ctx, "deployment recorded without its commit time", "promotion", pr.ID, "error", err)
		} else if !at.IsZero() {
			dep.CommittedAt = map[string]time.Time{pr.Commit: at}
		}
		if err := p.ledger.Put(ctx, dep); err != nil && !errors.Is(err, ledger.ErrExists) {
			return fmt.Errorf("record deployment of %s: %w", pr.ID, err)
		}
		switch {
		case !success:
			if err := p.Quarantine(ctx, pr.Digest, fmt.Sprintf("deployment to %s failed: %s", env.Name, pr.Reason)); err != nil {
				return err
			}
		case hasNext:
			a, err := p.artifact(ctx, pr.Digest)
			if err != nil {
				return err
			}
			// The soak runs from the deployment's end.
			if _, err := p.Request(ctx, a, next, env.Name, pr.FinishedAt.Add(next.Soak)); err != nil {
				return err
			}
		}
		return p.announce(ctx, DetailTypeDeploymentFinished, dep)
	})
	if err != nil || !done || !hasNext {
		return nil, err
	}
	return next, nil
}

// Tick advances every environment Highway deploys to: soak times that passed
// and environments that came free.
func (p *Promoter) Tick(ctx context.Context) error {
	var errs []error
	for i := range p.policy.Apps {
		app := &p.policy.Apps[i]
		for j := range app.Environments {
			if env := &app.Environments[j]; env.Deploy != nil {
				if err := p.Advance(ctx, app, env); err != nil {
					errs = append(errs, fmt.Errorf("%s/%s: %w", app.Name, env.Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// measureWaiting writes how many of promos, an environment's, wait for
// their approval.
func (p *Promoter) measureWaiting(ctx context.Context, app, env string, promos []*ledger.Promotion) {
	waiting := 0
	for _, pr := range promos {
		if pr.Status == ledger.PromotionWaiting {
			waiting++
		}
	}
	if err := p.metrics.Put(telemetry.MetricApprovalsWaiting, float64(waiting), telemetry.Count, telemetry.Dimensions{telemetry.DimApp: app, telemetry.DimEnv: env}); err != nil {
		slog.WarnContext(ctx, "approvals waiting not measured", "app", app, "env", env, "error", err)
	}
}

// end records a promotion's final status and, once that write succeeded,
// frees its environment. When another delivery moved the promotion on first
// (the write is stale), end changes nothing, re-reads pr as it stands and
// returns false: the caller stops, for the promotion may be deploying and
// holding the environment.
func (p *Promoter) end(ctx context.Context, pr *ledger.Promotion, status ledger.PromotionStatus, reason string) (bool, error) {
	was := *pr
	pr.Status, pr.Reason, pr.FinishedAt = status, reason, p.now()
	err := p.ledger.Update(ctx, pr)
	if errors.Is(err, ledger.ErrStale) {
		*pr = was
		return false, p.movedOn(ctx, pr)
	}
	if err != nil {
		*pr = was
		return false, fmt.Errorf("end promotion %s: %w", pr.ID, err)
	}
	slog.InfoContext(ctx, "promotion ended", "promotion", pr.ID, "app", pr.App, "env", pr.Env, "status", status, "reason", reason)
	return true, p.unlock(ctx, pr.App, pr.Env, pr.ID)
}

// movedOn re-reads pr, which another delivery has just written, into pr. If
// that delivery ended it, its write succeeded, and the environment is not
// left held by it (a no-op unless pr still holds the lock); a promotion still
// running keeps what it holds.
func (p *Promoter) movedOn(ctx context.Context, pr *ledger.Promotion) error {
	now := p.now()
	promos, err := p.ledger.Promotions(ctx, pr.App, pr.Env, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return fmt.Errorf("re-read promotion %s: %w", pr.ID, err)
	}
	i := slices.IndexFunc(promos, func(cur *ledger.Promotion) bool { return cur.ID == pr.ID })
	if i < 0 {
		return fmt.Errorf("re-read promotion %s: not in %s/%s", pr.ID, pr.App, pr.Env)
	}
	*pr = *promos[i]
	slog.InfoContext(ctx, "promotion moved on by another delivery", "promotion", pr.ID, "app", pr.App, "env", pr.Env, "status", pr.Status)
	if !pr.Status.Final() {
		return nil
	}
	return p.unlock(ctx, pr.App, pr.Env, pr.ID)
}

// update writes pr; a concurrent writer having moved it on is not an error.
func (p *Promoter) update(ctx context.Context, pr *ledger.Promotion) error {
	if err := p.ledger.Update(ctx, pr); err != nil && !errors.Is(err, ledger.ErrStale) {
		return fmt.Errorf("update promotion %s: %w", pr.ID, err)
	}
	return nil
}

// lockCreated is the time every lock record is filed under: a record's key
// holds its time, so concurrent first takers of an environment's lock, each
// at its own time, would each create a lock of their own; under one time
// they race for one key, and the ledger lets one create it.
var lockCreated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// lock takes the app+env lock for holder, unless another holder has it and its
// time has not run out. Of concurrent callers exactly one gets it.
func (p *Promoter) lock(ctx context.Context, app, env, holder string) (bool, error) {
	now := p.now()
	rec, err := p.ledger.Latest(ctx, ledger.KindLock, app+"/"+env)
	if errors.Is(err, ledger.ErrNotFound) {
		err = p.ledger.Put(ctx, &ledger.Lock{Header: ledger.Header{ID: app + "/" + env, App: app, At: lockCreated}, Holder: holder, Until: now.Add(lockTTL)})
		if errors.Is(err, ledger.ErrExists) {
			return false, nil // a concurrent caller created it first
		}
		return err == nil, err
	}
	if err != nil {
		return false, err
	}
	l := rec.(*ledger.Lock)
	if l.Holder == holder {
		return true, nil
	}
	if l.Holder != "" && now.Before(l.Until) {
		return false, nil
	}
	l.Holder, l.Until = holder, now.Add(lockTTL)
	err = p.ledger.Update(ctx, l)
	if errors.Is(err, ledger.ErrStale) {
		return false, nil // a concurrent caller took it first
	}
	return err == nil, err
}

// unlock frees the app+env lock if holder has it.
func (p *Promoter) unlock(ctx context.Context, app, env, holder string) error {
	rec, err := p.ledger.Latest(ctx, ledger.KindLock, app+"/"+env)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	l := rec.(*ledger.Lock)
	if l.Holder != holder {
		return nil
	}
	l.Holder, l.Until = "", time.Time{}
	if err := p.ledger.Update(ctx, l); err != nil && !errors.Is(err, ledger.ErrStale) {
		return fmt.Errorf("release %s/%s: %w", app, env, err)
	}
	return nil
}

// announce publishes a domain event about a record.
func (p *Promoter) announce(ctx context.Context, detailType string, rec ledger.Record) error {
	if err := p.bus.Publish(ctx, bus.Event{DetailType: detailType, Time: p.now(), Detail: rec}); err != nil {
		return fmt.Errorf("announce %s: %w", detailType, err)
	}
	return nil
}
