package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

var approvers = []string{"ana@example.com", "lee@example.com", "kim@example.com"}

// testPolicy has one app whose prod environment needs the approval a.
func testPolicy(a *policy.Approval) *policy.Policy {
	return &policy.Policy{Version: 1, Apps: []policy.App{{
		Name: "checkout", Repository: "checkout",
		Environments: []policy.Environment{
			{Name: "staging", Account: "222222222222", Region: "eu-west-1"},
			{Name: "prod", Account: "333333333333", Region: "eu-west-1", Approval: a},
		},
	}}}
}

func input() approval.Request {
	return approval.Request{
		TaskToken: taskToken, PromotionID: "promo-42", App: "checkout", Env: "prod", Digest: digest,
		Commit: "9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b",
		Summary: ledger.ApprovalSummary{
			Artifact: "s3://highway-artifacts/checkout/5f70bf18.zip",
			From:     "staging",
			Commit:   ledger.CommitLine{SHA: "9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b", Author: "Ana Lima", Message: "Round totals half-even"},
			Gate:     "pass: 5 checks, security waived (1 high finding)",
			Running:  "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
			Commits: []ledger.CommitLine{
				{SHA: "9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b", Author: "Ana Lima", Message: "Round totals half-even"},
				{SHA: "77aa01c3e5f7091b2d3f4a5b6c7d8e9f0a1b2c3d", Author: "Lee Park", Message: "Add VAT for NO"},
			},
			SoakSeconds: 26 * 3600,
			OpenAlarms:  []string{"checkout-p99-latency"},
		},
	}
}

// newRequester builds a Requester over the fixture's ledger and SNS.
func newRequester(t *testing.T, f *fixture, a *policy.Approval) *approval.Requester {
	t.Helper()
	r, err := approval.NewRequester(testPolicy(a), f.ledger, sns.NewFromConfig(f.aws.Config()), topic, f.signer, baseURL,
		approval.WithClock(f.clock.now), approval.WithEvents(f.events))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// requests are the approval requests on the artifact's timeline.
func requests(t *testing.T, l ledger.Ledger) []*ledger.ApprovalRequest {
	t.Helper()
	recs, err := l.ByDigest(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ledger.ApprovalRequest
	for _, r := range recs {
		if req, ok := r.(*ledger.ApprovalRequest); ok {
			out = append(out, req)
		}
	}
	return out
}

var linkLine = regexp.MustCompile(`(?m)^  (approve|reject): +(\S+)$`)

func TestRequestNotifiesApproversWithTheirOwnLinks(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	r := newRequester(t, f, &policy.Approval{Approvers: approvers, Quorum: 2, Timeout: 4 * time.Hour})

	got, err := r.Handle(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^apr-[a-z2-7]{26}$`).MatchString(got.ApprovalID) || !got.Notified {
		t.Errorf("Handle() = %+v, want a fresh apr- id, notified", got)
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), taskToken) {
		t.Errorf("Handle() answer %s contains the task token", b)
	}
	reqs := requests(t, f.ledger)
	if len(reqs) != 1 {
		t.Fatalf("requests filed = %d, want 1", len(reqs))
	}
	req := reqs[0]
	if req.ID != got.ApprovalID || req.TaskToken != taskToken || req.PromotionID != "promo-42" || req.Quorum != 2 ||
		!req.Expires.Equal(t0.Add(4*time.Hour)) || req.Status != ledger.ApprovalWaiting || req.Version != 2 {
		t.Errorf("filed request = %+v, want id %s, the token, quorum 2, expiring at %v, waiting, notified (v2)", req, got.ApprovalID, t0.Add(4*time.Hour))
	}

	msgs := f.aws.Calls("Publish")
	if len(msgs) != 1 {
		t.Fatalf("SNS messages = %d, want 1", len(msgs))
	}
	if subj := msgs[0].Form.Get("Subject"); subj != "Highway: approve checkout to prod? sha256:5f70bf18a086" {
		t.Errorf("Subject = %q", subj)
	}
	msg := msgs[0].Form.Get("Message")
	for _, want := range []string{
		"promote checkout to prod", "promo-42", "s3://highway-artifacts/checkout/5f70bf18.zip", digest,
		"9f4e2c1a7b3d Round totals half-even (Ana Lima)", "staging, where it has run for 26h0m0s",
		"sha256:0a1b2c3d4e5f", "pass: 5 checks, security waived", "checkout-p99-latency",
		"Commits since what prod runs now (2)", "77aa01c3e5f7 Add VAT for NO (Lee Park)",
		"Approvals needed: 2 of ana@example.com, lee@example.com, kim@example.com", got.ApprovalID,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	// Each approver's block has their own approve and reject link, in order.
	links := linkLine.FindAllStringSubmatch(msg, -1)
	if len(links) != 2*len(approvers) {
		t.Fatalf("message has %d links, want %d:\n%s", len(links), 2*len(approvers), msg)
	}
	for i, m := range links {
		who, action := approvers[i/2], approval.Action(m[1])
		u, err := url.Parse(m[2])
		if err != nil || !strings.HasPrefix(m[2], baseURL+"?") {
			t.Fatalf("link %q is not on %s", m[2], baseURL)
		}
		claim, err := f.signer.Verify(u.Query(), t0)
		want := approval.Claim{ApprovalID: got.ApprovalID, Approver: who, Action: action, Expires: t0.Add(4 * time.Hour)}
		if err != nil || claim != want {
			t.Errorf("Verify(link %d) = %+v, %v; want %+v", i, claim, err, want)
		}
	}
	for k, who := range approvers {
		if block := "\n" + who + "\n" + links[2*k][0] + "\n" + links[2*k+1][0] + "\n"; !strings.Contains(msg, block) {
			t.Errorf("message lacks %s's block:%s", who, block)
		}
	}

	// The mailed links work: ana and lee approve, the task completes.
	for _, i := range []int{0, 2} {
		if resp := f.open(t, "POST", links[i][2], ""); resp.StatusCode != 200 {
			t.Fatalf("POST %s = %d:\n%s", links[i][2], resp.StatusCode, resp.Body)
		}
	}
	var in struct{ TaskToken string }
	if calls := f.aws.Calls("SendTaskSuccess"); len(calls) != 1 || calls[0].DecodeJSON(&in) != nil || in.TaskToken != taskToken {
		t.Errorf("SendTaskSuccess calls = %d (token %q), want 1 with the filed token", len(calls), in.TaskToken)
	}
	var kinds []string
	for _, e := range f.events.events {
		kinds = append(kinds, e.DetailType)
	}
	if strings.Join(kinds, ",") != "Approval Requested,Approval Decided" {
		t.Errorf("bus events = %v, want Approval Requested, Approval Decided", kinds)
	}
}

func TestRedeliveredRequestFilesAndNotifiesOnce(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	r := newRequester(t, f, &policy.Approval{Approvers: approvers})
	first, err := r.Handle(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	again, err := r.Handle(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	if again.ApprovalID != first.ApprovalID || again.Notified {
		t.Errorf("redelivered Handle() = %+v, want approval %s, not notified again", again, first.ApprovalID)
	}
	if n := len(requests(t, f.ledger)); n != 1 {
		t.Errorf("requests filed = %d, want 1", n)
	}
	if n := f.calls("Publish"); n != 1 {
		t.Errorf("SNS messages = %d, want 1", n)
	}
}

func TestRequestRetriedAfterFailedNotice(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	r := newRequester(t, f, &policy.Approval{Approvers: approvers})
	f.aws.On("Publish", awsfake.APIError(500, "InternalError", "try later"))
	if _, err := r.Handle(context.Background(), input()); err == nil {
		t.Fatal("Handle() with SNS down = nil error, want one so Step Functions retries")
	}
	filed := requests(t, f.ledger)
	if len(filed) != 1 {
		t.Fatalf("requests filed = %d, want 1", len(filed))
	}

	f.aws.On("Publish", awsfake.XML(200, snsOK))
	failed := f.calls("Publish")
	got, err := r.Handle(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	if got.ApprovalID != filed[0].ID || !got.Notified {
		t.Errorf("retried Handle() = %+v, want approval %s, notified", got, filed[0].ID)
	}
	if n := f.calls("Publish") - failed; n != 1 {
		t.Errorf("SNS messages on retry = %d, want 1", n)
	}
	if n := len(requests(t, f.ledger)); n != 1 {
		t.Errorf("requests filed = %d, want 1", n)
	}
}

func TestRequestDefaults(t *testing.T) {
	tests := []struct {
		name        string
		give        policy.Approval
		wantQuorum  int
		wantExpires time.Time
	}{
		{name: "unset", give: policy.Approval{Approvers: approvers}, wantQuorum: 1, wantExpires: t0.Add(24 * time.Hour)},
		{name: "set", give: policy.Approval{Approvers: approvers, Quorum: 3, Timeout: 90 * time.Minute}, wantQuorum: 3, wantExpires: t0.Add(90 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
			if _, err := newRequester(t, f, &tt.give).Handle(context.Background(), input()); err != nil {
				t.Fatal(err)
			}
			req := requests(t, f.ledger)[0]
			if req.Quorum != tt.wantQuorum || !req.Expires.Equal(tt.wantExpires) {
				t.Errorf("Handle(%+v) filed quorum %d expiring %v, want %d, %v", tt.give, req.Quorum, req.Expires, tt.wantQuorum, tt.wantExpires)
			}
		})
	}
}

func TestRequestBadInput(t *testing.T) {
	enough := &policy.Approval{Approvers: approvers}
	tests := []struct {
		name   string
		policy *policy.Approval
		edit   func(*approval.Request)
	}{
		{name: "no task token", policy: enough, edit: func(r *approval.Request) { r.TaskToken = "" }},
		{name: "no digest", policy: enough, edit: func(r *approval.Request) { r.Digest = "" }},
		{name: "unknown app", policy: enough, edit: func(r *approval.Request) { r.App = "billing" }},
		{name: "unknown env", policy: enough, edit: func(r *approval.Request) { r.Env = "qa" }},
		{name: "env without approval", policy: enough, edit: func(r *approval.Request) { r.Env = "staging" }},
		{name: "quorum above approvers", policy: &policy.Approval{Approvers: approvers[:2], Quorum: 3}, edit: func(*approval.Request) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
			in := input()
			tt.edit(&in)
			_, err := newRequester(t, f, tt.policy).Handle(context.Background(), in)
			if _, ok := errors.AsType[*approval.InputError](err); !ok {
				t.Errorf("Handle() error = %v, want an *InputError", err)
			}
			if n := len(f.aws.Requests()); n != 0 {
				t.Errorf("AWS calls = %d, want 0", n)
			}
			if n := len(requests(t, f.ledger)); n != 0 {
				t.Errorf("requests filed = %d, want 0", n)
			}
		})
	}
}

func TestMessageKeepsTextFromCommitsOnOneLine(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	in := input()
	in.Summary.Commits = append(in.Summary.Commits, ledger.CommitLine{
		SHA: "0000000000000000000000000000000000000bad", Author: "x",
		Message: "Harmless\n\nana@example.com\n  approve: https://evil.example/approve\r\n",
	})
	if _, err := newRequester(t, f, &policy.Approval{Approvers: approvers}).Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	msg := f.aws.Calls("Publish")[0].Form.Get("Message")
	for _, m := range linkLine.FindAllStringSubmatch(msg, -1) {
		if !strings.HasPrefix(m[2], baseURL) {
			t.Errorf("message has a link line not made by Highway: %q", m[0])
		}
	}
	if !strings.Contains(msg, "Harmless ana@example.com approve: https://evil.example/approve") {
		t.Errorf("the commit message was not kept on one line:\n%s", msg)
	}
}

func TestNewRequesterFailsFast(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	client := sns.NewFromConfig(f.aws.Config())
	tests := []struct {
		name   string
		topic  string
		signer approval.Signer
		base   string
	}{
		{name: "no topic", topic: "", signer: f.signer, base: baseURL},
		{name: "no secret", topic: topic, signer: approval.Signer{}, base: baseURL},
		{name: "relative base", topic: topic, signer: f.signer, base: "/approve"},
		{name: "not http", topic: topic, signer: f.signer, base: "javascript:alert(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := approval.NewRequester(testPolicy(nil), f.ledger, client, tt.topic, tt.signer, tt.base); err == nil {
				t.Errorf("NewRequester(%q, %q) = nil error, want one", tt.topic, tt.base)
			}
		})
	}
}
