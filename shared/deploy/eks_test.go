package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/policy"
)

var eksSpec = &policy.EKSDeploy{Cluster: "shop", Namespace: "checkout", Deployment: "web", Container: "app"}

// web is a Deployment as the API server returns one whose rollout of
// generation 4 finished: three replicas of a tagged image beside a sidecar.
func web() *appsv1.Deployment {
	replicas := int32(3)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "checkout", Generation: 4},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: repository + ":1.4.1"},
					{Name: "envoy", Image: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod"},
				}},
			},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		},
	}
}

// connector reaches fake as the cluster named shop, and no other.
func connector(t *testing.T, fake *kubefake.Server) kube.Connector {
	return func(_ context.Context, name string) (*kube.Cluster, error) {
		if name != "shop" {
			t.Errorf("connected to cluster %q", name)
		}
		return kube.New(fake.Config("k8s-aws-v1.test"))
	}
}

// deployedToWeb deploys the image artifact to web(), in a fake cluster, with
// the eks adapter, and returns what it started.
func deployedToWeb(t *testing.T) (*kubefake.Server, deploy.Follower, deploy.Target, deploy.Result) {
	t.Helper()
	fake := kubefake.New(t)
	fake.Put(web())
	d := eksDeployer(t, fake)
	tg := target(imageArtifact())
	res, err := d.Deploy(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, d, tg, res
}

func eksDeployer(t *testing.T, fake *kubefake.Server) deploy.Follower {
	d, err := deploy.For(&policy.Deploy{EKS: eksSpec}, deploy.Clients{Kube: connector(t, fake)})
	if err != nil {
		t.Fatal(err)
	}
	return d.(deploy.Follower)
}

// progress is the controller's view of generation 5: updated replicas of
// updated out of 3, and the Progressing condition's reason.
func progress(d *appsv1.Deployment, updated int32, reason string) {
	d.Status.ObservedGeneration = d.Generation
	d.Status.UpdatedReplicas, d.Status.AvailableReplicas = updated, updated
	status := corev1.ConditionTrue
	if reason == "ProgressDeadlineExceeded" {
		status = corev1.ConditionFalse
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
		{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason},
	}
}

// The container gets image@digest, the sidecar keeps its own; the rollout of
// the generation the patch made is followed until it completes.
func TestEKSPatchesTheContainerAndFollowsTheRollout(t *testing.T) {
	fake, d, tg, res := deployedToWeb(t)
	got := fake.Get("checkout", "web")
	if res.Done || res.Handle != "5" || got.Generation != 5 {
		t.Fatalf("result %+v, generation %d; want generation 5 followed", res, got.Generation)
	}
	if app, envoy := got.Spec.Template.Spec.Containers[0].Image, got.Spec.Template.Spec.Containers[1].Image; app != repository+"@"+imageDigest || !strings.HasSuffix(envoy, ":v1.29.4.0-prod") {
		t.Errorf("containers run %s and %s", app, envoy)
	}
	p, err := d.Follow(t.Context(), tg, res.Handle)
	if err != nil || p.Done {
		t.Errorf("before the controller saw it: %+v, %v; want running", p, err)
	}
	progress(got, 1, "ReplicaSetUpdated")
	fake.Put(got)
	if p, err := d.Follow(t.Context(), tg, res.Handle); err != nil || p.Done {
		t.Errorf("one of three updated: %+v, %v; want running", p, err)
	}
	progress(got, 3, "NewReplicaSetAvailable")
	fake.Put(got)
	// Quarantined meanwhile (it failed elsewhere): following only observes,
	// and the cluster runs it all the same.
	tg.Artifact.Quarantined = true
	if p, err := d.Follow(t.Context(), tg, res.Handle); err != nil || !p.Done || !p.Success {
		t.Errorf("rolled out: %+v, %v; want done and succeeded", p, err)
	}
	tg.Artifact.Quarantined = false
	again, err := d.Deploy(t.Context(), tg)
	if err != nil || !again.Done {
		t.Errorf("deployed again: %+v, %v; want done without a patch", again, err)
	}
}

// A rollout past its progressDeadlineSeconds fails the deployment.
func TestEKSProgressDeadlineExceeded(t *testing.T) {
	fake, d, tg, res := deployedToWeb(t)
	got := fake.Get("checkout", "web")
	progress(got, 1, "ProgressDeadlineExceeded")
	fake.Put(got)
	p, err := d.Follow(t.Context(), tg, res.Handle)
	if err != nil || !p.Done || p.Success || !strings.Contains(p.Detail, "exceeded its progress deadline") {
		t.Errorf("deadline exceeded: %+v, %v; want done and failed, saying so", p, err)
	}
}

// The API server answers the patch with 409 Conflict when the Deployment
// changed after Highway read it: Highway reads it again and patches the
// version it read then, keeping the other change.
func TestEKSConflictOnPatchIsReadAgain(t *testing.T) {
	fake := kubefake.New(t)
	fake.Put(web())
	fake.BeforePatch = func(d *appsv1.Deployment) {
		fake.BeforePatch = nil
		d.ResourceVersion += "1" // someone else's write lands first
		d.Spec.Template.Annotations = map[string]string{"team": "payments"}
	}
	d := eksDeployer(t, fake)
	if _, err := d.Deploy(t.Context(), target(imageArtifact())); err != nil {
		t.Fatal(err)
	}
	patches := 0
	for _, r := range fake.Requests() {
		if r.Method == "PATCH" {
			patches++
		}
	}
	got := fake.Get("checkout", "web")
	if patches != 2 || got.Spec.Template.Spec.Containers[0].Image != repository+"@"+imageDigest || got.Spec.Template.Annotations["team"] != "payments" {
		t.Errorf("%d patches, image %s, annotations %v; want the second patch on top of the other change",
			patches, got.Spec.Template.Spec.Containers[0].Image, got.Spec.Template.Annotations)
	}
}

// Someone changing the container's image during the rollout fails it; a
// Deployment or container that is not there is refused.
func TestEKSImageChangedDuringTheRollout(t *testing.T) {
	fake, d, tg, res := deployedToWeb(t)
	got := fake.Get("checkout", "web")
	got.Spec.Template.Spec.Containers[0].Image = repository + ":hotfix"
	fake.Put(got)
	if p, err := d.Follow(t.Context(), tg, res.Handle); err != nil || !p.Done || p.Success || !strings.Contains(p.Detail, ":hotfix") {
		t.Errorf("changed by hand: %+v, %v; want failed, naming the image", p, err)
	}
	other, err := deploy.For(&policy.Deploy{EKS: &policy.EKSDeploy{Cluster: "shop", Namespace: "checkout", Deployment: "web", Container: "worker"}}, deploy.Clients{Kube: connector(t, fake)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Deploy(t.Context(), tg); !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("no such container: %v, want ErrRefused", err)
	}
}

// The cluster's RBAC refusing the patch (403) cannot succeed on retry: the
// promotion fails and says so. A server error can.
func TestEKSForbiddenIsRefused(t *testing.T) {
	fake := kubefake.New(t)
	fake.Put(web())
	d := eksDeployer(t, fake)
	fake.Inject(kubefake.Fault{Method: "PATCH", Status: 403})
	if _, err := d.Deploy(t.Context(), target(imageArtifact())); !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("403: %v, want ErrRefused", err)
	}
	fake.Inject(kubefake.Fault{Method: "PATCH", Status: 500})
	if _, err := d.Deploy(t.Context(), target(imageArtifact())); err == nil || errors.Is(err, deploy.ErrRefused) {
		t.Errorf("500: %v, want an error worth a retry", err)
	}
}
