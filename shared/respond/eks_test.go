package respond

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/remediate"
)

// eksPolicy runs checkout in prod as Deployment web in namespace checkout of
// EKS cluster shop; its runbook scales web up, then restarts it.
const eksPolicy = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: prod, account: "444444444444", region: eu-west-1, deploy: {eks: {cluster: shop, namespace: checkout, deployment: web, container: app}}}
alarms:
  maxActionsPerHour: 10
  runbooks:
    - name: checkout-prod-errors
      app: checkout
      env: prod
      match: {names: [checkout-prod-*]}
      actions:
        - eks-scale: {step: 2, min: 2, max: 6}
        - eks-rollout-restart: {}
`

// web is the Deployment as the API server returns it, its rollout finished.
func web() *appsv1.Deployment {
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "checkout", Generation: 7, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: "444444444444.dkr.ecr.eu-west-1.amazonaws.com/checkout@sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"},
				}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 7, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
	}
}

// An alarm mapped to EKS actions goes through the guards as every action
// does: a dry run records them and never reaches the cluster, the rate
// limit stops the one past it, and otherwise they scale and restart the
// Deployment, the restart stamped with the alarm's state time.
func TestEKSActionsGoThroughTheGuards(t *testing.T) {
	tests := []struct {
		name         string
		old, new     string // the edit of eksPolicy
		want         []string
		wantClusters []string // connected to
		wantReplicas int32
		wantRestart  string // the pod template's restartedAt
	}{
		{"dry run", "  maxActionsPerHour: 10", "  dryRun: true\n  maxActionsPerHour: 10",
			[]string{"eks-scale:dry-run", "eks-rollout-restart:dry-run"}, nil, 3, ""},
		{"rate limited", "maxActionsPerHour: 10", "maxActionsPerHour: 1",
			[]string{"eks-scale:done", "eks-rollout-restart:rate-limited"}, []string{"shop"}, 5, ""},
		{"for real", "", "",
			[]string{"eks-scale:done", "eks-rollout-restart:done"}, []string{"shop", "shop"}, 5, "2026-11-17T11:52:27Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := kubefake.New(t)
			fake.Put(web())
			var (
				mu       sync.Mutex
				clusters []string
			)
			connect := func(_ context.Context, cluster string) (*kube.Cluster, error) {
				mu.Lock()
				defer mu.Unlock()
				clusters = append(clusters, cluster)
				return kube.New(fake.Config("k8s-aws-v1.test"))
			}
			f := newFixture(t, strings.Replace(eksPolicy, tt.old, tt.new, 1), func(c *Config) {
				c.Clients = func(string, string, string) remediate.Clients { return remediate.Clients{Kube: connect} }
			})
			fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)

			res, err := f.h.Handle(context.Background(), event(t, "checkout-prod-5xx", alarm.StateAlarm, fired))
			if err != nil {
				t.Fatal(err)
			}

			if got := outcomes(res.Runbooks[0]); !slices.Equal(got, tt.want) {
				t.Errorf("actions = %v, want %v", got, tt.want)
			}
			if !slices.Equal(clusters, tt.wantClusters) {
				t.Errorf("clusters connected = %v, want %v", clusters, tt.wantClusters)
			}
			d := fake.Get("checkout", "web")
			if *d.Spec.Replicas != tt.wantReplicas || d.Spec.Template.Annotations[kube.RestartedAtAnnotation] != tt.wantRestart {
				t.Errorf("web has %d replicas, restartedAt %q; want %d, %q", *d.Spec.Replicas,
					d.Spec.Template.Annotations[kube.RestartedAtAnnotation], tt.wantReplicas, tt.wantRestart)
			}
		})
	}
}

// unrecorded is a ledger whose next writes of remediation records fail,
// as a throttled DynamoDB table answers: the action ran, but what it did
// is not on the ledger.
type unrecorded struct {
	ledger.Ledger
	mu    sync.Mutex
	fails int
}

func (l *unrecorded) RecordOnce(ctx context.Context, key string, ttl time.Duration, rec ledger.Record) (ledger.Record, bool, error) {
	l.mu.Lock()
	fail := l.fails > 0 && strings.HasPrefix(key, "remediation:")
	if fail {
		l.fails--
	}
	l.mu.Unlock()
	if fail {
		return nil, false, errors.New("ProvisionedThroughputExceededException: the level of configured provisioned throughput for the table was exceeded")
	}
	return l.Ledger.RecordOnce(ctx, key, ttl, rec)
}

// A delivery restarts the Deployment and fails to record it; the event is
// delivered again a minute later and restarts it again. Both write the
// alarm's state time, so the second write changes nothing: the pods roll
// once for the alarm.
func TestEKSRolloutRestartRollsOncePerAlarm(t *testing.T) {
	fake := kubefake.New(t)
	fake.Put(web())
	connect := func(context.Context, string) (*kube.Cluster, error) { return kube.New(fake.Config("k8s-aws-v1.test")) }
	restartOnly := strings.Replace(eksPolicy, "        - eks-scale: {step: 2, min: 2, max: 6}\n", "", 1)
	f := newFixture(t, restartOnly, func(c *Config) {
		c.Ledger = &unrecorded{Ledger: c.Ledger, fails: 1}
		c.Clients = func(string, string, string) remediate.Clients { return remediate.Clients{Kube: connect} }
	})
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	ev := event(t, "checkout-prod-5xx", alarm.StateAlarm, fired)

	first, err := f.h.Handle(context.Background(), ev)
	if err == nil || len(first.Runbooks) != 1 || !slices.Equal(outcomes(first.Runbooks[0]), []string{"eks-rollout-restart:pending"}) {
		t.Fatalf("first delivery = %+v, %v; want the restart pending, its record failed", first, err)
	}
	if g := fake.Get("checkout", "web").Generation; g != 8 {
		t.Fatalf("generation after the first delivery = %d, want 8: the restart ran", g)
	}
	f.clock.Advance(time.Minute)
	second, err := f.h.Handle(context.Background(), ev)
	if err != nil || len(second.Runbooks) != 1 || !slices.Equal(outcomes(second.Runbooks[0]), []string{"eks-rollout-restart:done"}) {
		t.Fatalf("redelivery = %+v, %v; want the restart done", second, err)
	}

	d := fake.Get("checkout", "web")
	if at := d.Spec.Template.Annotations[kube.RestartedAtAnnotation]; d.Generation != 8 || at != "2026-11-17T11:52:27Z" {
		t.Errorf("web at generation %d, restartedAt %q; want 8, 2026-11-17T11:52:27Z (one roll, at the alarm's time)", d.Generation, at)
	}
	patches := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPatch {
			patches++
		}
	}
	if patches != 2 {
		t.Errorf("patches = %d, want 2: one per delivery", patches)
	}
	rs, err := f.ledger.Remediations(context.Background(), "checkout", "prod", fired.Add(-time.Hour), f.clock.Now().Add(time.Second))
	if err != nil || len(rs) != 1 || rs[0].Result != "done: eks shop/checkout/web: rollout restarted at 2026-11-17T11:52:27Z (generation 8)" {
		t.Errorf("remediations = %+v, %v; want one restart, of generation 8", rs, err)
	}
}

// A runbook's EKS action where the function has no way to reach a cluster
// fails, and stops the actions after it.
func TestEKSActionWithoutAConnectorFails(t *testing.T) {
	f := newFixture(t, eksPolicy) // its clients reach ECS alone
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)

	res, err := f.h.Handle(context.Background(), event(t, "checkout-prod-5xx", alarm.StateAlarm, fired))
	if err != nil {
		t.Fatal(err)
	}

	rr := res.Runbooks[0]
	if got := outcomes(rr); !slices.Equal(got, []string{"eks-scale:failed", "eks-rollout-restart:skipped"}) ||
		!strings.Contains(rr.Actions[0].Detail, "no client for eks-scale in 444444444444/eu-west-1") {
		t.Errorf("actions = %+v, want eks-scale failed for want of a client", rr.Actions)
	}
}
