// Package awsfake is a wire-level fake of the AWS services Highway calls.
//
// A Server is an httptest.Server on 127.0.0.1 that speaks the AWS JSON
// protocol (X-Amz-Target), the AWS query protocol (Action= form bodies, XML
// answers) and REST-JSON routes, so a real aws-sdk-go-v2 client built from
// Server.Config serializes, signs, retries and parses exactly as it does
// against AWS. Tests stub responses per operation, read back every request,
// and inject throttling, 5xx answers and latency.
//
// Use one Server per test; operations are keyed by name alone, so two
// services with a clashing operation name (TagResource, say) need two servers.
package awsfake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region and AccessKeyID are what Server.Config signs with, exported so tests
// can assert on the signature.
const (
	Region      = "us-east-1"
	AccessKeyID = "AKIDAWSFAKE"
)

const secretAccessKey = "awsfake-secret"

// maxBackoff keeps SDK retries fast while the SDK's real retry logic runs.
const maxBackoff = 5 * time.Millisecond

// Server is a fake AWS endpoint. All methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	client *http.Client
	mux    *http.ServeMux // REST routes
	tb     testing.TB     // nil when built by Start
	done   chan struct{}  // closed by Close, ends injected latency
	close  sync.Once

	mu       sync.Mutex
	stubs    map[string]func(Request) Response
	faults   []*fault
	requests []Request
	calls    map[string]int
	arrivals map[string][]chan struct{} // Arrived's, by operation
}

// New starts a Server for a test and closes it when the test ends. Calls to
// operations that have no stub are reported as test errors.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := start(tb)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a Server outside a test; the caller must Close it.
func Start() *Server {
	return start(nil)
}

func start(tb testing.TB) *Server {
	s := &Server{
		mux:   http.NewServeMux(),
		tb:    tb,
		done:  make(chan struct{}),
		stubs: map[string]func(Request) Response{},
		calls: map[string]int{},
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.handle(w, r, ProtocolREST, r.Method+" "+r.URL.Path, nil, nil)
	})
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))

	// Every connection goes to this server, whatever host the SDK resolved:
	// host prefixes such as Step Functions' "sync-" then still reach the fake.
	addr := s.srv.Listener.Addr().String()
	var dialer net.Dialer
	s.client = &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	return s
}

// Close shuts the server down, cutting short any injected latency.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.srv.Close()
		s.client.CloseIdleConnections()
	})
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string {
	return s.srv.URL
}

// Config returns an aws.Config whose clients talk to this server: static
// credentials, Region, and the SDK's standard retryer with its default
// attempts but millisecond backoff and no client-side retry quota, so retries
// run for real and stay fast.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, secretAccessKey, ""),
		BaseEndpoint: aws.String(s.srv.URL),
		HTTPClient:   s.client,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxBackoff = maxBackoff
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// On answers every call of operation with resp.
func (s *Server) On(operation string, resp Response) {
	s.OnFunc(operation, func(Request) Response { return resp })
}

// OnFunc answers every call of operation with what fn returns. fn runs on the
// server's goroutines and must be safe for concurrent use.
func (s *Server) OnFunc(operation string, fn func(Request) Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stubs[operation] = fn
}

var wildcard = regexp.MustCompile(`\{([^}.]+)(\.\.\.)?\}`)

// Route names a REST-JSON operation by its net/http pattern, such as
// Route("GetFunction", "GET /2015-03-31/functions/{FunctionName}"), so On,
// Calls and Inject can refer to it. The wildcards' values are in
// Request.PathValues. Like http.ServeMux, Route panics on a conflicting pattern.
func (s *Server) Route(operation, pattern string) {
	var names []string
	for _, m := range wildcard.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		values := map[string]string{}
		for _, n := range names {
			values[n] = r.PathValue(n)
		}
		s.handle(w, r, ProtocolREST, operation, nil, values)
	})
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls returns the requests received for operation, in arrival order.
func (s *Server) Calls(operation string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Operation == operation {
			out = append(out, r)
		}
	}
	return out
}

// Arrived returns a channel closed once a call of operation has reached the
// fake (at once when one has already): a test ends a call held by a Latency
// fault when it is there, not after guessing how long it takes to get there.
func (s *Server) Arrived(operation string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan struct{})
	if s.calls[operation] > 0 {
		close(c)
		return c
	}
	if s.arrivals == nil {
		s.arrivals = map[string][]chan struct{}{}
	}
	s.arrivals[operation] = append(s.arrivals[operation], c)
	return c
}

// InvocationHeader is the header the SDK gives every attempt of one
// operation call, with the same value: its retries share it.
const InvocationHeader = "Amz-Sdk-Invocation-Id"

// Invocations returns the calls the code made of operation, in arrival
// order: every attempt the SDK made of one call (one InvocationHeader) counts
// once, as the first of them; a request without the header counts alone.
// Count these, not Calls, when a test asserts what the code decided: the SDK
// may retry a call the fake answered when a loaded machine breaks the
// connection, and Calls then holds it twice.
func (s *Server) Invocations(operation string) []Request {
	seen := map[string]bool{}
	var out []Request
	for _, r := range s.Calls(operation) {
		id := r.Header.Get(InvocationHeader)
		if id != "" && seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, r)
	}
	return out
}

// serveHTTP tells the protocols apart: X-Amz-Target means AWS JSON, a form
// body with Action means query, anything else is routed as REST.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		op := target[strings.LastIndex(target, ".")+1:]
		s.handle(w, r, ProtocolJSON, op, nil, nil)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			s.handle(w, r, ProtocolQuery, form.Get("Action"), form, nil)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// handle records the request, applies faults and writes the answer.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, p Protocol, op string, form url.Values, pathValues map[string]string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{
		Operation:  op,
		Protocol:   p,
		Method:     r.Method,
		Host:       r.Host,
		URL:        r.URL,
		Header:     r.Header.Clone(),
		Body:       body,
		Form:       form,
		PathValues: pathValues,
	}

	s.mu.Lock()
	s.calls[op]++
	req.Call = s.calls[op]
	req.ID = fmt.Sprintf("awsfake-%08d", len(s.requests)+1)
	delay, kind := s.hitFaults(op)
	req.Fault = kind
	s.requests = append(s.requests, req)
	stub := s.stubs[op]
	for _, c := range s.arrivals[op] {
		close(c)
	}
	delete(s.arrivals, op)
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}

	var resp Response
	switch {
	case kind != Latency && kind != 0:
		resp = kind.response(p)
	case stub != nil:
		resp = stub(req)
	default:
		msg := missingStub(req)
		s.errorf("%s", msg)
		resp = APIError(http.StatusBadRequest, "UnknownOperationException", msg)
	}
	s.write(w, req, resp)
}

// missingStub says what a test must add to answer req.
func missingStub(req Request) string {
	switch {
	case req.Header.Get("Smithy-Protocol") == "rpc-v2-cbor":
		return fmt.Sprintf("awsfake: %s %s speaks Smithy RPC v2 CBOR, which awsfake does not; "+
			"build the client with Options.Protocol = awsjson.New10(<service>/schemas.<Service>) and stub it with srv.On", req.Method, req.URL.Path)
	case req.Protocol == ProtocolREST && req.Operation == req.Method+" "+req.URL.Path: // matched no Route
		return fmt.Sprintf("awsfake: no route for REST request %q; add srv.Route(\"Operation\", %q) and srv.On(\"Operation\", ...)",
			req.Operation, req.Operation)
	}
	return fmt.Sprintf("awsfake: no stub for %s operation %q; add srv.On(%q, ...)", req.Protocol, req.Operation, req.Operation)
}

// errorf reports a misuse of the fake as a test error, or drops it when the
// server runs outside a test (the client still gets an error answer).
func (s *Server) errorf(format string, args ...any) {
	if s.tb != nil {
		s.tb.Errorf(format, args...)
	}
}

// fatalf reports a setup mistake from the goroutine that configures the fake.
func (s *Server) fatalf(format string, args ...any) {
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Fatalf(format, args...)
	}
	panic(fmt.Sprintf(format, args...))
}
