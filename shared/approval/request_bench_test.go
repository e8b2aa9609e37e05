package approval

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// BenchmarkHandleApprovalRequest measures the approval request function's
// handler (Invoker.Invoke, as the Lambda runtime calls it) on
// events/approval-request.json, the first delivery of the workflow's waiting
// task for checkout/prod under infra/highway.yaml: dispatching the payload,
// checking it against the policy, drawing an approval id, filing the request
// once under its task token's hash in an in-memory ledger, writing each
// approver's message with their own signed approve and reject links, sending
// them through an in-memory SNS fake, marking the request notified, and
// announcing it on a
// recording bus fake. Every iteration starts from an empty ledger, made inside
// the timed loop (a few small allocations), so none of them measures a
// redelivery. Logs are formatted as JSON, as under the Lambda runtime, and
// discarded.
func BenchmarkHandleApprovalRequest(b *testing.B) {
	payload, err := os.ReadFile("../../events/approval-request.json")
	if err != nil {
		b.Fatal(err)
	}
	var sent Request
	if err := json.Unmarshal(payload, &sent); err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := NewSigner([]byte("bench-approval-link-secret-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	const (
		approvals     = "arn:aws:sns:eu-west-1:111111111111:highway-approvals"
		notifications = "arn:aws:sns:eu-west-1:111111111111:highway-notifications"
	)
	now := time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)
	notify, events := &benchNotifier{}, &benchBus{}
	clock := WithClock(func() time.Time { return now })
	requests, err := NewRequester(p, ledger.NewMemory(), notify, approvals, signer, "https://abcdefgh.lambda-url.eu-west-1.on.aws/", clock, WithEvents(events))
	if err != nil {
		b.Fatal(err)
	}
	h := Invoker{Requests: requests, Approvals: New(ledger.NewMemory(), nil, notify, notifications, clock, WithEvents(events))}
	telemetrytest.DiscardLogs(b)
	ctx := context.Background()

	b.ReportAllocs()
	for b.Loop() {
		requests.ledger = ledger.NewMemory()
		notify.messages, events.sent = notify.messages[:0], events.sent[:0]

		out, err := h.Invoke(ctx, payload)
		res, _ := out.(Requested)
		if err != nil || !res.Notified || !strings.HasPrefix(res.ApprovalID, "apr-") || res.PromotionID != sent.PromotionID ||
			!res.Expires.Equal(now.Add(24*time.Hour)) {
			b.Fatalf("Invoke(approval request) = %+v, %v; want a new approval of %s, notified, expiring in 24h", out, err, sent.PromotionID)
		}
		if len(notify.messages) != 2 || strings.Count(notify.messages[0], "  approve: https://") != 1 ||
			strings.Count(notify.messages[1], "  approve: https://") != 1 {
			b.Fatalf("sent %d messages, want one to each of the 2 approvers, with their own link", len(notify.messages))
		}
		if len(events.sent) != 1 || events.sent[0] != DetailTypeApprovalRequested {
			b.Fatalf("published %v, want one %s", events.sent, DetailTypeApprovalRequested)
		}
	}
}

// benchNotifier is a hand-written in-memory fake of SNS's Publish that keeps
// the messages it is given.
type benchNotifier struct{ messages []string }

func (n *benchNotifier) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	n.messages = append(n.messages, aws.ToString(in.Message))
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// benchBus is a hand-written fake of bus.Publisher that keeps the detail
// types it is given.
type benchBus struct{ sent []string }

func (p *benchBus) Publish(_ context.Context, evs ...bus.Event) error {
	for _, ev := range evs {
		p.sent = append(p.sent, ev.DetailType)
	}
	return nil
}
