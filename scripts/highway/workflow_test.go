package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
)

// throttled is an SNS that throttles its first fail publishes.
type throttled struct {
	fail, calls int
}

func (s *throttled) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	s.calls++
	if s.calls <= s.fail {
		return nil, errors.New("api error Throttling: Rate exceeded")
	}
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

// withoutApproval is p with checkout's prod needing no approval: the
// approval request function, reading it, finds its input bad.
func withoutApproval(p *policy.Policy) *policy.Policy {
	q := *p
	q.Apps = append([]policy.App(nil), p.Apps...)
	app := &q.Apps[0]
	app.Environments = append([]policy.Environment(nil), app.Environments...)
	for i := range app.Environments {
		if app.Environments[i].Name == "prod" {
			app.Environments[i].Approval = nil
		}
	}
	return &q
}

// The demo's workflow asks for approval again when the request fails, as
// the state machine retries it, and records the promotion failed when it
// keeps failing or its input is bad.
func TestWorkflowRetriesTheApprovalRequest(t *testing.T) {
	const digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		throttles    int
		policy       *policy.Policy // the approval request function's
		wantStatus   ledger.PromotionStatus
		wantRetries  int
		wantMessages int // approval requests sent
	}{
		{name: "sent at once", throttles: 0, policy: p, wantStatus: ledger.PromotionWaiting, wantRetries: 0, wantMessages: 1},
		{name: "throttled once", throttles: 1, policy: p, wantStatus: ledger.PromotionWaiting, wantRetries: 1, wantMessages: 1},
		{name: "throttled on every retry but the last", throttles: promotion.ApprovalRequestRetries, policy: p,
			wantStatus: ledger.PromotionWaiting, wantRetries: promotion.ApprovalRequestRetries, wantMessages: 1},
		{name: "throttled on every retry", throttles: promotion.ApprovalRequestRetries + 1, policy: p,
			wantStatus: ledger.PromotionFailed, wantRetries: promotion.ApprovalRequestRetries, wantMessages: 0},
		{name: "bad input", throttles: 0, policy: withoutApproval(p), wantStatus: ledger.PromotionFailed, wantRetries: 0, wantMessages: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN an artifact verified in staging, whose promotion to prod
			// waits for its turn, and an SNS that throttles
			ctx := context.Background()
			now := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			l := ledger.NewMemory()
			var out bytes.Buffer
			w := &workflow{out: &out, executions: map[string]execution{}, started: map[string]bool{}}
			w.promoter = promotion.New(p, l, bus.DryRun{W: &bytes.Buffer{}}, nil, w, "local:approval", promotion.WithClock(clock))
			signer, err := approval.NewSigner(demoSecret)
			if err != nil {
				t.Fatal(err)
			}
			sent := &throttled{fail: tt.throttles}
			if w.requests, err = approval.NewRequester(tt.policy, l, sent, localTopic, signer, "https://approvals.highway.local/", approval.WithClock(clock)); err != nil {
				t.Fatal(err)
			}
			const commit = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
			a, err := w.promoter.Register(ctx, "checkout", commit, digest, ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"})
			if err != nil {
				t.Fatal(err)
			}
			err = l.Put(ctx, &ledger.Deployment{Header: ledger.Header{ID: "dep-staging-1", App: "checkout", Env: "staging", Commit: commit, Digest: digest, At: now.Add(-2 * time.Hour)},
				Status: ledger.DeploymentSuccess, FinishedAt: now.Add(-2 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			app, _ := p.App("checkout")
			prod, _ := app.Environment("prod")
			if _, err := w.promoter.Request(ctx, a, prod, "staging", now); err != nil {
				t.Fatal(err)
			}

			// WHEN prod's queue advances and the workflow starts
			if err := w.promoter.Advance(ctx, app, prod); err != nil {
				t.Fatalf("Advance = %v, want the workflow's failure recorded, not returned", err)
			}

			// THEN the request is retried, and sent, or the promotion failed
			promos, err := l.Promotions(ctx, "checkout", "prod", now.Add(-time.Hour), now.Add(time.Hour))
			if err != nil || len(promos) != 1 || promos[0].Status != tt.wantStatus {
				t.Fatalf("prod promotions = %+v, %v; want one %s\n%s", promos, err, tt.wantStatus, out.String())
			}
			if got := strings.Count(out.String(), "; retried\n"); got != tt.wantRetries {
				t.Errorf("the workflow retried %d times, want %d\n%s", got, tt.wantRetries, out.String())
			}
			// Each request is one message to each approver.
			if got, want := max(sent.calls-tt.throttles, 0), tt.wantMessages*len(prod.Approval.Approvers); got != want {
				t.Errorf("approval messages sent = %d, want %d (%d requests)", got, want, tt.wantMessages)
			}
			if got := len(w.executions); got != tt.wantMessages {
				t.Errorf("%d executions wait for a task token, want %d", got, tt.wantMessages)
			}
		})
	}
}
