package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/ledger"
)

// tasks is a hand-written fake of the approval workflow's task completion.
type tasks struct{ succeeded, failed []string }

func (t *tasks) Succeed(_ context.Context, token, _ string) error {
	t.succeeded = append(t.succeeded, token)
	return nil
}

func (t *tasks) Fail(_ context.Context, token, _, cause string) error {
	t.failed = append(t.failed, token+": "+cause)
	return nil
}

// quiet is an SNS that accepts every notification.
type quiet struct{}

func (quiet) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

func TestApproveAndRejectCommands(t *testing.T) {
	now := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	newRequest := func(t *testing.T) (*tasks, decider) {
		l := ledger.NewMemory(ledger.WithClock(func() time.Time { return now }))
		req := &ledger.ApprovalRequest{
			Header:      ledger.Header{ID: "apr-1", App: "checkout", Env: "prod", Digest: "sha256:ab", At: now},
			PromotionID: "prm-1", TaskToken: "token-1", Approvers: []string{"ana@example.com", "lee@example.com"}, Quorum: 1,
			Expires: now.Add(time.Hour), Status: ledger.ApprovalWaiting,
		}
		if err := l.Put(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		tk := &tasks{}
		return tk, approval.New(l, tk, quiet{}, "topic", approval.WithClock(func() time.Time { return now })).Decide
	}
	tests := []struct {
		name       string
		action     approval.Action
		approver   string
		reason     string
		wantStatus int
		wantOut    string
		succeeded  int
		failed     int
	}{
		{"approve", approval.ActionApprove, "ana@example.com", "", 0, "checkout/prod promotion prm-1: approved (1 of 1 approvals: ana@example.com)", 1, 0},
		{"reject", approval.ActionReject, "lee@example.com", "freeze week", 0, "rejected", 0, 1},
		{"not an approver", approval.ActionApprove, "eve@example.com", "", 1, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, d := newRequest(t)
			var out bytes.Buffer
			err := decide(context.Background(), &out, d, "apr-1", tt.approver, tt.action, tt.reason)
			if got := exitStatus(err); got != tt.wantStatus {
				t.Errorf("highway %s apr-1 --as %s: exit status %d (%v), want %d", tt.action, tt.approver, got, err, tt.wantStatus)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("printed %q, want %q", out.String(), tt.wantOut)
			}
			if len(tk.succeeded) != tt.succeeded || len(tk.failed) != tt.failed {
				t.Errorf("tasks succeeded %v, failed %v; want %d and %d", tk.succeeded, tk.failed, tt.succeeded, tt.failed)
			}
		})
	}
}
