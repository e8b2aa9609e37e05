// Package respond turns CloudWatch alarms into the actions of the policy's
// runbooks, within guards: dry-run, a cooldown per alarm and action, a rate
// limit per environment, a circuit breaker, CloudWatch's own suppression of a
// composite alarm's actions, and one response per alarm state transition
// however often its event is delivered, each step of it claimed and then
// recorded done on the ledger.
package respond

import (
	"context"
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// transitionTTL is how long an alarm transition's key is remembered: far
// longer than EventBridge retries a delivery (24 hours).
const transitionTTL = 7 * 24 * time.Hour

// Guards keep alarm response within the policy's bounds, with the ledger as
// their memory. Every guard is a conditional write of a token, so concurrent
// deliveries agree on who acts: a token is a ledger.Lock naming its holder
// (the remediation that took it) and when it frees.
type Guards struct {
	ledger   ledger.Ledger
	perHour  int
	cooldown time.Duration
	failures int
	window   time.Duration
	now      func() time.Time
}

// NewGuards returns the guards of the policy's alarms section, its defaults
// filled in. now is the clock (time.Now when nil).
func NewGuards(l ledger.Ledger, a *policy.Alarms, now func() time.Time) *Guards {
	if now == nil {
		now = time.Now
	}
	g := &Guards{ledger: l, perHour: policy.DefaultMaxActionsPerHour, cooldown: policy.DefaultAlarmCooldown,
		failures: policy.DefaultBreakerFailures, window: policy.DefaultBreakerWindow, now: now}
	if a != nil {
		g.perHour = orDefault(a.MaxActionsPerHour, g.perHour)
		g.cooldown = orDefault(a.Cooldown, g.cooldown)
		g.failures = orDefault(a.Breaker.Failures, g.failures)
		g.window = orDefault(a.Breaker.Window, g.window)
	}
	return g
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// take writes the token key for ttl on behalf of holder; false when another
// holder has it. A holder that took it before has it still: the retry of an
// action keeps the tokens its failed attempt took.
func (g *Guards) take(ctx context.Context, key string, ttl time.Duration, holder string) (bool, error) {
	now := g.now()
	token := &ledger.Lock{Header: ledger.Header{ID: key + "#" + holder, At: now}, Holder: holder, Until: now.Add(ttl)}
	stored, created, err := ledger.RecordOnce(ctx, g.ledger, key, ttl, token)
	if err != nil {
		return false, fmt.Errorf("guard %s: %w", key, err)
	}
	return created || stored.Holder == holder, nil
}

// Cooldown starts the cooldown of one action of a runbook for one alarm;
// false while a previous one runs. d overrides the section's cooldown when
// positive.
func (g *Guards) Cooldown(ctx context.Context, alarmARN, runbook string, action int, d time.Duration, holder string) (bool, error) {
	return g.take(ctx, fmt.Sprintf("cooldown:%s|%s|%d", alarmARN, runbook, action), orDefault(d, g.cooldown), holder)
}

// Slot takes one of the environment's actions of the hour; false when all
// are taken. The slots are perHour tokens that each free an hour after they
// were taken, so at most perHour actions run in any hour, however many
// deliveries race for them. A holder that took a slot finds it again (unless
// a slot before it freed meanwhile: then the retried action takes that one).
func (g *Guards) Slot(ctx context.Context, app, env, holder string) (bool, error) {
	for i := range g.perHour {
		ok, err := g.take(ctx, fmt.Sprintf("actions:%s/%s:%d", app, env, i), time.Hour, holder)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// BreakerOpen says whether the environment's remediations failed Failures
// times within Window: then Highway stops acting there until the window
// moves past them, and asks for a human.
func (g *Guards) BreakerOpen(ctx context.Context, app, env string) (bool, error) {
	now := g.now()
	rs, err := g.ledger.Remediations(ctx, app, env, now.Add(-g.window), now.Add(time.Nanosecond))
	if err != nil {
		return false, err
	}
	failed := 0
	for _, r := range rs {
		if r.Failed {
			failed++
		}
	}
	return failed >= g.failures, nil
}
