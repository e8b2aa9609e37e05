package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

const (
	secret = "q7Vx2mR9tL4wZ8nK3pH6sB1cF5gJ0dY7eU2iO9aS4vQ8xT3w"
	// approvalID is the waiting request deploy files, which sampleEvent's link
	// approves.
	approvalID = "apr-canary"
)

// deploy prepares approval with the link secret in Secrets Manager (named in
// its environment) and a waiting request, approvalID, in the ledger: one
// approver, ana.silva@example.com, decides it alone within the hour. Step
// Functions and EventBridge accept every call.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "approval")
	d.AWS.On("GetSecretValue", awsfake.JSON(200, `{"Name":"highway-approval-links","SecretString":"{\"current\":\"`+secret+`\"}"}`))
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("SendTaskSuccess", awsfake.JSON(200, `{}`))
	now := time.Now().UTC()
	err := ledger.NewDynamo(localaws.DynamoDB(tb), d.Table).Put(context.Background(), &ledger.ApprovalRequest{
		Header:      ledger.Header{ID: approvalID, App: "checkout", Env: "prod", Digest: "sha256:e648", At: now},
		PromotionID: "prm-1", TaskToken: "task-token-1", Approvers: []string{"ana.silva@example.com"}, Quorum: 1,
		Expires: now.Add(time.Hour), Status: ledger.ApprovalWaiting,
	})
	if err != nil {
		tb.Fatal(err)
	}
	d.Env = append(d.Env, function.EnvApprovalSecret+"=highway-approval-links",
		function.EnvApprovalStateMachine+"=arn:aws:states:eu-west-1:111111111111:stateMachine:highway-promotion")
	return d
}

// sampleEvent is the sample function URL request, posting a freshly signed
// link by which ana.silva@example.com approves approvalID.
func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	signer, err := approval.NewSigner([]byte(secret))
	if err != nil {
		tb.Fatal(err)
	}
	link, err := url.Parse(signer.Link("https://example.lambda-url.eu-west-1.on.aws/", approvalID, "ana.silva@example.com", approval.ActionApprove, time.Now().Add(time.Hour)))
	if err != nil {
		tb.Fatal(err)
	}
	ev := localaws.Sample[events.LambdaFunctionURLRequest](tb, "approval-link-post.json")
	ev.RawQueryString = link.RawQuery
	payload, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return payload
}

// TestBootstrapUnderEmulator runs approval as built, under the Lambda Runtime
// Interface Emulator, with the sample function URL request carrying a freshly
// signed approve link: the workflow's task succeeds once; the same link again
// is refused.
func TestBootstrapUnderEmulator(t *testing.T) {
	t.Parallel() // each test runs on a site of its own
	d := deploy(t)
	payload := sampleEvent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	for i, want := range []int{200, 409} {
		body, err := emu.Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("invoke %d: %v\nlog:\n%s", i+1, err, emu.Log())
		}
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != want {
			t.Errorf("invoke %d: status %d (%v), want %d\n%s", i+1, resp.StatusCode, err, want, body)
		}
		if strings.Contains(resp.Body, "task-token-1") {
			t.Error("the task token left the ledger in a page")
		}
	}
	calls := d.AWS.Invocations("SendTaskSuccess")
	if len(calls) != 1 {
		t.Fatalf("SendTaskSuccess calls = %d, want 1", len(calls))
	}
	var in struct{ TaskToken string }
	if err := calls[0].DecodeJSON(&in); err != nil || in.TaskToken != "task-token-1" {
		t.Errorf("SendTaskSuccess for %q (%v), want the stored token", in.TaskToken, err)
	}
}

// TestBootstrapAfterALostAnswer runs approval as built, under the emulator,
// where an earlier answer to the task resumed the workflow and its response
// was lost: SendTaskSuccess finds the task gone, the execution of the
// promotion is running, and the approval stands.
func TestBootstrapAfterALostAnswer(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	d.AWS.On("SendTaskSuccess", awsfake.APIError(400, "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"))
	d.AWS.On("DescribeExecution", awsfake.JSON(200, `{"status":"RUNNING"}`))
	d.AWS.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>`))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	body, err := emu.Invoke(ctx, sampleEvent(t))
	if err != nil {
		t.Fatalf("invoke: %v\nlog:\n%s", err, emu.Log())
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "goes ahead") {
		t.Errorf("status %d (%v), want 200, going ahead\n%s", resp.StatusCode, err, body)
	}
	var in struct{ ExecutionArn string }
	if calls := d.AWS.Invocations("DescribeExecution"); len(calls) != 1 || calls[0].DecodeJSON(&in) != nil ||
		in.ExecutionArn != "arn:aws:states:eu-west-1:111111111111:execution:highway-promotion:prm-1" {
		t.Errorf("DescribeExecution calls = %d (%q), want the promotion's execution", len(calls), in.ExecutionArn)
	}
	if n := len(d.AWS.Invocations("Publish")); n != 0 {
		t.Errorf("expiry notices = %d, want none", n)
	}
}

// BenchmarkInvoke measures approval as built, under the emulator, with the
// sample function URL request posting a signed approve link (through
// localaws.BenchInvoke); make bench runs it. A link decides once: the first
// invoke approves (200) and completes the workflow's task; every redelivery
// of the used link is refused with 409 Conflict, changing nothing, which the
// check requires. The cold and warm figures after the first invoke are of
// that refusal: verifying the link and reading the decided request.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	want := 200
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, sampleEvent(b), func(body []byte) error {
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != want {
			return fmt.Errorf("status %d (%v), want %d\n%s", resp.StatusCode, err, want, body)
		}
		if strings.Contains(resp.Body, "task-token-1") {
			return fmt.Errorf("the task token left the ledger in a page:\n%s", resp.Body)
		}
		want = 409
		return nil
	})
}
