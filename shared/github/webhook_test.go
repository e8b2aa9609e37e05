package github_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// The keys of the webhook's secret: the current one, and the one before a
// rotation.
var (
	key    = []byte("q7Vx2mR9tL4wZ8nK3pH6sB1cF5gJ0dY7-current-webhook-key")
	oldKey = []byte("U2e9Wq4Zr7Ty1Io5Pa8Sd3Fg6Hj0Kl2M-previous-webhook-key")
)

// The commit of octokit's push example (testdata/octokit/push/with-new-branch.payload.json).
const (
	exampleCommit = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
	exampleRepo   = "Codertocat/Hello-World"
)

// examplePolicy makes the repository of GitHub's examples an app's.
const examplePolicy = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments: [{name: dev, account: "222222222222", region: eu-west-1}]
  - name: hello
    github: {repository: codertocat/hello-world}
    environments: [{name: dev, account: "222222222222", region: eu-west-1}]
`

// publisher is a hand-written fake of bus.Publisher that keeps what it is
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

// failingPuts fails the ledger's Put calls numbered (from 1) in failOn.
type failingPuts struct {
	ledger.Ledger
	puts   int
	failOn []int
}

func (l *failingPuts) Put(ctx context.Context, r ledger.Record) error {
	l.puts++
	if slices.Contains(l.failOn, l.puts) {
		return errors.New("ProvisionedThroughputExceededException")
	}
	return l.Ledger.Put(ctx, r)
}

// fixture is a webhook over an in-memory ledger, with the current and
// previous keys.
type fixture struct {
	hook    *github.Webhook
	ledger  ledger.Ledger
	pub     *publisher
	metrics *telemetrytest.Recorder
	clock   *clocktest.Clock
	loads   int
	keys    [][]byte
}

func newFixture(t *testing.T, l ledger.Ledger) *fixture {
	t.Helper()
	telemetrytest.DiscardLogs(t)
	p, err := policy.Parse([]byte(examplePolicy), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ledger: l, pub: &publisher{}, metrics: &telemetrytest.Recorder{},
		clock: clocktest.New(time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)), keys: [][]byte{key, oldKey}}
	secret, err := github.NewSecret(context.Background(), func(context.Context) ([][]byte, error) {
		f.loads++
		return f.keys, nil
	}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.hook = github.New(github.Config{Policy: p, Secret: secret, Ledger: l, Bus: f.pub, Metrics: f.metrics, Now: f.clock.Now})
	return f
}

// octokit reads one of GitHub's example payloads.
func octokit(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readOctokit(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readOctokit(name string) ([]byte, error) { return os.ReadFile("testdata/octokit/" + name) }

// derived is GitHub's example payload name with edit applied: the shapes
// GitHub publishes no example of.
func derived(t *testing.T, name string, edit func(p map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(octokit(t, name), &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is a delivery as a function URL passes it to the function: body
// signed with signingKey (nil: unsigned).
func request(event, delivery string, body, signingKey []byte) events.LambdaFunctionURLRequest {
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/",
		Headers: map[string]string{
			"content-type": "application/json", "user-agent": "GitHub-Hookshot/4d63832",
			"x-github-event": event, "x-github-delivery": delivery, "x-github-hook-id": "109948940",
		},
		Body: string(body),
	}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.HTTP.SourceIP = "140.82.115.1"
	if signingKey != nil {
		ev.Headers["x-hub-signature-256"] = github.Sign(signingKey, body)
	}
	return ev
}

// deliver hands ev to the webhook and decodes its answer.
func (f *fixture) deliver(t *testing.T, ev events.LambdaFunctionURLRequest) (int, github.Answer) {
	t.Helper()
	resp, err := f.hook.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle() error = %v, want every outcome answered", err)
	}
	var a github.Answer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatalf("answer %q is not JSON: %v", resp.Body, err)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", resp.Headers["Content-Type"])
	}
	return resp.StatusCode, a
}

// commits returns the commit records of sha.
func (f *fixture) commits(t *testing.T, sha string) []*ledger.Commit {
	t.Helper()
	recs, err := f.ledger.ByCommit(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ledger.Commit
	for _, r := range recs {
		if c, ok := r.(*ledger.Commit); ok {
			out = append(out, c)
		}
	}
	return out
}

func (f *fixture) counted() int { return len(f.metrics.Values(telemetry.MetricCommitsRecorded)) }

func TestPushIsRecordedAsCodeCommitPushesAre(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	status, a := f.deliver(t, request("push", "c7a2e3f0-5b1e-11ef-8f1a-7c3d2e4f5a6b", octokit(t, "push/with-new-branch.payload.json"), key))

	if status != http.StatusOK || a.Outcome != source.OutcomeRecorded || a.App != "hello" || a.Commit != exampleCommit ||
		!slices.Equal(a.Commits, []string{exampleCommit}) || a.Delivery != "c7a2e3f0-5b1e-11ef-8f1a-7c3d2e4f5a6b" {
		t.Errorf("answer = %d %+v, want 200, commit %s of hello recorded", status, a, exampleCommit)
	}
	recs := f.commits(t, exampleCommit)
	if len(recs) != 1 {
		t.Fatalf("ledger holds %d records of the commit, want 1", len(recs))
	}
	// What CodeCommit's push records: repository, branch, author, subject,
	// commit time (lead time starts there), who pushed, and when.
	want := ledger.Commit{
		Header:      ledger.Header{Kind: ledger.KindCommit, ID: exampleCommit, Commit: exampleCommit, App: "hello", At: time.Unix(1557933657, 0).UTC(), Version: 1},
		Repo:        exampleRepo,
		Branch:      "master",
		Pusher:      "Codertocat",
		Author:      "Codertocat <21031067+Codertocat@users.noreply.github.com>",
		Message:     "Initial commit",
		CommittedAt: time.Date(2019, 5, 15, 15, 19, 25, 0, time.UTC),
	}
	got := *recs[0]
	if !got.CommittedAt.Equal(want.CommittedAt) || !got.At.Equal(want.At) {
		t.Errorf("times: committed %v, pushed %v; want %v, %v", got.CommittedAt, got.At, want.CommittedAt, want.At)
	}
	got.CommittedAt, got.At = want.CommittedAt, want.At
	if got != want {
		t.Errorf("commit record =\n%+v\nwant\n%+v", got, want)
	}
	if at, err := ledger.CommittedAt(context.Background(), f.ledger, exampleCommit); err != nil || !at.Equal(want.CommittedAt) {
		t.Errorf("lead time starts at %v (%v), want the commit's time %v", at, err, want.CommittedAt)
	}
	if n := f.counted(); n != 1 {
		t.Errorf("%s = %d, want 1", telemetry.MetricCommitsRecorded, n)
	}
	if len(f.pub.events) != 1 || f.pub.events[0].DetailType != source.DetailTypeCommitRecorded {
		t.Fatalf("published %+v, want one Commit Recorded", f.pub.events)
	}
	if d := f.pub.events[0].Detail.(source.Recorded); d.App != "hello" || d.Repository != exampleRepo || d.Branch != "master" ||
		d.Commit != exampleCommit || d.Pusher != "Codertocat" || !d.PushedAt.Equal(want.At) {
		t.Errorf("Commit Recorded detail = %+v", d)
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	body := octokit(t, "push/with-new-branch.payload.json")
	const id = "c7a2e3f0-5b1e-11ef-8f1a-7c3d2e4f5a6b"
	if status, a := f.deliver(t, request("push", id, body, key)); status != http.StatusOK || a.Outcome != source.OutcomeRecorded {
		t.Fatalf("first delivery = %d %+v, want recorded", status, a)
	}
	before := f.commits(t, exampleCommit)

	// GitHub's Redeliver sends the same body, signature and delivery id, an
	// hour later.
	f.clock.Advance(time.Hour)
	for i := range 2 {
		status, a := f.deliver(t, request("push", id, body, key))
		if status != http.StatusOK || a.Outcome != source.OutcomeDuplicate || a.Commit != exampleCommit {
			t.Errorf("redelivery %d = %d %+v, want 200 duplicate", i+1, status, a)
		}
	}
	after := f.commits(t, exampleCommit)
	if len(after) != 1 || *after[0] != *before[0] {
		t.Errorf("after redeliveries the commit's records are %+v, want %+v unchanged", after, before)
	}
	if n := f.counted(); n != 1 {
		t.Errorf("%s = %d after redeliveries, want 1", telemetry.MetricCommitsRecorded, n)
	}
	if n := len(f.pub.events); n != 1 {
		t.Errorf("published %d events after redeliveries, want the first delivery's 1", n)
	}

	// The same push under another delivery id (a second webhook on the
	// organization) finds the commit recorded: nothing new is written.
	status, a := f.deliver(t, request("push", "0b9d7c2a-5b1f-11ef-9e2d-1a2b3c4d5e6f", body, key))
	if status != http.StatusOK || a.Outcome != source.OutcomeDuplicate || len(f.commits(t, exampleCommit)) != 1 || f.counted() != 1 {
		t.Errorf("another delivery of the push = %d %+v, want duplicate, nothing new recorded", status, a)
	}
}

func TestSignatures(t *testing.T) {
	body := octokit(t, "push/with-new-branch.payload.json")
	tests := []struct {
		name      string
		give      events.LambdaFunctionURLRequest
		wantCode  int
		wantError string
	}{
		{"current key", request("push", "d-1", body, key), http.StatusOK, ""},
		{"previous key, during a rotation", request("push", "d-2", body, oldKey), http.StatusOK, ""},
		{"base64 body, signed as GitHub sent it", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-3", body, key)
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			return ev
		}(), http.StatusOK, ""},
		{"missing header", request("push", "d-4", body, nil), http.StatusUnauthorized, "no X-Hub-Signature-256"},
		{"wrong secret", request("push", "d-5", body, []byte("a-secret-that-is-not-highways-0123456789")), http.StatusForbidden, "does not match the body"},
		{"body changed on the way", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-6", body, key)
			ev.Body = strings.Replace(ev.Body, "Initial commit", "Initial commit!", 2)
			return ev
		}(), http.StatusForbidden, "does not match the body"},
		{"SHA-1 signature only", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-7", body, nil)
			ev.Headers["x-hub-signature"] = "sha1=" + strings.Repeat("0", 40)
			return ev
		}(), http.StatusUnauthorized, "no X-Hub-Signature-256"},
		{"not hex", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-8", body, key)
			ev.Headers["x-hub-signature-256"] = "sha256=" + strings.Repeat("z", 64)
			return ev
		}(), http.StatusForbidden, "does not match the body"},
		{"header in other case", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-9", body, nil)
			ev.Headers["X-Hub-Signature-256"] = github.Sign(key, body)
			return ev
		}(), http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ledger.NewMemory())
			status, a := f.deliver(t, tt.give)
			if status != tt.wantCode || !strings.Contains(a.Error, tt.wantError) {
				t.Errorf("answer = %d %+v, want %d %q", status, a, tt.wantCode, tt.wantError)
			}
			recorded := len(f.commits(t, exampleCommit))
			if wantRecorded := tt.wantCode == http.StatusOK; (recorded == 1) != wantRecorded {
				t.Errorf("ledger holds %d records of the commit; recorded = %v, want %v", recorded, recorded == 1, wantRecorded)
			}
			if tt.wantCode != http.StatusOK && len(f.pub.events) != 0 {
				t.Errorf("a refused delivery published %d events", len(f.pub.events))
			}
		})
	}
}

// A rotation puts a new current key in Secrets Manager while the function
// runs: within ReloadAfter the running function reads it, once however many
// bad signatures arrive.
func TestRotationReachesARunningFunction(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	newKey := []byte("Zx8Cv7Bn6Mq5Wa4Es3Rd2Tf1Gy0Hu9J-new-webhook-key")
	f.keys = [][]byte{newKey, key}
	body := octokit(t, "push/with-new-branch.payload.json")

	for i := range 3 {
		f.clock.Advance(10 * time.Second)
		if status, _ := f.deliver(t, request("push", fmt.Sprintf("d-%d", i), body, newKey)); status != http.StatusForbidden {
			t.Errorf("delivery %d, %v after start, signed with the new key = %d, want 403 until the keys may be read again", i+1, 10*time.Second*time.Duration(i+1), status)
		}
	}
	if f.loads != 1 {
		t.Errorf("the secret was read %d times within %v, want once (at start)", f.loads, github.ReloadAfter)
	}
	f.clock.Advance(github.ReloadAfter)
	if status, a := f.deliver(t, request("push", "d-after", body, newKey)); status != http.StatusOK || a.Outcome != source.OutcomeRecorded {
		t.Errorf("delivery signed with the new key after %v = %d %+v, want recorded", github.ReloadAfter, status, a)
	}
	if f.loads != 2 {
		t.Errorf("the secret was read %d times, want twice", f.loads)
	}
	// A flood of forgeries after that reads it no more often.
	for i := range 20 {
		f.deliver(t, request("push", fmt.Sprintf("forged-%d", i), body, []byte("forged-forged-forged-forged-forged-0")))
	}
	if f.loads != 2 {
		t.Errorf("20 forgeries within a minute read the secret %d times in all, want still 2", f.loads)
	}
}

func TestSecretRefusesShortKeys(t *testing.T) {
	_, err := github.NewSecret(context.Background(), func(context.Context) ([][]byte, error) {
		return [][]byte{key, []byte("short")}, nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "key 1 is 5 bytes") {
		t.Errorf("NewSecret(short previous key) error = %v, want the short key refused", err)
	}
}

// A body larger than any GitHub delivery is refused before it is decoded
// or hashed: a 30 MB body, in base64 that would not even decode, is 413.
func TestBodyLargerThanGitHubSendsIsRefused(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	huge := strings.Repeat("!", 30<<20)
	tests := []struct {
		name string
		give events.LambdaFunctionURLRequest
	}{
		{"30 MB of text", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-1", nil, nil)
			ev.Body = huge
			ev.Headers["x-hub-signature-256"] = github.Sign(key, []byte(huge))
			return ev
		}()},
		{"30 MB in base64, which would not even decode", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-2", nil, key)
			ev.Body, ev.IsBase64Encoded = strings.Repeat("!", base64.StdEncoding.EncodedLen(30<<20)), true
			return ev
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := f.deliver(t, tt.give)
			if status != http.StatusRequestEntityTooLarge || !strings.Contains(a.Error, "larger than any GitHub delivery") {
				t.Errorf("answer = %d %+v, want 413", status, a)
			}
		})
	}
	if len(f.pub.events) != 0 || f.counted() != 0 {
		t.Error("a refused body recorded something")
	}
	// A body of MaxBody is not refused for its size.
	ev := request("ping", "d-3", nil, nil)
	ev.Body = strings.Repeat(" ", github.MaxBody)
	if status, _ := f.deliver(t, ev); status == http.StatusRequestEntityTooLarge {
		t.Errorf("a body of MaxBody (%d bytes) = 413, want it read", github.MaxBody)
	}
}

func TestPingIsAnswered(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	ping := octokit(t, "ping/payload.json")
	status, a := f.deliver(t, request("ping", "d-ping", ping, key))
	if status != http.StatusOK || a.Outcome != github.OutcomePong ||
		!strings.Contains(a.Reason, "hook 109948940 reaches Highway, but Octocoders/Hello-World is no app's repository") {
		t.Errorf("ping of a repository no app has = %d %+v, want 200 pong, saying its pushes are ignored", status, a)
	}
	ours := derived(t, "ping/payload.json", func(p map[string]any) { p["repository"].(map[string]any)["full_name"] = exampleRepo })
	if status, a := f.deliver(t, request("ping", "d-ping-2", ours, key)); status != http.StatusOK || a.App != "hello" {
		t.Errorf("ping of hello's repository = %d %+v, want 200 naming app hello", status, a)
	}
	if status, _ := f.deliver(t, request("ping", "d-ping-3", ping, nil)); status != http.StatusUnauthorized {
		t.Errorf("unsigned ping = %d, want 401: a ping proves the secret too", status)
	}
}

func TestRequestsThatAreNotPushesAreRefused(t *testing.T) {
	body := octokit(t, "push/with-new-branch.payload.json")
	tests := []struct {
		name      string
		give      events.LambdaFunctionURLRequest
		wantCode  int
		wantError string
	}{
		{"another event", request("issues", "d-1", []byte(`{"action":"opened"}`), key), http.StatusUnprocessableEntity, `event "issues": Highway takes push events only`},
		{"no event header", request("", "d-2", body, key), http.StatusBadRequest, "no X-GitHub-Event"},
		{"no delivery header", request("push", "", body, key), http.StatusBadRequest, "is not a delivery id"},
		{"form content type", func() events.LambdaFunctionURLRequest {
			form := []byte("payload=" + string(body))
			ev := request("push", "d-3", form, key)
			ev.Headers["content-type"] = "application/x-www-form-urlencoded"
			return ev
		}(), http.StatusUnsupportedMediaType, "set the webhook's content type to application/json"},
		{"GET", func() events.LambdaFunctionURLRequest {
			ev := request("push", "d-4", body, key)
			ev.RequestContext.HTTP.Method = http.MethodGet
			return ev
		}(), http.StatusMethodNotAllowed, "GitHub delivers webhooks with POST"},
		{"not JSON", request("push", "d-5", []byte(`{"ref": "refs/heads/main",`), key), http.StatusBadRequest, "not JSON"},
		{"no pushed_at", request("push", "d-6", derived(t, "push/with-new-branch.payload.json", func(p map[string]any) {
			delete(p["repository"].(map[string]any), "pushed_at")
		}), key), http.StatusBadRequest, "no repository.pushed_at"},
		{"a commit id that is no SHA", request("push", "d-7", derived(t, "push/with-new-branch.payload.json", func(p map[string]any) {
			p["commits"].([]any)[0].(map[string]any)["id"] = "../../etc"
		}), key), http.StatusBadRequest, `commit id "../../etc" is not a SHA`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ledger.NewMemory())
			status, a := f.deliver(t, tt.give)
			if status != tt.wantCode || a.Outcome != github.OutcomeRefused || !strings.Contains(a.Error, tt.wantError) {
				t.Errorf("answer = %d %+v, want %d refused: %q", status, a, tt.wantCode, tt.wantError)
			}
			if len(f.pub.events) != 0 || f.counted() != 0 {
				t.Error("a refused request recorded something")
			}
		})
	}
}

func TestPushesWithoutCommitsToRecordAreAcknowledged(t *testing.T) {
	tests := []struct {
		name, wantReason string
		give             []byte
	}{
		// GitHub's example: the tag simple-tag deleted.
		{"tag deleted", "tag push refs/tags/simple-tag", octokit(t, "push/payload.json")},
		// Derived: a tag created at the example's commit, as GitHub sends it
		// (no commits, the tagged commit as head_commit).
		{"tag created", "tag push refs/tags/v1.0.0", derived(t, "push/with-new-branch.payload.json", func(p map[string]any) {
			p["ref"], p["created"], p["commits"] = "refs/tags/v1.0.0", true, []any{}
		})},
		{"branch deleted", "branch master of Codertocat/Hello-World deleted", derived(t, "push/payload.json", func(p map[string]any) {
			p["ref"] = "refs/heads/master"
		})},
		{"repository of no app", `repository "Octocoders/Hello-World" is no app's`, derived(t, "push/with-new-branch.payload.json", func(p map[string]any) {
			p["repository"].(map[string]any)["full_name"] = "Octocoders/Hello-World"
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ledger.NewMemory())
			status, a := f.deliver(t, request("push", "d-1", tt.give, key))
			if status != http.StatusOK || a.Outcome != source.OutcomeIgnored || !strings.Contains(a.Reason, tt.wantReason) {
				t.Errorf("answer = %d %+v, want 200 ignored: %q", status, a, tt.wantReason)
			}
			if n := len(f.commits(t, exampleCommit)); n != 0 || len(f.pub.events) != 0 {
				t.Errorf("recorded %d commits and published %d events, want none", n, len(f.pub.events))
			}
		})
	}
}

// pushOf200 is GitHub's example push with 200 commits, the example's own last
// (the head), each the next one's parent, a minute apart: derived, since
// GitHub publishes no example this long.
func pushOf200(t *testing.T) ([]byte, []string) {
	t.Helper()
	var shas []string
	body := derived(t, "push/with-new-branch.payload.json", func(p map[string]any) {
		tpl := p["commits"].([]any)[0].(map[string]any)
		var commits []any
		for i := range 200 {
			c := map[string]any{}
			for k, v := range tpl {
				c[k] = v
			}
			c["id"] = fmt.Sprintf("%040x", 0xa000+i)
			if i == 199 {
				c["id"] = exampleCommit
			}
			c["message"] = fmt.Sprintf("Change %d\n\nWhy it changed.", i+1)
			c["timestamp"] = time.Date(2019, 5, 15, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
			shas = append(shas, c["id"].(string))
			commits = append(commits, c)
		}
		p["commits"] = commits
	})
	return body, shas
}

// A push of 200 commits reaches the webhook whole (GitHub's webhook
// deliveries carry up to 2048): Highway records the newest 50, the head
// among them, as it does for CodeCommit, and says so.
func TestPushOf200CommitsRecordsTheNewest(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	body, shas := pushOf200(t)
	status, a := f.deliver(t, request("push", "d-200", body, key))
	if status != http.StatusOK || a.Outcome != source.OutcomeRecorded || !a.Truncated ||
		!strings.Contains(a.Reason, "more than 50 commits: the newest 50 are recorded") {
		t.Fatalf("answer = %d %+v, want recorded, truncated, saying so", status, a)
	}
	newest := slices.Clone(shas[150:])
	slices.Reverse(newest)
	if !slices.Equal(a.Commits, newest) {
		t.Errorf("recorded %d commits %v…, want the newest 50, head first", len(a.Commits), a.Commits[:min(3, len(a.Commits))])
	}
	for i, sha := range shas {
		n := len(f.commits(t, sha))
		if want := i >= 150; (n == 1) != want {
			t.Errorf("commit %d (%s) has %d records, want recorded = %v", i+1, sha[:8], n, want)
		}
	}
	head := f.commits(t, exampleCommit)[0]
	if head.Message != "Change 200" || !head.CommittedAt.Equal(time.Date(2019, 5, 15, 15, 19, 0, 0, time.UTC)) {
		t.Errorf("head record = %+v, want its subject and timestamp", head)
	}
	if n := f.counted(); n != 50 {
		t.Errorf("%s = %d, want 50", telemetry.MetricCommitsRecorded, n)
	}
}

// A commit recorded before, pushed to another branch, keeps its timeline:
// only the head is recorded again, as a CodeCommit push's walk stops at a
// commit recorded before.
func TestCommitsRecordedBeforeAreNotRecordedAgain(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	body, shas := pushOf200(t)
	earlier := shas[198]
	if err := f.ledger.Put(context.Background(), &ledger.Commit{Header: ledger.Header{ID: earlier, Commit: earlier, App: "hello",
		At: time.Date(2019, 5, 15, 15, 0, 0, 0, time.UTC)}, Repo: exampleRepo, Branch: "feature"}); err != nil {
		t.Fatal(err)
	}
	status, a := f.deliver(t, request("push", "d-merge", body, key))
	if status != http.StatusOK || slices.Contains(a.Commits, earlier) || a.Commits[0] != exampleCommit {
		t.Errorf("answer = %d, commits %v…; want the head, not %s", status, a.Commits[:2], earlier[:8])
	}
	if recs := f.commits(t, earlier); len(recs) != 1 || recs[0].Branch != "feature" {
		t.Errorf("records of the earlier commit = %+v, want the feature branch's alone", recs)
	}
}

// A delivery that fails half-way is answered 500 and leaves its claim free:
// GitHub's Redeliver then records what is missing.
func TestRedeliveryAfterAFailureRecordsTheRest(t *testing.T) {
	l := &failingPuts{Ledger: ledger.NewMemory(), failOn: []int{3}} // the claim takes 1, the first commit 2
	f := newFixture(t, l)
	body, shas := pushOf200(t)
	const id = "d-flaky"
	if status, a := f.deliver(t, request("push", id, body, key)); status != http.StatusInternalServerError ||
		a.Outcome != github.OutcomeFailed || !strings.Contains(a.Error, "redeliver it") {
		t.Fatalf("delivery with the ledger failing = %d %+v, want 500 asking for a redelivery", status, a)
	}
	status, a := f.deliver(t, request("push", id, body, key))
	if status != http.StatusOK || a.Outcome != source.OutcomeRecorded || len(a.Commits) != 50 {
		t.Fatalf("redelivery = %d %+v, want the push recorded", status, a)
	}
	for _, sha := range shas[150:] {
		if n := len(f.commits(t, sha)); n != 1 {
			t.Errorf("commit %s has %d records after the redelivery, want 1", sha[:8], n)
		}
	}
	if n := f.counted(); n != 50 {
		t.Errorf("%s = %d, want 50 (each commit counted once)", telemetry.MetricCommitsRecorded, n)
	}
	if status, a := f.deliver(t, request("push", id, body, key)); status != http.StatusOK || a.Outcome != source.OutcomeDuplicate {
		t.Errorf("a third delivery = %d %+v, want duplicate", status, a)
	}
}

func TestBusFailureIsAnswered500(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	f.pub.fail = errors.New("ThrottlingException")
	body := octokit(t, "push/with-new-branch.payload.json")
	if status, _ := f.deliver(t, request("push", "d-bus", body, key)); status != http.StatusInternalServerError {
		t.Errorf("delivery with the bus failing = %d, want 500", status)
	}
	f.pub.fail = nil
	if status, a := f.deliver(t, request("push", "d-bus", body, key)); status != http.StatusOK || len(f.pub.events) != 1 {
		t.Errorf("redelivery = %d %+v, %d events; want the commit announced", status, a, len(f.pub.events))
	}
}
