package remediate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
)

// EKSRolloutRestart rolls every pod of the Deployment, as `kubectl rollout
// restart` does: its pod template's restartedAt annotation is set to at,
// the time of what the restart answers (an alarm's state change), to the
// second. A call made again with the same at writes the value the template
// already holds, which the API server takes as no change: no new
// generation, no second roll. So a caller that repeats an action it could
// not record restarts the pods once. A missing or paused Deployment is
// refused (a paused one would roll only when resumed, long after the
// alarm). A 409 Conflict is tried again, up to kube.MaxAttempts writes;
// then the error is retryable. The Handle is the Deployment generation the
// restart rolls out.
func EKSRolloutRestart(ctx context.Context, connect kube.Connector, a policy.EKSWorkload, env *policy.Environment, at time.Time) (Outcome, error) {
	w, err := eksTarget("eks-rollout-restart", a, env)
	if err != nil {
		return Outcome{}, err
	}
	cl, err := eksDeployment(ctx, connect, w)
	if err != nil {
		return Outcome{}, err
	}
	d, err := patchRetried(w, func() (*appsv1.Deployment, error) {
		return cl.Restart(ctx, w.Namespace, w.Deployment, at)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("restart %s: %w", eksName(w), classify(err))
	}
	gen := strconv.FormatInt(d.Generation, 10)
	return Outcome{
		Detail: fmt.Sprintf("eks %s: rollout restarted at %s (generation %s)", eksName(w), at.UTC().Format(time.RFC3339), gen),
		Handle: gen,
	}, nil
}

// EKSScale adds a.Step to the Deployment's replicas, kept within
// [a.Min, a.Max], as ECSScale does with an ECS service's desired count: a
// Deployment already at the bound Step moves towards, or beyond it, is left
// as it is. The replicas are read again before each write a 409 Conflict
// answered, up to kube.MaxAttempts writes; each write names the
// resourceVersion it read, so a change made between a read and its write is
// answered with 409 and read again, never written over.
func EKSScale(ctx context.Context, connect kube.Connector, a policy.EKSScaleAction, env *policy.Environment) (Outcome, error) {
	w, err := eksTarget("eks-scale", policy.EKSWorkload{Cluster: a.Cluster, Namespace: a.Namespace, Deployment: a.Deployment}, env)
	if err != nil {
		return Outcome{}, err
	}
	if a.Min < 0 || a.Min > a.Max {
		return Outcome{}, fmt.Errorf("%w: eks-scale of %s: bounds %d..%d are not 0 ≤ min ≤ max", ErrRefused, eksName(w), a.Min, a.Max)
	}
	cl, err := eksCluster(ctx, connect, w)
	if err != nil {
		return Outcome{}, err
	}
	var current, next int
	_, err = patchRetried(w, func() (*appsv1.Deployment, error) {
		d, err := cl.Deployment(ctx, w.Namespace, w.Deployment)
		if err != nil {
			return nil, err
		}
		current = replicas(d)
		next = scaled(current, a.Step, a.Min, a.Max)
		if next == current {
			return d, nil
		}
		return cl.Scale(ctx, w.Namespace, w.Deployment, int32(next), d.ResourceVersion)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("scale %s: %w", eksName(w), classify(err))
	}
	if next == current {
		return Outcome{Detail: fmt.Sprintf("eks %s: replicas %d left as it is, at its bound (bounds %d..%d)",
			eksName(w), current, a.Min, a.Max)}, nil
	}
	return Outcome{Detail: fmt.Sprintf("eks %s: replicas %d → %d (bounds %d..%d)",
		eksName(w), current, next, a.Min, a.Max)}, nil
}

// eksName names a Deployment in Details: cluster/namespace/deployment.
func eksName(w policy.EKSWorkload) string {
	return w.Cluster + "/" + w.Namespace + "/" + w.Deployment
}

// eksCluster connects to the workload's cluster.
func eksCluster(ctx context.Context, connect kube.Connector, w policy.EKSWorkload) (*kube.Cluster, error) {
	cl, err := connect(ctx, w.Cluster)
	if err != nil {
		return nil, fmt.Errorf("connect to EKS cluster %s: %w", w.Cluster, classify(err))
	}
	return cl, nil
}

// eksDeployment connects to the workload's cluster and checks that its
// Deployment exists and is not paused.
func eksDeployment(ctx context.Context, connect kube.Connector, w policy.EKSWorkload) (*kube.Cluster, error) {
	cl, err := eksCluster(ctx, connect, w)
	if err != nil {
		return nil, err
	}
	d, err := cl.Deployment(ctx, w.Namespace, w.Deployment)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", eksName(w), classify(err))
	}
	if d.Spec.Paused {
		return nil, fmt.Errorf("%w: %s is paused: its pods would roll only once it is resumed", ErrRefused, eksName(w))
	}
	return cl, nil
}

// patchRetried runs write, which reads what it needs before it writes,
// again after each 409 Conflict, up to kube.MaxAttempts times.
func patchRetried(w policy.EKSWorkload, write func() (*appsv1.Deployment, error)) (*appsv1.Deployment, error) {
	for range kube.MaxAttempts {
		d, err := write()
		if apierrors.IsConflict(err) {
			continue
		}
		return d, err
	}
	return nil, fmt.Errorf("%w: %s changed on each of %d writes", kube.ErrConflict, eksName(w), kube.MaxAttempts)
}

// replicas is the Deployment's desired replicas; unset, Kubernetes' default
// of 1.
func replicas(d *appsv1.Deployment) int {
	if d.Spec.Replicas == nil {
		return 1
	}
	return int(*d.Spec.Replicas)
}
