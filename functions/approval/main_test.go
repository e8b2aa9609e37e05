package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
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

const secret = "q7Vx2mR9tL4wZ8nK3pH6sB1cF5gJ0dY7eU2iO9aS4vQ8xT3w"

// TestBootstrapUnderEmulator runs approval as built, under the Lambda Runtime
// Interface Emulator, with the sample function URL request carrying a freshly
// signed approve link: the workflow's task succeeds once; the same link again
// is refused.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := localaws.Deploy(t, "approval")
	d.AWS.On("GetSecretValue", awsfake.JSON(200, `{"Name":"highway-approval-links","SecretString":"{\"current\":\"`+secret+`\"}"}`))
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("SendTaskSuccess", awsfake.JSON(200, `{}`))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC()
	err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).Put(ctx, &ledger.ApprovalRequest{
		Header:      ledger.Header{ID: "apr-canary", App: "checkout", Env: "prod", Digest: "sha256:e648", At: now},
		PromotionID: "prm-1", TaskToken: "task-token-1", Approvers: []string{"ana.silva@example.com"}, Quorum: 1,
		Expires: now.Add(time.Hour), Status: ledger.ApprovalWaiting,
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := approval.NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(signer.Link("https://example.lambda-url.eu-west-1.on.aws/", "apr-canary", "ana.silva@example.com", approval.ActionApprove, now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../events/approval-link-post.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev.RawQueryString = link.RawQuery
	payload, _ := json.Marshal(ev)

	emu := localaws.Emulate(t, d.Bootstrap, append(d.Env, function.EnvApprovalSecret+"=highway-approval-links"))
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
	calls := d.AWS.Calls("SendTaskSuccess")
	if len(calls) != 1 {
		t.Fatalf("SendTaskSuccess calls = %d, want 1", len(calls))
	}
	var in struct{ TaskToken string }
	if err := calls[0].DecodeJSON(&in); err != nil || in.TaskToken != "task-token-1" {
		t.Errorf("SendTaskSuccess for %q (%v), want the stored token", in.TaskToken, err)
	}
}
