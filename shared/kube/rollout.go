package kube

import (
	"fmt"
	"slices"

	"github.com/highwayhq/highway/shared/imageref"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Phase is where a Deployment's rollout stands.
type Phase string

// The phases of a rollout.
const (
	// Progressing: the controller has not yet observed the latest spec, or
	// new pods are still being made available, or old ones still stop.
	Progressing Phase = "PROGRESSING"
	// Complete: every replica runs the latest spec and is available.
	Complete Phase = "COMPLETE"
	// Failed: the rollout exceeded its progressDeadlineSeconds.
	Failed Phase = "FAILED"
)

// Rollout says how a Deployment's rollout stands, in the terms `kubectl
// rollout status` uses (k8s.io/kubectl/pkg/polymorphichelpers,
// DeploymentStatusViewer), for the generation a change produced.
type Rollout struct {
	Phase Phase
	// Reason says why, in one line.
	Reason string
}

// RolloutOf judges d's rollout of generation (the Generation a patch left;
// zero means d's own): Progressing until the controller has observed it, then
// Failed when the Progressing condition says ProgressDeadlineExceeded,
// Progressing while replicas are still being updated, old ones still stop or
// updated ones are not yet available, and Complete after.
//
// A generation older than d's own is judged as d's: the Deployment changed
// since, and what counts is whether its latest spec rolled out (callers check
// with Images that it still runs their image). A paused Deployment fails: its
// rollout does not start, and no deadline would end the wait. With no
// replicas a rollout is complete at once, as kubectl says.
func RolloutOf(d *appsv1.Deployment, generation int64) Rollout {
	generation = max(generation, d.Generation)
	if d.Spec.Paused {
		return Rollout{Failed, "the Deployment is paused: its rollout does not start until it is resumed"}
	}
	s := d.Status
	if s.ObservedGeneration < generation {
		return Rollout{Progressing, fmt.Sprintf("waiting for the controller to observe generation %d (it has seen %d)", generation, s.ObservedGeneration)}
	}
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Rollout{Failed, fmt.Sprintf("exceeded its progress deadline: %s", c.Message)}
		}
	}
	if want := d.Spec.Replicas; want != nil && s.UpdatedReplicas < *want {
		return Rollout{Progressing, fmt.Sprintf("%d of %d new replicas updated", s.UpdatedReplicas, *want)}
	}
	if s.Replicas > s.UpdatedReplicas {
		return Rollout{Progressing, fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)}
	}
	if s.AvailableReplicas < s.UpdatedReplicas {
		return Rollout{Progressing, fmt.Sprintf("%d of %d updated replicas available", s.AvailableReplicas, s.UpdatedReplicas)}
	}
	return Rollout{Complete, fmt.Sprintf("%d replicas updated and available", s.UpdatedReplicas)}
}

// Image is what one container of a Deployment's pod template runs.
type Image struct {
	Container string
	// Init says it is an init container.
	Init bool
	// Reference is the image as the template names it.
	Reference string
	// Digest is its "sha256:…" digest; empty when it names a tag, which is
	// drift for Highway: a tag can be moved under a running Deployment.
	Digest string
}

// Images lists every container and init container of d's pod template.
func Images(d *appsv1.Deployment) []Image {
	var out []Image
	spec := d.Spec.Template.Spec
	for i, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			digest, _ := imageref.Digest(c.Image)
			out = append(out, Image{Container: c.Name, Init: i == 0, Reference: c.Image, Digest: digest})
		}
	}
	return out
}

// AppImages returns the app's images in d's pod template: what container
// (not an init container) runs, first, then every other container and init
// container whose image comes from repository (an image reference or a
// repository, as imageref.Repository reads it; empty, container's own). One
// artifact runs in all of them: promotion sets them together, and runtime
// drift checks them together. Sidecars of other repositories are not the
// app's. ok is false when the template has no such container.
func AppImages(d *appsv1.Deployment, container, repository string) (images []Image, ok bool) {
	all := Images(d)
	i := slices.IndexFunc(all, func(im Image) bool { return im.Container == container && !im.Init })
	if i < 0 {
		return nil, false
	}
	if repository == "" {
		repository = all[i].Reference
	}
	repo := imageref.Repository(repository)
	images = []Image{all[i]}
	for j, im := range all {
		if j != i && imageref.Repository(im.Reference) == repo {
			images = append(images, im)
		}
	}
	return images, true
}
