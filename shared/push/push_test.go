package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
)

// The sample event pushes head onto old; the repository's history is
// root ← old ← middle ← head.
const (
	head   = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
	middle = "5c8a0e2d4b6f8a1c3e5d7b9f0a2c4e6d8b1f3a5c"
	old    = "3b7d1e9a2c4f6e8d0a1b3c5e7f9d2a4c6e8b0d1f"
	root   = "0000000000000000000000000000000000000001"
)

// repo is a hand-written fake of CodeCommit's GetCommit over a history of
// commits, each parent of the next.
type repo struct {
	commits map[string]*cctypes.Commit
	calls   []string
	fail    error
}

func newRepo(chain ...string) *repo {
	r := &repo{commits: map[string]*cctypes.Commit{}}
	for i, sha := range chain {
		c := &cctypes.Commit{
			CommitId:  aws.String(sha),
			Message:   aws.String(fmt.Sprintf("change %d\n\nlonger body", i)),
			Author:    &cctypes.UserInfo{Name: aws.String("Dana Okafor"), Email: aws.String("dana@example.com"), Date: aws.String(fmt.Sprintf("%d +0100", 1763370000+i*60))},
			Committer: &cctypes.UserInfo{Name: aws.String("Dana Okafor"), Date: aws.String(fmt.Sprintf("%d +0100", 1763371000+i*60))},
		}
		if i > 0 {
			c.Parents = []string{chain[i-1]}
		}
		r.commits[sha] = c
	}
	return r
}

func (r *repo) GetCommit(_ context.Context, in *codecommit.GetCommitInput, _ ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error) {
	r.calls = append(r.calls, aws.ToString(in.CommitId))
	if r.fail != nil {
		return nil, r.fail
	}
	c, ok := r.commits[aws.ToString(in.CommitId)]
	if !ok {
		return nil, &cctypes.CommitIdDoesNotExistException{Message: aws.String("no such commit")}
	}
	return &codecommit.GetCommitOutput{Commit: c}, nil
}

// in returns a Commits factory that serves r for the sample's account only.
func (r *repo) in(t *testing.T) Commits {
	return func(app, account, region string) CommitGetter {
		if app != "checkout" || account != "222222222222" || region != "eu-west-1" {
			t.Errorf("commits read for %s in %s/%s, want checkout's in the event's 222222222222/eu-west-1", app, account, region)
		}
		return r
	}
}

// publisher is a hand-written fake of bus.Publisher that records what it is
// given, and fails while fail is set.
type publisher struct {
	events []bus.Event
	fail   error
}

func (p *publisher) Publish(_ context.Context, evs ...bus.Event) error {
	if p.fail != nil {
		return p.fail
	}
	p.events = append(p.events, evs...)
	return nil
}

// counter is a hand-written fake of the metrics sink: it adds up each metric
// by name and App dimension.
type counter map[string]float64

func (c counter) Put(name string, v float64, _ telemetry.Unit, d telemetry.Dimensions) error {
	c[name+"/"+d["App"]] += v
	return nil
}

// flakyLedger fails the Put calls whose number (from 1) is in failOn.
type flakyLedger struct {
	ledger.Ledger
	puts   int
	failOn []int
}

func (l *flakyLedger) Put(ctx context.Context, r ledger.Record) error {
	l.puts++
	if slices.Contains(l.failOn, l.puts) {
		return errors.New("throttled")
	}
	return l.Ledger.Put(ctx, r)
}

func testPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sample reads the real-shaped event from events/ (as if pushed in the hub
// account, where the example policy delivers checkout from) and lets a test
// change its detail.
func sample(t *testing.T, edit func(d map[string]any)) events.CloudWatchEvent {
	t.Helper()
	raw, err := os.ReadFile("../../events/codecommit-push.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("events/codecommit-push.json does not decode: %v", err)
	}
	if edit != nil {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		edit(d)
		ev.Detail, _ = json.Marshal(d)
	}
	return ev
}

type fixture struct {
	h      *Handler
	ledger ledger.Ledger
	repo   *repo
	pub    *publisher
	count  counter
}

func newFixture(t *testing.T, l ledger.Ledger, r *repo) *fixture {
	f := &fixture{ledger: l, repo: r, pub: &publisher{}, count: counter{}}
	f.h = NewHandler(testPolicy(t), r.in(t), l, f.pub, f.count)
	return f
}

func (f *fixture) commits(t *testing.T) []*ledger.Commit {
	t.Helper()
	var out []*ledger.Commit
	for _, sha := range []string{root, old, middle, head} {
		recs, err := f.ledger.ByCommit(context.Background(), sha)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			out = append(out, r.(*ledger.Commit))
		}
	}
	return out
}

func TestPushRecordsEachNewCommitWithItsMetadata(t *testing.T) {
	f := newFixture(t, ledger.NewMemory(), newRepo(root, old, middle, head))
	ev := sample(t, nil)

	got, err := f.h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != source.OutcomeRecorded || got.App != "checkout" || got.Commit != head || !slices.Equal(got.Commits, []string{head, middle}) {
		t.Errorf("Handle() = %+v, want recorded commits [head middle] of checkout", got)
	}
	recs := f.commits(t)
	if len(recs) != 2 {
		t.Fatalf("ledger holds %d commits, want 2 (old was pushed before)", len(recs))
	}
	c := recs[1] // head
	if c.ID != head || c.Repo != "checkout-service" || c.Branch != "main" || c.Author != "Dana Okafor <dana@example.com>" ||
		c.Message != "change 3" || !strings.HasSuffix(c.Pusher, "/dana.okafor") || !c.At.Equal(ev.Time) {
		t.Errorf("head record = %+v", c)
	}
	if want := time.Unix(1763371180, 0); !c.CommittedAt.Equal(want) {
		t.Errorf("head CommittedAt = %v, want the committer date %v", c.CommittedAt, want)
	}
	if n := f.count[telemetry.MetricCommitsRecorded+"/checkout"]; n != 2 {
		t.Errorf("%s = %v, want 2", telemetry.MetricCommitsRecorded, n)
	}
	if len(f.pub.events) != 2 || f.pub.events[1].Detail.(source.Recorded).Commit != head {
		t.Errorf("published %+v, want one Commit Recorded per commit, oldest first", f.pub.events)
	}
}

func TestRedeliveryRecordsNothingTwice(t *testing.T) {
	f := newFixture(t, ledger.NewMemory(), newRepo(root, old, middle, head))
	ev := sample(t, nil)
	for i, want := range []source.Outcome{source.OutcomeRecorded, source.OutcomeDuplicate, source.OutcomeDuplicate} {
		got, err := f.h.Handle(context.Background(), ev)
		if err != nil || got.Outcome != want {
			t.Errorf("delivery %d: Handle() = %v, %v; want %v", i+1, got.Outcome, err, want)
		}
	}
	if n := len(f.commits(t)); n != 2 {
		t.Errorf("after three deliveries the ledger holds %d commits, want 2", n)
	}
	if n := f.count[telemetry.MetricCommitsRecorded+"/checkout"]; n != 2 {
		t.Errorf("%s = %v after redeliveries, want 2", telemetry.MetricCommitsRecorded, n)
	}
}

// A write that fails half-way leaves the oldest commits recorded; the retry's
// walk stops at the newest recorded one and records the rest.
func TestRetryAfterPartialFailureRecordsTheRest(t *testing.T) {
	l := &flakyLedger{Ledger: ledger.NewMemory(), failOn: []int{2}}
	f := newFixture(t, l, newRepo(root, old, middle, head))
	ev := sample(t, nil)

	if _, err := f.h.Handle(context.Background(), ev); err == nil {
		t.Fatal("Handle() with a failing ledger = nil error, want one for a retry")
	}
	got, err := f.h.Handle(context.Background(), ev)
	if err != nil || got.Outcome != source.OutcomeRecorded || !slices.Equal(got.Commits, []string{head}) {
		t.Fatalf("retry: Handle() = %+v, %v; want head recorded", got, err)
	}
	if n := len(f.commits(t)); n != 2 {
		t.Errorf("ledger holds %d commits after the retry, want 2", n)
	}
}

func TestNewBranchStopsWhereItForked(t *testing.T) {
	f := newFixture(t, ledger.NewMemory(), newRepo(root, old, middle, head))
	// old was recorded when main was pushed.
	if err := f.ledger.Put(context.Background(), &ledger.Commit{Header: ledger.Header{ID: old, Commit: old, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	ev := sample(t, func(d map[string]any) { d["event"] = "referenceCreated"; delete(d, "oldCommitId") })
	got, err := f.h.Handle(context.Background(), ev)
	if err != nil || !slices.Equal(got.Commits, []string{head, middle}) {
		t.Errorf("Handle() = %+v, %v; want commits [head middle]", got, err)
	}
}

func TestLongPushIsTruncated(t *testing.T) {
	chain := []string{root}
	for i := range source.MaxCommitsPerPush + 5 {
		chain = append(chain, fmt.Sprintf("%040x", i+2))
	}
	r := newRepo(chain...)
	f := newFixture(t, ledger.NewMemory(), r)
	ev := sample(t, func(d map[string]any) { d["commitId"] = chain[len(chain)-1]; d["oldCommitId"] = root })
	got, err := f.h.Handle(context.Background(), ev)
	if err != nil || !got.Truncated || len(got.Commits) != source.MaxCommitsPerPush {
		t.Errorf("Handle() = %d commits, truncated %v, %v; want %d, true", len(got.Commits), got.Truncated, err, source.MaxCommitsPerPush)
	}
	if len(r.calls) != source.MaxCommitsPerPush {
		t.Errorf("GetCommit calls = %d, want %d", len(r.calls), source.MaxCommitsPerPush)
	}
}

func TestFailuresARetryCanFixAreReturned(t *testing.T) {
	tests := []struct {
		name   string
		repo   func(r *repo)
		ledger ledger.Ledger
		pub    error
	}{
		{"codecommit unavailable", func(r *repo) { r.fail = errors.New("503") }, ledger.NewMemory(), nil},
		{"ledger throttled", func(*repo) {}, &flakyLedger{Ledger: ledger.NewMemory(), failOn: []int{1}}, nil},
		{"bus throttled", func(*repo) {}, ledger.NewMemory(), errors.New("throttled")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(root, old, middle, head)
			tt.repo(r)
			f := newFixture(t, tt.ledger, r)
			f.pub.fail = tt.pub
			if _, err := f.h.Handle(context.Background(), sample(t, nil)); err == nil {
				t.Error("Handle() = nil error, want one so the event is retried")
			}
		})
	}
}

func TestEventsThatAreNotPushesAreAcknowledged(t *testing.T) {
	tests := []struct {
		name string
		give func(ev *events.CloudWatchEvent) events.CloudWatchEvent
		want string
	}{
		{"tag", edit(t, func(d map[string]any) { d["referenceType"] = "tag" }), `reference type "tag"`},
		{"deleted branch", edit(t, func(d map[string]any) { d["event"] = "referenceDeleted" }), `event "referenceDeleted"`},
		{"unknown repository", edit(t, func(d map[string]any) { d["repositoryName"] = "other" }), `repository "other" belongs to no app`},
		{"no commit", edit(t, func(d map[string]any) { delete(d, "commitId") }), "commitId"},
		{"detail not an object", edit(t, func(d map[string]any) { clear(d); d["event"] = []int{1} }), "undecodable detail"},
		{"commit unknown to CodeCommit", edit(t, func(d map[string]any) { d["commitId"] = "feedfeedfeedfeedfeedfeedfeedfeedfeedfeed" }), "no such commit"},
		{"another account", func(ev *events.CloudWatchEvent) events.CloudWatchEvent { ev.AccountID = "999999999999"; return *ev },
			"from account 999999999999, but app checkout is delivered from account 222222222222"},
		{"no time", func(ev *events.CloudWatchEvent) events.CloudWatchEvent { ev.Time = time.Time{}; return *ev }, "event time missing"},
		{"pull request state change", func(ev *events.CloudWatchEvent) events.CloudWatchEvent {
			ev.DetailType = "CodeCommit Pull Request State Change"
			return *ev
		}, `"CodeCommit Pull Request State Change" from "aws.codecommit" is not a "CodeCommit Repository State Change" event`},
		{"comment on a commit", func(ev *events.CloudWatchEvent) events.CloudWatchEvent {
			ev.DetailType = "CodeCommit Comment on Commit"
			return *ev
		}, `"CodeCommit Comment on Commit" from "aws.codecommit" is not a`},
		{"same detail from another source", func(ev *events.CloudWatchEvent) events.CloudWatchEvent { ev.Source = "com.example.git"; return *ev },
			`"CodeCommit Repository State Change" from "com.example.git" is not a`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ledger.NewMemory(), newRepo(root, old, middle, head))
			ev := sample(t, nil)
			res, err := f.h.Handle(context.Background(), tt.give(&ev))
			if err != nil {
				t.Fatalf("Handle() error = %v, want nil: a retry cannot fix bad input", err)
			}
			if res.Outcome != source.OutcomeIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("Handle() = %+v, want ignored with reason containing %q", res, tt.want)
			}
			if len(f.pub.events) != 0 || len(f.commits(t)) != 0 {
				t.Errorf("an ignored push published %d events and recorded %d commits", len(f.pub.events), len(f.commits(t)))
			}
		})
	}
}

// The push rule names the delivery accounts, not the repositories: a push to
// a repository no app has, in an account an app is delivered from, reaches the
// push function, which records nothing and says why.
func TestPushToARepositoryNoAppHasIsRoutedThenIgnored(t *testing.T) {
	tests := []struct {
		name       string
		repository string
		wantReason string
	}{
		{name: "another team's repository", repository: "ledger-service", wantReason: `repository "ledger-service" belongs to no app in the policy`},
		{name: "a name that differs in case", repository: "Checkout-Service", wantReason: `repository "Checkout-Service" belongs to no app in the policy`},
	}
	router, err := route.NewRouter(route.Routes(testPolicy(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := sample(t, func(d map[string]any) { d["repositoryName"] = tt.repository })
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if fns, err := router.Functions(raw); err != nil || !slices.Equal(fns, []string{route.FunctionPush}) {
				t.Fatalf("Functions(push to %s from %s) = %v, %v; want [push]", tt.repository, ev.AccountID, fns, err)
			}
			f := newFixture(t, ledger.NewMemory(), newRepo(root, old, middle, head))
			res, err := f.h.Handle(context.Background(), ev)
			if err != nil || res.Outcome != source.OutcomeIgnored || res.Reason != tt.wantReason {
				t.Errorf("Handle(push to %s) = %+v, %v; want ignored: %s", tt.repository, res, err, tt.wantReason)
			}
			if len(f.pub.events) != 0 || len(f.commits(t)) != 0 || len(f.repo.calls) != 0 {
				t.Errorf("an ignored push published %d events, recorded %d commits, read %d from CodeCommit", len(f.pub.events), len(f.commits(t)), len(f.repo.calls))
			}
		})
	}
}

// edit changes the detail of the event it is given.
func edit(t *testing.T, change func(d map[string]any)) func(ev *events.CloudWatchEvent) events.CloudWatchEvent {
	return func(ev *events.CloudWatchEvent) events.CloudWatchEvent {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		change(d)
		ev.Detail, _ = json.Marshal(d)
		return *ev
	}
}

// Through the wire-level fake, the real CodeCommit client's GetCommit is
// serialized, retried when throttled, and its answer parsed.
func TestGetCommitThroughTheSDK(t *testing.T) {
	srv := awsfake.New(t)
	srv.OnFunc("GetCommit", func(r awsfake.Request) awsfake.Response {
		var in struct{ RepositoryName, CommitId string }
		if err := r.DecodeJSON(&in); err != nil || in.RepositoryName != "checkout-service" {
			return awsfake.APIError(400, "InvalidRepositoryNameException", fmt.Sprint(in.RepositoryName, err))
		}
		if in.CommitId == "missing" {
			return awsfake.APIError(400, "CommitIdDoesNotExistException", "no commit missing")
		}
		return awsfake.JSON(200, `{"commit":{"commitId":"`+in.CommitId+`","message":"Fix rounding in totals\n\nDetails.",
			"parents":["`+old+`"],"author":{"name":"Dana Okafor","email":"dana@example.com","date":"1763372538 -0800"},
			"committer":{"name":"Dana Okafor","email":"dana@example.com","date":"1763372600 -0800"}}}`)
	})
	srv.Inject(awsfake.Fault{Operation: "GetCommit", Kind: awsfake.Throttle, First: 1})
	cc := codecommit.NewFromConfig(srv.Config())

	got, err := getCommit(context.Background(), cc, "checkout-service", head)
	if err != nil {
		t.Fatal(err)
	}
	if got.Author != "Dana Okafor <dana@example.com>" || got.Message != "Fix rounding in totals\n\nDetails." ||
		!got.CommittedAt.Equal(time.Unix(1763372600, 0)) || !slices.Equal(got.parents, []string{old}) {
		t.Errorf("getCommit() = %+v", got)
	}
	if _, off := got.CommittedAt.Zone(); off != -8*3600 {
		t.Errorf("committedAt zone offset = %d, want -8h as CodeCommit gave it", off)
	}
	if n := len(srv.Calls("GetCommit")); n != 2 {
		t.Errorf("GetCommit calls = %d, want 2 (one throttled, retried)", n)
	}
	if _, err := getCommit(context.Background(), cc, "checkout-service", "missing"); !notFound(err) {
		t.Errorf("getCommit(missing) error = %v, want a not-found error", err)
	}
}

func TestParseGitDate(t *testing.T) {
	tests := []struct {
		give    string
		want    time.Time
		wantErr bool
	}{
		{"1484167798 -0800", time.Unix(1484167798, 0), false},
		{"1484167798 +0530", time.Unix(1484167798, 0), false},
		{"1484167798", time.Unix(1484167798, 0), false},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseGitDate(tt.give)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseGitDate(%q) = %v, %v; want %v (error %v)", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}
