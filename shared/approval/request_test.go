package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
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
		approval.WithClock(f.clock.Now), approval.WithEvents(f.events))
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

// anyURL finds every URL in a message, whatever line it is on.
var anyURL = regexp.MustCompile(`https?://[^\s<>"]+`)

// attribute returns the string value of the message attribute name of an SNS
// Publish request, as the query protocol sends it; "" when it has none.
func attribute(r awsfake.Request, name string) string {
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		n, ok := r.Form[prefix+"Name"]
		if !ok {
			return ""
		}
		if len(n) == 1 && n[0] == name {
			return r.Form.Get(prefix + "Value.StringValue")
		}
	}
}

// mailbox returns the approval messages approver's mail can hold: those
// addressed to them by the message attribute their subscription filters on,
// and those addressed to no one, which a topic delivers to every subscriber
// that does not filter.
func mailbox(f *fixture, approver string) []awsfake.Request {
	var out []awsfake.Request
	for _, r := range f.aws.Invocations("Publish") {
		if to := attribute(r, approval.MessageAttributeApprover); to == approver || to == "" {
			out = append(out, r)
		}
	}
	return out
}

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

	// One message per approver, on the approvals topic, addressed to them.
	msgs := f.aws.Invocations("Publish")
	if len(msgs) != len(approvers) {
		t.Fatalf("SNS messages = %d, want one per approver (%d)", len(msgs), len(approvers))
	}
	mine := map[string]string{} // approver -> their approve link
	for i, m := range msgs {
		who := attribute(m, approval.MessageAttributeApprover)
		if who != approvers[i] {
			t.Errorf("message %d is addressed to %q, want %s", i, who, approvers[i])
		}
		if m.Form.Get("TopicArn") != topic {
			t.Errorf("message to %s went to %s, want the approvals topic %s", who, m.Form.Get("TopicArn"), topic)
		}
		if subj := m.Form.Get("Subject"); subj != "Highway: approve checkout to prod? sha256:5f70bf18a086" {
			t.Errorf("Subject = %q", subj)
		}
		msg := m.Form.Get("Message")
		for _, want := range []string{
			"promote checkout to prod", "promo-42", "s3://highway-artifacts/checkout/5f70bf18.zip", digest,
			"9f4e2c1a7b3d Round totals half-even (Ana Lima)", "staging, where it has run for 26h0m0s",
			"sha256:0a1b2c3d4e5f", "pass: 5 checks, security waived", "checkout-p99-latency",
			"Commits since what prod runs now (2)", "77aa01c3e5f7 Add VAT for NO (Lee Park)",
			"Approvals needed: 2 of ana@example.com, lee@example.com, kim@example.com", got.ApprovalID,
			"These links are yours alone",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("message to %s lacks %q:\n%s", who, want, msg)
			}
		}

		// The approver's own approve and reject links, and no other URL.
		links := linkLine.FindAllStringSubmatch(msg, -1)
		if len(links) != 2 || len(anyURL.FindAllString(msg, -1)) != 2 {
			t.Fatalf("message to %s has %d links and %d URLs, want their 2 links alone:\n%s",
				who, len(links), len(anyURL.FindAllString(msg, -1)), msg)
		}
		for k, l := range links {
			action := []approval.Action{approval.ActionApprove, approval.ActionReject}[k]
			u, err := url.Parse(l[2])
			if err != nil || !strings.HasPrefix(l[2], baseURL+"?") || l[1] != string(action) {
				t.Fatalf("link %q is not %s's %s link on %s", l[2], who, action, baseURL)
			}
			claim, err := f.signer.Verify(u.Query(), t0)
			want := approval.Claim{ApprovalID: got.ApprovalID, Approver: who, Action: action, Expires: t0.Add(4 * time.Hour)}
			if err != nil || claim != want {
				t.Errorf("Verify(link %d to %s) = %+v, %v; want %+v", k, who, claim, err, want)
			}
		}
		if block := "\n" + who + "\n" + links[0][0] + "\n" + links[1][0] + "\n"; !strings.HasSuffix(msg, block) {
			t.Errorf("message to %s does not end with their block:%s", who, block)
		}
		mine[who] = links[0][2]
	}

	// The mailed links work: ana and lee approve, each from their own message,
	// and the task completes.
	for _, who := range []string{"ana@example.com", "lee@example.com"} {
		if resp := f.open(t, "POST", mine[who], ""); resp.StatusCode != 200 {
			t.Fatalf("POST %s = %d:\n%s", mine[who], resp.StatusCode, resp.Body)
		}
	}
	var in struct{ TaskToken string }
	if calls := f.aws.Invocations("SendTaskSuccess"); len(calls) != 1 || calls[0].DecodeJSON(&in) != nil || in.TaskToken != taskToken {
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

// TestOneApproversMessageCannotMeetQuorum: whoever holds ana's message (ana,
// or anyone who reads her mail) can approve as ana, once, and never as lee, so
// a quorum of two needs both.
func TestOneApproversMessageCannotMeetQuorum(t *testing.T) {
	const ana, lee = "ana@example.com", "lee@example.com"
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	r := newRequester(t, f, &policy.Approval{Approvers: []string{ana, lee}, Quorum: 2})
	got, err := r.Handle(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}

	msgs := mailbox(f, ana)
	if len(msgs) != 1 {
		t.Fatalf("messages ana's mail can hold = %d, want 1", len(msgs))
	}
	msg := msgs[0].Form.Get("Message")
	var links []string
	for _, raw := range anyURL.FindAllString(msg, -1) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("URL %q: %v", raw, err)
		}
		if who := u.Query().Get("approver"); who != ana {
			t.Errorf("ana's message holds a link for %q: %s", who, raw)
		}
		links = append(links, raw)
	}
	if len(links) == 0 {
		t.Fatalf("ana's message holds no link:\n%s", msg)
	}

	// Use every link of the message, approvals first, each opened and confirmed.
	slices.SortStableFunc(links, func(a, b string) int {
		return strings.Compare(must(url.Parse(a)).Query().Get("action"), must(url.Parse(b)).Query().Get("action"))
	})
	for _, l := range links {
		f.open(t, "GET", l, "")
		f.open(t, "POST", l, "holding the message is enough")
	}

	req := requests(t, f.ledger)[0]
	if len(req.Approved) > 1 || req.Status != ledger.ApprovalWaiting {
		t.Errorf("request %s after every link of ana's message = %s, approved by %v; want waiting, at most one approval",
			got.ApprovalID, req.Status, req.Approved)
	}
	if n := f.calls("SendTaskSuccess"); n != 0 {
		t.Errorf("SendTaskSuccess calls = %d, want 0: one message met a quorum of two", n)
	}
}

// TestMessageStaysUnderSNSLimit: a promotion that brings 1,300 commits lists
// the first ones and counts the rest, so each message stays under the 256 KiB
// SNS accepts (which would otherwise fail the promotion).
func TestMessageStaysUnderSNSLimit(t *testing.T) {
	const snsLimit = 256 << 10 // message, subject and attributes
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	in := input()
	in.Summary.Commits = nil
	for i := range 1300 {
		in.Summary.Commits = append(in.Summary.Commits, ledger.CommitLine{
			SHA:     fmt.Sprintf("%040x", i),
			Author:  strings.Repeat("a", 80),
			Message: fmt.Sprintf("commit %04d ", i) + strings.Repeat("m", 200),
		})
	}
	if _, err := newRequester(t, f, &policy.Approval{Approvers: approvers}).Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.aws.Invocations("Publish") {
		msg := m.Form.Get("Message")
		size := len(msg) + len(m.Form.Get("Subject"))
		for k, v := range m.Form {
			if strings.HasPrefix(k, "MessageAttributes.") {
				size += len(v[0])
			}
		}
		if size >= snsLimit {
			t.Errorf("message to %s is %d bytes, want under %d", attribute(m, approval.MessageAttributeApprover), size, snsLimit)
		}
		for _, want := range []string{"Commits since what prod runs now (1300)", "commit 0000 ", "commit 0049 ", "and 1250 more"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q", want)
			}
		}
		if strings.Contains(msg, "commit 0050 ") {
			t.Error("message lists a 51st commit")
		}
	}
}

func TestRedeliveredRequestFilesAndNotifiesOnce(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	r := newRequester(t, f, &policy.Approval{Approvers: approvers})
	first, err := r.Handle(context.Background(), input())
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
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
	if n := f.calls("Publish"); n != len(approvers) {
		t.Errorf("SNS messages = %d, want one per approver (%d)", n, len(approvers))
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
	if n := f.calls("Publish") - failed; n != len(approvers) {
		t.Errorf("SNS messages on retry = %d, want one per approver (%d)", n, len(approvers))
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
	msg := f.aws.Invocations("Publish")[0].Form.Get("Message")
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

// A retried approval request (the workflow retries the task, with a new
// token, after a try failed) takes the waiting request over: the links people
// hold answer the new task, and nobody is sent a second message.
func TestRetriedRequestAnswersTheNewTask(t *testing.T) {
	const ana, lee = "ana@example.com", "lee@example.com"
	f := newFixtureOn(t, ledger.NewMemory(), nil, 0)
	r := newRequester(t, f, &policy.Approval{Approvers: []string{ana, lee}, Quorum: 1})
	// The first try sends ana's message, then fails on lee's, however often
	// the SDK asks.
	var mu sync.Mutex
	leeDown, sent := true, map[string]int{}
	f.aws.OnFunc("Publish", func(r awsfake.Request) awsfake.Response {
		mu.Lock()
		defer mu.Unlock()
		to := attribute(r, approval.MessageAttributeApprover)
		if to == lee && leeDown {
			return awsfake.XML(500, `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>down</Message></Error></ErrorResponse>`)
		}
		sent[to]++
		return awsfake.XML(200, snsOK)
	})
	if _, err := r.Handle(context.Background(), input()); err == nil {
		t.Fatal("the first try succeeded although lee's message failed")
	}
	var anaLinks []string
	for _, m := range mailbox(f, ana) {
		anaLinks = anyURL.FindAllString(m.Form.Get("Message"), -1)
	}
	f.clock.Advance(time.Minute)
	mu.Lock()
	leeDown = false
	mu.Unlock()
	retry := input()
	retry.TaskToken = taskToken + "-retry"
	second, err := r.Handle(context.Background(), retry)
	if err != nil {
		t.Fatal(err)
	}

	reqs := requests(t, f.ledger)
	if len(reqs) != 1 || reqs[0].ID != second.ApprovalID || reqs[0].Status != ledger.ApprovalWaiting || reqs[0].TaskToken != retry.TaskToken {
		t.Fatalf("requests after the retry = %+v, want the one request, waiting on the new task", reqs)
	}
	if sent[ana] != 1 || sent[lee] != 1 {
		t.Errorf("messages delivered = %v, want one each", sent)
	}
	for _, l := range anaLinks {
		if u := must(url.Parse(l)); u.Query().Get("action") == "approve" {
			if resp := f.open(t, "POST", l, ""); resp.StatusCode != 200 {
				t.Errorf("approving through ana's first message = %d, want 200", resp.StatusCode)
			}
		}
	}
	var in struct{ TaskToken string }
	if calls := f.aws.Invocations("SendTaskSuccess"); len(calls) != 1 || calls[0].DecodeJSON(&in) != nil || in.TaskToken != retry.TaskToken {
		t.Errorf("SendTaskSuccess calls = %d (token %q), want 1 answering the new task", len(calls), in.TaskToken)
	}
}
