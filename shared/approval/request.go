package approval

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// DefaultTimeout is how long a request waits when the policy sets no timeout.
const DefaultTimeout = 24 * time.Hour

// MessageAttributeApprover is the SNS message attribute that names the one
// approver an approval message is for. Each approver's e-mail subscription to
// the approvals topic filters on it (the CDK app builds the filter policies
// from the policy's approvers), so a message, and the links in it, reaches that
// approver alone.
const MessageAttributeApprover = "approver"

// maxCommitsShown bounds the commits a message lists: SNS refuses messages over
// 256 KiB, and a long list helps no one decide. The rest are counted.
const maxCommitsShown = 50

// Request is the input the workflow's waiting task passes to the request
// function: the task token (from $$.Task.Token), the promotion, and the
// summary the promotion code prepared for the approvers.
type Request struct {
	TaskToken   string                 `json:"taskToken"`
	PromotionID string                 `json:"promotionId"`
	App         string                 `json:"app"`
	Env         string                 `json:"env"`
	Digest      string                 `json:"digest"`
	Commit      string                 `json:"commit"`
	Summary     ledger.ApprovalSummary `json:"summary"`
}

// Requested is the request function's answer. The workflow does not use it (it
// waits on the token); it is logged.
type Requested struct {
	ApprovalID  string    `json:"approvalId"`
	PromotionID string    `json:"promotionId"`
	Expires     time.Time `json:"expires"`
	// Notified is false when a redelivered invocation found the approvers
	// already notified.
	Notified bool `json:"notified"`
}

// Requester handles the workflow's waiting task: it files the approval request
// and notifies the approvers.
type Requester struct {
	policy *policy.Policy
	ledger ledger.Ledger
	notify Notifier
	topic  string
	signer Signer
	base   string
	opts   options
}

// NewRequester returns a Requester that reads approvers from p, files requests
// in l, and sends each approver their own links, made by signer on baseURL (the
// decide function's URL), to topic through notify. topic is the approvals topic,
// whose only subscriptions are the approvers' e-mails, each filtered on
// MessageAttributeApprover: never a topic that anyone else reads.
func NewRequester(p *policy.Policy, l ledger.Ledger, notify Notifier, topic string, signer Signer, baseURL string, opts ...Option) (*Requester, error) {
	u, err := url.Parse(baseURL)
	switch {
	case p == nil || l == nil || notify == nil:
		return nil, errors.New("approval requester: policy, ledger and notifier are required")
	case topic == "":
		return nil, errors.New("approval requester: no approvals topic")
	case len(signer.keys) == 0:
		return nil, errors.New("approval requester: signer has no secret")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "":
		return nil, fmt.Errorf("approval requester: base URL %q is not an absolute http(s) URL", baseURL)
	}
	return &Requester{policy: p, ledger: l, notify: notify, topic: topic, signer: signer, base: baseURL, opts: newOptions(opts)}, nil
}

// Handle files the approval request of one waiting task and sends each
// approver one SNS message, with their own approve and reject links and no one
// else's, and the message attribute MessageAttributeApprover naming them: no
// message lets its reader decide as another approver, so no one recipient can
// meet a quorum alone.
//
// The request is recorded once per task token (keyed by its hash), so a
// redelivered invocation finds the first request instead of filing a second.
// A new task token of a promotion whose request still waits (the workflow
// asked again after a failed try) takes that request over: the request
// answers the new task, and its links stay valid. Each approver's message is
// sent once per request (a claim per approver), so a retry after a failed
// send sends only the messages that did not go out.
func (r *Requester) Handle(ctx context.Context, in Request) (Requested, error) {
	cfg, err := r.config(in)
	if err != nil {
		return Requested{}, err
	}
	id, err := newID()
	if err != nil {
		return Requested{}, err
	}
	now := r.opts.now()
	timeout := orDefault(cfg.Timeout, DefaultTimeout)
	fresh := &ledger.ApprovalRequest{
		Header:      ledger.Header{ID: id, App: in.App, Env: in.Env, Digest: in.Digest, At: now},
		PromotionID: in.PromotionID, TaskToken: in.TaskToken, Approvers: slices.Clone(cfg.Approvers),
		Quorum: orDefault(cfg.Quorum, 1), Expires: now.Add(timeout), Status: ledger.ApprovalWaiting,
		Summary: &in.Summary,
	}
	req, err := r.adopt(ctx, in)
	if err != nil {
		return Requested{}, err
	}
	if req == nil {
		var created bool
		req, created, err = ledger.RecordOnce(ctx, r.ledger, requestKey(in.TaskToken), timeout+keepKeys, fresh)
		if err != nil {
			return Requested{}, fmt.Errorf("file approval of promotion %s: %w", in.PromotionID, err)
		}
		if !created && (req.Version > 1 || req.Status != ledger.ApprovalWaiting) {
			slog.InfoContext(ctx, "approval already requested", "approval", req.ID, "promotion", req.PromotionID)
			return Requested{ApprovalID: req.ID, PromotionID: req.PromotionID, Expires: req.Expires}, nil
		}
		if err := r.supersede(ctx, req); err != nil {
			return Requested{}, err
		}
	}
	out := Requested{ApprovalID: req.ID, PromotionID: req.PromotionID, Expires: req.Expires}
	title := subject(fmt.Sprintf("Highway: approve %s to %s? %s", req.App, req.Env, shortDigest(req.Digest)))
	claims := &ledger.Claims{Ledger: r.ledger, Now: r.opts.now, Holder: ledger.HolderOf(ctx), Lease: notifyLease}
	for _, who := range req.Approvers {
		done, err := claims.Once(ctx, "approval-notify:"+req.ID+":"+who, req.ID+"/notify/"+who, req.App, func() error {
			_, err := r.notify.Publish(ctx, &sns.PublishInput{
				TopicArn: aws.String(r.topic),
				Subject:  aws.String(title),
				Message:  aws.String(r.message(req, in.Summary, in.Commit, who)),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{
					MessageAttributeApprover: {DataType: aws.String("String"), StringValue: aws.String(who)},
				},
			})
			return err
		})
		if err != nil {
			return Requested{}, fmt.Errorf("notify approver %s of %s: %w", who, req.ID, err)
		}
		if !done {
			return Requested{}, fmt.Errorf("notify approver %s of %s: another delivery is sending it", who, req.ID)
		}
	}
	out.Notified = true
	// Mark it notified. A failure here only risks a second message on a
	// redelivery; ErrStale means a decision came first.
	if err := r.ledger.Update(ctx, req); err != nil && !errors.Is(err, ledger.ErrStale) {
		slog.WarnContext(ctx, "mark approval notified", "approval", req.ID, "error", err)
	}
	slog.InfoContext(ctx, "approval requested", "approval", req.ID, "promotion", req.PromotionID,
		"app", req.App, "env", req.Env, "approvers", len(req.Approvers), "quorum", req.Quorum, "expires", req.Expires)
	publish(ctx, r.opts.events, DetailTypeApprovalRequested, req)
	return out, nil
}

// notifyLease is how long a delivery holds the sending of one approver's
// message before another may take it over: longer than the function's
// timeout.
const notifyLease = 2 * time.Minute

// adopt returns the request of in's promotion that still waits, made to
// answer in's task: the workflow asked again with a new task token (its
// earlier try failed, perhaps after some messages went out), and the request
// people may already hold links to takes the new task over. It returns nil
// when none waits, or when the waiting one is in's own (a redelivery, which
// RecordOnce finds).
func (r *Requester) adopt(ctx context.Context, in Request) (*ledger.ApprovalRequest, error) {
	recs, err := r.ledger.ByDigest(ctx, in.Digest)
	if err != nil {
		return nil, fmt.Errorf("earlier requests of promotion %s: %w", in.PromotionID, err)
	}
	var waiting *ledger.ApprovalRequest
	for _, rec := range recs {
		req, ok := rec.(*ledger.ApprovalRequest)
		if !ok || req.PromotionID != in.PromotionID || req.Status != ledger.ApprovalWaiting {
			continue
		}
		if waiting == nil || req.At.After(waiting.At) {
			waiting = req
		}
	}
	if waiting == nil || waiting.TaskToken == in.TaskToken || !r.opts.now().Before(waiting.Expires) {
		return nil, nil
	}
	waiting.TaskToken = in.TaskToken
	if err := r.ledger.Update(ctx, waiting); err != nil {
		// ErrStale: a vote or another delivery changed it first; the retry
		// reads it again.
		return nil, fmt.Errorf("move request %s to the workflow's new task: %w", waiting.ID, err)
	}
	slog.InfoContext(ctx, "approval request answers the workflow's new task", "approval", waiting.ID, "promotion", in.PromotionID)
	return waiting, nil
}

// ReasonSuperseded is the reason of a request that a newer one of the same
// promotion replaced: the workflow asked again (a retried request gets a
// new task token), so the older one's task is gone and its links must not
// seem to approve.
const ReasonSuperseded = "superseded by a newer request of the same promotion"

// supersede ends, as expired, every other request of req's promotion still
// waiting: they wait on tasks the workflow no longer runs, and a vote on one
// would find its task gone while the execution runs on, and seem to approve.
func (r *Requester) supersede(ctx context.Context, req *ledger.ApprovalRequest) error {
	recs, err := r.ledger.ByDigest(ctx, req.Digest)
	if err != nil {
		return fmt.Errorf("earlier requests of promotion %s: %w", req.PromotionID, err)
	}
	for _, rec := range recs {
		old, ok := rec.(*ledger.ApprovalRequest)
		if !ok || old.PromotionID != req.PromotionID || old.ID == req.ID || old.Status != ledger.ApprovalWaiting || old.At.After(req.At) {
			continue
		}
		old.Status, old.Reason = ledger.ApprovalExpired, ReasonSuperseded
		// ErrStale: a vote or another delivery changed it first; a decided
		// request stands, and one still waiting is ended by the next delivery.
		if err := r.ledger.Update(ctx, old); err != nil && !errors.Is(err, ledger.ErrStale) {
			return fmt.Errorf("supersede request %s: %w", old.ID, err)
		}
		slog.InfoContext(ctx, "approval request superseded", "approval", old.ID, "by", req.ID, "promotion", req.PromotionID)
	}
	return nil
}

// config checks the input and returns the environment's approval settings.
func (r *Requester) config(in Request) (policy.Approval, error) {
	var missing []string
	for name, v := range map[string]string{
		"taskToken": in.TaskToken, "promotionId": in.PromotionID, "app": in.App, "env": in.Env, "digest": in.Digest,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return policy.Approval{}, &InputError{Reason: "missing " + strings.Join(missing, ", ")}
	}
	app, ok := r.policy.App(in.App)
	if !ok {
		return policy.Approval{}, &InputError{Reason: fmt.Sprintf("app %q is not in the policy", in.App)}
	}
	env, ok := app.Environment(in.Env)
	if !ok {
		return policy.Approval{}, &InputError{Reason: fmt.Sprintf("app %q has no environment %q", in.App, in.Env)}
	}
	a := env.Approval
	switch {
	case a == nil:
		return policy.Approval{}, &InputError{Reason: fmt.Sprintf("%s/%s needs no approval", in.App, in.Env)}
	case len(a.Approvers) == 0:
		return policy.Approval{}, &InputError{Reason: fmt.Sprintf("%s/%s has no approvers", in.App, in.Env)}
	case a.Quorum > len(a.Approvers):
		return policy.Approval{}, &InputError{Reason: fmt.Sprintf("%s/%s: quorum %d of %d approvers", in.App, in.Env, a.Quorum, len(a.Approvers))}
	}
	return *a, nil
}

// message is the plain-text mail to approver who: the summary, then their own
// links, and only theirs.
func (r *Requester) message(req *ledger.ApprovalRequest, s ledger.ApprovalSummary, commit, who string) string {
	var b strings.Builder
	line := func(label, value string) {
		if value = oneLine(value, 300); value != "" {
			fmt.Fprintf(&b, "%-12s %s\n", label+":", value)
		}
	}
	fmt.Fprintf(&b, "Highway asks for approval to promote %s to %s.\n\n", req.App, req.Env)
	line("Promotion", req.PromotionID)
	line("Artifact", s.Artifact)
	line("Digest", req.Digest)
	c := s.Commit
	if c.SHA == "" {
		c.SHA = commit
	}
	line("Commit", commitText(c))
	from := s.From
	if from != "" && s.SoakSeconds > 0 {
		from += fmt.Sprintf(", where it has run for %s", time.Duration(s.SoakSeconds)*time.Second)
	}
	line("From", from)
	running := s.Running
	if running == "" {
		running = "nothing yet"
	}
	line("Now in "+req.Env, running)
	line("Gate", s.Gate)
	alarms := "none"
	if len(s.OpenAlarms) > 0 {
		alarms = strings.Join(s.OpenAlarms, ", ")
	}
	line("Open alarms", alarms)
	if len(s.Commits) > 0 {
		fmt.Fprintf(&b, "\nCommits since what %s runs now (%d):\n", req.Env, len(s.Commits))
		for _, c := range s.Commits[:min(len(s.Commits), maxCommitsShown)] {
			fmt.Fprintf(&b, "  %s\n", oneLine(commitText(c), 200))
		}
		if more := len(s.Commits) - maxCommitsShown; more > 0 {
			fmt.Fprintf(&b, "  and %d more\n", more)
		}
	}
	fmt.Fprintf(&b, "\nApprovals needed: %d of %s\n", quorum(req), strings.Join(req.Approvers, ", "))
	fmt.Fprintf(&b, "Expires: %s (approval %s)\n", req.Expires.UTC().Format("2006-01-02 15:04 MST"), req.ID)
	b.WriteString("\nThese links are yours alone: they decide as you, so do not forward this\n" +
		"message. Each approver gets their own. Opening a link shows a confirmation\n" +
		"page; nothing is decided until you press its button. A link works once,\n" +
		"until the request expires. A rejection asks for a reason.\n")
	fmt.Fprintf(&b, "\n%s\n", who)
	fmt.Fprintf(&b, "  approve: %s\n", r.signer.Link(r.base, req.ID, who, ActionApprove, req.Expires))
	fmt.Fprintf(&b, "  reject:  %s\n", r.signer.Link(r.base, req.ID, who, ActionReject, req.Expires))
	return b.String()
}

// commitText renders a commit as "<short sha> <message> (<author>)".
func commitText(c ledger.CommitLine) string {
	sha := c.SHA
	if len(sha) > 12 {
		sha = sha[:12]
	}
	s := strings.TrimSpace(sha + " " + oneLine(c.Message, 120))
	if c.Author != "" {
		s += " (" + oneLine(c.Author, 80) + ")"
	}
	return s
}

// shortDigest keeps a digest's algorithm and first 12 hex digits.
func shortDigest(d string) string {
	algo, hexpart, ok := strings.Cut(d, ":")
	if !ok {
		algo, hexpart = "", d
	}
	if len(hexpart) > 12 {
		hexpart = hexpart[:12]
	}
	if algo == "" {
		return hexpart
	}
	return algo + ":" + hexpart
}

// requestKey is the idempotency key of the request of one task token: a hash,
// so the token is not part of any key.
func requestKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "approval-request:" + hex.EncodeToString(sum[:])
}

// idEncoding writes approval ids in lower-case base32 without padding.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a fresh opaque approval id: 128 random bits.
func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("approval id: %w", err)
	}
	return idPrefix + idEncoding.EncodeToString(b), nil
}

// orDefault returns v, or def when v is zero or less.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
