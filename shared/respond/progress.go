package respond

import (
	"context"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// ClaimLease is how long a delivery holds a step of an alarm's response
// that it claimed. A claim older than that belongs to a delivery that died
// (a timeout, a crash), and another delivery may take the step over. It is
// longer than the respond function's timeout (60 s in infra), so a live
// delivery never loses a step it is running.
const ClaimLease = 2 * time.Minute

// finished is the Holder of a transition's record once its response is
// done.
const finished = "done"

// The claims' states, as ledger.Claims names them.
const (
	claimHeld = ledger.ClaimHeld
	claimDone = ledger.ClaimDone
	claimBusy = ledger.ClaimBusy
)

// claims are one delivery's claims on the steps of an alarm transition's
// response: the notice of an incident, each action of a runbook, the
// resolution of an incident (ledger.Claims, under keys respond:<step>, with
// the lease ClaimLease, kept as long as the transition).
type claims struct{ ledger.Claims }

// newClaims are the claims of the delivery holder on l.
func newClaims(l ledger.Ledger, now func() time.Time, holder string) claims {
	return claims{ledger.Claims{Ledger: l, Now: now, Holder: holder, Lease: ClaimLease, Keep: transitionTTL}}
}

// claim takes the step whose idempotency key is key for this delivery; id
// names its lock. A claim the delivery holds must end with done or release.
func (c *claims) claim(ctx context.Context, key, id string) (*ledger.Lock, ledger.ClaimState, error) {
	return c.Claim(ctx, "respond:"+key, id, "")
}

// done marks a held step done; release frees one that did not finish.
func (c *claims) done(ctx context.Context, lock *ledger.Lock) error { return c.Done(ctx, lock) }
func (c *claims) release(ctx context.Context, lock *ledger.Lock)    { c.Release(ctx, lock) }
