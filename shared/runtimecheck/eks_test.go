package runtimecheck_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/runtimecheck"
)

// envoy is a sidecar of another repository than the app's.
const envoy = "public.ecr.aws/appmesh/aws-appmesh-envoy@sha256:0c9bc7e1f4a3c6b7d2e5f8a1b4c7d0e3f6a9b2c5d8e1f4a7b0c3d6e9f2a5b8c1"

// The environments deployed to the Deployment checkout/checkout in the EKS
// cluster shop: by patching it, and through a GitOps repository whose
// controller rolls it out.
var (
	watched   = &policy.EKSDeploy{Cluster: "shop", Namespace: "checkout", Deployment: "checkout", Container: "app"}
	eksEnv    = env(&policy.Deploy{EKS: watched})
	gitopsEnv = env(&policy.Deploy{GitOps: &policy.GitOpsDeploy{Repository: "checkout-deploy", Branch: "main",
		File: "overlays/prod/kustomization.yaml", Watch: watched}})
)

// pods are the images of checkout's pod template.
type pods struct{ app, migrate, proxy string }

// rolledOut is checkout's Deployment as the API server returns it once its
// rollout finished: three replicas of the app container, after a migrate
// init container built from the same repository, beside an Envoy sidecar.

// eksKinds are the two ways an environment runs on EKS; each test runs on
// both, for runtime drift reads the same Deployment in each.
var eksKinds = []struct {
	kind string
	env  *policy.Environment
}{{"eks", eksEnv}, {"gitops", gitopsEnv}}

func rolledOut(p pods) *appsv1.Deployment {
	replicas := int32(3)
	labels := map[string]string{"app.kubernetes.io/name": "checkout"}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "checkout", Generation: 4, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "migrate", Image: p.migrate, Command: []string{"/checkout", "migrate"}}},
					Containers: []corev1.Container{
						{Name: "app", Image: p.app, Ports: []corev1.ContainerPort{{ContainerPort: 8080}}},
						{Name: "envoy", Image: p.proxy},
					},
				},
			},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", Message: `ReplicaSet "checkout-7d9f8c6b5" has successfully progressed.`},
			},
		},
	}
}

// rollingOut is checkout's Deployment one pod into the rollout of generation
// 5: one new replica is up, the three old ones still run.
func rollingOut(p pods) *appsv1.Deployment {
	d := rolledOut(p)
	d.Generation, d.Status.ObservedGeneration = 5, 5
	d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 4, 1, 3, 3
	d.Status.Conditions[1].Reason, d.Status.Conditions[1].Message = "ReplicaSetUpdated", `ReplicaSet "checkout-5b7c9d8f6" is progressing.`
	return d
}

// inSync is what runs once the promoted digest rolled out.
var inSync = pods{app: repo + "@" + promoted, migrate: repo + "@" + promoted, proxy: envoy}

// eksCluster serves d from a fake Kubernetes API, reached as an EKS cluster
// named shop is: EKS DescribeCluster finds its endpoint and certificate, and
// the token is an STS GetCallerIdentity presigned by the SDK. Any other
// cluster does not exist.
func eksCluster(t *testing.T, d *appsv1.Deployment) (*kubefake.Server, *awsfake.Server, runtimecheck.Clients) {
	t.Helper()
	k := kubefake.New(t)
	k.Put(d)
	srv := awsfake.New(t)
	srv.Route("DescribeCluster", "GET /clusters/{name}")
	srv.OnFunc("DescribeCluster", func(r awsfake.Request) awsfake.Response {
		if name := r.PathValues["name"]; name != "shop" {
			return awsfake.APIError(http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: "+name+".")
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"cluster":{"name":"shop","arn":"arn:aws:eks:us-east-1:123456789012:cluster/shop",`+
			`"version":"1.33","endpoint":%q,"status":"ACTIVE","certificateAuthority":{"data":%q},"accessConfig":{"authenticationMode":"API"}}}`,
			k.Config("").Host, base64.StdEncoding.EncodeToString(k.CA())))
	})
	cfg := srv.Config()
	return k, srv, runtimecheck.Clients{Kube: kube.Connecting(eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg)))}
}

func TestCheckEKSComparesEveryContainerOfTheAppsRepository(t *testing.T) {
	tests := []struct {
		name       string
		give       pods
		wantStatus string
		wantDigest string
		wantTarget string
	}{
		{"in sync", inSync, runtimecheck.StatusInSync, promoted, "eks shop checkout/checkout container app: " + repo + "@" + promoted},
		{"app image changed by hand", pods{repo + "@" + hotfix, repo + "@" + promoted, envoy},
			runtimecheck.StatusMismatch, hotfix, "eks shop checkout/checkout container app: " + repo + "@" + hotfix},
		{"init container image changed by hand", pods{repo + "@" + promoted, repo + ":1.4.2@" + previous, envoy},
			runtimecheck.StatusMismatch, previous, "eks shop checkout/checkout container migrate: " + repo + ":1.4.2@" + previous},
		// A sidecar of another repository is not the app's artifact: it
		// runs its own digest, or a tag, and the app is still in sync.
		{"sidecar of another repository by tag", pods{repo + "@" + promoted, repo + "@" + promoted, "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4"},
			runtimecheck.StatusInSync, promoted, "eks shop checkout/checkout container app"},
	}
	for _, e := range eksKinds {
		for _, tt := range tests {
			t.Run(e.kind+" "+tt.name, func(t *testing.T) {
				k, srv, c := eksCluster(t, rolledOut(tt.give))
				rep, err := runtimecheck.Check(context.Background(), "checkout", e.env, seeded(t), c, now)
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if rep.Status != tt.wantStatus || rep.Digest != tt.wantDigest || rep.ExpectedDigest != promoted || !strings.HasPrefix(rep.Target, tt.wantTarget) {
					t.Errorf("Check = %s running %q at %q, want %s running %q at %q", rep.Status, rep.Digest, rep.Target, tt.wantStatus, tt.wantDigest, tt.wantTarget)
				}
				if calls := srv.Calls("DescribeCluster"); len(calls) != 1 || calls[0].PathValues["name"] != "shop" {
					t.Errorf("DescribeCluster calls = %d, want 1 for shop", len(calls))
				}
				reqs := k.Requests()
				if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/apis/apps/v1/namespaces/checkout/deployments/checkout" ||
					!strings.HasPrefix(reqs[0].Authorization, "Bearer k8s-aws-v1.") {
					t.Errorf("cluster requests = %+v, want one GET of checkout/checkout with an EKS token", reqs)
				}
			})
		}
	}
}

// A container of the app's repository that runs a tag cannot be verified:
// the tag can be moved under it, so what it runs is not what the gate
// passed.
func TestDeploymentRunningATag(t *testing.T) {
	tests := []struct {
		name       string
		give       pods
		wantTarget string
	}{
		{"app container", pods{repo + ":1.4.2", repo + "@" + promoted, envoy}, "container app: " + repo + ":1.4.2 (image referenced by tag"},
		{"init container", pods{repo + "@" + promoted, repo + ":latest", envoy}, "container migrate: " + repo + ":latest (image referenced by tag"},
	}
	for _, e := range eksKinds {
		for _, tt := range tests {
			t.Run(e.kind+" "+tt.name, func(t *testing.T) {
				_, _, c := eksCluster(t, rolledOut(tt.give))
				rep, err := runtimecheck.Check(context.Background(), "checkout", e.env, seeded(t), c, now)
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if rep.Status != runtimecheck.StatusUnverifiable || rep.Digest != "" || !strings.Contains(rep.Target, tt.wantTarget) {
					t.Errorf("Check = %s running %q at %q, want %s at %q", rep.Status, rep.Digest, rep.Target, runtimecheck.StatusUnverifiable, tt.wantTarget)
				}
			})
		}
	}
}

// A digest that a promotion is rolling out is not drift; the same rollout
// with no promotion behind it is someone else's change.
func TestCheckDuringAnEKSRollout(t *testing.T) {
	rolling := pods{repo + "@" + hotfix, repo + "@" + hotfix, envoy}
	tests := []struct {
		name  string
		promo *ledger.Promotion
		want  string
	}{
		{"promotion deploying what rolls out", promotion(hotfix, ledger.PromotionDeploying), runtimecheck.StatusDeploying},
		{"promotion deploying another digest", promotion(previous, ledger.PromotionDeploying), runtimecheck.StatusMismatch},
		{"rollout with no promotion", nil, runtimecheck.StatusMismatch},
	}
	for _, env := range []*policy.Environment{eksEnv, gitopsEnv} {
		for _, tt := range tests {
			kind := "eks"
			if env.Deploy.GitOps != nil {
				kind = "gitops"
			}
			t.Run(kind+" "+tt.name, func(t *testing.T) {
				var extra []ledger.Record
				if tt.promo != nil {
					extra = append(extra, tt.promo)
				}
				_, _, c := eksCluster(t, rollingOut(rolling))
				rep, err := runtimecheck.Check(context.Background(), "checkout", env, seeded(t, extra...), c, now)
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if rep.Status != tt.want || rep.Digest != hotfix || !strings.Contains(rep.Target, "container app, rollout progressing: ") {
					t.Errorf("Check = %s running %s at %q, want %s running %s during the rollout", rep.Status, rep.Digest, rep.Target, tt.want, hotfix)
				}
			})
		}
	}
}

// A template restored to the promoted digest does not show that the pods
// run it: while some may still be of another template (a rollout paused,
// progressing or failed), the check cannot verify them, unless a promotion
// is deploying that digest. A scale-up still adding pods, or pods not yet
// available, leaves every pod of the template, and the check is in sync.
func TestCheckEKSTemplateInSyncWhilePodsMayNotBe(t *testing.T) {
	note := " (pods of another template may still run, and so another image)"
	tests := []struct {
		name       string
		give       func() *appsv1.Deployment
		promo      *ledger.Promotion
		wantStatus string
		wantTarget string
	}{
		// Someone set another image, let it roll out, paused the
		// Deployment and restored the template: the controller observed
		// the restored template, and no pod is of it.
		{"paused after the template was restored", func() *appsv1.Deployment {
			d := rolledOut(inSync)
			d.Spec.Paused = true
			d.Generation, d.Status.ObservedGeneration, d.Status.UpdatedReplicas = 6, 6, 0
			return d
		}, nil, runtimecheck.StatusUnverifiable, "container app, rollout paused: " + repo + "@" + promoted + note},
		{"progressing, no promotion deploying", func() *appsv1.Deployment { return rollingOut(inSync) },
			nil, runtimecheck.StatusUnverifiable, "container app, rollout progressing: " + repo + "@" + promoted + note},
		{"progressing, a promotion deploying the digest", func() *appsv1.Deployment { return rollingOut(inSync) },
			promotion(promoted, ledger.PromotionDeploying), runtimecheck.StatusDeploying, "container app, rollout progressing: " + repo + "@" + promoted},
		{"progressing, a promotion deploying another digest", func() *appsv1.Deployment { return rollingOut(inSync) },
			promotion(hotfix, ledger.PromotionDeploying), runtimecheck.StatusUnverifiable, "container app, rollout progressing: " + repo + "@" + promoted + note},
		{"progress deadline exceeded", func() *appsv1.Deployment {
			d := rollingOut(inSync)
			d.Status.Conditions[1].Reason, d.Status.Conditions[1].Message = "ProgressDeadlineExceeded", `ReplicaSet "checkout-5b7c9d8f6" has timed out progressing.`
			return d
		}, nil, runtimecheck.StatusUnverifiable, "container app, rollout failed: " + repo + "@" + promoted + note},
		{"template not yet observed by the controller", func() *appsv1.Deployment {
			d := rolledOut(inSync)
			d.Generation = 5
			return d
		}, nil, runtimecheck.StatusUnverifiable, "container app, rollout progressing: " + repo + "@" + promoted + note},
		{"scaling up", func() *appsv1.Deployment {
			d := rolledOut(inSync)
			replicas := int32(5)
			d.Spec.Replicas = &replicas
			return d
		}, nil, runtimecheck.StatusInSync, "container app: " + repo + "@" + promoted},
		{"pods not yet available", func() *appsv1.Deployment {
			d := rolledOut(inSync)
			d.Status.ReadyReplicas, d.Status.AvailableReplicas = 1, 1
			return d
		}, nil, runtimecheck.StatusInSync, "container app: " + repo + "@" + promoted},
		{"paused with every pod of its template", func() *appsv1.Deployment {
			d := rolledOut(inSync)
			d.Spec.Paused = true
			return d
		}, nil, runtimecheck.StatusInSync, "container app: " + repo + "@" + promoted},
	}
	for _, e := range eksKinds {
		for _, tt := range tests {
			t.Run(e.kind+" "+tt.name, func(t *testing.T) {
				var extra []ledger.Record
				if tt.promo != nil {
					extra = append(extra, tt.promo)
				}
				_, _, c := eksCluster(t, tt.give())
				rep, err := runtimecheck.Check(context.Background(), "checkout", e.env, seeded(t, extra...), c, now)
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if rep.Status != tt.wantStatus || rep.Digest != promoted || !strings.HasSuffix(rep.Target, tt.wantTarget) {
					t.Errorf("Check = %s running %q at %q, want %s running %q at …%q", rep.Status, rep.Digest, rep.Target, tt.wantStatus, promoted, tt.wantTarget)
				}
			})
		}
	}
}

// A rollout that stays unverifiable is reported once: the replicas it has
// updated move from check to check, but the report's Target names only the
// rollout's state, so the next report is no change.
func TestUnverifiableRolloutIsOneChange(t *testing.T) {
	ctx := context.Background()
	k, _, c := eksCluster(t, rollingOut(inSync))
	l := seeded(t)
	first, err := runtimecheck.Check(ctx, "checkout", eksEnv, l, c, now)
	if err != nil {
		t.Fatalf("first Check: %v", err)
	}

	further := rollingOut(inSync)
	further.Status.UpdatedReplicas = 2
	k.Put(further)
	second, err := runtimecheck.Check(ctx, "checkout", eksEnv, l, c, now.Add(time.Hour))
	if err != nil {
		t.Fatalf("second Check: %v", err)
	}

	if first.Status != runtimecheck.StatusUnverifiable || !first.Changed {
		t.Errorf("first Check = %s, changed %v; want a changed %s", first.Status, first.Changed, runtimecheck.StatusUnverifiable)
	}
	if second.Status != runtimecheck.StatusUnverifiable || second.Changed || second.Target != first.Target {
		t.Errorf("second Check = %s at %q, changed %v; want %s at %q, no change", second.Status, second.Target, second.Changed, runtimecheck.StatusUnverifiable, first.Target)
	}
}

// A container of the app's repository is the app's however its registry
// host is written: DNS names are case-insensitive and 443 is the registry's
// default port.
func TestCheckEKSReadsTheRegistryHostAsTheRegistryDoes(t *testing.T) {
	host, path, _ := strings.Cut(repo, "/")
	tests := []struct {
		name    string
		migrate string
	}{
		{"upper-case host", strings.ToUpper(host) + "/" + path + "@" + hotfix},
		{"explicit port 443", host + ":443/" + path + ":1.4.2@" + hotfix},
		{"mixed-case host and port 443", "123456789012.DKR.ECR.us-east-1.AmazonAWS.com:443/" + path + "@" + hotfix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, c := eksCluster(t, rolledOut(pods{app: repo + "@" + promoted, migrate: tt.migrate, proxy: envoy}))
			rep, err := runtimecheck.Check(context.Background(), "checkout", eksEnv, seeded(t), c, now)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			want := "eks shop checkout/checkout container migrate: " + tt.migrate
			if rep.Status != runtimecheck.StatusMismatch || rep.Digest != hotfix || rep.Target != want {
				t.Errorf("Check = %s running %q at %q, want %s running %q at %q", rep.Status, rep.Digest, rep.Target, runtimecheck.StatusMismatch, hotfix, want)
			}
		})
	}
}

// promotion is a promotion of digest into checkout/prod that started five
// minutes before now.
func promotion(digest string, status ledger.PromotionStatus) *ledger.Promotion {
	return &ledger.Promotion{
		Header: ledger.Header{ID: "prm-" + digest[7:13], App: "checkout", Env: "prod", Digest: digest, At: now.Add(-10 * time.Minute)},
		From:   "staging", Status: status, StartedAt: now.Add(-5 * time.Minute),
	}
}

func TestRunningEKSMissingTarget(t *testing.T) {
	at := func(cluster, namespace, deployment, container string) *policy.Environment {
		return env(&policy.Deploy{EKS: &policy.EKSDeploy{Cluster: cluster, Namespace: namespace, Deployment: deployment, Container: container}})
	}
	tests := []struct {
		name string
		env  *policy.Environment
	}{
		{"no such cluster", at("retail", "checkout", "checkout", "app")},
		{"no such namespace", at("shop", "payments", "checkout", "app")},
		{"no such Deployment", at("shop", "checkout", "basket", "app")},
		{"no such container", at("shop", "checkout", "checkout", "web")},
		// An init container is not where promotion puts the image.
		{"an init container", at("shop", "checkout", "checkout", "migrate")},
		{"gitops watching no such Deployment", env(&policy.Deploy{GitOps: &policy.GitOpsDeploy{Repository: "checkout-deploy", Branch: "main",
			File: "overlays/prod/kustomization.yaml", Watch: &policy.EKSDeploy{Cluster: "shop", Namespace: "checkout", Deployment: "checkout-v2", Container: "app"}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, c := eksCluster(t, rolledOut(inSync))
			_, err := runtimecheck.Running(context.Background(), tt.env, c)
			if !errors.Is(err, runtimecheck.ErrMissing) {
				t.Errorf("Running(%s) error = %v, want ErrMissing", tt.name, err)
			}
		})
	}
}

// A cluster that fails to answer is not a missing target: the check fails,
// files nothing, and is made again.
func TestCheckEKSClusterUnavailableFilesNothing(t *testing.T) {
	k, _, c := eksCluster(t, rolledOut(inSync))
	k.Inject(kubefake.Fault{Method: http.MethodGet, Status: http.StatusServiceUnavailable})
	l := seeded(t)
	rep, err := runtimecheck.Check(context.Background(), "checkout", eksEnv, l, c, now)
	if err == nil || rep != nil || errors.Is(err, runtimecheck.ErrMissing) {
		t.Fatalf("Check = %v, %v, want an error other than ErrMissing", rep, err)
	}
	if _, err := l.Latest(context.Background(), ledger.KindDriftReport, "checkout/prod"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Latest after a failed check: %v, want ErrNotFound", err)
	}
}

func TestRunningEKSWithoutConnector(t *testing.T) {
	_, err := runtimecheck.Running(context.Background(), gitopsEnv, runtimecheck.Clients{})
	if err == nil || errors.Is(err, runtimecheck.ErrMissing) || errors.Is(err, runtimecheck.ErrNoTarget) || !strings.Contains(err.Error(), "shop") {
		t.Errorf("Running without a connector: %v, want an error naming cluster shop", err)
	}
}
