package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/smithy-go"

	"github.com/highwayhq/highway/shared/awsfake"
)

// recordingTB keeps the errors the fake reports instead of failing the test,
// for tests that exercise those reports.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) errors() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func stopPipeline(ctx context.Context, cfg aws.Config) error {
	_, err := codepipeline.NewFromConfig(cfg).StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{
		PipelineName:        aws.String("checkout"),
		PipelineExecutionId: aws.String("exec-1"),
	})
	return err
}

func describeStacks(ctx context.Context, cfg aws.Config) error {
	_, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{
		StackName: aws.String("checkout-prod"),
	})
	return err
}

func describeStacksXML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/describe_stacks.xml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSONProtocolCallIsSerializedSignedAndParsed(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("StopPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"exec-1"}`))

	out, err := codepipeline.NewFromConfig(srv.Config()).StopPipelineExecution(context.Background(), &codepipeline.StopPipelineExecutionInput{
		PipelineName:        aws.String("checkout"),
		PipelineExecutionId: aws.String("exec-1"),
		Abandon:             true,
		Reason:              aws.String("gate failed: lint"),
	})
	if err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	if got := aws.ToString(out.PipelineExecutionId); got != "exec-1" {
		t.Errorf("PipelineExecutionId = %q, want %q", got, "exec-1")
	}

	calls := srv.Calls("StopPipelineExecution")
	if len(calls) != 1 {
		t.Fatalf("len(Calls) = %d, want 1", len(calls))
	}
	req := calls[0]
	if req.Protocol != awsfake.ProtocolJSON {
		t.Errorf("Protocol = %q, want %q", req.Protocol, awsfake.ProtocolJSON)
	}
	if got, want := req.Header.Get("X-Amz-Target"), "CodePipeline_20150709.StopPipelineExecution"; got != want {
		t.Errorf("X-Amz-Target = %q, want %q", got, want)
	}
	auth := req.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "Credential="+awsfake.AccessKeyID+"/") {
		t.Errorf("Authorization = %q, want AWS4-HMAC-SHA256 with Credential=%s/", auth, awsfake.AccessKeyID)
	}
	var in struct {
		PipelineName        string `json:"pipelineName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
		Abandon             bool   `json:"abandon"`
		Reason              string `json:"reason"`
	}
	if err := req.DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	if in.PipelineName != "checkout" || in.PipelineExecutionID != "exec-1" || !in.Abandon || in.Reason != "gate failed: lint" {
		t.Errorf("recorded input = %+v, want checkout/exec-1/abandon/gate failed: lint", in)
	}
}

func TestQueryProtocolCallIsSerializedAndParsed(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("DescribeStacks", awsfake.XML(200, describeStacksXML(t)))

	out, err := cloudformation.NewFromConfig(srv.Config()).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{
		StackName: aws.String("checkout-prod"),
	})
	if err != nil {
		t.Fatalf("DescribeStacks: %v", err)
	}
	if len(out.Stacks) != 1 {
		t.Fatalf("len(Stacks) = %d, want 1", len(out.Stacks))
	}
	st := out.Stacks[0]
	if got := aws.ToString(st.StackName); got != "checkout-prod" {
		t.Errorf("StackName = %q, want checkout-prod", got)
	}
	if st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Errorf("StackStatus = %q, want %q", st.StackStatus, cfntypes.StackStatusUpdateComplete)
	}
	if st.DriftInformation == nil || st.DriftInformation.StackDriftStatus != cfntypes.StackDriftStatusDrifted {
		t.Errorf("DriftInformation = %+v, want DRIFTED", st.DriftInformation)
	}
	if len(st.Parameters) != 1 || aws.ToString(st.Parameters[0].ParameterValue) != "sha256:4b1c0a" {
		t.Errorf("Parameters = %+v, want ImageDigest=sha256:4b1c0a", st.Parameters)
	}
	if len(st.Outputs) != 1 || aws.ToString(st.Outputs[0].OutputValue) != "https://checkout.example.com" {
		t.Errorf("Outputs = %+v, want Endpoint=https://checkout.example.com", st.Outputs)
	}

	req := srv.Calls("DescribeStacks")[0]
	if req.Protocol != awsfake.ProtocolQuery {
		t.Errorf("Protocol = %q, want %q", req.Protocol, awsfake.ProtocolQuery)
	}
	if got := req.Form.Get("StackName"); got != "checkout-prod" {
		t.Errorf("Form StackName = %q, want checkout-prod", got)
	}
	if got := req.Form.Get("Version"); got != "2010-05-15" {
		t.Errorf("Form Version = %q, want 2010-05-15", got)
	}
}

func TestRESTRouteCallIsParsed(t *testing.T) {
	srv := awsfake.New(t)
	srv.Route("GetRoleCredentials", "GET /federation/credentials")
	srv.On("GetRoleCredentials", awsfake.JSON(200, `{"roleCredentials":{"accessKeyId":"AKIDROLE","secretAccessKey":"s","sessionToken":"t","expiration":1767225600000}}`))

	out, err := sso.NewFromConfig(srv.Config()).GetRoleCredentials(context.Background(), &sso.GetRoleCredentialsInput{
		AccessToken: aws.String("token-1"),
		AccountId:   aws.String("123456789012"),
		RoleName:    aws.String("deployer"),
	})
	if err != nil {
		t.Fatalf("GetRoleCredentials: %v", err)
	}
	if got := aws.ToString(out.RoleCredentials.AccessKeyId); got != "AKIDROLE" {
		t.Errorf("AccessKeyId = %q, want AKIDROLE", got)
	}
	req := srv.Calls("GetRoleCredentials")[0]
	if req.Protocol != awsfake.ProtocolREST {
		t.Errorf("Protocol = %q, want %q", req.Protocol, awsfake.ProtocolREST)
	}
	if got := req.URL.Query().Get("role_name"); got != "deployer" {
		t.Errorf("role_name = %q, want deployer", got)
	}
	if got := req.Header.Get("X-Amz-Sso_bearer_token"); got != "token-1" {
		t.Errorf("bearer token header = %q, want token-1", got)
	}
}

func TestRESTRoutePathValues(t *testing.T) {
	srv := awsfake.New(t)
	srv.Route("GetFunction", "GET /2015-03-31/functions/{FunctionName}")
	srv.On("GetFunction", awsfake.JSON(200, `{}`))

	resp, err := http.Get(srv.URL() + "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Adeploy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	want := "arn:aws:lambda:us-east-1:123456789012:function:deploy"
	if got := srv.Calls("GetFunction")[0].PathValues["FunctionName"]; got != want {
		t.Errorf("PathValues[FunctionName] = %q, want %q", got, want)
	}
}

func TestStubbedAPIErrorIsParsedBySDK(t *testing.T) {
	tests := []struct {
		name string
		op   string
		call func(context.Context, aws.Config) error
	}{
		{name: "json", op: "StopPipelineExecution", call: stopPipeline},
		{name: "query", op: "DescribeStacks", call: describeStacks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On(tt.op, awsfake.APIError(400, "ValidationError", "checkout does not exist"))

			err := tt.call(context.Background(), srv.Config())

			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%s error = %v, want a smithy.APIError", tt.op, err)
			}
			if apiErr.ErrorCode() != "ValidationError" || apiErr.ErrorMessage() != "checkout does not exist" {
				t.Errorf("%s error = %s: %s, want ValidationError: checkout does not exist", tt.op, apiErr.ErrorCode(), apiErr.ErrorMessage())
			}
			if n := len(srv.Calls(tt.op)); n != 1 {
				t.Errorf("len(Calls(%s)) = %d, want 1 (a validation error is not retried)", tt.op, n)
			}
		})
	}
}

func TestThrottlingOnFirstCallsIsRetried(t *testing.T) {
	tests := []struct {
		name string
		op   string
		give awsfake.Response
		call func(context.Context, aws.Config) error
	}{
		{name: "json", op: "StopPipelineExecution", give: awsfake.JSON(200, `{"pipelineExecutionId":"exec-1"}`), call: stopPipeline},
		{name: "query", op: "DescribeStacks", give: awsfake.XML(200, describeStacksXML(t)), call: describeStacks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On(tt.op, tt.give)
			srv.Inject(awsfake.Fault{Operation: tt.op, Kind: awsfake.Throttle, First: 2})

			if err := tt.call(context.Background(), srv.Config()); err != nil {
				t.Fatalf("%s after 2 throttles: %v, want success", tt.op, err)
			}
			var got []awsfake.FaultKind
			for _, r := range srv.Calls(tt.op) {
				got = append(got, r.Fault)
			}
			want := []awsfake.FaultKind{awsfake.Throttle, awsfake.Throttle, 0}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("faults of %s calls = %v, want %v", tt.op, got, want)
			}
		})
	}
}

func TestServerErrorOnEveryCallFailsAfterMaxAttempts(t *testing.T) {
	tests := []struct {
		name     string
		op       string
		kind     awsfake.FaultKind
		call     func(context.Context, aws.Config) error
		wantCode string
	}{
		{name: "json 500", op: "StopPipelineExecution", kind: awsfake.InternalFailure, call: stopPipeline, wantCode: "InternalFailure"},
		{name: "json 503", op: "StopPipelineExecution", kind: awsfake.ServiceUnavailable, call: stopPipeline, wantCode: "ServiceUnavailable"},
		{name: "query 500", op: "DescribeStacks", kind: awsfake.InternalFailure, call: describeStacks, wantCode: "InternalFailure"},
		{name: "query throttle", op: "DescribeStacks", kind: awsfake.Throttle, call: describeStacks, wantCode: "Throttling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On(tt.op, awsfake.JSON(200, `{}`)) // never served
			srv.Inject(awsfake.Fault{Kind: tt.kind})

			err := tt.call(context.Background(), srv.Config())

			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%s error = %v, want a smithy.APIError", tt.op, err)
			}
			if apiErr.ErrorCode() != tt.wantCode {
				t.Errorf("ErrorCode() = %q, want %q", apiErr.ErrorCode(), tt.wantCode)
			}
			if n := len(srv.Calls(tt.op)); n != 3 {
				t.Errorf("len(Calls(%s)) = %d, want the SDK's 3 attempts", tt.op, n)
			}
		})
	}
}

func TestEveryNthCallIsFaulted(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("StopPipelineExecution", awsfake.JSON(200, `{}`))
	srv.On("DescribeStacks", awsfake.XML(200, describeStacksXML(t)))
	srv.Inject(awsfake.Fault{Operation: "StopPipelineExecution", Kind: awsfake.Throttle, Every: 3})

	cfg := srv.Config()
	for i := range 5 {
		if err := stopPipeline(context.Background(), cfg); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if err := describeStacks(context.Background(), cfg); err != nil { // not counted by the fault
			t.Fatalf("call %d: %v", i, err)
		}
	}

	var got []int
	calls := srv.Calls("StopPipelineExecution")
	for _, r := range calls {
		if r.Fault == awsfake.Throttle {
			got = append(got, r.Call)
		}
	}
	// 5 SDK calls take 7 requests: the 3rd and 6th are throttled and retried.
	if len(calls) != 7 || fmt.Sprint(got) != "[3 6]" {
		t.Errorf("throttled calls = %v of %d, want [3 6] of 7", got, len(calls))
	}
	for _, r := range srv.Calls("DescribeStacks") {
		if r.Fault != 0 {
			t.Errorf("DescribeStacks call %d has fault %v, want none", r.Call, r.Fault)
		}
	}
}

func TestLatencyHoldsTheCallUntilItsContextEnds(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("StopPipelineExecution", awsfake.JSON(200, `{}`))
	srv.On("DescribeStacks", awsfake.XML(200, describeStacksXML(t)))
	srv.Inject(awsfake.Fault{Operation: "StopPipelineExecution", Kind: awsfake.Latency, Delay: time.Hour})

	// The caller gives up once the call has reached the fake: no guess at
	// how long getting there takes on a loaded machine.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrived := srv.Arrived("StopPipelineExecution")
	go func() {
		<-arrived
		cancel()
	}()

	if err := stopPipeline(ctx, srv.Config()); !errors.Is(err, context.Canceled) {
		t.Errorf("delayed StopPipelineExecution error = %v, want context.Canceled", err)
	}
	if err := describeStacks(context.Background(), srv.Config()); err != nil {
		t.Errorf("undelayed DescribeStacks error = %v, want nil", err)
	}
	calls := srv.Calls("StopPipelineExecution")
	if len(calls) != 1 || calls[0].Fault != awsfake.Latency {
		t.Errorf("recorded calls = %+v, want one, held by Latency", calls)
	}
	select {
	case <-srv.Arrived("StopPipelineExecution"):
	default:
		t.Error("Arrived after the call arrived is not closed")
	}
}

func getRoleCredentials(ctx context.Context, cfg aws.Config) error {
	_, err := sso.NewFromConfig(cfg).GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String("token-1"),
		AccountId:   aws.String("123456789012"),
		RoleName:    aws.String("deployer"),
	})
	return err
}

func TestUnknownOperationFailsNamingIt(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, aws.Config) error
		want string
	}{
		{name: "json", call: stopPipeline, want: `"StopPipelineExecution"`},
		{name: "query", call: describeStacks, want: `"DescribeStacks"`},
		{name: "rest without route", call: getRoleCredentials, want: `"GET /federation/credentials"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			srv := awsfake.New(tb)

			err := tt.call(context.Background(), srv.Config())

			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
				t.Fatalf("error = %v, want UnknownOperationException", err)
			}
			if !strings.Contains(apiErr.ErrorMessage(), tt.want) {
				t.Errorf("ErrorMessage() = %q, want it to name %s", apiErr.ErrorMessage(), tt.want)
			}
			if !strings.Contains(tb.errors(), tt.want) {
				t.Errorf("test errors = %q, want one naming %s", tb.errors(), tt.want)
			}
		})
	}
}

func TestStubMistakesAreReported(t *testing.T) {
	tests := []struct {
		name    string
		give    awsfake.Response
		wantErr string // in the reported test error; empty for none
	}{
		{name: "xml for query", give: awsfake.XML(200, "<DescribeStacksResponse/>")},
		{name: "json for query", give: awsfake.JSON(200, `{}`), wantErr: "answer it with awsfake.XML"},
		{name: "broken xml", give: awsfake.XML(200, "<DescribeStacksResponse>"), wantErr: "not well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			srv := awsfake.New(tb)
			srv.On("DescribeStacks", tt.give)

			describeStacks(context.Background(), srv.Config())

			got := tb.errors()
			if (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("reported errors = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestConfigReachesServerWhateverHost(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("StopPipelineExecution", awsfake.JSON(200, `{}`))
	cfg := srv.Config()
	cfg.BaseEndpoint = aws.String("http://sync-codepipeline.invalid") // as a host prefix would make it

	if err := stopPipeline(context.Background(), cfg); err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	if got, want := srv.Calls("StopPipelineExecution")[0].Host, "sync-codepipeline.invalid"; got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
}

func TestConcurrentCallsAreAllRecorded(t *testing.T) {
	const n = 100
	srv := awsfake.New(t)
	srv.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e"}]}`))
	srv.Inject(awsfake.Fault{Kind: awsfake.Throttle, Every: 20})
	client := eventbridge.NewFromConfig(srv.Config(), func(o *eventbridge.Options) {
		o.RetryMaxAttempts = 10 // however the throttles fall, every call gets through
	})

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				Source:     aws.String("highway"),
				DetailType: aws.String("Gate Decided"),
				Detail:     aws.String(fmt.Sprintf(`{"n":%d}`, i)),
			}}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
	}

	seen := map[string]int{}
	throttled := 0
	for _, r := range srv.Calls("PutEvents") {
		if r.Fault == awsfake.Throttle {
			throttled++
			continue
		}
		var in struct{ Entries []struct{ Detail string } }
		if err := r.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		seen[in.Entries[0].Detail]++
	}
	// 100 successes take 105 requests, of which the 20th, ..., 100th are throttled.
	if len(seen) != n || throttled != 5 {
		t.Errorf("recorded %d distinct successful calls and %d throttled, want %d and 5", len(seen), throttled, n)
	}
	for detail, count := range seen {
		if count != 1 {
			t.Errorf("%s succeeded %d times, want 1", detail, count)
		}
	}
}

// Invocations counts the calls the code made once each, however many
// attempts the SDK took for them.
func TestInvocationsCountEachCallOnce(t *testing.T) {
	const op = "StopPipelineExecution"
	srv := awsfake.New(t)
	srv.On(op, awsfake.JSON(200, `{"pipelineExecutionId":"exec-1"}`))
	srv.Inject(awsfake.Fault{Operation: op, Kind: awsfake.Throttle, First: 2})

	for i := range 2 {
		if err := stopPipeline(context.Background(), srv.Config()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	got := srv.Invocations(op)
	if len(got) != 2 || got[0].Call != 1 || got[0].Fault != awsfake.Throttle || got[1].Fault != 0 {
		t.Fatalf("Invocations(%s) = %d calls (%+v), want 2: the throttled first call's first attempt, then the second call", op, len(got), got)
	}
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.Header.Get(awsfake.InvocationHeader)] = true
	}
	for _, r := range srv.Calls(op) {
		if !ids[r.Header.Get(awsfake.InvocationHeader)] {
			t.Errorf("attempt %d of %s belongs to no invocation", r.Call, op)
		}
	}
	if len(ids) != 2 || ids[""] {
		t.Errorf("invocation ids %v, want 2, none empty", ids)
	}
}
