package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Claims are one delivery's claims on the steps of an effect it must make
// exactly once: an announcement, a notification, a request of the next
// environment. A step's claim is a Lock, created once for the step
// (RecordOnce on its key) and then changed only by conditional updates of its
// version: a delivery takes it (Holder, Until), releases it when the step
// failed in a way a retry can fix, or marks it done. So concurrent deliveries
// agree on who makes a step, a retry resumes the steps that did not finish,
// and a step marked done is never made again.
//
// A holder is best the Lambda request id (HolderOf), which Lambda keeps when
// it retries an asynchronous invocation: a retry takes over the claims its
// own failed attempt left, at once; a claim of another delivery only when
// released or past its lease.
type Claims struct {
	// Ledger keeps the claims.
	Ledger Ledger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Holder names this delivery.
	Holder string
	// Lease is how long a claim is held before another delivery may take
	// it over: longer than the function's timeout, so a live delivery never
	// loses a step it is making.
	Lease time.Duration
	// Keep is how long a claim's idempotency key is kept (0: always).
	Keep time.Duration
}

// ClaimState is what a delivery found when it claimed a step.
type ClaimState int

const (
	// ClaimHeld says this delivery holds the step and makes it.
	ClaimHeld ClaimState = iota + 1
	// ClaimDone says an earlier delivery made the step.
	ClaimDone
	// ClaimBusy says another delivery, still within its lease, makes the step.
	ClaimBusy
)

// claimDone is the Holder of a step's claim once the step is done.
const claimDone = "done"

// HolderOf names the delivery of ctx for its claims: the Lambda request id,
// which Lambda's retries of an asynchronous invocation keep; outside Lambda, a
// random name of its own.
func HolderOf(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return rand.Text()
}

// Claim takes the step whose idempotency key is key for this delivery; id
// names its lock, and app places it. A claim the delivery holds must end
// with Done or Release.
func (c *Claims) Claim(ctx context.Context, key, id, app string) (*Lock, ClaimState, error) {
	now := c.now()
	lock := &Lock{Header: Header{ID: id, App: app, At: now}, Holder: c.Holder, Until: now.Add(c.Lease)}
	stored, created, err := RecordOnce(ctx, c.Ledger, key, c.Keep, lock)
	if err != nil {
		return nil, 0, fmt.Errorf("claim %s: %w", id, err)
	}
	switch {
	case created:
		return stored, ClaimHeld, nil
	case stored.Holder == claimDone:
		return stored, ClaimDone, nil
	case stored.Holder != "" && stored.Holder != c.Holder && now.Before(stored.Until):
		return stored, ClaimBusy, nil
	}
	// Released, past its lease, or left by this delivery's failed attempt.
	stored.Holder, stored.Until = c.Holder, now.Add(c.Lease)
	switch err := c.Ledger.Update(ctx, stored); {
	case errors.Is(err, ErrStale):
		return stored, ClaimBusy, nil // another delivery took it first
	case err != nil:
		return nil, 0, fmt.Errorf("claim %s: %w", id, err)
	}
	return stored, ClaimHeld, nil
}

// Done marks a held step done. If the write fails, the step stays claimed:
// a retry makes it again.
func (c *Claims) Done(ctx context.Context, lock *Lock) error {
	holder := lock.Holder
	lock.Holder = claimDone
	if err := c.Ledger.Update(ctx, lock); err != nil {
		lock.Holder = holder
		return fmt.Errorf("finish %s: %w", lock.ID, err)
	}
	return nil
}

// Release frees a held step that did not finish, for the invocation's retry
// or another delivery. A release that fails is logged: the lease frees the
// step later, and this delivery's own retry takes it at once.
func (c *Claims) Release(ctx context.Context, lock *Lock) {
	lock.Holder = ""
	if err := c.Ledger.Update(ctx, lock); err != nil {
		slog.WarnContext(ctx, "claim not released: it frees when its lease ends", "claim", lock.ID, "until", lock.Until, "error", err)
	}
}

// Once makes the step key at most once across deliveries and retries: it
// claims it, runs do, and marks it done, or releases it when do fails. It
// reports whether the step is done (by this delivery or an earlier one); a
// step another delivery holds is left to it (false, nil).
func (c *Claims) Once(ctx context.Context, key, id, app string, do func() error) (bool, error) {
	lock, state, err := c.Claim(ctx, key, id, app)
	switch {
	case err != nil:
		return false, err
	case state == ClaimDone:
		return true, nil
	case state == ClaimBusy:
		return false, nil
	}
	if err := do(); err != nil {
		c.Release(ctx, lock)
		return false, err
	}
	return true, c.Done(ctx, lock)
}

func (c *Claims) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
