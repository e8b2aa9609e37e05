package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-xray-sdk-go/daemoncfg"
	"github.com/aws/aws-xray-sdk-go/header"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/highwayhq/highway/shared/report"
)

// This file is the only one that knows about X-Ray. It writes the subsegment
// documents the X-Ray SDK's awsv2 instrumentation writes, to the same daemon,
// using only the SDK's header and daemoncfg packages: the SDK's xray package
// imports the v1 AWS SDK and gRPC, whose package initialization took about
// 16 ms of every cold start and whose reflection kept every SDK operation in
// every binary (twice the size, 14 MB more memory). Moving to OpenTelemetry
// means rewriting this file and nothing else.

// lambdaTraceHeader is the context key aws-lambda-go stores an invocation's
// X-Ray trace header under (the X-Ray SDK reads the same key).
const lambdaTraceHeader = "x-amzn-trace-id"

// daemonHeader precedes every document sent to the X-Ray daemon.
const daemonHeader = `{"format": "json", "version": 1}` + "\n"

// Tracer sends one X-Ray subsegment for each AWS SDK call made inside a
// sampled invocation, to the X-Ray daemon over UDP. Calls made outside an
// invocation (during init) or in one that is not sampled send nothing. A lost
// or refused datagram never fails the call. Safe for concurrent use.
type Tracer struct {
	// Daemon is the daemon's UDP address, host:port. Empty means the one
	// AWS_XRAY_DAEMON_ADDRESS names ("127.0.0.1:2000", or "tcp:… udp:…", as
	// Lambda sets it), and without it 127.0.0.1:2000.
	Daemon string
	// Now is the tracer's clock; nil means time.Now.
	Now func() time.Time

	once sync.Once
	conn net.Conn
}

// process is the tracer TraceAWS instruments configurations with.
var process Tracer

// TraceAWS adds a subsegment for every AWS SDK call made with cfg, so the trace of
// an invocation shows each call's service, operation, latency and retries.
// AWS_XRAY_SDK_DISABLED=true turns it off.
func TraceAWS(cfg *aws.Config) {
	if strings.EqualFold(os.Getenv("AWS_XRAY_SDK_DISABLED"), "true") {
		return
	}
	process.Instrument(cfg)
}

// Instrument adds the tracer's middleware to every client built from cfg.
// It finds the daemon then, at cold start rather than in the first traced
// call: Lambda names it by IP address, and a name that must be looked up
// delays the start, not a call. A daemon address that does not resolve is
// logged once and leaves calls untraced.
func (t *Tracer) Instrument(cfg *aws.Config) {
	t.once.Do(t.dial)
	cfg.APIOptions = append(cfg.APIOptions, t.addMiddleware)
}

// subsegment is one AWS call, in the X-Ray segment document's fields.
type subsegment struct {
	Name      string    `json:"name"`
	ID        string    `json:"id"`
	TraceID   string    `json:"trace_id"`
	ParentID  string    `json:"parent_id"`
	Type      string    `json:"type"`
	Namespace string    `json:"namespace"`
	StartTime float64   `json:"start_time"`
	EndTime   float64   `json:"end_time"`
	Error     bool      `json:"error,omitempty"`
	Throttle  bool      `json:"throttle,omitempty"`
	Fault     bool      `json:"fault,omitempty"`
	Cause     *cause    `json:"cause,omitempty"`
	HTTP      *httpData `json:"http,omitempty"`
	AWS       awsData   `json:"aws"`
}

type httpData struct {
	Response httpResponse `json:"response"`
}

type httpResponse struct {
	Status        int   `json:"status,omitempty"`
	ContentLength int64 `json:"content_length,omitempty"`
}

type awsData struct {
	Operation         string `json:"operation"`
	Region            string `json:"region,omitempty"`
	RequestID         string `json:"request_id,omitempty"`
	ExtendedRequestID string `json:"id_2,omitempty"`
	Retries           int    `json:"retries,omitempty"`
}

type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
	Remote  bool   `json:"remote,omitempty"`
}

// callKey carries the subsegment of the call in flight down the stack, so each
// attempt's request names it as the parent of what the service records.
type callKey struct{}

// call is the subsegment of a call in flight and the invocation's header it
// hangs under.
type call struct {
	seg    *subsegment
	parent *header.Header
}

func (t *Tracer) addMiddleware(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("HighwayXRaySubsegment", t.record), middleware.After); err != nil {
		return err
	}
	return stack.Build.Add(middleware.BuildMiddlewareFunc("HighwayXRayTraceHeader", propagate), middleware.Before)
}

// record wraps the whole call, its retries included, in one subsegment.
func (t *Tracer) record(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	parent := invocation(ctx)
	if parent == nil {
		return next.HandleInitialize(ctx, in)
	}
	seg := &subsegment{
		Name:      awsmiddleware.GetServiceID(ctx),
		ID:        newID(),
		TraceID:   parent.TraceID,
		ParentID:  parent.ParentID,
		Type:      "subsegment",
		Namespace: "aws",
		StartTime: seconds(t.now()),
		AWS: awsData{
			Operation: awsmiddleware.GetOperationName(ctx),
			Region:    awsmiddleware.GetRegion(ctx),
		},
	}
	out, md, err := next.HandleInitialize(context.WithValue(ctx, callKey{}, call{seg, parent}), in)
	seg.EndTime = seconds(t.now())
	seg.finish(md, err)
	t.send(seg)
	return out, md, err
}

// propagate names the call's subsegment as the parent in the request's trace
// header, so the service's own segment hangs under it. The rest of the
// invocation's header goes along unchanged: its Lineage is how Lambda counts
// the hops of a recursive loop (a function feeding its own queue), which the
// SDK's recursion detection would otherwise have passed on.
func propagate(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	if c, ok := ctx.Value(callKey{}).(call); ok {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			h := *c.parent
			h.ParentID = c.seg.ID
			req.Header.Set("X-Amzn-Trace-Id", h.String())
		}
	}
	return next.HandleBuild(ctx, in)
}

// invocation returns the trace header of the sampled invocation ctx belongs to,
// or nil when there is none.
func invocation(ctx context.Context) *header.Header {
	s, _ := ctx.Value(lambdaTraceHeader).(string)
	if s == "" {
		return nil
	}
	h := header.FromString(s)
	if h.SamplingDecision != header.Sampled || h.TraceID == "" || h.ParentID == "" {
		return nil
	}
	return h
}

// finish records what the last attempt's response and the call's error say:
// a 4xx is an error (429 a throttle too), a 5xx or a call with no response a
// fault.
func (s *subsegment) finish(md middleware.Metadata, err error) {
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		s.AWS.RequestID = id
	}
	if attempts, ok := retry.GetAttemptResults(md); ok && len(attempts.Results) > 1 {
		s.AWS.Retries = len(attempts.Results) - 1
	}
	status := 0
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && resp != nil {
		status = resp.StatusCode
		s.HTTP = &httpData{Response: httpResponse{Status: status, ContentLength: max(resp.ContentLength, 0)}}
		s.AWS.ExtendedRequestID = resp.Header.Get("X-Amz-Id-2")
	}
	switch {
	case status == 429:
		s.Error, s.Throttle = true, true
	case status >= 400 && status < 500:
		s.Error = true
	case status >= 500:
		s.Fault = true
	case err != nil:
		s.Fault = true
	}
	if err == nil {
		return
	}
	e := exception{ID: newID(), Type: fmt.Sprintf("%T", err), Message: report.Shorten(err.Error(), maxMessage)}
	if api, ok := errors.AsType[smithy.APIError](err); ok {
		e.Type, e.Remote = api.ErrorCode(), true
	}
	s.Cause = &cause{Exceptions: []exception{e}}
}

// send writes the subsegment to the daemon Instrument dialled.
func (t *Tracer) send(s *subsegment) {
	body, err := json.Marshal(s)
	if err != nil || t.conn == nil {
		return
	}
	_, _ = t.conn.Write(append([]byte(daemonHeader), body...)) // lost or refused, the call goes on
}

func (t *Tracer) dial() {
	var addr *net.UDPAddr
	var err error
	if t.Daemon != "" {
		addr, err = net.ResolveUDPAddr("udp", t.Daemon)
	} else {
		var ep *daemoncfg.DaemonEndpoints
		if ep, err = daemoncfg.GetDaemonEndpointsFromEnv(); ep == nil && err == nil {
			ep = daemoncfg.GetDefaultDaemonEndpoints()
		}
		if ep != nil {
			addr = ep.UDPAddr
		}
	}
	if err == nil {
		t.conn, err = net.DialUDP("udp", nil, addr)
	}
	if err != nil {
		t.conn = nil
		slog.Warn("X-Ray daemon not reachable; AWS calls go untraced", "error", err)
	}
}

// maxMessage bounds the error message a subsegment carries, so that the
// document stays well within the daemon's 64 KB datagram.
const maxMessage = 8 << 10

func (t *Tracer) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// seconds is X-Ray's time: seconds since the epoch, as a float.
func seconds(t time.Time) float64 {
	return float64(t.UnixNano()) / float64(time.Second)
}

// newID is a 64-bit X-Ray segment id in 16 hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
