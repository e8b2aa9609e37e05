package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// The trace header Lambda hands an invocation that X-Ray sampled.
const (
	traceRoot   = "1-5759e988-bd862e3fe1be46a994272793"
	traceParent = "53995c3f42cd8ad8"
	sampled     = "Root=" + traceRoot + ";Parent=" + traceParent + ";Sampled=1"
)

// inInvocation returns ctx as aws-lambda-go hands it to a handler invoked
// with the trace header h.
func inInvocation(ctx context.Context, h string) context.Context {
	//lint:ignore SA1029 aws-lambda-go stores the header under this string key
	return context.WithValue(ctx, "x-amzn-trace-id", h)
}

// next reads the daemon's next document into the X-Ray SDK's own segment
// model, refusing any field that model does not know.
func next(t *testing.T, d *telemetrytest.Daemon) (*xray.Segment, map[string]any) {
	t.Helper()
	body := d.Next(t)
	seg := new(xray.Segment)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(seg); err != nil {
		t.Fatalf("document %s does not decode as an X-Ray segment: %v", body, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	return seg, raw
}

// traced returns a DynamoDB client on the fake, traced by a tracer that sends
// to d and reads clock.
func traced(fake *awsfake.Server, d *telemetrytest.Daemon, clock *clocktest.Clock) *dynamodb.Client {
	cfg := fake.Config()
	(&telemetry.Tracer{Daemon: d.Addr(), Now: clock.Now}).Instrument(&cfg)
	return dynamodb.NewFromConfig(cfg)
}

func getItem(ctx context.Context, c *dynamodb.Client) (*dynamodb.GetItemOutput, error) {
	return c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("highway-ledger"), Key: key})
}

// key is an item's key in the ledger.
var key = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "app#checkout"}}

var segmentID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// A call inside a sampled invocation sends one subsegment, under the
// invocation's segment, timed by the tracer's clock, with the service's
// request id and status; the request names it as the parent of the service's
// own segment.
func TestTracedCallSendsOneSubsegment(t *testing.T) {
	fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	fake.OnFunc("GetItem", func(awsfake.Request) awsfake.Response {
		clock.Advance(250 * time.Millisecond)
		return awsfake.JSON(200, `{}`)
	})
	out, err := getItem(inInvocation(t.Context(), sampled), traced(fake, d, clock))
	if err != nil {
		t.Fatal(err)
	}
	seg, raw := next(t, d)
	if seg.Name != "DynamoDB" || seg.Namespace != "aws" || seg.Type != "subsegment" {
		t.Errorf("name, namespace, type = %q, %q, %q; want DynamoDB, aws, subsegment", seg.Name, seg.Namespace, seg.Type)
	}
	if seg.TraceID != traceRoot || seg.ParentID != traceParent || !segmentID.MatchString(seg.ID) {
		t.Errorf("trace_id %q, parent_id %q, id %q; want %s, %s and 16 hex digits", seg.TraceID, seg.ParentID, seg.ID, traceRoot, traceParent)
	}
	if want := float64(clock.Now().UnixNano()) / 1e9; seg.EndTime != want || math.Abs(seg.EndTime-seg.StartTime-0.25) > 1e-6 {
		t.Errorf("start %f, end %f; want the call's 250 ms ending at %f", seg.StartTime, seg.EndTime, want)
	}
	reqID, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if !ok || seg.AWS["operation"] != "GetItem" || seg.AWS["region"] != awsfake.Region || seg.AWS["request_id"] != reqID {
		t.Errorf("aws = %v; want operation GetItem, region %s and request id %q", seg.AWS, awsfake.Region, reqID)
	}
	if _, ok := seg.AWS["retries"]; ok {
		t.Errorf("aws = %v; a call answered at once has no retries", seg.AWS)
	}
	if seg.HTTP == nil || seg.HTTP.Response == nil || seg.HTTP.Response.Status != 200 || seg.HTTP.Response.ContentLength != 2 {
		t.Errorf("http = %+v; want status 200 and the body's 2 bytes", raw["http"])
	}
	if more := d.Queued(t); len(more) != 0 {
		t.Errorf("one call sent %d more documents: %s", len(more), more)
	}
	if seg.Error || seg.Fault || seg.Throttle || seg.Cause != nil {
		t.Errorf("a successful call is marked error %v, fault %v, throttle %v, cause %v", seg.Error, seg.Fault, seg.Throttle, seg.Cause)
	}
	calls := fake.Calls("GetItem")
	if len(calls) != 1 {
		t.Fatalf("GetItem reached the fake %d times, want 1", len(calls))
	}
	if got, want := calls[0].Header.Get("X-Amzn-Trace-Id"), "Root="+traceRoot+";Parent="+seg.ID+";Sampled=1"; got != want {
		t.Errorf("request's X-Amzn-Trace-Id = %q, want %q", got, want)
	}
}

// What the service answered decides how the subsegment is marked: a 4xx is an
// error, a 429 a throttle as well, a 5xx a fault, and the service's error code
// is the cause. Retries are the attempts the call made beyond its first.
func TestTracedCallRecordsHowItFailed(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		status                 int
		code                   string
		error, throttle, fault bool
	}{
		{"validation", 400, "ValidationException", true, false, false},
		{"throttled", 429, "ThrottlingException", true, true, false},
		{"server", 500, "InternalServerError", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
			clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
			fake.On("GetItem", awsfake.APIError(tc.status, tc.code, "no"))
			_, err := getItem(inInvocation(t.Context(), sampled), traced(fake, d, clock))
			if err == nil {
				t.Fatal("the call succeeded")
			}
			seg, raw := next(t, d)
			if seg.Error != tc.error || seg.Throttle != tc.throttle || seg.Fault != tc.fault {
				t.Errorf("error %v, throttle %v, fault %v; want %v, %v, %v", seg.Error, seg.Throttle, seg.Fault, tc.error, tc.throttle, tc.fault)
			}
			if seg.HTTP == nil || seg.HTTP.Response == nil || seg.HTTP.Response.Status != tc.status {
				t.Errorf("http = %v; want status %d", raw["http"], tc.status)
			}
			if seg.Cause == nil || len(seg.Cause.Exceptions) != 1 || seg.Cause.Exceptions[0].Type != tc.code || !seg.Cause.Exceptions[0].Remote {
				t.Errorf("cause = %v; want one remote exception of type %s", raw["cause"], tc.code)
			}
			retries, _ := seg.AWS["retries"].(float64)
			if want := len(fake.Calls("GetItem")) - 1; int(retries) != want {
				t.Errorf("aws.retries = %v; the fake saw %d attempts", seg.AWS["retries"], want+1)
			}
		})
	}
}

// A call that gets no answer at all is a fault, with the error as its cause.
func TestTracedCallWithoutAnswerIsAFault(t *testing.T) {
	fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	client := traced(fake, d, clock)
	fake.Close()
	ctx, cancel := context.WithCancel(inInvocation(t.Context(), sampled))
	cancel()
	if _, err := getItem(ctx, client); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	seg, _ := next(t, d)
	if !seg.Fault || seg.Error || seg.HTTP != nil || seg.Cause == nil || seg.Cause.Exceptions[0].Remote {
		t.Errorf("fault %v, error %v, http %+v, cause %+v; want a local fault without a response", seg.Fault, seg.Error, seg.HTTP, seg.Cause)
	}
}

// Calls outside a sampled invocation (during init, or in one X-Ray did not
// sample) send nothing and leave the request's trace header alone.
func TestUntracedCallsSendNothing(t *testing.T) {
	fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	fake.On("GetItem", awsfake.JSON(200, `{}`))
	fake.On("PutItem", awsfake.JSON(200, `{}`))
	client := traced(fake, d, clock)
	for _, ctx := range []context.Context{
		t.Context(),
		inInvocation(t.Context(), "Root="+traceRoot+";Parent="+traceParent+";Sampled=0"),
		inInvocation(t.Context(), "Root="+traceRoot+";Sampled=1"),
	} {
		if _, err := getItem(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range fake.Calls("GetItem") {
		if h := c.Header.Get("X-Amzn-Trace-Id"); h != "" {
			t.Errorf("an untraced call carried X-Amzn-Trace-Id %q", h)
		}
	}
	// The first document the daemon holds is the traced call's that follows.
	ctx := inInvocation(t.Context(), sampled)
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("highway-ledger"), Item: key}); err != nil {
		t.Fatal(err)
	}
	if seg, _ := next(t, d); seg.AWS["operation"] != "PutItem" {
		t.Errorf("the daemon's first document is of %v, want the traced PutItem", seg.AWS["operation"])
	}
}

// Highway's subsegment carries what the X-Ray SDK's own AWS SDK v2
// instrumentation sends for the same call, field for field, ids and times
// aside.
func TestSubsegmentMatchesTheXRaySDKs(t *testing.T) {
	fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	fake.On("GetItem", awsfake.JSON(200, `{}`))
	ctx := inInvocation(t.Context(), sampled)
	if _, err := getItem(ctx, traced(fake, d, clock)); err != nil {
		t.Fatal(err)
	}
	_, ours := next(t, d)

	sdk := telemetrytest.NewDaemon(t)
	if err := xray.Configure(xray.Config{DaemonAddr: sdk.Addr()}); err != nil {
		t.Fatal(err)
	}
	cfg := fake.Config()
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
	if _, err := getItem(ctx, dynamodb.NewFromConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	_, theirs := next(t, sdk)
	for _, doc := range []map[string]any{ours, theirs} {
		delete(doc, "id")
		delete(doc, "start_time")
		delete(doc, "end_time")
		delete(doc["aws"].(map[string]any), "request_id")
	}
	delete(theirs, "Dummy") // the SDK's own flag, which it leaves untagged and X-Ray ignores
	a, _ := json.Marshal(ours)
	b, _ := json.Marshal(theirs)
	if !bytes.Equal(a, b) {
		t.Errorf("Highway's subsegment\n%s\ndiffers from the X-Ray SDK's\n%s", a, b)
	}
}

// TraceAWS instruments a configuration unless AWS_XRAY_SDK_DISABLED is true,
// the switch the X-Ray SDK honours.
func TestTraceAWSHonoursXRaySDKDisabled(t *testing.T) {
	for env, want := range map[string]int{"": 1, "false": 1, "true": 0, "TRUE": 0} {
		t.Setenv("AWS_XRAY_SDK_DISABLED", env)
		var cfg aws.Config
		telemetry.TraceAWS(&cfg)
		if len(cfg.APIOptions) != want {
			t.Errorf("AWS_XRAY_SDK_DISABLED=%q: %d API options added, want %d", env, len(cfg.APIOptions), want)
		}
	}
}

// The request names the subsegment as its parent and carries the rest of the
// invocation's header, Lineage included: Lambda counts a recursive loop's
// hops by it.
func TestTracedCallKeepsTheInvocationsLineage(t *testing.T) {
	fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
	fake.On("GetItem", awsfake.Response{Status: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amz-Id-2": {"a2d4EXAMPLE"}}, Body: []byte(`{}`)})
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	if _, err := getItem(inInvocation(t.Context(), sampled+";Lineage=a87bd80c:1"), traced(fake, d, clock)); err != nil {
		t.Fatal(err)
	}
	seg, _ := next(t, d)
	h := fake.Calls("GetItem")[0].Header.Get("X-Amzn-Trace-Id")
	parts := strings.Split(h, ";")
	slices.Sort(parts)
	if want := []string{"Lineage=a87bd80c:1", "Parent=" + seg.ID, "Root=" + traceRoot, "Sampled=1"}; !slices.Equal(parts, want) {
		t.Errorf("X-Amzn-Trace-Id %q, want the parts %q", h, want)
	}
	if seg.AWS["id_2"] != "a2d4EXAMPLE" {
		t.Errorf("aws = %v; want id_2 from X-Amz-Id-2", seg.AWS)
	}
}

// A daemon that is not there refuses the datagrams; the calls go on.
func TestTracedCallsOutliveTheDaemon(t *testing.T) {
	fake := awsfake.New(t)
	fake.On("GetItem", awsfake.JSON(200, `{}`))
	d := telemetrytest.NewDaemon(t)
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	client := traced(fake, d, clock)
	d.Close()
	for range 3 {
		if _, err := getItem(inInvocation(t.Context(), sampled), client); err != nil {
			t.Fatalf("a call failed with the daemon gone: %v", err)
		}
	}
}

// An error message too long for a datagram is cut, so the subsegment still
// reaches the daemon.
func TestLongErrorMessagesAreCut(t *testing.T) {
	fake, d := awsfake.New(t), telemetrytest.NewDaemon(t)
	fake.On("GetItem", awsfake.APIError(400, "ValidationException", strings.Repeat("é", 40<<10)))
	clock := clocktest.New(time.Date(2026, 11, 18, 6, 4, 0, 0, time.UTC))
	if _, err := getItem(inInvocation(t.Context(), sampled), traced(fake, d, clock)); err == nil {
		t.Fatal("the call succeeded")
	}
	seg, _ := next(t, d)
	if m := seg.Cause.Exceptions[0].Message; len(m) > 8<<10 || !utf8.ValidString(m) || !strings.Contains(m, "éé") {
		t.Errorf("message of %d bytes (valid UTF-8: %v)", len(m), utf8.ValidString(m))
	}
}
