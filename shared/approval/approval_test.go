package approval_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/tasktoken"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
)

const (
	secret     = "k7Qz0f3R9wYx2LmB8vTn5Hc1Jd6Gs4Pa-current"
	oldSecret  = "U2e9Wq4Zr7Ty1Io5Pa8Sd3Fg6Hj0Kl2M-previous"
	otherKey   = "this-is-not-highways-secret-but-long-enough"
	taskToken  = "AQCEAAAAKgAAAAMAAAAAAAAAAZt0kEnThatMustStayInDynamoDB"
	baseURL    = "https://abcdefgh.lambda-url.eu-west-1.on.aws/"
	topic      = "arn:aws:sns:eu-west-1:111111111111:highway-notifications"
	approvalID = "apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"
	machine    = "arn:aws:states:eu-west-1:111111111111:stateMachine:highway-promotion"
	// execution is the promotion workflow of the fixture's request, promo-42.
	execution = "arn:aws:states:eu-west-1:111111111111:execution:highway-promotion:promo-42"
	digest    = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
)

var t0 = time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC)

const snsOK = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`

// publisher is a hand-written fake of bus.Publisher.
type publisher struct {
	mu     sync.Mutex
	events []bus.Event
}

func (p *publisher) Publish(_ context.Context, evs ...bus.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, evs...)
	return nil
}

// racingLedger lets a competing writer update an approval request just before
// each of the next races Updates of it, which then fail as stale.
type racingLedger struct {
	ledger.Ledger
	races int
}

func (l *racingLedger) Update(ctx context.Context, rec ledger.Record) error {
	if req, ok := rec.(*ledger.ApprovalRequest); ok && l.races > 0 {
		l.races--
		cur, err := l.Ledger.Latest(ctx, ledger.KindApprovalRequest, req.ID)
		if err != nil {
			return err
		}
		if err := l.Ledger.Update(ctx, cur); err != nil {
			return err
		}
	}
	return l.Ledger.Update(ctx, rec)
}

// fixture is one approval request waiting in a memory ledger, with Step
// Functions and SNS behind the wire-level fake.
type fixture struct {
	aws       *awsfake.Server
	ledger    ledger.Ledger
	clock     *clocktest.Clock
	events    *publisher
	signer    approval.Signer
	approvals *approval.Approvals
	links     *approval.Links
	pages     []events.LambdaFunctionURLResponse
}

func newFixture(t *testing.T) *fixture {
	return newFixtureOn(t, ledger.NewMemory(), []string{"ana@example.com", "lee@example.com", "kim@example.com"}, 1)
}

func newFixtureOn(t *testing.T, l ledger.Ledger, approvers []string, quorum int) *fixture {
	t.Helper()
	signer, err := approval.NewSigner([]byte(secret), []byte(oldSecret))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{aws: awsfake.New(t), ledger: l, clock: clocktest.New(t0), events: &publisher{}, signer: signer}
	f.aws.On("SendTaskSuccess", awsfake.JSON(200, `{}`))
	f.aws.On("SendTaskFailure", awsfake.JSON(200, `{}`))
	f.aws.On("Publish", awsfake.XML(200, snsOK))
	cfg := f.aws.Config()
	workflows := sfn.NewFromConfig(cfg)
	f.approvals = approval.New(l, tasktoken.Sender{API: workflows}, sns.NewFromConfig(cfg), topic,
		approval.WithClock(f.clock.Now), approval.WithEvents(f.events),
		approval.WithWorkflows(tasktoken.Executions{API: workflows, StateMachine: machine}))
	f.links = approval.NewLinks(f.approvals, signer)
	if approvers != nil {
		err = l.Put(context.Background(), &ledger.ApprovalRequest{
			Header:      ledger.Header{ID: approvalID, App: "checkout", Env: "prod", Digest: digest, At: t0},
			PromotionID: "promo-42", TaskToken: taskToken, Approvers: approvers, Quorum: quorum,
			Expires: t0.Add(24 * time.Hour), Status: ledger.ApprovalWaiting,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { f.checkTokenKept(t) })
	return f
}

// link is approver's signed link for action on the fixture's request.
func (f *fixture) link(approver string, action approval.Action) string {
	return f.signer.Link(baseURL, approvalID, approver, action, t0.Add(24*time.Hour))
}

// open sends one request to the function URL as Lambda delivers it.
func (f *fixture) open(t *testing.T, method, link, reason string) events.LambdaFunctionURLResponse {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"host": u.Host},
	}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.SourceIP = "198.51.100.7"
	if method == "POST" {
		ev.Headers["content-type"] = "application/x-www-form-urlencoded"
		ev.Body = url.Values{"reason": {reason}}.Encode()
	}
	resp, err := f.links.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle(%s %s) error: %v", method, u.RawQuery, err)
	}
	f.pages = append(f.pages, resp)
	return resp
}

func (f *fixture) request(t *testing.T) *ledger.ApprovalRequest {
	t.Helper()
	rec, err := f.ledger.Latest(context.Background(), ledger.KindApprovalRequest, approvalID)
	if err != nil {
		t.Fatal(err)
	}
	return rec.(*ledger.ApprovalRequest)
}

// decisions are the Approval records on the artifact's timeline.
func (f *fixture) decisions(t *testing.T) []*ledger.Approval {
	t.Helper()
	recs, err := f.ledger.ByDigest(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ledger.Approval
	for _, r := range recs {
		if a, ok := r.(*ledger.Approval); ok {
			out = append(out, a)
		}
	}
	return out
}

func (f *fixture) calls(op string) int { return len(f.aws.Invocations(op)) }

// checkTokenKept fails the test if the task token reached anything but Step
// Functions: an SNS message, a page, or a bus event.
func (f *fixture) checkTokenKept(t *testing.T) {
	for _, r := range f.aws.Calls("Publish") {
		if strings.Contains(r.Form.Get("Message")+r.Form.Get("Subject"), taskToken) {
			t.Errorf("SNS message %d contains the task token", r.Call)
		}
	}
	for i, p := range f.pages {
		if strings.Contains(p.Body, taskToken) || strings.Contains(strings.Join(slices.Collect(maps.Values(p.Headers)), " "), taskToken) {
			t.Errorf("page %d contains the task token", i)
		}
	}
	for _, e := range f.events.events {
		b, _ := json.Marshal(e.Detail)
		if strings.Contains(string(b), taskToken) {
			t.Errorf("bus event %s contains the task token", e.DetailType)
		}
	}
}

// checkPage asserts what every answer must carry.
func checkPage(t *testing.T, resp events.LambdaFunctionURLResponse) {
	t.Helper()
	want := map[string]string{
		"Content-Type":  "text/html; charset=utf-8",
		"Cache-Control": "no-store",
	}
	for k, v := range want {
		if resp.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
		}
	}
	if csp := resp.Headers["Content-Security-Policy"]; !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", csp)
	}
	if !strings.HasPrefix(resp.Body, "<!doctype html>") {
		t.Errorf("body = %.60q, want an HTML page", resp.Body)
	}
}

// tamper returns link with one query field replaced.
func tamper(link, field, value string) string {
	u, _ := url.Parse(link)
	q := u.Query()
	q.Set(field, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestLinks(t *testing.T) {
	tests := []struct {
		name        string
		give        func(f *fixture) string // the link, made from the fixture's valid one
		method      string
		reason      string
		later       time.Duration // how long after the request was filed the link is opened
		want        int
		wantSuccess int
		wantFailure int
	}{
		{name: "valid approve", give: func(f *fixture) string { return f.link("ana@example.com", approval.ActionApprove) },
			method: "POST", want: 200, wantSuccess: 1},
		{name: "valid reject", give: func(f *fixture) string { return f.link("lee@example.com", approval.ActionReject) },
			method: "POST", reason: "error budget spent", want: 200, wantFailure: 1},
		{name: "valid link opened late", give: func(f *fixture) string { return f.link("ana@example.com", approval.ActionApprove) },
			method: "POST", later: 23 * time.Hour, want: 200, wantSuccess: 1},
		{name: "link expired", give: func(f *fixture) string {
			return f.signer.Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, t0.Add(time.Hour))
		}, method: "POST", later: 2 * time.Hour, want: 410},
		{name: "request expired", give: func(f *fixture) string {
			return f.signer.Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, t0.Add(48*time.Hour))
		}, method: "POST", later: 25 * time.Hour, want: 410},
		{name: "forged signature", give: func(f *fixture) string {
			forger, _ := approval.NewSigner([]byte(otherKey))
			return forger.Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, t0.Add(24*time.Hour))
		}, method: "POST", want: 403},
		{name: "signature of another link", give: func(f *fixture) string {
			other := f.link("lee@example.com", approval.ActionApprove)
			return tamper(f.link("ana@example.com", approval.ActionApprove), "sig", must(url.Parse(other)).Query().Get("sig"))
		}, method: "POST", want: 403},
		{name: "tampered id", give: func(f *fixture) string {
			return tamper(f.link("ana@example.com", approval.ActionApprove), "id", "apr-someoneelse")
		}, method: "POST", want: 403},
		{name: "tampered approver", give: func(f *fixture) string {
			return tamper(f.link("ana@example.com", approval.ActionApprove), "approver", "lee@example.com")
		}, method: "POST", want: 403},
		{name: "tampered action", give: func(f *fixture) string {
			return tamper(f.link("ana@example.com", approval.ActionReject), "action", "approve")
		}, method: "POST", want: 403},
		{name: "tampered expires", give: func(f *fixture) string {
			return tamper(f.signer.Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, t0.Add(time.Hour)),
				"expires", "1900000000")
		}, method: "POST", later: 2 * time.Hour, want: 403},
		{name: "wrong action", give: func(f *fixture) string {
			return tamper(f.link("ana@example.com", approval.ActionApprove), "action", "promote")
		}, method: "POST", want: 400},
		{name: "missing signature", give: func(f *fixture) string {
			return tamper(f.link("ana@example.com", approval.ActionApprove), "sig", "")
		}, method: "POST", want: 400},
		{name: "signed for someone not an approver", give: func(f *fixture) string {
			return f.link("mallory@example.com", approval.ActionApprove)
		}, method: "POST", want: 403},
		{name: "unknown request", give: func(f *fixture) string {
			return f.signer.Link(baseURL, "apr-nosuchrequest", "ana@example.com", approval.ActionApprove, t0.Add(time.Hour))
		}, method: "POST", want: 404},
		{name: "reject without reason", give: func(f *fixture) string { return f.link("ana@example.com", approval.ActionReject) },
			method: "POST", reason: " \n\t ", want: 400},
		{name: "PUT", give: func(f *fixture) string { return f.link("ana@example.com", approval.ActionApprove) },
			method: "PUT", want: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.clock.Advance(tt.later)
			resp := f.open(t, tt.method, tt.give(f), tt.reason)
			checkPage(t, resp)
			if resp.StatusCode != tt.want {
				t.Errorf("%s = %d, want %d; page:\n%s", tt.method, resp.StatusCode, tt.want, resp.Body)
			}
			if got := f.calls("SendTaskSuccess"); got != tt.wantSuccess {
				t.Errorf("SendTaskSuccess calls = %d, want %d", got, tt.wantSuccess)
			}
			if got := f.calls("SendTaskFailure"); got != tt.wantFailure {
				t.Errorf("SendTaskFailure calls = %d, want %d", got, tt.wantFailure)
			}
			if tt.want != 200 && len(f.decisions(t)) != 0 {
				t.Errorf("a refused link recorded a decision: %+v", f.decisions(t)[0])
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestReusedLinkIsRefused(t *testing.T) {
	tests := []struct {
		name   string
		action approval.Action
		quorum int
	}{
		{name: "approve that ended the request", action: approval.ActionApprove, quorum: 1},
		{name: "approve towards a quorum", action: approval.ActionApprove, quorum: 2},
		{name: "reject", action: approval.ActionReject, quorum: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOn(t, ledger.NewMemory(), []string{"ana@example.com", "lee@example.com"}, tt.quorum)
			link := f.link("ana@example.com", tt.action)
			if resp := f.open(t, "POST", link, "looks wrong"); resp.StatusCode != 200 {
				t.Fatalf("first POST = %d, want 200:\n%s", resp.StatusCode, resp.Body)
			}
			sent := f.calls("SendTaskSuccess") + f.calls("SendTaskFailure")
			before := f.request(t).Version
			resp := f.open(t, "POST", link, "looks wrong")
			checkPage(t, resp)
			if resp.StatusCode != 409 {
				t.Errorf("second POST = %d, want 409", resp.StatusCode)
			}
			if got := f.calls("SendTaskSuccess") + f.calls("SendTaskFailure"); got != sent {
				t.Errorf("SendTask calls after reuse = %d, want %d", got, sent)
			}
			if got := f.request(t).Version; got != before {
				t.Errorf("request version after reuse = %d, want %d", got, before)
			}
			if got := len(f.decisions(t)); got != 1 {
				t.Errorf("decisions recorded = %d, want 1", got)
			}
		})
	}
}

func TestQuorumTwoOfThree(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), []string{"ana@example.com", "lee@example.com", "kim@example.com"}, 2)

	resp := f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "1 of 2 approvals") {
		t.Fatalf("first approval = %d, want 200 saying 1 of 2:\n%s", resp.StatusCode, resp.Body)
	}
	if n := f.calls("SendTaskSuccess"); n != 0 {
		t.Errorf("SendTaskSuccess after one approval = %d calls, want 0", n)
	}
	req := f.request(t)
	if req.Status != ledger.ApprovalWaiting || !reflect.DeepEqual(req.Approved, []string{"ana@example.com"}) {
		t.Errorf("request after one approval = %s %v, want waiting [ana@example.com]", req.Status, req.Approved)
	}
	if d := f.decisions(t); len(d) != 1 || d[0].Approver != "ana@example.com" || d[0].Decision != ledger.DecisionApproved || d[0].PromotionID != "promo-42" {
		t.Errorf("decisions after one approval = %+v, want ana's approval of promo-42", d)
	}

	f.clock.Advance(time.Minute)
	resp = f.open(t, "POST", f.link("lee@example.com", approval.ActionApprove), "soaked a day, alarms quiet")
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "goes ahead") {
		t.Fatalf("second approval = %d, want 200 saying it goes ahead:\n%s", resp.StatusCode, resp.Body)
	}
	calls := f.aws.Invocations("SendTaskSuccess")
	if len(calls) != 1 {
		t.Fatalf("SendTaskSuccess calls = %d, want 1", len(calls))
	}
	var in struct {
		TaskToken string `json:"taskToken"`
		Output    string `json:"output"`
	}
	if err := calls[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	var out struct {
		ApprovalID  string    `json:"approvalId"`
		PromotionID string    `json:"promotionId"`
		ApprovedBy  []string  `json:"approvedBy"`
		DecidedAt   time.Time `json:"decidedAt"`
	}
	if err := json.Unmarshal([]byte(in.Output), &out); err != nil {
		t.Fatalf("SendTaskSuccess output %q: %v", in.Output, err)
	}
	wantOut := []string{"ana@example.com", "lee@example.com"}
	if in.TaskToken != taskToken || out.ApprovalID != approvalID || out.PromotionID != "promo-42" ||
		!reflect.DeepEqual(out.ApprovedBy, wantOut) || !out.DecidedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("SendTaskSuccess(token %q, output %+v), want the request's token and approvedBy %v at %v",
			in.TaskToken, out, wantOut, t0.Add(time.Minute))
	}
	if req := f.request(t); req.Status != ledger.ApprovalApproved || req.DecidedBy != "lee@example.com" {
		t.Errorf("request = %s by %s, want approved by lee", req.Status, req.DecidedBy)
	}

	resp = f.open(t, "POST", f.link("kim@example.com", approval.ActionApprove), "")
	if resp.StatusCode != 409 {
		t.Errorf("third approval = %d, want 409", resp.StatusCode)
	}
	if n := f.calls("SendTaskSuccess"); n != 1 {
		t.Errorf("SendTaskSuccess calls after the third = %d, want 1", n)
	}
	if len(f.decisions(t)) != 2 {
		t.Errorf("decisions = %d, want 2 (the third was refused)", len(f.decisions(t)))
	}
	var decided []bus.Event
	for _, e := range f.events.events {
		if e.DetailType == approval.DetailTypeApprovalDecided {
			decided = append(decided, e)
		}
	}
	if len(decided) != 1 || decided[0].Detail.(approval.Result).Status != ledger.ApprovalApproved {
		t.Errorf("Approval Decided events = %+v, want one, approved", decided)
	}
}

func TestRejectSendsReasonAsCause(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), []string{"ana@example.com", "lee@example.com"}, 2)
	f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
	resp := f.open(t, "POST", f.link("lee@example.com", approval.ActionReject), "p99 latency <b>doubled</b> in staging")
	if resp.StatusCode != 200 {
		t.Fatalf("reject = %d, want 200:\n%s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "<b>doubled") || !strings.Contains(resp.Body, "&lt;b&gt;doubled") {
		t.Errorf("page does not escape the reason:\n%s", resp.Body)
	}
	calls := f.aws.Invocations("SendTaskFailure")
	if len(calls) != 1 || f.calls("SendTaskSuccess") != 0 {
		t.Fatalf("SendTaskFailure, SendTaskSuccess calls = %d, %d; want 1, 0", len(calls), f.calls("SendTaskSuccess"))
	}
	var in struct{ TaskToken, Error, Cause string }
	if err := calls[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	want := struct{ TaskToken, Error, Cause string }{taskToken, "Rejected", "p99 latency <b>doubled</b> in staging"}
	if in != want {
		t.Errorf("SendTaskFailure = %+v, want %+v", in, want)
	}
	req := f.request(t)
	if req.Status != ledger.ApprovalRejected || req.DecidedBy != "lee@example.com" || req.Reason != want.Cause {
		t.Errorf("request = %s by %s (%q), want rejected by lee with the reason", req.Status, req.DecidedBy, req.Reason)
	}
}

func TestGetShowsFormAndDecidesNothing(t *testing.T) {
	tests := []struct {
		name         string
		action       approval.Action
		wantButton   string
		wantRequired bool
	}{
		{name: "approve", action: approval.ActionApprove, wantButton: ">Approve</button>"},
		{name: "reject", action: approval.ActionReject, wantButton: ">Reject</button>", wantRequired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			link := f.link("ana@example.com", tt.action)
			for _, method := range []string{"GET", "HEAD", "GET"} { // scanners fetch more than once
				resp := f.open(t, method, link, "")
				checkPage(t, resp)
				if resp.StatusCode != 200 {
					t.Fatalf("%s = %d, want 200:\n%s", method, resp.StatusCode, resp.Body)
				}
				if !strings.Contains(resp.Body, `<form method="post" action="?id=`+approvalID+`&amp;approver=ana%40example.com&amp;action=`+string(tt.action)) {
					t.Errorf("%s page has no form posting the signed query back:\n%s", method, resp.Body)
				}
				if !strings.Contains(resp.Body, tt.wantButton) {
					t.Errorf("%s page lacks %s", method, tt.wantButton)
				}
				if got := strings.Contains(resp.Body, " required>"); got != tt.wantRequired {
					t.Errorf("%s page reason required = %v, want %v", method, got, tt.wantRequired)
				}
			}
			if n := len(f.aws.Requests()); n != 0 {
				t.Errorf("GET made %d AWS calls, want none", n)
			}
			if req := f.request(t); req.Version != 1 || req.Status != ledger.ApprovalWaiting || len(req.Approved) != 0 {
				t.Errorf("request after GET = v%d %s %v, want v1 waiting, no approvals", req.Version, req.Status, req.Approved)
			}
			if d := f.decisions(t); len(d) != 0 {
				t.Errorf("GET recorded %d decisions, want none", len(d))
			}
			// The form's own POST still works: opening the link used nothing up.
			if resp := f.open(t, "POST", link, "needs a second look"); resp.StatusCode != 200 {
				t.Errorf("POST after GET = %d, want 200", resp.StatusCode)
			}
		})
	}
}

// describeExecution is Step Functions' answer for the fixture's execution in
// status.
func describeExecution(status string) awsfake.Response {
	return awsfake.JSON(200, `{"executionArn":"`+execution+`","stateMachineArn":"`+machine+`","name":"promo-42",`+
		`"status":"`+status+`","startDate":1795000000}`)
}

func TestWorkflowNoLongerWaiting(t *testing.T) {
	tests := []struct {
		name   string
		code   string
		status string
	}{
		{name: "task timed out", code: "TaskTimedOut", status: "TIMED_OUT"},
		{name: "invalid token", code: "InvalidToken", status: "FAILED"},
		{name: "task does not exist", code: "TaskDoesNotExist", status: "ABORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.aws.On("SendTaskSuccess", awsfake.APIError(400, tt.code, "Task Timed Out: 'arn:aws:states:...'"))
			f.aws.On("DescribeExecution", describeExecution(tt.status))
			link := f.link("ana@example.com", approval.ActionApprove)
			resp := f.open(t, "POST", link, "")
			checkPage(t, resp)
			if resp.StatusCode != 410 {
				t.Errorf("POST = %d, want 410", resp.StatusCode)
			}
			if req := f.request(t); req.Status != ledger.ApprovalExpired {
				t.Errorf("request status = %s, want expired", req.Status)
			}
			notices := f.aws.Invocations("Publish")
			if len(notices) != 1 || !strings.Contains(notices[0].Form.Get("Subject"), "expired") {
				t.Errorf("SNS notices = %d, want 1 saying expired", len(notices))
			}
			if resp := f.open(t, "POST", f.link("lee@example.com", approval.ActionApprove), ""); resp.StatusCode != 410 {
				t.Errorf("next approver's POST = %d, want 410", resp.StatusCode)
			}
			if n := f.calls("SendTaskSuccess"); n != 1 {
				t.Errorf("SendTaskSuccess calls = %d, want 1", n)
			}
		})
	}
}

func TestFailedCompletionCanBeRetried(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), []string{"ana@example.com", "lee@example.com"}, 2)
	f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
	f.aws.On("SendTaskSuccess", awsfake.APIError(500, "InternalFailure", "try later"))
	link := f.link("lee@example.com", approval.ActionApprove)

	resp := f.open(t, "POST", link, "")
	checkPage(t, resp)
	if resp.StatusCode != 500 {
		t.Errorf("POST while Step Functions fails = %d, want 500", resp.StatusCode)
	}
	if req := f.request(t); req.Status != ledger.ApprovalWaiting || !reflect.DeepEqual(req.Approved, []string{"ana@example.com"}) {
		t.Errorf("request after failed completion = %s %v, want waiting [ana@example.com]", req.Status, req.Approved)
	}

	f.aws.On("SendTaskSuccess", awsfake.JSON(200, `{}`))
	failed := f.calls("SendTaskSuccess")
	if resp := f.open(t, "POST", link, ""); resp.StatusCode != 200 {
		t.Fatalf("POST again = %d, want 200:\n%s", resp.StatusCode, resp.Body)
	}
	if n := f.calls("SendTaskSuccess") - failed; n != 1 {
		t.Errorf("SendTaskSuccess calls on retry = %d, want 1", n)
	}
	if req := f.request(t); req.Status != ledger.ApprovalApproved || len(req.Approved) != 2 {
		t.Errorf("request = %s %v, want approved by both", req.Status, req.Approved)
	}
	if n := len(f.decisions(t)); n != 2 {
		t.Errorf("decisions = %d, want 2 (the retry reused lee's)", n)
	}
}

func TestConcurrentDecision(t *testing.T) {
	tests := []struct {
		name        string
		races       int
		want        int
		wantSuccess int
	}{
		{name: "one race: read again and decide", races: 1, want: 200, wantSuccess: 1},
		{name: "two races: give up", races: 2, want: 409, wantSuccess: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &racingLedger{Ledger: ledger.NewMemory()}
			f := newFixtureOn(t, l, []string{"ana@example.com"}, 1)
			l.races = tt.races
			link := f.link("ana@example.com", approval.ActionApprove)
			resp := f.open(t, "POST", link, "")
			checkPage(t, resp)
			if resp.StatusCode != tt.want {
				t.Errorf("POST = %d, want %d:\n%s", resp.StatusCode, tt.want, resp.Body)
			}
			if n := f.calls("SendTaskSuccess"); n != tt.wantSuccess {
				t.Errorf("SendTaskSuccess calls = %d, want %d", n, tt.wantSuccess)
			}
			if tt.want == 409 {
				// The decision is recorded; the same link finishes it.
				if resp := f.open(t, "POST", link, ""); resp.StatusCode != 200 || f.calls("SendTaskSuccess") != 1 {
					t.Errorf("POST after the race = %d with %d SendTaskSuccess, want 200 with 1", resp.StatusCode, f.calls("SendTaskSuccess"))
				}
			}
		})
	}
}

func TestDecideFromTheLocalCommand(t *testing.T) {
	tests := []struct {
		name       string
		approvalID string
		approver   string
		action     approval.Action
		reason     string
		wantErr    error
		wantStatus ledger.ApprovalStatus
	}{
		{name: "approve", approvalID: approvalID, approver: "kim@example.com", action: approval.ActionApprove, wantStatus: ledger.ApprovalApproved},
		{name: "reject", approvalID: approvalID, approver: "kim@example.com", action: approval.ActionReject, reason: "freeze", wantStatus: ledger.ApprovalRejected},
		{name: "reject without reason", approvalID: approvalID, approver: "kim@example.com", action: approval.ActionReject, wantErr: approval.ErrReasonRequired},
		{name: "not an approver", approvalID: approvalID, approver: "ops@example.com", action: approval.ActionApprove, wantErr: approval.ErrNotApprover},
		{name: "unknown request", approvalID: "apr-missing", approver: "kim@example.com", action: approval.ActionApprove, wantErr: approval.ErrUnknownRequest},
		{name: "unknown action", approvalID: approvalID, approver: "kim@example.com", action: "ship", wantErr: approval.ErrUnknownAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			res, err := f.approvals.Decide(context.Background(), tt.approvalID, tt.approver, tt.action, tt.reason)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decide(%s, %s, %s) error = %v, want %v", tt.approvalID, tt.approver, tt.action, err, tt.wantErr)
			}
			if err == nil && (res.Status != tt.wantStatus || res.DecidedBy != tt.approver) {
				t.Errorf("Decide(%s, %s, %s) = %s by %s, want %s by %s", tt.approvalID, tt.approver, tt.action,
					res.Status, res.DecidedBy, tt.wantStatus, tt.approver)
			}
			wantSends := 0
			if tt.wantErr == nil {
				wantSends = 1
			}
			if n := f.calls("SendTaskSuccess") + f.calls("SendTaskFailure"); n != wantSends {
				t.Errorf("SendTask calls = %d, want %d", n, wantSends)
			}
		})
	}
}

func TestExpire(t *testing.T) {
	f := newFixtureOn(t, ledger.NewMemory(), []string{"ana@example.com", "lee@example.com"}, 2)
	f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
	f.clock.Advance(24 * time.Hour)

	res, err := f.approvals.HandleTimeout(context.Background(), approval.Timeout{
		PromotionID: "promo-42", Digest: digest, Error: "States.Timeout",
	})
	if err != nil || res.Status != ledger.ApprovalExpired || res.ApprovalID != approvalID {
		t.Fatalf("HandleTimeout() = %s %s, %v; want %s expired", res.ApprovalID, res.Status, err, approvalID)
	}
	notices := f.aws.Invocations("Publish")
	if len(notices) != 1 {
		t.Fatalf("SNS notices = %d, want 1", len(notices))
	}
	msg := notices[0].Form.Get("Message")
	for _, want := range []string{approvalID, "promo-42", "1 of 2 (ana@example.com)", "highway promote --app checkout --env prod --digest " + digest} {
		if !strings.Contains(msg, want) {
			t.Errorf("expiry notice lacks %q:\n%s", want, msg)
		}
	}
	if req := f.request(t); req.Status != ledger.ApprovalExpired {
		t.Errorf("request status = %s, want expired", req.Status)
	}

	// A redelivered timeout, or the local command, changes nothing more.
	if res, err := f.approvals.Expire(context.Background(), approvalID); err != nil || res.Status != ledger.ApprovalExpired {
		t.Errorf("Expire() again = %s, %v; want expired, nil", res.Status, err)
	}
	if n := f.calls("Publish"); n != 1 {
		t.Errorf("SNS notices after a second expiry = %d, want 1", n)
	}
	if resp := f.open(t, "POST", f.link("lee@example.com", approval.ActionApprove), ""); resp.StatusCode != 410 {
		t.Errorf("approval after expiry = %d, want 410", resp.StatusCode)
	}
	if n := f.calls("SendTaskSuccess") + f.calls("SendTaskFailure"); n != 0 {
		t.Errorf("SendTask calls = %d, want 0", n)
	}
}

func TestExpireLeavesDecidedRequests(t *testing.T) {
	f := newFixture(t)
	f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
	_, err := f.approvals.Expire(context.Background(), approvalID)
	if !errors.Is(err, approval.ErrDecided) {
		t.Errorf("Expire(approved) error = %v, want ErrDecided", err)
	}
	if req := f.request(t); req.Status != ledger.ApprovalApproved {
		t.Errorf("request status = %s, want approved", req.Status)
	}
	if _, err := f.approvals.HandleTimeout(context.Background(), approval.Timeout{PromotionID: "promo-42", Digest: digest}); err != nil {
		t.Errorf("HandleTimeout(approved) error = %v, want nil (acknowledged)", err)
	}
	if n := f.calls("Publish"); n != 0 {
		t.Errorf("SNS notices = %d, want 0", n)
	}
}

func TestPostedFormMayBeBase64(t *testing.T) {
	f := newFixture(t)
	u, err := url.Parse(f.link("ana@example.com", approval.ActionReject))
	if err != nil {
		t.Fatal(err)
	}
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/", RawQueryString: u.RawQuery, IsBase64Encoded: true,
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"},
		Body:    base64.StdEncoding.EncodeToString([]byte("reason=" + url.QueryEscape("schema migration not reviewed"))),
	}
	ev.RequestContext.HTTP.Method = "POST"
	resp, err := f.links.Handle(context.Background(), ev)
	f.pages = append(f.pages, resp)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST with a base64 body = %d, %v; want 200:\n%s", resp.StatusCode, err, resp.Body)
	}
	if req := f.request(t); req.Reason != "schema migration not reviewed" {
		t.Errorf("request reason = %q, want the posted one", req.Reason)
	}
}

// firstThen answers an operation's first call with first, and every later
// one (the SDK's retries included) with then.
func firstThen(first, then awsfake.Response) func(awsfake.Request) awsfake.Response {
	return func(r awsfake.Request) awsfake.Response {
		if r.Call == 1 {
			return first
		}
		return then
	}
}

// TestTaskGoneAfterALostAnswer: when answering the task finds it gone, the
// execution's status says whether an earlier attempt resumed the workflow (the
// decision stands) or the workflow stopped waiting first (the request expired).
func TestTaskGoneAfterALostAnswer(t *testing.T) {
	lost := awsfake.APIError(500, "InternalFailure", "the answer was applied, its response lost")
	gone := awsfake.APIError(400, "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
	missing := awsfake.APIError(400, "TaskDoesNotExist", "Task does not exist")
	tests := []struct {
		name        string
		action      approval.Action
		answer      func(awsfake.Request) awsfake.Response // to SendTaskSuccess or SendTaskFailure
		describe    awsfake.Response
		want        int
		wantStatus  ledger.ApprovalStatus
		wantNotices int
	}{
		{name: "SDK retry of a lost success, workflow running", action: approval.ActionApprove,
			answer: firstThen(lost, gone), describe: describeExecution("RUNNING"), want: 200, wantStatus: ledger.ApprovalApproved},
		{name: "task gone, workflow running", action: approval.ActionApprove,
			answer: firstThen(gone, gone), describe: describeExecution("RUNNING"), want: 200, wantStatus: ledger.ApprovalApproved},
		{name: "task gone, workflow succeeded", action: approval.ActionApprove,
			answer: firstThen(missing, missing), describe: describeExecution("SUCCEEDED"), want: 200, wantStatus: ledger.ApprovalApproved},
		{name: "SDK retry of a lost rejection, workflow running", action: approval.ActionReject,
			answer: firstThen(lost, gone), describe: describeExecution("RUNNING"), want: 200, wantStatus: ledger.ApprovalRejected},
		{name: "task gone, workflow timed out", action: approval.ActionApprove,
			answer: firstThen(gone, gone), describe: describeExecution("TIMED_OUT"), want: 410, wantStatus: ledger.ApprovalExpired, wantNotices: 1},
		{name: "task gone, workflow failed", action: approval.ActionApprove,
			answer: firstThen(gone, gone), describe: describeExecution("FAILED"), want: 410, wantStatus: ledger.ApprovalExpired, wantNotices: 1},
		{name: "task gone, workflow aborted", action: approval.ActionReject,
			answer: firstThen(missing, missing), describe: describeExecution("ABORTED"), want: 410, wantStatus: ledger.ApprovalExpired, wantNotices: 1},
		{name: "task gone, workflow unreadable", action: approval.ActionApprove,
			answer: firstThen(gone, gone), describe: awsfake.APIError(400, "AccessDeniedException", "not authorized"), want: 500, wantStatus: ledger.ApprovalWaiting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.aws.OnFunc("SendTaskSuccess", tt.answer)
			f.aws.OnFunc("SendTaskFailure", tt.answer)
			f.aws.On("DescribeExecution", tt.describe)

			resp := f.open(t, "POST", f.link("ana@example.com", tt.action), "p99 doubled")
			checkPage(t, resp)
			if resp.StatusCode != tt.want {
				t.Errorf("POST = %d, want %d:\n%s", resp.StatusCode, tt.want, resp.Body)
			}
			if req := f.request(t); req.Status != tt.wantStatus {
				t.Errorf("request status = %s, want %s", req.Status, tt.wantStatus)
			}
			if n := f.calls("Publish"); n != tt.wantNotices {
				t.Errorf("expiry notices = %d, want %d", n, tt.wantNotices)
			}
			asked := f.aws.Calls("DescribeExecution")
			var in struct{ ExecutionArn string }
			if len(asked) == 0 || asked[0].DecodeJSON(&in) != nil || in.ExecutionArn != execution {
				t.Errorf("DescribeExecution calls = %d (%q), want the execution %s", len(asked), in.ExecutionArn, execution)
			}
			var decided []ledger.ApprovalStatus
			for _, e := range f.events.events {
				if e.DetailType == approval.DetailTypeApprovalDecided {
					decided = append(decided, e.Detail.(approval.Result).Status)
				}
			}
			if want := orNone(tt.wantStatus != ledger.ApprovalWaiting, tt.wantStatus); !slices.Equal(decided, want) {
				t.Errorf("Approval Decided events = %v, want %v", decided, want)
			}
		})
	}
}

// orNone is [v] when ok, else none.
func orNone[T any](ok bool, v T) []T {
	if !ok {
		return nil
	}
	return []T{v}
}

// TestDecisionRetriedAfterALostAnswer: the answer reached the workflow, but
// the function saw only errors and asked the approver to try again; the
// second try finds the task gone and the workflow running, and says approved.
func TestDecisionRetriedAfterALostAnswer(t *testing.T) {
	f := newFixture(t)
	f.aws.On("SendTaskSuccess", awsfake.APIError(500, "InternalFailure", "applied, response lost"))
	link := f.link("ana@example.com", approval.ActionApprove)
	if resp := f.open(t, "POST", link, ""); resp.StatusCode != 500 {
		t.Fatalf("first POST = %d, want 500", resp.StatusCode)
	}
	if req := f.request(t); req.Status != ledger.ApprovalWaiting {
		t.Fatalf("request after the first POST = %s, want waiting", req.Status)
	}

	f.aws.On("SendTaskSuccess", awsfake.APIError(400, "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"))
	f.aws.On("DescribeExecution", describeExecution("RUNNING"))
	resp := f.open(t, "POST", link, "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "goes ahead") {
		t.Errorf("second POST = %d, want 200 saying it goes ahead:\n%s", resp.StatusCode, resp.Body)
	}
	if req := f.request(t); req.Status != ledger.ApprovalApproved || req.DecidedBy != "ana@example.com" {
		t.Errorf("request = %s by %s, want approved by ana", req.Status, req.DecidedBy)
	}
	if n := f.calls("Publish"); n != 0 {
		t.Errorf("expiry notices = %d, want none", n)
	}
	if n := len(f.decisions(t)); n != 1 {
		t.Errorf("decisions = %d, want 1", n)
	}
}

// formAction returns the action of the confirmation form of page, unescaped.
func formAction(page string) string {
	_, rest, ok := strings.Cut(page, `<form method="post" action="`)
	if !ok {
		return ""
	}
	action, _, _ := strings.Cut(rest, `"`)
	return html.UnescapeString(action)
}

// TestConfirmPageCarriesOnlyTheSignedQuery: whatever a valid link is opened
// with, the page shows and posts back its signed fields alone, and a request
// larger than any link is refused unread.
func TestConfirmPageCarriesOnlyTheSignedQuery(t *testing.T) {
	const maxPage = 8 << 10
	junk := strings.Repeat("j", 1000)
	tests := []struct {
		name string
		give func(link string) string
		want int
	}{
		{name: "the link", give: func(link string) string { return link }, want: 200},
		{name: "junk after the signature", give: func(link string) string { return link + "&utm_source=" + junk }, want: 200},
		{name: "junk before the fields", give: func(link string) string { return strings.Replace(link, "?", "?x="+junk+"&", 1) }, want: 200},
		{name: "4 MiB of junk", give: func(link string) string { return link + "&junk=" + strings.Repeat("j", 4<<20) }, want: 414},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			link := f.link("ana@example.com", approval.ActionApprove)
			resp := f.open(t, "GET", tt.give(link), "")
			checkPage(t, resp)
			if resp.StatusCode != tt.want {
				t.Errorf("GET = %d, want %d", resp.StatusCode, tt.want)
			}
			if len(resp.Body) > maxPage || strings.Contains(resp.Body, "jjj") {
				t.Errorf("page is %d bytes (want at most %d), junk repeated: %v", len(resp.Body), maxPage, strings.Contains(resp.Body, "jjj"))
			}
			if want := "?" + must(url.Parse(link)).RawQuery; tt.want == 200 && formAction(resp.Body) != want {
				t.Errorf("form posts %q, want the signed query %q", formAction(resp.Body), want)
			}
			if n := len(f.aws.Requests()); n != 0 {
				t.Errorf("GET made %d AWS calls, want none", n)
			}
		})
	}
}

// TestOversizedFormIsRefusedUnread: a decision's form is small; a larger body,
// plain or base64, is refused before it is decoded, and decides nothing.
func TestOversizedFormIsRefusedUnread(t *testing.T) {
	big := "reason=" + strings.Repeat("r", 5<<20)
	tests := []struct {
		name   string
		body   string
		base64 bool
		want   int
	}{
		{name: "a reason", body: "reason=" + url.QueryEscape("schema migration not reviewed"), want: 200},
		{name: "5 MiB", body: big, want: 413},
		{name: "5 MiB in base64", body: base64.StdEncoding.EncodeToString([]byte(big)), base64: true, want: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ev := events.LambdaFunctionURLRequest{
				Version: "2.0", RawPath: "/", RawQueryString: must(url.Parse(f.link("ana@example.com", approval.ActionReject))).RawQuery,
				Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"},
				Body:    tt.body, IsBase64Encoded: tt.base64,
			}
			ev.RequestContext.HTTP.Method = "POST"
			resp, err := f.links.Handle(context.Background(), ev)
			f.pages = append(f.pages, resp)
			if err != nil || resp.StatusCode != tt.want {
				t.Errorf("POST = %d, %v; want %d", resp.StatusCode, err, tt.want)
			}
			if len(resp.Body) > 8<<10 {
				t.Errorf("page is %d bytes", len(resp.Body))
			}
			if decided := len(f.decisions(t)) > 0; decided != (tt.want == 200) {
				t.Errorf("decided = %v, want %v", decided, tt.want == 200)
			}
		})
	}
}

// TestRefusalsLogStrangersValuesClipped: the function URL is open to anyone;
// what they send reaches the log cut to a hundred bytes, marked.
func TestRefusalsLogStrangersValuesClipped(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	long := strings.Repeat("A", 1500) // a value, within a link's longest query

	tests := []struct {
		name   string
		give   func(f *fixture) events.LambdaFunctionURLRequest
		status int
	}{
		{name: "action", status: 400, give: func(f *fixture) events.LambdaFunctionURLRequest {
			return urlRequest("GET", tamper(f.link("ana@example.com", approval.ActionApprove), "action", long))
		}},
		{name: "expires", status: 400, give: func(f *fixture) events.LambdaFunctionURLRequest {
			return urlRequest("GET", tamper(f.link("ana@example.com", approval.ActionApprove), "expires", long))
		}},
		{name: "content type", status: 400, give: func(f *fixture) events.LambdaFunctionURLRequest {
			ev := urlRequest("POST", f.link("ana@example.com", approval.ActionApprove))
			ev.Headers["content-type"] = "text/" + strings.Repeat(long, 4)
			return ev
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			logs.Reset()
			resp, err := f.links.Handle(context.Background(), tt.give(f))
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("Handle() = %d, %v; want %d", resp.StatusCode, err, tt.status)
			}
			var line struct {
				Msg, Error, Method string
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line.Msg != "approval link refused" {
				t.Fatalf("log = %q (%v), want one refusal", logs.String(), err)
			}
			if logs.Len() > 1<<10 || !strings.Contains(line.Error, "more bytes]") {
				t.Errorf("log line is %d bytes, error %.200q; want under 1 KiB with the value clipped and marked", logs.Len(), line.Error)
			}
		})
	}
}

// urlRequest is a function URL request for link, as Lambda delivers it.
func urlRequest(method, link string) events.LambdaFunctionURLRequest {
	u := must(url.Parse(link))
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"host": u.Host, "content-type": "application/x-www-form-urlencoded"}}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.SourceIP = "198.51.100.7"
	return ev
}
