package deploy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
)

// eksDeployer patches one container's image of a Deployment in an EKS
// cluster, then follows the rollout of the generation the patch made.
type eksDeployer struct {
	spec    *policy.EKSDeploy
	connect kube.Connector
}

// Deploy sets the container's image and returns "<generation>" of the
// Deployment as the patch left it as the Handle. A Deployment that already
// names the image is not patched: its current generation is followed, or it
// is Done when that rolled out.
func (d eksDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	image, err := imageURI(t)
	if err != nil {
		return Result{}, err
	}
	s := d.spec
	cl, err := d.connect(ctx, s.Cluster)
	if err != nil {
		return Result{}, classify(err)
	}
	dep, changed, err := cl.SetImage(ctx, s.Namespace, s.Deployment, s.Container, image)
	if err != nil {
		return Result{}, kubeError(err)
	}
	where := fmt.Sprintf("Deployment %s/%s in cluster %s", s.Namespace, s.Deployment, s.Cluster)
	handle := strconv.FormatInt(dep.Generation, 10)
	if !changed {
		if r := kube.RolloutOf(dep, 0); r.Phase == kube.Complete {
			return Result{Done: true, Detail: fmt.Sprintf("%s already runs %s: %s", where, image, r.Reason)}, nil
		}
	}
	return Result{Handle: handle, Detail: fmt.Sprintf("%s rolling out %s, generation %s", where, image, handle)}, nil
}

// Follow judges the rollout of the handle's generation, as `kubectl rollout
// status` does; a container that no longer names the image (someone changed
// it since) fails the deployment.
func (d eksDeployer) Follow(ctx context.Context, t Target, handle string) (Progress, error) {
	gen, err := strconv.ParseInt(handle, 10, 64)
	if err != nil || gen <= 0 {
		return Progress{}, fmt.Errorf("%w: %q is not a Deployment generation", ErrRefused, handle)
	}
	return rollout(ctx, d.connect, d.spec, t, gen)
}

// Timeout bounds the wait; the Deployment's progress deadline ends a stuck
// rollout before.
func (eksDeployer) Timeout() time.Duration { return followTimeout }

// rollout reads the Deployment spec names and says how its rollout of
// generation (0: its latest) of the target's image stands.
func rollout(ctx context.Context, connect kube.Connector, s *policy.EKSDeploy, t Target, generation int64) (Progress, error) {
	digest, _, err := deployedDigest(t)
	if err != nil {
		return Progress{}, err
	}
	cl, err := connect(ctx, s.Cluster)
	if err != nil {
		return Progress{}, classify(err)
	}
	dep, err := cl.Deployment(ctx, s.Namespace, s.Deployment)
	if err != nil {
		return Progress{}, kubeError(err)
	}
	where := fmt.Sprintf("Deployment %s/%s in cluster %s", s.Namespace, s.Deployment, s.Cluster)
	// The policy's container and every other of the artifact's repository
	// (SetImage sets them all) must run the digest.
	images, found := kube.AppImages(dep, s.Container, t.Artifact.Repository)
	if !found {
		return Progress{}, fmt.Errorf("%w: %s has no container %s", ErrRefused, where, s.Container)
	}
	for _, im := range images {
		if im.Digest == digest {
			continue
		}
		if generation > 0 {
			return Progress{Done: true, Detail: fmt.Sprintf("%s: container %s was changed to %s during the rollout", where, im.Container, im.Reference)}, nil
		}
		return Progress{Detail: fmt.Sprintf("%s: container %s runs %s, not yet %s", where, im.Container, im.Reference, digest)}, nil
	}
	r := kube.RolloutOf(dep, generation)
	detail := fmt.Sprintf("%s: %s", where, r.Reason)
	return Progress{Done: r.Phase != kube.Progressing, Success: r.Phase == kube.Complete, Detail: detail}, nil
}

// kubeError marks the cluster's refusals (no such Deployment, RBAC's 403,
// an invalid patch) as ErrRefused; a conflict that outlasted its retries,
// throttling or a server error is worth another try.
func kubeError(err error) error {
	if kube.Refused(err) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return err
}
