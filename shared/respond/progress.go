package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// ClaimLease is how long a delivery holds a step of an alarm's response
// that it claimed. A claim older than that belongs to a delivery that died
// (a timeout, a crash), and another delivery may take the step over. It is
// longer than the respond function's timeout (60 s in infra), so a live
// delivery never loses a step it is running.
const ClaimLease = 2 * time.Minute

// finished is the Holder of a step's claim once the step is done.
const finished = "done"

// claimState is what a delivery found when it claimed a step.
type claimState int

const (
	// claimHeld: this delivery holds the step and runs it.
	claimHeld claimState = iota + 1
	// claimDone: an earlier delivery did the step.
	claimDone
	// claimBusy: another delivery, still within its lease, runs the step.
	claimBusy
)

// claims are one delivery's claims on the steps of an alarm transition's
// response: the notice of an incident, each action of a runbook, the
// resolution of an incident. A step's claim is a ledger.Lock, created once
// for the step (RecordOnce on the step's key) and then changed only by
// conditional updates of its version: a delivery takes it (Holder, Until),
// releases it when the step failed in a way a retry can fix, or marks it
// done. So concurrent deliveries agree on who runs a step, a retry resumes
// the steps that did not finish, and a step marked done is never run again.
//
// A holder is the Lambda request id, which Lambda keeps when it retries an
// asynchronous invocation: a retry takes over the claims its own failed
// attempt left, at once; a claim of another delivery only when released or
// past its lease.
type claims struct {
	ledger ledger.Ledger
	now    func() time.Time
	holder string
}

// claim takes the step whose idempotency key is key for this delivery; id
// names its lock. A claim the delivery holds must end with done or release.
func (c *claims) claim(ctx context.Context, key, id string) (*ledger.Lock, claimState, error) {
	now := c.now()
	lock := &ledger.Lock{Header: ledger.Header{ID: id, At: now}, Holder: c.holder, Until: now.Add(ClaimLease)}
	stored, created, err := ledger.RecordOnce(ctx, c.ledger, "respond:"+key, transitionTTL, lock)
	if err != nil {
		return nil, 0, fmt.Errorf("claim %s: %w", id, err)
	}
	switch {
	case created:
		return stored, claimHeld, nil
	case stored.Holder == finished:
		return stored, claimDone, nil
	case stored.Holder != "" && stored.Holder != c.holder && now.Before(stored.Until):
		return stored, claimBusy, nil
	}
	// Released, past its lease, or left by this delivery's failed attempt.
	stored.Holder, stored.Until = c.holder, now.Add(ClaimLease)
	switch err := c.ledger.Update(ctx, stored); {
	case errors.Is(err, ledger.ErrStale):
		return stored, claimBusy, nil // another delivery took it first
	case err != nil:
		return nil, 0, fmt.Errorf("claim %s: %w", id, err)
	}
	return stored, claimHeld, nil
}

// done marks a held step done. If the write fails, the step stays claimed:
// a retry does it again.
func (c *claims) done(ctx context.Context, lock *ledger.Lock) error {
	holder := lock.Holder
	lock.Holder = finished
	if err := c.ledger.Update(ctx, lock); err != nil {
		lock.Holder = holder
		return fmt.Errorf("finish %s: %w", lock.ID, err)
	}
	return nil
}

// release frees a held step that did not finish, for the invocation's retry
// or another delivery. A release that fails is logged: the lease frees the
// step later, and this delivery's own retry takes it at once.
func (c *claims) release(ctx context.Context, lock *ledger.Lock) {
	lock.Holder = ""
	if err := c.ledger.Update(ctx, lock); err != nil {
		slog.WarnContext(ctx, "claim not released: it frees when its lease ends", "claim", lock.ID, "until", lock.Until, "error", err)
	}
}
