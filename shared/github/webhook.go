package github

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
)

// MaxBody is the largest body the webhook reads, in bytes: GitHub caps a
// delivery's payload at 25 MB and sends nothing larger. A larger request is
// refused before any of it is decoded or hashed. (A Lambda function URL
// refuses requests over 6 MB itself; the bound holds wherever the handler
// runs.)
const MaxBody = 25 << 20

// Ledger keys of deliveries: the claim of delivery <id> is the lock
// deliveryKey<id>, remembered under the once-key deliveryKey<id>.
const deliveryKey = "github-delivery:"

// keepDeliveries is how long a delivery's claim is remembered: GitHub lets
// people redeliver the deliveries of the last 3 days. A redelivery after that
// finds the commits recorded, and only announces them again.
const keepDeliveries = 30 * 24 * time.Hour

// claimLease is how long a delivery's claim is held before another delivery
// of it may take it over: longer than the function's timeout.
const claimLease = 2 * time.Minute

// OutcomePong is the outcome of a ping: GitHub reached Highway, and the
// signature verified.
const OutcomePong source.Outcome = "pong"

// The outcomes of deliveries that record nothing, beyond source's.
const (
	// OutcomeBusy says another delivery of the same id is recording the push now.
	OutcomeBusy source.Outcome = "busy"
	// OutcomeRefused says the delivery was refused: Answer.Error says why.
	OutcomeRefused source.Outcome = "refused"
	// OutcomeFailed says recording failed for a reason a redelivery may fix.
	OutcomeFailed source.Outcome = "failed"
)

// deliveryID is what a GitHub delivery id looks like: a GUID.
var deliveryID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// LedgerActions are the DynamoDB actions the webhook takes on the ledger:
// queries of the table's own partitions and conditional puts, alone or in a
// transaction. The CDK app grants the webhook function these and no other.
func LedgerActions() []string { return ledger.WriteActions() }

// LedgerPartitions are the partition keys of the ledger items the webhook
// reads and writes, as IAM string patterns for dynamodb:LeadingKeys: commits,
// the claims of deliveries and the markers that remember them (the ledger's
// layout: commit#<sha>, <kind>#<id> for a record filed without a commit,
// once#<key> for a RecordOnce marker). The CDK app limits the webhook
// function to them.
func LedgerPartitions() []string {
	return []string{
		"commit#*",
		string(ledger.KindLock) + "#" + deliveryKey + "*",
		"once#" + deliveryKey + "*",
	}
}

// DetailTypes are the detail types the webhook publishes: all it may put on
// the bus.
func DetailTypes() []string { return []string{source.DetailTypeCommitRecorded} }

// Config is what a Webhook needs.
type Config struct {
	// Policy names the apps and their GitHub repositories.
	Policy *policy.Policy
	// Secret verifies the deliveries' signatures.
	Secret *Secret
	// Ledger keeps the commits and the deliveries' claims.
	Ledger ledger.Ledger
	// Bus receives "Commit Recorded" events.
	Bus bus.Publisher
	// Metrics counts new commits.
	Metrics telemetry.Putter
	// Now is the clock of the deliveries' claims; default time.Now.
	Now func() time.Time
}

// Webhook handles GitHub's deliveries to the webhook function's URL.
type Webhook struct {
	cfg Config
}

// New returns the webhook handler of cfg.
func New(cfg Config) *Webhook {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg}
}

// Answer is the JSON body of every response: GitHub shows it with the
// delivery, so it says what Highway did, or why it refused.
type Answer struct {
	// Delivery is the X-GitHub-Delivery answered.
	Delivery string `json:"delivery,omitempty"`
	// Error says why the delivery was refused.
	Error string `json:"error,omitempty"`
	source.Result
}

// refusal is a delivery refused with an HTTP status, and the reason given.
type refusal struct {
	status int
	reason string
}

func (r *refusal) Error() string { return r.reason }

func refuse(status int, format string, args ...any) error {
	return &refusal{status: status, reason: fmt.Sprintf(format, args...)}
}

// Handle answers one request to the function URL. It returns an error never:
// every outcome is a response, and GitHub shows its status and body with the
// delivery. A delivery that failed for a reason a retry can fix is answered
// 500: GitHub does not retry it, but it can be redelivered, and the
// redelivery records what is missing.
func (w *Webhook) Handle(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	delivery := header(ev, HeaderDelivery)
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: clip(delivery)})
	status, res, err := w.handle(ctx, ev, delivery)
	a := Answer{Delivery: clip(delivery), Result: res}
	if err != nil {
		a.Outcome = OutcomeRefused
		var r *refusal
		if !errors.As(err, &r) {
			r = &refusal{status: http.StatusInternalServerError, reason: "Highway could not record the push now; redeliver it from the webhook's Recent Deliveries"}
			a.Outcome = OutcomeFailed
			slog.ErrorContext(ctx, "webhook delivery failed", "delivery", clip(delivery), "error", err)
		} else {
			// What a stranger sent reaches the log clipped.
			slog.WarnContext(ctx, "webhook delivery refused", "status", r.status, "reason", r.reason,
				"delivery", clip(delivery), "sourceIp", ev.RequestContext.HTTP.SourceIP)
		}
		status, a.Error = r.status, r.reason
	}
	return respond(status, a), nil
}

// handle checks the request and dispatches it by event: what is refused is a
// *refusal; any other error is one a redelivery may fix.
func (w *Webhook) handle(ctx context.Context, ev events.LambdaFunctionURLRequest, delivery string) (int, source.Result, error) {
	if m := ev.RequestContext.HTTP.Method; !strings.EqualFold(m, http.MethodPost) {
		return 0, source.Result{}, refuse(http.StatusMethodNotAllowed, "method %s: GitHub delivers webhooks with POST", clip(m))
	}
	body, err := bodyOf(ev)
	if err != nil {
		return 0, source.Result{}, err
	}
	switch err := w.cfg.Secret.Verify(ctx, body, header(ev, HeaderSignature)); {
	case errors.Is(err, ErrNoSignature):
		return 0, source.Result{}, refuse(http.StatusUnauthorized, "no %s: give the webhook Highway's secret", HeaderSignature)
	case err != nil:
		return 0, source.Result{}, refuse(http.StatusForbidden, "%s does not match the body: the webhook's secret is not Highway's, or the body changed on the way", HeaderSignature)
	}
	event := header(ev, HeaderEvent)
	if event == "" {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "no %s: not a GitHub webhook delivery", HeaderEvent)
	}
	if mt, _, err := mime.ParseMediaType(header(ev, "Content-Type")); err != nil || mt != "application/json" {
		return 0, source.Result{}, refuse(http.StatusUnsupportedMediaType, "content type %q: set the webhook's content type to application/json", clip(header(ev, "Content-Type")))
	}
	switch event {
	case EventPing:
		return w.ping(ctx, body)
	case EventPush:
	default:
		return 0, source.Result{}, refuse(http.StatusUnprocessableEntity, "event %q: Highway takes push events only (and ping); let the webhook send just the push event", clip(event))
	}
	if !deliveryID.MatchString(delivery) {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "%s %q is not a delivery id", HeaderDelivery, clip(delivery))
	}
	var p push
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "the push payload is not JSON Highway can read: %s", clip(err.Error()))
	}
	return w.record(ctx, delivery, &p)
}

// ping answers GitHub's ping, sent when the webhook is created: the
// signature verified, and the answer says which app the repository is.
func (w *Webhook) ping(ctx context.Context, body []byte) (int, source.Result, error) {
	var p struct {
		HookID     int64 `json:"hook_id"`
		Repository *struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "the ping payload is not JSON Highway can read: %s", clip(err.Error()))
	}
	res := source.Result{Outcome: OutcomePong}
	switch {
	case p.Repository == nil:
		res.Reason = fmt.Sprintf("hook %d reaches Highway; it records the pushes of the repositories its policy names", p.HookID)
	default:
		repo := clip(p.Repository.FullName)
		if app, ok := w.cfg.Policy.AppOfGitHub(p.Repository.FullName); ok {
			res.App = app.Name
			res.Reason = fmt.Sprintf("hook %d reaches Highway; the pushes of %s are recorded as app %s's", p.HookID, repo, app.Name)
		} else {
			res.Reason = fmt.Sprintf("hook %d reaches Highway, but %s is no app's repository in its policy: its pushes are ignored", p.HookID, repo)
		}
	}
	slog.InfoContext(ctx, "webhook pinged", "reason", res.Reason)
	return http.StatusOK, res, nil
}

// record records the commits of a push, once per delivery: a delivery claims
// its id on the ledger, records the push, and marks the claim done; a
// redelivery of a delivery done changes nothing. What is not a branch push of
// an app's repository is acknowledged with the reason.
func (w *Webhook) record(ctx context.Context, delivery string, p *push) (int, source.Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{Commit: clip(p.After)})
	repo := p.Repository.FullName
	br, isBranch := branch(p.Ref)
	switch {
	case strings.HasPrefix(p.Ref, "refs/tags/"):
		return ignore(ctx, fmt.Sprintf("tag push %s: Highway records the commits pushed to branches", clip(p.Ref)))
	case !isBranch:
		return ignore(ctx, fmt.Sprintf("ref %q is not a branch", clip(p.Ref)))
	case p.Deleted:
		return ignore(ctx, fmt.Sprintf("branch %s of %s deleted: no commits to record", clip(br), clip(repo)))
	}
	app, ok := w.cfg.Policy.AppOfGitHub(repo)
	if !ok {
		return ignore(ctx, fmt.Sprintf("repository %q is no app's GitHub repository in the policy", clip(repo)))
	}
	if p.Repository.PushedAt.IsZero() {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "the push payload has no repository.pushed_at")
	}
	if !isSHA(p.After) {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "the push payload's after %q is not a commit id", clip(p.After))
	}
	commits, truncated, err := p.pushed()
	if err != nil {
		return 0, source.Result{}, refuse(http.StatusBadRequest, "the push payload: %v", err)
	}

	claims := ledger.Claims{Ledger: w.cfg.Ledger, Now: w.cfg.Now, Holder: ledger.HolderOf(ctx), Lease: claimLease, Keep: keepDeliveries}
	key := deliveryKey + delivery
	lock, state, err := claims.Claim(ctx, key, key, app.Name)
	switch {
	case err != nil:
		return 0, source.Result{}, err
	case state == ledger.ClaimDone:
		slog.InfoContext(ctx, "webhook delivery redelivered", "app", app.Name, "repository", repo, "head", p.After)
		return http.StatusOK, source.Result{Outcome: source.OutcomeDuplicate, App: app.Name, Commit: p.After,
			Reason: "this delivery was recorded before: nothing changed"}, nil
	case state == ledger.ClaimBusy:
		return http.StatusAccepted, source.Result{Outcome: OutcomeBusy, App: app.Name, Commit: p.After,
			Reason: "another delivery with this id is recording the push now"}, nil
	}
	res, err := w.recordPush(ctx, source.Push{App: app.Name, Repository: repo, Branch: br, Head: p.After,
		Pusher: cmp.Or(p.Pusher.Name, p.Sender.Login), PushedAt: p.Repository.PushedAt.Time, Truncated: truncated}, commits)
	if err != nil {
		claims.Release(ctx, lock)
		return 0, source.Result{}, err
	}
	if err := claims.Done(ctx, lock); err != nil {
		// The push is recorded, and its claim held until the lease ends: a
		// redelivery then takes it over, finds every commit recorded, and
		// marks it done.
		return 0, source.Result{}, err
	}
	if truncated {
		res.Reason = fmt.Sprintf("the push brought more than %d commits: the newest %d are recorded", source.MaxCommitsPerPush, len(commits))
	}
	return http.StatusOK, res, nil
}

// recordPush records p with those of commits no other push recorded, the
// head always: a commit pushed before to another branch keeps the timeline
// it has, as a CodeCommit push's walk stops at it.
func (w *Webhook) recordPush(ctx context.Context, p source.Push, commits []source.Commit) (source.Result, error) {
	for _, c := range commits {
		if c.SHA != p.Head {
			other, err := recordedByAnotherPush(ctx, w.cfg.Ledger, c.SHA, p.PushedAt)
			if err != nil {
				return source.Result{}, err
			}
			if other {
				continue
			}
		}
		p.Commits = append(p.Commits, c)
	}
	rec := source.Recorder{Ledger: w.cfg.Ledger, Bus: w.cfg.Bus, Metrics: w.cfg.Metrics}
	return rec.Record(ctx, p)
}

// recordedByAnotherPush reports whether l holds a record of commit sha from a
// push other than the one at pushedAt. A record of the same push, left by a
// delivery that failed half-way, does not count: the redelivery records its
// commit again (finding it recorded) and announces it, which the failed
// delivery never did.
func recordedByAnotherPush(ctx context.Context, l ledger.Ledger, sha string, pushedAt time.Time) (bool, error) {
	recs, err := l.ByCommit(ctx, sha)
	if err != nil {
		return false, fmt.Errorf("look up commit %s: %w", sha, err)
	}
	for _, r := range recs {
		if c, ok := r.(*ledger.Commit); ok && !c.At.Equal(pushedAt) {
			return true, nil
		}
	}
	return false, nil
}

func ignore(ctx context.Context, reason string) (int, source.Result, error) {
	slog.InfoContext(ctx, "webhook delivery ignored", "reason", reason)
	return http.StatusOK, source.Result{Outcome: source.OutcomeIgnored, Reason: reason}, nil
}

// bodyOf returns the body as GitHub sent it, the bytes its signature covers,
// refusing one larger than MaxBody before decoding any of it. A function URL
// passes a body it does not take for text in base64.
func bodyOf(ev events.LambdaFunctionURLRequest) ([]byte, error) {
	limit := MaxBody
	if ev.IsBase64Encoded {
		limit = base64.StdEncoding.EncodedLen(MaxBody)
	}
	if len(ev.Body) > limit {
		return nil, refuse(http.StatusRequestEntityTooLarge, "a body of %d bytes is larger than any GitHub delivery (25 MB)", len(ev.Body))
	}
	if !ev.IsBase64Encoded {
		return []byte(ev.Body), nil
	}
	body, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "the body is not base64, as the request says")
	}
	if len(body) > MaxBody {
		return nil, refuse(http.StatusRequestEntityTooLarge, "a body of %d bytes is larger than any GitHub delivery (25 MB)", len(body))
	}
	return body, nil
}

// header returns the value of the request's header name, which a function URL
// passes in lower case.
func header(ev events.LambdaFunctionURLRequest, name string) string {
	if v, ok := ev.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// respond renders an answer as JSON.
func respond(status int, a Answer) events.LambdaFunctionURLResponse {
	body, err := json.Marshal(a)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"Highway could not render its answer"}`)
	}
	headers := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
	if status == http.StatusMethodNotAllowed {
		headers["Allow"] = http.MethodPost
	}
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: headers, Body: string(body)}
}

// maxLogged bounds what a stranger's request puts in a log line or an answer.
const maxLogged = 200

// clip shortens what a delivery carries before it is logged or quoted.
func clip(s string) string { return report.Shorten(s, maxLogged) }
