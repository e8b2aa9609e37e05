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
// When another deployment holds the environment the rollback stays requested
// and the next Tick deploys it. While a rollback of the environment is
// requested or deploying, Rollback returns that promotion and starts no other.
// It returns ErrNothingToRollBack, and changes nothing, when the environment
// ran no other verified artifact.
func (p *Promoter) Rollback(ctx context.Context, app *policy.App, env *policy.Environment, reason string) (*ledger.Promotion, error) {
	now := p.now()
	promos, err := p.ledger.Promotions(ctx, app.Name, env.Name, now.Add(-window), now.Add(time.Second))
	if err != nil {
		return nil, err
	}
	for _, pr := range promos {
		if rollingBack(pr) && !pr.Status.Final() {
			return pr, nil // the alarm fired again while its rollback runs
		}
	}
	current, previous, err := p.runBefore(ctx, app, env)
	if err != nil {
		return nil, err
	}
	if err := p.Quarantine(ctx, current, reason); err != nil {
		return nil, err
	}
	pr, _, err := p.request(ctx, &ledger.Promotion{
		Header: ledger.Header{
			ID:  promotionID(app.Name, env.Name, previous.Digest, "rollback from "+current),
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

// rollingBack reports whether pr is a rollback: a promotion from its own
// environment, of an artifact that ran there before.
func rollingBack(pr *ledger.Promotion) bool { return pr.From != "" && pr.From == pr.Env }
