// Package kubefake is a wire-level fake of the Kubernetes API's apps/v1
// Deployments, for tests: an HTTPS server on loopback that answers GET and
// PATCH as the API server does, in its JSON, applies strategic merge patches
// with apimachinery's own strategicpatch (the code the API server runs),
// refuses a patch naming a stale resourceVersion with 409 Conflict, bumps
// generation when the spec changes, and answers injected faults (409, 429,
// 5xx) in the API's Status form.
package kubefake

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/rest"
)

// Request is one request the fake received.
type Request struct {
	Method, Path, ContentType, Authorization string
	Body                                     []byte
}

// Fault is an answer the fake gives instead of serving a request.
type Fault struct {
	// Method limits the fault to requests of that method; empty is any.
	Method string
	// Status is the HTTP status: 409, 429, 500, 503…
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Server is the fake API server.
type Server struct {
	srv *httptest.Server

	mu          sync.Mutex
	deployments map[string]*appsv1.Deployment // by namespace/name
	faults      []Fault
	requests    []Request
	version     int
	// BeforePatch, when set, runs as a patch arrives, before it is applied,
	// with the Deployment as stored: someone else's change landing between
	// a client's read and its write. It runs under the fake's lock.
	BeforePatch func(d *appsv1.Deployment)
	// OnPatch, when set, runs after a patch is applied and before it is
	// answered, with the Deployment as stored: a test plays the controller
	// there (status, conditions). It runs under the fake's lock.
	OnPatch func(d *appsv1.Deployment)
}

// New starts a fake that stops when the test ends.
func New(tb testing.TB) *Server {
	s := Start()
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake outside a test, on loopback (the local demo's
// cluster); Close stops it.
func Start() *Server {
	s := &Server{deployments: map[string]*appsv1.Deployment{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Config returns a client configuration for the fake, with a bearer token,
// trusting the fake's certificate.
func (s *Server) Config(token string) *rest.Config {
	return &rest.Config{Host: s.srv.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: s.CA()}}
}

// CA is the PEM certificate the fake serves, as EKS's certificateAuthority
// holds a cluster's (base64 of it).
func (s *Server) CA() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Client is an HTTP client that trusts the fake, for requests a test makes by
// hand.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Put stores d (its namespace and name say where), as a controller left it.
func (s *Server) Put(d *appsv1.Deployment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d = d.DeepCopy()
	s.version++
	d.ResourceVersion = strconv.Itoa(s.version)
	if d.Generation == 0 {
		d.Generation = 1
	}
	s.deployments[d.Namespace+"/"+d.Name] = d
}

// Get returns the stored Deployment, or nil.
func (s *Server) Get(namespace, name string) *appsv1.Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deployments[namespace+"/"+name]; d != nil {
		return d.DeepCopy()
	}
	return nil
}

// Inject queues faults, answered in order, one per matching request.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Requests returns what the fake received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

const prefix = "/apis/apps/v1/namespaces/"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization"), Body: body})
	for i, f := range s.faults {
		if f.Method == "" || f.Method == r.Method {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			status(w, f.Status, "injected", "")
			return
		}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	ns, name, ok2 := strings.Cut(rest, "/deployments/")
	if !ok || !ok2 || strings.Contains(name, "/") {
		status(w, http.StatusNotFound, "the server could not find the requested resource", "")
		return
	}
	d := s.deployments[ns+"/"+name]
	if d == nil {
		status(w, http.StatusNotFound, fmt.Sprintf("deployments.apps %q not found", name), name)
		return
	}
	switch r.Method {
	case http.MethodGet:
		write(w, http.StatusOK, d)
	case http.MethodPatch:
		if ct := r.Header.Get("Content-Type"); ct != "application/strategic-merge-patch+json" {
			status(w, http.StatusUnsupportedMediaType, "the fake serves strategic merge patches, not "+ct, name)
			return
		}
		if s.BeforePatch != nil {
			s.BeforePatch(d)
			s.version++
			d.ResourceVersion = strconv.Itoa(s.version)
		}
		s.patch(w, d, body)
	default:
		status(w, http.StatusMethodNotAllowed, "the fake serves GET and PATCH", name)
	}
}

func (s *Server) patch(w http.ResponseWriter, d *appsv1.Deployment, patch []byte) {
	original, err := json.Marshal(d)
	if err != nil {
		status(w, http.StatusInternalServerError, err.Error(), d.Name)
		return
	}
	merged, err := strategicpatch.StrategicMergePatch(original, patch, appsv1.Deployment{})
	if err != nil {
		status(w, http.StatusUnprocessableEntity, err.Error(), d.Name)
		return
	}
	var next appsv1.Deployment
	if err := json.Unmarshal(merged, &next); err != nil {
		status(w, http.StatusUnprocessableEntity, err.Error(), d.Name)
		return
	}
	if next.ResourceVersion != d.ResourceVersion {
		status(w, http.StatusConflict, fmt.Sprintf("Operation cannot be fulfilled on deployments.apps %q: the object has been modified; please apply your changes to the latest version and try again", d.Name), d.Name)
		return
	}
	if !reflect.DeepEqual(next.Spec, d.Spec) {
		next.Generation = d.Generation + 1
	}
	s.version++
	next.ResourceVersion = strconv.Itoa(s.version)
	if s.OnPatch != nil {
		s.OnPatch(&next)
	}
	s.deployments[d.Namespace+"/"+d.Name] = &next
	write(w, http.StatusOK, &next)
}

func write(w http.ResponseWriter, code int, d *appsv1.Deployment) {
	out := d.DeepCopy()
	out.APIVersion, out.Kind = "apps/v1", "Deployment"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(out)
}

// status answers with the API's Status object, as the API server does for
// errors.
func status(w http.ResponseWriter, code int, message, name string) {
	reason := map[int]metav1.StatusReason{
		http.StatusNotFound:             metav1.StatusReasonNotFound,
		http.StatusConflict:             metav1.StatusReasonConflict,
		http.StatusTooManyRequests:      metav1.StatusReasonTooManyRequests,
		http.StatusInternalServerError:  metav1.StatusReasonInternalError,
		http.StatusServiceUnavailable:   metav1.StatusReasonServiceUnavailable,
		http.StatusUnprocessableEntity:  metav1.StatusReasonInvalid,
		http.StatusUnsupportedMediaType: metav1.StatusReasonUnsupportedMediaType,
		http.StatusMethodNotAllowed:     metav1.StatusReasonMethodNotAllowed,
	}[code]
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: message, Reason: reason, Code: int32(code),
	}
	if name != "" {
		st.Details = &metav1.StatusDetails{Name: name, Group: "apps", Kind: "deployments"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}

// RolledOut is a Deployment as its controller leaves it once the rollout of
// its generation completed: replicas pods of one container running image,
// every one updated, ready and available.
func RolledOut(namespace, name, container, image string, replicas int32, generation int64) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Generation: generation, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: container, Image: image}}},
			},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: generation, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		},
	}
}
