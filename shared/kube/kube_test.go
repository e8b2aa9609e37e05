package kube_test

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
)

const (
	repo   = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/checkout"
	digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
)

// checkout is a Deployment as the API server returns one after its rollout
// finished: three replicas of a tagged image beside a sidecar.
func checkout() *appsv1.Deployment {
	replicas := int32(3)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", Generation: 4, Labels: map[string]string{"app": "checkout"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "checkout"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "checkout", Image: repo + ":v1.4.2", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}},
					{Name: "envoy", Image: "public.ecr.aws/appmesh/aws-appmesh-envoy@sha256:0c9bc7e1f4a3c6b7d2e5f8a1b4c7d0e3f6a9b2c5d8e1f4a7b0c3d6e9f2a5b8c1"},
				}},
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

func cluster(t *testing.T) (*kubefake.Server, *kube.Cluster) {
	fake := kubefake.New(t)
	fake.Put(checkout())
	c, err := kube.New(fake.Config("k8s-aws-v1.test"))
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

func count(reqs []kubefake.Request, method string) int {
	n := 0
	for _, r := range reqs {
		if r.Method == method {
			n++
		}
	}
	return n
}

// SetImage patches the one container, leaves the sidecar, and returns the
// generation the rollout must reach; asked again, it patches nothing.
func TestSetImagePatchesTheContainer(t *testing.T) {
	fake, c := cluster(t)
	d, changed, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@"+digest)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if d.Generation != 5 {
		t.Errorf("generation %d after the patch, want 5", d.Generation)
	}
	stored := fake.Get("shop", "checkout")
	imgs := kube.Images(stored)
	if imgs[0].Reference != repo+"@"+digest || imgs[0].Digest != digest || !strings.HasPrefix(imgs[1].Reference, "public.ecr.aws/appmesh/") {
		t.Errorf("images after the patch: %+v", imgs)
	}
	reqs := fake.Requests()
	for _, r := range reqs {
		if r.Authorization != "Bearer k8s-aws-v1.test" {
			t.Errorf("%s %s carried Authorization %q", r.Method, r.Path, r.Authorization)
		}
		if r.Method == http.MethodPatch && r.ContentType != "application/strategic-merge-patch+json" {
			t.Errorf("patch sent as %s", r.ContentType)
		}
	}
	if _, changed, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@"+digest); err != nil || changed || count(fake.Requests(), http.MethodPatch) != 1 {
		t.Errorf("again: changed %v, err %v, %d patches", changed, err, count(fake.Requests(), http.MethodPatch))
	}
}

// Every container and init container of the image's repository gets the
// digest, whatever its registry host's spelling: a migration step running
// the old code after a promotion would be drift. Containers of other
// repositories keep theirs.
func TestSetImagePatchesEveryContainerOfTheRepository(t *testing.T) {
	fake := kubefake.New(t)
	d := checkout()
	d.Spec.Template.Spec.InitContainers = []corev1.Container{
		{Name: "migrate", Image: strings.Replace(repo, ".amazonaws.com", ".AMAZONAWS.com", 1) + ":v1.4.2", Command: []string{"/migrate"}},
		{Name: "wait-for-db", Image: "public.ecr.aws/docker/library/busybox:1.36"},
	}
	fake.Put(d)
	c, err := kube.New(fake.Config("k8s-aws-v1.test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@"+digest); err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	got := map[string]string{}
	for _, im := range kube.Images(fake.Get("shop", "checkout")) {
		got[im.Container] = im.Reference
	}
	if got["checkout"] != repo+"@"+digest || got["migrate"] != repo+"@"+digest ||
		got["wait-for-db"] != "public.ecr.aws/docker/library/busybox:1.36" || !strings.HasPrefix(got["envoy"], "public.ecr.aws/appmesh/") {
		t.Errorf("images after the patch: %v", got)
	}
	if cmd := fake.Get("shop", "checkout").Spec.Template.Spec.InitContainers[0].Command; len(cmd) != 1 || cmd[0] != "/migrate" {
		t.Errorf("the init container's command became %v", cmd)
	}
}

// Kubernetes answers 409 Conflict on the patch (the Deployment changed since
// it was read): SetImage reads it again and patches the new version.
func TestSetImageRereadsOnConflict(t *testing.T) {
	fake, c := cluster(t)
	fake.Inject(kubefake.Fault{Method: http.MethodPatch, Status: http.StatusConflict})
	if _, changed, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@"+digest); err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	reqs := fake.Requests()
	if count(reqs, http.MethodGet) != 2 || count(reqs, http.MethodPatch) != 2 {
		t.Errorf("%d reads and %d patches, want a read before each of 2 patches", count(reqs, http.MethodGet), count(reqs, http.MethodPatch))
	}

	fake.Inject(kubefake.Fault{Method: http.MethodPatch, Status: http.StatusConflict}, kubefake.Fault{Method: http.MethodPatch, Status: http.StatusConflict},
		kubefake.Fault{Method: http.MethodPatch, Status: http.StatusConflict}, kubefake.Fault{Method: http.MethodPatch, Status: http.StatusConflict},
		kubefake.Fault{Method: http.MethodPatch, Status: http.StatusConflict})
	if _, _, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@sha256:"+strings.Repeat("a", 64)); !errors.Is(err, kube.ErrConflict) {
		t.Errorf("after %d conflicts: err %v, want ErrConflict", kube.MaxAttempts, err)
	}
}

// Someone scales the Deployment between SetImage's read and its patch: the
// patch names the version SetImage read, the API server refuses it with 409,
// and SetImage reads the new version and patches that, keeping the scale.
func TestSetImagePatchesTheVersionItRead(t *testing.T) {
	fake, c := cluster(t)
	fake.BeforePatch = func(d *appsv1.Deployment) {
		fake.BeforePatch = nil // once
		five := int32(5)
		d.Spec.Replicas = &five
	}
	if _, changed, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@"+digest); err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if reqs := fake.Requests(); count(reqs, http.MethodGet) != 2 || count(reqs, http.MethodPatch) != 2 {
		t.Errorf("%d reads and %d patches; want the first patch refused and a second read", count(reqs, http.MethodGet), count(reqs, http.MethodPatch))
	}
	if d := fake.Get("shop", "checkout"); *d.Spec.Replicas != 5 || kube.Images(d)[0].Digest != digest {
		t.Errorf("replicas %d, images %+v; want both changes", *d.Spec.Replicas, kube.Images(d))
	}
}

// The fake's 409 is the API server's: a patch naming a resourceVersion
// older than the stored one is refused, whatever else it says.
func TestAStalePatchIsAConflict(t *testing.T) {
	fake, c := cluster(t)
	old := fake.Get("shop", "checkout").ResourceVersion
	if _, err := c.Scale(t.Context(), "shop", "checkout", 4, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restart(t.Context(), "shop", "checkout", time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	d := fake.Get("shop", "checkout")
	if *d.Spec.Replicas != 4 || d.Spec.Template.Annotations[kube.RestartedAtAnnotation] != "2026-11-18T06:04:00Z" || d.Generation != 6 {
		t.Errorf("replicas %d, annotations %v, generation %d", *d.Spec.Replicas, d.Spec.Template.Annotations, d.Generation)
	}
	if old == d.ResourceVersion {
		t.Fatal("resourceVersion did not move")
	}
	// A client that read before the scale patches with the old version.
	stale := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":1}}`, old)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, fake.Config("").Host+"/apis/apps/v1/namespaces/shop/deployments/checkout", strings.NewReader(stale))
	req.Header.Set("Content-Type", "application/strategic-merge-patch+json")
	resp, err := fake.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || *fake.Get("shop", "checkout").Spec.Replicas != 4 {
		t.Errorf("a stale patch got %d and left %d replicas; want 409 and 4", resp.StatusCode, *fake.Get("shop", "checkout").Spec.Replicas)
	}
}

// A Deployment or container that is not there is refused; a 500 is not.
func TestSetImageRefusals(t *testing.T) {
	fake, c := cluster(t)
	if _, _, err := c.SetImage(t.Context(), "shop", "cart", "cart", repo+"@"+digest); !errors.Is(err, kube.ErrRefused) {
		t.Errorf("no such Deployment: err %v, want ErrRefused", err)
	}
	if _, _, err := c.SetImage(t.Context(), "shop", "checkout", "web", repo+"@"+digest); !errors.Is(err, kube.ErrRefused) || !strings.Contains(err.Error(), "checkout, envoy") {
		t.Errorf("no such container: err %v, want ErrRefused naming the containers", err)
	}
	fake.Inject(kubefake.Fault{Method: http.MethodGet, Status: http.StatusInternalServerError})
	if _, _, err := c.SetImage(t.Context(), "shop", "checkout", "checkout", repo+"@"+digest); err == nil || errors.Is(err, kube.ErrRefused) {
		t.Errorf("a 500: err %v, want a transient error", err)
	}
}

// The API server throttling a read with 429 and a Retry-After is waited out.
func TestThrottledReadsAreRetried(t *testing.T) {
	fake, c := cluster(t)
	fake.Inject(kubefake.Fault{Method: http.MethodGet, Status: http.StatusTooManyRequests, RetryAfter: "0"})
	d, err := c.Deployment(t.Context(), "shop", "checkout")
	if err != nil || d.Name != "checkout" {
		t.Fatalf("read after a 429: %v", err)
	}
}

// RolloutOf follows `kubectl rollout status`: the controller must observe the
// generation first; ProgressDeadlineExceeded fails it; replicas still being
// replaced or not yet available keep it progressing.
func TestRolloutOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d *appsv1.Deployment)
		gen    int64
		want   kube.Phase
	}{
		{"rolled out", func(*appsv1.Deployment) {}, 4, kube.Complete},
		{"changed since, judged as it is now", func(d *appsv1.Deployment) { d.Generation = 6 }, 4, kube.Progressing},
		{"paused", func(d *appsv1.Deployment) { d.Spec.Paused = true }, 4, kube.Failed},
		{"not yet observed", func(*appsv1.Deployment) {}, 5, kube.Progressing},
		{"new replicas being updated", func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 }, 4, kube.Progressing},
		{"old replicas stopping", func(d *appsv1.Deployment) { d.Status.Replicas = 4 }, 4, kube.Progressing},
		{"updated not available", func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 2 }, 4, kube.Progressing},
		{"progress deadline exceeded", func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas = 1
			d.Status.Conditions[1] = appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
				Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "checkout-5c8d7f9b4" has timed out progressing.`}
		}, 4, kube.Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := checkout()
			tc.change(d)
			if got := kube.RolloutOf(d, tc.gen); got.Phase != tc.want {
				t.Errorf("phase %s (%s), want %s", got.Phase, got.Reason, tc.want)
			}
		})
	}
}

// A container running a tag has no digest: drift for Highway.
func TestADeploymentRunningATag(t *testing.T) {
	imgs := kube.Images(checkout())
	if len(imgs) != 2 || imgs[0].Container != "checkout" || imgs[0].Digest != "" || imgs[1].Digest == "" {
		t.Errorf("images %+v; want checkout on a tag, envoy on a digest", imgs)
	}
}

// The token is `aws eks get-token`'s: k8s-aws-v1. and a presigned STS
// GetCallerIdentity URL, base64url without padding, with the cluster's name
// signed in x-k8s-aws-id and a 60 s expiry.
func TestToken(t *testing.T) {
	cfg := awsfake.New(t).Config()
	cfg.Region = "eu-west-1"
	cfg.BaseEndpoint = nil
	token, err := kube.Token(t.Context(), sts.NewPresignClient(sts.NewFromConfig(cfg)), "platform-prod")
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := strings.CutPrefix(token, "k8s-aws-v1.")
	if !ok || strings.ContainsAny(raw, "=+/") {
		t.Fatalf("token %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "sts.eu-west-1.amazonaws.com" || q.Get("Action") != "GetCallerIdentity" || q.Get("X-Amz-Expires") != "60" ||
		!strings.Contains(q.Get("X-Amz-SignedHeaders"), "x-k8s-aws-id") || q.Get("X-Amz-Signature") == "" {
		t.Errorf("presigned URL %s", u)
	}
}

// Connect finds the endpoint with EKS DescribeCluster (the API's JSON) and
// reaches the cluster with a token.
func TestConnect(t *testing.T) {
	k := kubefake.New(t)
	k.Put(checkout())
	aws := awsfake.New(t)
	aws.Route("DescribeCluster", "GET /clusters/{name}")
	aws.On("DescribeCluster", awsfake.JSON(200, fmt.Sprintf(`{"cluster":{"name":"platform-prod","arn":"arn:aws:eks:eu-west-1:111111111111:cluster/platform-prod",`+
		`"version":"1.33","endpoint":%q,"status":"ACTIVE","certificateAuthority":{"data":%q},"accessConfig":{"authenticationMode":"API"}}}`,
		k.Config("").Host, base64.StdEncoding.EncodeToString(k.CA()))))
	cfg := aws.Config()
	c, err := kube.Connect(t.Context(), eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg)), "platform-prod")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deployment(t.Context(), "shop", "checkout"); err != nil {
		t.Fatal(err)
	}
	if got := aws.Calls("DescribeCluster")[0].PathValues["name"]; got != "platform-prod" {
		t.Errorf("described cluster %q", got)
	}
	if a := k.Requests()[0].Authorization; !strings.HasPrefix(a, "Bearer k8s-aws-v1.") {
		t.Errorf("Authorization %q", a)
	}
}

// A redirect from the API server's address is not followed: the bearer
// token, which client-go adds to every request it sends, goes to the
// cluster alone.
func TestTheTokenDoesNotFollowARedirect(t *testing.T) {
	var leaked []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("Authorization"))
	}))
	defer elsewhere.Close()
	redirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: redirector.Certificate().Raw})
	c, err := kube.New(&rest.Config{Host: redirector.URL, BearerToken: "k8s-aws-v1.secret", TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deployment(t.Context(), "shop", "checkout"); err == nil {
		t.Error("a redirect read as a Deployment")
	}
	if len(leaked) != 0 {
		t.Errorf("the redirect was followed, carrying %q", leaked)
	}
}
