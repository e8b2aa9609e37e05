package runtimecheck

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
)

// runningEKS reads the pod template of the Deployment spec names, in its
// EKS cluster: the template is what the controller converges the pods to,
// and what a hand change (kubectl set image, kubectl edit) rewrites.
//
// The policy's container is the target. Every other container and init
// container whose image comes from the same repository runs the app too (a
// migration, a worker started with another command), so each is checked
// beside it, a tag included. Sidecars with images of other repositories (a
// proxy, a log router) are not the app's artifact: Highway neither promotes
// nor checks them, whether they name a digest or a tag.
//
// The template is what runs only once every pod is of it. While pods of
// another template may still run (a rollout paused, progressing or failed),
// the Target says so and Unsettled is set: a template that names the
// promoted digest then does not show that the pods run it. Whether a digest
// is a promotion's, deploying, is Check's to decide.
func runningEKS(ctx context.Context, spec *policy.EKSDeploy, connect kube.Connector) (Observed, error) {
	cluster, err := connect(ctx, spec.Cluster)
	if err != nil {
		return Observed{}, classify(err)
	}
	d, err := cluster.Deployment(ctx, spec.Namespace, spec.Deployment)
	if errors.Is(err, kube.ErrRefused) {
		return Observed{}, fmt.Errorf("%w: cluster %s: %w", ErrMissing, spec.Cluster, err)
	}
	if err != nil {
		return Observed{}, fmt.Errorf("cluster %s: %w", spec.Cluster, err)
	}
	where := fmt.Sprintf("eks %s %s/%s", spec.Cluster, spec.Namespace, spec.Deployment)

	// The policy's container is one of the template's containers, as
	// promotion's patch requires; an init container of that name is not it.
	images, ok := kube.AppImages(d, spec.Container, "")
	if !ok {
		return Observed{}, fmt.Errorf("%w: Deployment %s/%s in cluster %s has no container %q (it has %s)",
			ErrMissing, spec.Namespace, spec.Deployment, spec.Cluster, spec.Container, kube.ContainerNames(d))
	}
	obs := observedImage(where+" container "+images[0].Container, images[0])
	if rollout := unsettled(d); rollout != "" {
		obs.Target += ", rollout " + rollout
		obs.Unsettled = "pods of another template may still run, and so another image"
	}
	for _, img := range images[1:] {
		obs.Others = append(obs.Others, observedImage(where+" container "+img.Container, img))
	}
	return obs, nil
}

// observedImage is what one container runs, with why its digest is empty.
func observedImage(target string, img kube.Image) Observed {
	o := Observed{Target: target, Digest: img.Digest, Raw: img.Reference}
	if o.Digest == "" {
		_, o.Note = imageref.Digest(img.Reference)
	}
	return o
}

// unsettled names, in one word, the rollout of a Deployment whose pods may
// not all be of its template: "paused", "failed" or "progressing"; empty
// when the controller has observed the template and every pod is of it. A
// scale-up still adding pods, or pods not yet available, leaves every pod
// of the template: what runs is still what it names. The word alone, not
// the replica counts, goes into the Target, so a check of the same state
// reads the same Target and is no change.
func unsettled(d *appsv1.Deployment) string {
	s := d.Status
	if s.ObservedGeneration >= d.Generation && s.Replicas <= s.UpdatedReplicas {
		return ""
	}
	switch {
	case d.Spec.Paused:
		return "paused"
	case kube.RolloutOf(d, 0).Phase == kube.Failed:
		return "failed"
	}
	return "progressing"
}
