package approval_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/tasktoken"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// decideSFN is an in-memory Step Functions that keeps the task tokens it is
// sent, by outcome.
type decideSFN struct {
	mu        sync.Mutex
	succeeded []string
	failed    []string
}

var _ tasktoken.API = (*decideSFN)(nil)

func (s *decideSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.succeeded = append(s.succeeded, aws.ToString(in.TaskToken))
	return &sfn.SendTaskSuccessOutput{}, nil
}

func (s *decideSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = append(s.failed, aws.ToString(in.TaskToken))
	return &sfn.SendTaskFailureOutput{}, nil
}

// decideSNS is an in-memory SNS that counts what it is given.
type decideSNS struct {
	mu        sync.Mutex
	published int
}

var _ approval.Notifier = (*decideSNS)(nil)

func (s *decideSNS) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published++
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// BenchmarkHandleApproval is the approval function on the sample function
// URL request (events/approval-link-post.json: the POST of the confirmation
// form, no comment), its query an approver's freshly signed approve link:
// Links.Handle verifies the link's signature and expiry, reads the form,
// and Decide loads the waiting request (quorum 1 of three approvers),
// records the approver's decision once, stores the approved request,
// completes the workflow's task with SendTaskSuccess (through
// tasktoken.Sender, over an in-memory Step Functions), publishes Approval
// Decided and renders the "Approved" page. Each iteration runs on a fresh
// memory ledger holding only the waiting request, so it is the first
// decision, never a redelivery; building it is not measured. Logs are
// discarded.
func BenchmarkHandleApproval(b *testing.B) {
	telemetrytest.DiscardLogs(b)
	signer, err := approval.NewSigner([]byte(secret), []byte(oldSecret))
	if err != nil {
		b.Fatal(err)
	}
	ev := localaws.Sample[events.LambdaFunctionURLRequest](b, "approval-link-post.json")
	link, err := url.Parse(signer.Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, t0.Add(24*time.Hour)))
	if err != nil {
		b.Fatal(err)
	}
	ev.RawQueryString = link.RawQuery
	clk := clocktest.New(t0.Add(3*time.Hour + 32*time.Minute))
	tasks, notify := &decideSFN{}, &decideSNS{}
	ctx := context.Background()

	// fresh is the handler over a ledger holding the waiting request.
	fresh := func() (*approval.Links, *publisher) {
		l := ledger.NewMemory(ledger.WithClock(clk.Now))
		err := l.Put(ctx, &ledger.ApprovalRequest{
			Header:      ledger.Header{ID: approvalID, App: "checkout", Env: "prod", Digest: digest, At: t0},
			PromotionID: "promo-42", TaskToken: taskToken, Approvers: []string{"ana@example.com", "lee@example.com", "kim@example.com"},
			Quorum: 1, Expires: t0.Add(24 * time.Hour), Status: ledger.ApprovalWaiting,
		})
		if err != nil {
			b.Fatal(err)
		}
		p := &publisher{}
		a := approval.New(l, tasktoken.Sender{API: tasks}, notify, topic, approval.WithClock(clk.Now), approval.WithEvents(p))
		return approval.NewLinks(a, signer), p
	}
	check := func(resp events.LambdaFunctionURLResponse, announced *publisher) {
		if !strings.Contains(resp.Body, "<h1>Approved</h1>") || strings.Contains(resp.Body, taskToken) {
			b.Fatalf("page:\n%s\nwant Approved, without the task token", resp.Body)
		}
		if len(announced.events) != 1 || announced.events[0].DetailType != approval.DetailTypeApprovalDecided ||
			announced.events[0].Detail.(approval.Result).Status != ledger.ApprovalApproved {
			b.Fatalf("published %+v, want one Approval Decided, approved", announced.events)
		}
	}

	var (
		resp      events.LambdaFunctionURLResponse
		announced *publisher
	)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if announced != nil {
			check(resp, announced)
		}
		var links *approval.Links
		links, announced = fresh()
		b.StartTimer()
		resp, err = links.Handle(ctx, ev)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("Handle(approve link) = %d, %v; want 200:\n%s", resp.StatusCode, err, resp.Body)
		}
	}
	check(resp, announced)
	if len(tasks.succeeded) != b.N || tasks.succeeded[0] != taskToken || len(tasks.failed) != 0 || notify.published != 0 {
		b.Fatalf("%d decisions sent %d task successes, %d failures and %d notices; want one success with the stored token each",
			b.N, len(tasks.succeeded), len(tasks.failed), notify.published)
	}
}
