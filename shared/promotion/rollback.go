package promotion

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// rollbackLookback is how far back Rollback reads an environment's deployments
// for the artifact it ran before the current one: a year, past which nothing
// is worth going back to.
const rollbackLookback = 365 * 24 * time.Hour

// Rollback puts the environment back on the artifact it ran before the current
// one, through promotion so the ledger stays the one truth: the current
// artifact (of the latest successful deployment) is quarantined with reason,
// and the latest artifact deployed successfully before it, other than it and
// not quarantined, is promoted into the environment again and deployed as
// Advance deploys, under the environment's lock.
//
// The runbook the policy maps to the alarm is the approval: a rollback waits
// for no soak and no approver, even where the environment requires approval.
// It is recorded as a promotion from the environment into itself (From is the
// environment), which is how Advance knows to deploy it first and without
// approval, and why its success requests no next environment.
//
// A deployment running when the alarm fires (another promotion holding the
// environment) is the likeliest cause: it ends failed, its artifact
// quarantined, and the environment goes back to the last verified artifact.
// While a rollback of the environment is requested or deploying, Rollback
// returns that promotion and starts no other.
// It returns ErrNothingToRollBack, and changes nothing, when the environment
// ran no other verified artifact.
func (p *Promoter) Rollback(ctx context.Context, app *policy.App, env *policy.Environment, reason string) (*ledger.Promotion, error) {
	return p.RollbackFor(ctx, app, env, reason, "", time.Time{})
}

// RollbackFor is Rollback in answer to an incident whose alarm fired at
// alarmAt. It rolls the environment back once per incident: a request
// delivered again, or late, returns the incident's rollback and changes
// nothing. Only a deployment started by alarmAt is blamed for the alarm. An
// empty incident and a zero alarmAt make it Rollback.
func (p *Promoter) RollbackFor(ctx context.Context, app *policy.App, env *policy.Environment, reason, incident string, alarmAt time.Time) (*ledger.Promotion, error) {
	now := p.now()
	promos, err := p.ledger.Promotions(ctx, app.Name, env.Name, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return nil, err
	}
	answered := ""
	if incident != "" {
		answered = promotionID(app.Name, env.Name, "rollback for incident "+incident)
	}
	for _, pr := range promos {
		if pr.ID == answered || (rollingBack(pr) && !pr.Status.Final()) {
			return pr, nil // the request came again, or the alarm fired again while its rollback runs
		}
	}
	var current string
	var previous *ledger.Artifact
	if inflight := inFlight(promos, alarmAt); inflight != nil {
		// A deployment running when the alarm fires is its likeliest cause:
		// it ends failed (its deployment recorded so, the environment freed),
		// its artifact is quarantined, and the environment goes back to the
		// last verified artifact, which ran before it. One claimed but not
		// started yet is left to its adapter, which refuses the quarantined
		// artifact; the rollback waits for it.
		current = inflight.Digest
		if previous, err = p.lastVerified(ctx, app, env, current); err != nil {
			return nil, err
		}
		if launched(inflight) {
			if err := p.Finish(ctx, app, env, inflight, false, "rolled back while deploying: "+reason); err != nil {
				return nil, err
			}
		}
		// Whatever another delivery made of it meanwhile (ended it, recorded
		// its start), the artifact blamed is quarantined.
		if err := p.Quarantine(ctx, current, reason); err != nil {
			return nil, err
		}
	} else {
		if current, previous, err = p.runBefore(ctx, app, env); err != nil {
			return nil, err
		}
		if err := p.Quarantine(ctx, current, reason); err != nil {
			return nil, err
		}
	}
	id := answered
	if id == "" {
		id = promotionID(app.Name, env.Name, previous.Digest, "rollback from "+current)
	}
	pr, _, err := p.request(ctx, &ledger.Promotion{
		Header: ledger.Header{
			ID:  id,
			App: app.Name, Env: env.Name, Commit: previous.Commit, Digest: previous.Digest, At: now,
		},
		From:      env.Name,
		Status:    ledger.PromotionRequested,
		NotBefore: now,
		Reason:    "rollback from " + current + ": " + reason,
	})
	if err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "rollback requested", "promotion", pr.ID, "app", app.Name, "env", env.Name, "from", current, "to", previous.Digest, "reason", reason)
	if err := p.Advance(ctx, app, env); err != nil {
		return nil, err
	}
	return p.promotion(ctx, app.Name, env.Name, pr.ID)
}

// runBefore finds the digest an environment runs now (its latest successful
// deployment) and the artifact it ran before: the latest deployed successfully
// before it, of another digest, and not quarantined.
func (p *Promoter) runBefore(ctx context.Context, app *policy.App, env *policy.Environment) (string, *ledger.Artifact, error) {
	now := p.now()
	deps, err := p.ledger.Deployments(ctx, app.Name, env.Name, now.Add(-rollbackLookback), now.Add(time.Second))
	if err != nil {
		return "", nil, err
	}
	current := ""
	for i := len(deps) - 1; i >= 0; i-- {
		d := deps[i]
		if d.Status != ledger.DeploymentSuccess {
			continue
		}
		if current == "" {
			current = d.Digest
			continue
		}
		if d.Digest == current {
			continue
		}
		a, err := p.artifact(ctx, d.Digest)
		if err != nil {
			return "", nil, err
		}
		if !a.Quarantined {
			return current, a, nil
		}
	}
	if current == "" {
		return "", nil, fmt.Errorf("%w: %s/%s has no successful deployment", ErrNothingToRollBack, app.Name, env.Name)
	}
	return "", nil, fmt.Errorf("%w: %s/%s ran no verified artifact before %s", ErrNothingToRollBack, app.Name, env.Name, current)
}

// inFlight returns the promotion of promos whose deployment is under way (not
// a rollback) and was claimed by alarmAt (any time, when zero), or nil.
func inFlight(promos []*ledger.Promotion, alarmAt time.Time) *ledger.Promotion {
	for _, pr := range promos {
		if pr.Status == ledger.PromotionDeploying && !rollingBack(pr) && (alarmAt.IsZero() || !pr.StartedAt.After(alarmAt)) {
			return pr
		}
	}
	return nil
}

// lastVerified returns the artifact of the environment's latest successful
// deployment that is not quarantined and is not of digest.
func (p *Promoter) lastVerified(ctx context.Context, app *policy.App, env *policy.Environment, digest string) (*ledger.Artifact, error) {
	now := p.now()
	deps, err := p.ledger.Deployments(ctx, app.Name, env.Name, now.Add(-rollbackLookback), now.Add(time.Second))
	if err != nil {
		return nil, err
	}
	for i := len(deps) - 1; i >= 0; i-- {
		if d := deps[i]; d.Status == ledger.DeploymentSuccess && d.Digest != digest {
			a, err := p.artifact(ctx, d.Digest)
			if err != nil {
				return nil, err
			}
			if !a.Quarantined {
				return a, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s/%s ran no verified artifact before %s", ErrNothingToRollBack, app.Name, env.Name, digest)
}

// rollingBack reports whether pr is a rollback: a promotion from its own
// environment, of an artifact that ran there before.
func rollingBack(pr *ledger.Promotion) bool { return pr.From != "" && pr.From == pr.Env }
