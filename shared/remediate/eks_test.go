package remediate_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
)

// eksEnv is deployed to Deployment checkout in namespace shop of cluster
// prod.
var eksEnv = &policy.Environment{
	Name: "prod", Account: "123456789012", Region: "us-east-1",
	Deploy: &policy.Deploy{EKS: &policy.EKSDeploy{Cluster: "prod", Namespace: "shop", Deployment: "checkout", Container: "checkout"}},
}

// gitopsEnv is deployed by a GitOps controller that rolls out Deployment
// checkout in namespace shop of cluster platform.
var gitopsEnv = &policy.Environment{
	Name: "prod", Account: "123456789012", Region: "us-east-1",
	Deploy: &policy.Deploy{GitOps: &policy.GitOpsDeploy{Repository: "platform-config", Branch: "main", File: "apps/checkout/kustomization.yaml",
		Watch: &policy.EKSDeploy{Cluster: "platform", Namespace: "shop", Deployment: "checkout", Container: "checkout"}}},
}

// restartAt is the time of the alarm state change a restart answers.
var restartAt = time.Date(2026, 11, 17, 11, 52, 30, 0, time.UTC)

// deployment is Deployment name in namespace shop as the API server returns
// one whose rollout finished, with replicas replicas.
func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Generation: 4, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "checkout", Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"},
				}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

// connector reaches fake for every cluster, and records the clusters asked
// for.
type connector struct {
	fake  *kubefake.Server
	mu    sync.Mutex
	asked []string
}

func newConnector(t *testing.T, ds ...*appsv1.Deployment) *connector {
	t.Helper()
	c := &connector{fake: kubefake.New(t)}
	for _, d := range ds {
		c.fake.Put(d)
	}
	return c
}

func (c *connector) connect(_ context.Context, cluster string) (*kube.Cluster, error) {
	c.mu.Lock()
	c.asked = append(c.asked, cluster)
	c.mu.Unlock()
	return kube.New(c.fake.Config("k8s-aws-v1.test"))
}

// count is how many requests of method the fake received.
func (c *connector) count(method string) int {
	n := 0
	for _, r := range c.fake.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

func conflicts(n int) []kubefake.Fault {
	return slices.Repeat([]kubefake.Fault{{Method: http.MethodPatch, Status: http.StatusConflict}}, n)
}

func TestEKSRolloutRestartSetsRestartedAt(t *testing.T) {
	tests := []struct {
		name        string
		give        policy.EKSWorkload
		env         *policy.Environment
		wantCluster string
		wantName    string
	}{
		{"environment's Deployment", policy.EKSWorkload{}, eksEnv, "prod", "checkout"},
		{"GitOps watch", policy.EKSWorkload{}, gitopsEnv, "platform", "checkout"},
		{"named Deployment in the environment's cluster", policy.EKSWorkload{Deployment: "payments"}, eksEnv, "prod", "payments"},
		{"named Deployment, no environment", policy.EKSWorkload{Cluster: "shared", Namespace: "shop", Deployment: "payments"}, nil, "shared", "payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnector(t, deployment("checkout", 3), deployment("payments", 2))

			got, err := remediate.EKSRolloutRestart(context.Background(), c.connect, tt.give, tt.env, restartAt)
			if err != nil {
				t.Fatalf("EKSRolloutRestart: %v", err)
			}

			d := c.fake.Get("shop", tt.wantName)
			if at := d.Spec.Template.Annotations[kube.RestartedAtAnnotation]; at != "2026-11-17T11:52:30Z" || d.Generation != 5 {
				t.Errorf("pod template restartedAt %q, generation %d; want 2026-11-17T11:52:30Z, 5", at, d.Generation)
			}
			if !slices.Equal(c.asked, []string{tt.wantCluster}) {
				t.Errorf("clusters connected = %v, want [%s]", c.asked, tt.wantCluster)
			}
			want := remediate.Outcome{
				Detail: "eks " + tt.wantCluster + "/shop/" + tt.wantName + ": rollout restarted at 2026-11-17T11:52:30Z (generation 5)",
				Handle: "5",
			}
			if got != want {
				t.Errorf("EKSRolloutRestart = %+v, want %+v", got, want)
			}
		})
	}
}

// A restart made again for the same alarm writes the restartedAt the
// template holds: no new generation, so the pods roll once. Another alarm's
// restart rolls them again.
func TestEKSRolloutRestartAgainAtTheSameTime(t *testing.T) {
	c := newConnector(t, deployment("checkout", 3))
	ctx := context.Background()

	first, err := remediate.EKSRolloutRestart(ctx, c.connect, policy.EKSWorkload{}, eksEnv, restartAt)
	if err != nil {
		t.Fatalf("first EKSRolloutRestart: %v", err)
	}
	again, err := remediate.EKSRolloutRestart(ctx, c.connect, policy.EKSWorkload{}, eksEnv, restartAt)
	if err != nil {
		t.Fatalf("EKSRolloutRestart again: %v", err)
	}
	if g := c.fake.Get("shop", "checkout").Generation; g != 5 || again != first {
		t.Errorf("generation %d, outcome %+v after the same restart twice; want 5, %+v", g, again, first)
	}

	later, err := remediate.EKSRolloutRestart(ctx, c.connect, policy.EKSWorkload{}, eksEnv, restartAt.Add(10*time.Minute))
	if err != nil {
		t.Fatalf("EKSRolloutRestart for a later alarm: %v", err)
	}
	if g := c.fake.Get("shop", "checkout").Generation; g != 6 || later.Handle != "6" {
		t.Errorf("generation %d, outcome %+v after a later alarm's restart; want 6", g, later)
	}
}

// A write the API server refused with 409 Conflict is made again; after
// kube.MaxAttempts of them the error is one a later retry may fix.
func TestEKSRolloutRestartAfterConflicts(t *testing.T) {
	c := newConnector(t, deployment("checkout", 3))
	c.fake.Inject(conflicts(1)...)

	if _, err := remediate.EKSRolloutRestart(context.Background(), c.connect, policy.EKSWorkload{}, eksEnv, restartAt); err != nil {
		t.Fatalf("EKSRolloutRestart after one conflict: %v", err)
	}
	if n := c.count(http.MethodPatch); n != 2 {
		t.Errorf("patches = %d, want 2", n)
	}
	if at := c.fake.Get("shop", "checkout").Spec.Template.Annotations[kube.RestartedAtAnnotation]; at != "2026-11-17T11:52:30Z" {
		t.Errorf("restartedAt = %q after the second patch", at)
	}

	c.fake.Inject(conflicts(kube.MaxAttempts)...)
	_, err := remediate.EKSRolloutRestart(context.Background(), c.connect, policy.EKSWorkload{}, eksEnv, restartAt.Add(time.Minute))
	if !errors.Is(err, kube.ErrConflict) || errors.Is(err, remediate.ErrRefused) {
		t.Errorf("EKSRolloutRestart after %d conflicts: error = %v, want ErrConflict, retryable", kube.MaxAttempts, err)
	}
}

func TestEKSScaleKeepsReplicasWithinBounds(t *testing.T) {
	// The Deployment runs 3 replicas.
	tests := []struct {
		name       string
		give       policy.EKSScaleAction
		want       int32
		wantDetail string
	}{
		{"up", policy.EKSScaleAction{Step: 2, Min: 2, Max: 10}, 5, "eks prod/shop/checkout: replicas 3 → 5 (bounds 2..10)"},
		{"down", policy.EKSScaleAction{Step: -2, Min: 1, Max: 10}, 1, "eks prod/shop/checkout: replicas 3 → 1 (bounds 1..10)"},
		{"up clamped at max", policy.EKSScaleAction{Step: 4, Min: 1, Max: 5}, 5, "eks prod/shop/checkout: replicas 3 → 5 (bounds 1..5)"},
		{"down clamped at min", policy.EKSScaleAction{Step: -3, Min: 2, Max: 5}, 2, "eks prod/shop/checkout: replicas 3 → 2 (bounds 2..5)"},
		{"up already at max", policy.EKSScaleAction{Step: 2, Min: 1, Max: 3}, 3, "eks prod/shop/checkout: replicas 3 left as it is, at its bound (bounds 1..3)"},
		{"down already at min", policy.EKSScaleAction{Step: -1, Min: 3, Max: 6}, 3, "eks prod/shop/checkout: replicas 3 left as it is, at its bound (bounds 3..6)"},
		{"up never scales down", policy.EKSScaleAction{Step: 1, Min: 1, Max: 2}, 3, "eks prod/shop/checkout: replicas 3 left as it is, at its bound (bounds 1..2)"},
		{"down never scales up", policy.EKSScaleAction{Step: -1, Min: 4, Max: 8}, 3, "eks prod/shop/checkout: replicas 3 left as it is, at its bound (bounds 4..8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnector(t, deployment("checkout", 3))

			got, err := remediate.EKSScale(context.Background(), c.connect, tt.give, eksEnv)
			if err != nil {
				t.Fatalf("EKSScale(%+v): %v", tt.give, err)
			}

			if r := *c.fake.Get("shop", "checkout").Spec.Replicas; r != tt.want {
				t.Errorf("replicas = %d, want %d", r, tt.want)
			}
			wantPatches := 1
			if tt.want == 3 {
				wantPatches = 0
			}
			if n := c.count(http.MethodPatch); n != wantPatches {
				t.Errorf("patches = %d, want %d", n, wantPatches)
			}
			if want := (remediate.Outcome{Detail: tt.wantDetail}); got != want {
				t.Errorf("EKSScale(%+v) = %+v, want %+v", tt.give, got, want)
			}
		})
	}
}

// The API server answers the first write 409 Conflict: the replicas are
// read again and written again.
func TestEKSScaleRereadsAfterAConflict(t *testing.T) {
	c := newConnector(t, deployment("checkout", 3))
	c.fake.Inject(conflicts(1)...)

	got, err := remediate.EKSScale(context.Background(), c.connect, policy.EKSScaleAction{Step: 2, Max: 10}, eksEnv)
	if err != nil {
		t.Fatalf("EKSScale: %v", err)
	}

	if gets, patches := c.count(http.MethodGet), c.count(http.MethodPatch); gets != 2 || patches != 2 {
		t.Errorf("%d reads and %d patches, want a read before each of 2 patches", gets, patches)
	}
	if r := *c.fake.Get("shop", "checkout").Spec.Replicas; r != 5 || got.Detail != "eks prod/shop/checkout: replicas 3 → 5 (bounds 0..10)" {
		t.Errorf("replicas %d, outcome %+v; want 5", r, got)
	}
}

// Someone scales the Deployment between EKSScale's read and its write: the
// write names the version it read, the API server answers 409, and the step
// is applied to their replicas, not written over them.
func TestEKSScaleDoesNotWriteOverAConcurrentScale(t *testing.T) {
	c := newConnector(t, deployment("checkout", 3))
	c.fake.BeforePatch = func(d *appsv1.Deployment) {
		c.fake.BeforePatch = nil
		theirs := int32(4)
		d.Spec.Replicas = &theirs
		d.ResourceVersion += "1"
	}
	if _, err := remediate.EKSScale(context.Background(), c.connect, policy.EKSScaleAction{Step: 2, Max: 10}, eksEnv); err != nil {
		t.Fatalf("EKSScale: %v", err)
	}
	if r := *c.fake.Get("shop", "checkout").Spec.Replicas; r != 6 || c.count(http.MethodPatch) != 2 {
		t.Errorf("replicas %d after %d patches, want 6: their 4 and the step of 2", r, c.count(http.MethodPatch))
	}
}

func TestEKSRefusals(t *testing.T) {
	paused := deployment("checkout", 3)
	paused.Spec.Paused = true
	tests := []struct {
		name   string
		stored *appsv1.Deployment
		run    func(context.Context, kube.Connector) (remediate.Outcome, error)
	}{
		{"restart of a missing Deployment", deployment("payments", 2), func(ctx context.Context, c kube.Connector) (remediate.Outcome, error) {
			return remediate.EKSRolloutRestart(ctx, c, policy.EKSWorkload{}, eksEnv, restartAt)
		}},
		{"scale of a missing Deployment", deployment("payments", 2), func(ctx context.Context, c kube.Connector) (remediate.Outcome, error) {
			return remediate.EKSScale(ctx, c, policy.EKSScaleAction{Step: 1, Max: 4}, eksEnv)
		}},
		{"restart of a paused Deployment", paused, func(ctx context.Context, c kube.Connector) (remediate.Outcome, error) {
			return remediate.EKSRolloutRestart(ctx, c, policy.EKSWorkload{}, eksEnv, restartAt)
		}},
		{"scale within bounds that are none", deployment("checkout", 3), func(ctx context.Context, c kube.Connector) (remediate.Outcome, error) {
			return remediate.EKSScale(ctx, c, policy.EKSScaleAction{Step: 1, Min: 5, Max: 4}, eksEnv)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnector(t, tt.stored)

			_, err := tt.run(context.Background(), c.connect)

			if !errors.Is(err, remediate.ErrRefused) {
				t.Errorf("error = %v, want ErrRefused", err)
			}
			if n := c.count(http.MethodPatch); n != 0 {
				t.Errorf("patches = %d, want none", n)
			}
		})
	}
}

// The cluster refuses Highway's identity (RBAC: 403 Forbidden): a retry
// does not help. It throttles (429) or fails (503): a retry may.
func TestEKSClusterAnswers(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		wantRefused bool
	}{
		{"forbidden", http.StatusForbidden, true},
		{"unavailable", http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnector(t, deployment("checkout", 3))
			c.fake.Inject(kubefake.Fault{Method: http.MethodPatch, Status: tt.status})

			_, err := remediate.EKSScale(context.Background(), c.connect, policy.EKSScaleAction{Step: 1, Max: 4}, eksEnv)

			if err == nil || errors.Is(err, remediate.ErrRefused) != tt.wantRefused {
				t.Errorf("error = %v, want refused %v", err, tt.wantRefused)
			}
			if r := *c.fake.Get("shop", "checkout").Spec.Replicas; r != 3 {
				t.Errorf("replicas = %d, want 3 (unchanged)", r)
			}
		})
	}
}
