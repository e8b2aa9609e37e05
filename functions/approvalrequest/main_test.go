package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// approvals is the ARN of the approvals topic in the function's environment.
const approvals = "arn:aws:sns:eu-west-1:111111111111:highway-approvals"

// deploy prepares approvalrequest with the link secret in Secrets Manager, and
// the decide function's URL and the approvals topic in its environment;
// EventBridge and SNS accept every call.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "approvalrequest")
	d.AWS.On("GetSecretValue", awsfake.JSON(200, localaws.LinkSecretAnswer))
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	d.Env = append(d.Env,
		function.EnvApprovalSecret+"=arn:aws:secretsmanager:eu-west-1:111111111111:secret:highway-approval-links-AbCdEf",
		function.EnvApprovalURL+"=https://k3v7q2xw5m4n6b8p1r9t0y2u4i6o8a0s.lambda-url.eu-west-1.on.aws/",
		function.EnvApprovalTopic+"="+approvals)
	return d
}

// sampleEvent is the workflow's sample task payload.
func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, "approval-request.json")
}

// TestBootstrapUnderEmulator runs approvalrequest as built, under the Lambda
// Runtime Interface Emulator, with the workflow's sample task payload: the
// request is filed under an opaque id, and each approver is sent their own
// links, on the approvals topic, addressed to them, without the task token.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	payload := sampleEvent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 2 { // the second invocation is a retry: one request, one message
		if body, err := emu.Invoke(ctx, payload); err != nil || !strings.Contains(string(body), `"approvalId":"apr-`) {
			t.Fatalf("invoke %d: %s, %v\nlog:\n%s", i+1, body, err, emu.Log())
		}
	}
	msgs := d.AWS.Invocations("Publish")
	approvers := []string{"ana.silva@example.com", "lee.chen@example.com"}
	if len(msgs) != len(approvers) {
		t.Fatalf("SNS Publish calls = %d, want one per approver (%d)", len(msgs), len(approvers))
	}
	for i, m := range msgs {
		who := approvers[i]
		if to := m.Form.Get("MessageAttributes.entry.1.Name") + "=" + m.Form.Get("MessageAttributes.entry.1.Value.StringValue"); to != approval.MessageAttributeApprover+"="+who {
			t.Errorf("message %d is addressed %q, want to %s", i, to, who)
		}
		if topic := m.Form.Get("TopicArn"); topic != approvals {
			t.Errorf("message to %s went to %s, want the approvals topic", who, topic)
		}
		message := m.Form.Get("Message")
		for _, want := range []string{"approver=" + url.QueryEscape(who) + "&action=approve", "approver=" + url.QueryEscape(who) + "&action=reject", "sig=", "Round order totals half-even"} {
			if !strings.Contains(message, want) {
				t.Errorf("the message to %s lacks %q:\n%s", who, want, message)
			}
		}
		if other := approvers[1-i]; strings.Contains(message, "approver="+url.QueryEscape(other)) {
			t.Errorf("the message to %s holds a link of %s:\n%s", who, other, message)
		}
		if strings.Contains(message, "AQCEAAAAKgAAAAMAAAAAAAAAAfVq2ybn") {
			t.Errorf("the task token left the ledger in the message to %s", who)
		}
	}
	recs, err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).ByDigest(ctx, "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6")
	if err != nil {
		t.Fatal(err)
	}
	var requests int
	for _, r := range recs {
		if req, ok := r.(*ledger.ApprovalRequest); ok && req.Status == ledger.ApprovalWaiting && req.Summary != nil {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("waiting approval requests in DynamoDB Local = %d, want 1 with its summary", requests)
	}
}

// BenchmarkInvoke measures approvalrequest as built, under the emulator, with
// the workflow's sample task payload (through localaws.BenchInvoke); make
// bench runs it. The first invoke files the request and notifies the
// approvers; every redelivery finds the request filed and notified, sends
// nothing, and answers the same approval id, which the check requires.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	var first approval.Requested
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, sampleEvent(b), func(body []byte) error {
		var got approval.Requested
		if err := json.Unmarshal(body, &got); err != nil || !strings.HasPrefix(got.ApprovalID, "apr-") {
			return fmt.Errorf("response %s (%v), want an approval id", body, err)
		}
		if first.ApprovalID == "" {
			if !got.Notified {
				return fmt.Errorf("response %s: the first request notified nobody", body)
			}
			first = got
			return nil
		}
		if got.ApprovalID != first.ApprovalID || got.Notified {
			return fmt.Errorf("redelivery answered %s, want approval %s, not notified again", body, first.ApprovalID)
		}
		return nil
	})
}
