package deploy

import (
	"context"
	"time"
)

// Progress says how a started deployment stands.
type Progress struct {
	// Done says the deployment ended; Success, that it ended running the
	// artifact.
	Done, Success bool
	// Detail says where it stands, in one line, for the ledger and the logs.
	Detail string
}

// Follower is a Deployer whose deployments announce their end by no event
// Highway receives (an App Runner operation, a Kubernetes rollout, a GitOps
// controller's sync): promotion asks it, on every tick, how a deployment it
// started stands, by the Handle its Deploy returned.
type Follower interface {
	Deployer
	// Follow reads how the deployment of t that Deploy started as handle
	// stands. Errors wrapping ErrRefused end it as failed (its target is
	// gone); other errors are asked again on the next tick.
	Follow(ctx context.Context, t Target, handle string) (Progress, error)
	// Timeout is how long a deployment may run; promotion fails one still
	// running after it.
	Timeout() time.Duration
}

// followTimeout bounds an App Runner operation's or a direct EKS rollout's
// wait: both end on their own well before (an App Runner deployment fails
// after its health checks do; a rollout at its progress deadline), so this
// only ends a wait whose end Highway cannot see.
const followTimeout = time.Hour
