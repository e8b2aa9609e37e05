// Package kube reads and changes Deployments in an Amazon EKS cluster through
// the Kubernetes API, with k8s.io/client-go, authenticated as `aws eks
// get-token` does: a bearer token that is a presigned STS GetCallerIdentity
// naming the cluster. It is the part of EKS promotion, runtime drift and alarm
// response that talks to the cluster; which Deployment and container come from
// the policy.
package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// ErrRefused marks a change that cannot work as asked: no such Deployment or
// container. A retry does not help.
var ErrRefused = errors.New("refused by the cluster")

// ErrConflict marks a Deployment others kept changing between Highway's read
// and its write (HTTP 409 on each of MaxAttempts tries); a later retry may
// succeed.
var ErrConflict = errors.New("deployment kept changing")

// Refused says err cannot succeed on retry: ErrRefused, or the API
// server's 401, 403 (RBAC does not let Highway's role do it), 422 or 400.
// A conflict, throttling or a server error may.
func Refused(err error) bool {
	return errors.Is(err, ErrRefused) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) ||
		apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}

// Transient says err may succeed on a later try: the API server throttled
// (429), timed out, or answered a server error (5xx), or a Deployment kept
// changing (ErrConflict).
func Transient(err error) bool {
	return errors.Is(err, ErrConflict) || apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err) || apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err)
}

// MaxAttempts bounds how often a change is read and written again after the
// API server refused it with 409 Conflict.
const MaxAttempts = 5

// DescribeCluster is the part of the EKS API Connect calls.
type DescribeCluster interface {
	DescribeCluster(ctx context.Context, params *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
}

var _ DescribeCluster = (*eks.Client)(nil)

// Cluster is one cluster's apps/v1 API.
type Cluster struct {
	apps rest.Interface
}

// scheme knows apps/v1 alone. client-go's typed clients register every API
// group of Kubernetes in k8s.io/client-go/kubernetes/scheme, about 6 ms of
// package initialization in every cold start of a function that links them;
// client-go's REST client with this scheme does the same requests. It is
// built at the first connection, not at start: a function whose
// environments include no cluster never pays for it.
var scheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := appsv1.AddToScheme(s); err != nil {
		panic(err)
	}
	metav1.AddToGroupVersion(s, appsv1.SchemeGroupVersion)
	return s
})

// New returns the cluster cfg reaches.
func New(cfg *rest.Config) (*Cluster, error) {
	c := *cfg
	c.UserAgent = "highway"
	c.APIPath = "/apis"
	c.GroupVersion = &appsv1.SchemeGroupVersion
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme()).WithoutConversion()
	hc, err := rest.HTTPClientFor(&c)
	if err != nil {
		return nil, err
	}
	// The bearer token is added to every request the client sends,
	// redirected ones too: an API server never redirects, so a redirect is
	// answered as it is, and the token goes nowhere else.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	apps, err := rest.RESTClientForConfigAndClient(&c, hc)
	if err != nil {
		return nil, err
	}
	return &Cluster{apps: apps}, nil
}

// Connect finds the cluster's API endpoint and certificate authority with
// EKS DescribeCluster and returns the cluster, authenticated with a token
// from presigner (see Token). The token lasts about 15 minutes; connect again
// for each invocation.
func Connect(ctx context.Context, e DescribeCluster, presigner Presigner, name string) (*Cluster, error) {
	out, err := e.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	cl := out.Cluster
	if cl == nil || aws.ToString(cl.Endpoint) == "" || cl.CertificateAuthority == nil {
		return nil, fmt.Errorf("describe cluster %s: no endpoint or certificate authority (status %v)", name, statusOf(out))
	}
	ca, err := base64.StdEncoding.DecodeString(aws.ToString(cl.CertificateAuthority.Data))
	if err != nil || len(ca) == 0 {
		return nil, fmt.Errorf("cluster %s: no certificate authority to trust (%v)", name, err)
	}
	if !strings.HasPrefix(aws.ToString(cl.Endpoint), "https://") {
		return nil, fmt.Errorf("cluster %s: endpoint %s is not https", name, aws.ToString(cl.Endpoint))
	}
	token, err := Token(ctx, presigner, name)
	if err != nil {
		return nil, err
	}
	return New(&rest.Config{
		Host:            aws.ToString(cl.Endpoint),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		Timeout:         30 * time.Second,
	})
}

// Connector connects to an EKS cluster by name: Connecting's in a function,
// a fake cluster's in tests.
type Connector func(ctx context.Context, cluster string) (*Cluster, error)

// Connecting returns the Connector that calls Connect with e and presigner,
// clients of the cluster's account and region.
func Connecting(e DescribeCluster, presigner Presigner) Connector {
	return func(ctx context.Context, cluster string) (*Cluster, error) {
		return Connect(ctx, e, presigner, cluster)
	}
}

func statusOf(out *eks.DescribeClusterOutput) string {
	if out.Cluster == nil {
		return "unknown"
	}
	return string(out.Cluster.Status)
}

// Deployment reads one Deployment.
func (c *Cluster) Deployment(ctx context.Context, namespace, name string) (*appsv1.Deployment, error) {
	d := new(appsv1.Deployment)
	err := c.apps.Get().Namespace(namespace).Resource("deployments").Name(name).Do(ctx).Into(d)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: no Deployment %s in namespace %s", ErrRefused, name, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read Deployment %s/%s: %w", namespace, name, err)
	}
	return d, nil
}

// SetImage makes container of the Deployment run image, and with it every
// other container and init container whose image comes from the same
// repository (a migration step, say), as `kustomize edit set image` sets
// every use of an image: one artifact, one digest, everywhere in the pod.
// It patches with a strategic merge patch that names the resourceVersion it
// read: when the Deployment changed in between, the API server answers 409
// Conflict and SetImage reads it again, so the container list it checked is
// the one it patches. It returns the Deployment as the API server left it
// (its Generation is the one a rollout of image reaches), and whether
// anything changed.
func (c *Cluster) SetImage(ctx context.Context, namespace, name, container, image string) (*appsv1.Deployment, bool, error) {
	for range MaxAttempts {
		d, err := c.Deployment(ctx, namespace, name)
		if err != nil {
			return nil, false, err
		}
		ours, ok := AppImages(d, container, image)
		if !ok {
			return nil, false, fmt.Errorf("%w: Deployment %s/%s has no container %q (it has %s)", ErrRefused, namespace, name, container, ContainerNames(d))
		}
		lists := map[string][]map[string]any{}
		for _, im := range ours {
			if im.Reference != image {
				key := "containers"
				if im.Init {
					key = "initContainers"
				}
				lists[key] = append(lists[key], map[string]any{"name": im.Container, "image": image})
			}
		}
		if len(lists) == 0 {
			return d, false, nil
		}
		podSpec := map[string]any{}
		for key, l := range lists {
			podSpec[key] = l
		}
		patch := map[string]any{
			"metadata": map[string]any{"resourceVersion": d.ResourceVersion},
			"spec":     map[string]any{"template": map[string]any{"spec": podSpec}},
		}
		out, err := c.patch(ctx, namespace, name, patch)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("%w: Deployment %s/%s changed on each of %d writes", ErrConflict, namespace, name, MaxAttempts)
}

// RestartedAtAnnotation is the pod template annotation `kubectl rollout
// restart` sets; changing it rolls every pod.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// Restart rolls every pod of the Deployment, as `kubectl rollout restart`
// does: the pod template's restartedAt annotation set to at.
func (c *Cluster) Restart(ctx context.Context, namespace, name string, at time.Time) (*appsv1.Deployment, error) {
	return c.patch(ctx, namespace, name, map[string]any{
		"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{RestartedAtAnnotation: at.UTC().Format(time.RFC3339)},
		}}},
	})
}

// Scale sets the Deployment's replicas. A resourceVersion, the one the
// caller read the replicas from, makes the API server refuse the write with
// 409 Conflict when the Deployment changed since, so a step computed from
// that read is never applied to someone else's scale.
func (c *Cluster) Scale(ctx context.Context, namespace, name string, replicas int32, resourceVersion string) (*appsv1.Deployment, error) {
	patch := map[string]any{"spec": map[string]any{"replicas": replicas}}
	if resourceVersion != "" {
		patch["metadata"] = map[string]any{"resourceVersion": resourceVersion}
	}
	return c.patch(ctx, namespace, name, patch)
}

func (c *Cluster) patch(ctx context.Context, namespace, name string, patch map[string]any) (*appsv1.Deployment, error) {
	body, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	d := new(appsv1.Deployment)
	err = c.apps.Patch(types.StrategicMergePatchType).Namespace(namespace).Resource("deployments").Name(name).
		Param("fieldManager", "highway").Body(body).Do(ctx).Into(d)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: no Deployment %s in namespace %s", ErrRefused, name, namespace)
	}
	if apierrors.IsConflict(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("patch Deployment %s/%s: %w", namespace, name, err)
	}
	return d, nil
}

// ContainerNames lists the containers of d's pod template, for a message
// naming what it has.
func ContainerNames(d *appsv1.Deployment) string {
	var names []string
	for _, c := range d.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}
