// Package approval runs the human approval that a promotion into a guarded
// environment waits for.
//
// A Step Functions standard workflow reaches a Lambda task with
// .waitForTaskToken. Requester handles that task: it files an ApprovalRequest
// on the ledger under an opaque random approval id, keeping the task token
// there and nowhere else, and sends each approver one SNS message, on a topic
// only approvers read, with their own signed approve and reject links and no
// one else's. The links open Links, the handler of a Lambda function URL: a
// GET shows a confirmation form (mail scanners fetch links, so opening one
// decides nothing) and the form's POST decides. Approvals
// holds the decision itself, shared with the local command: it records each
// approver's decision once, counts approvals towards the quorum, and completes
// the waiting task with SendTaskSuccess or SendTaskFailure; when that finds the
// task gone, the workflow's execution tells whether an earlier attempt
// resumed it. When the workflow stops waiting, HandleTimeout marks the
// request expired and says so.
//
// The Step Functions and Secrets Manager adapters live in the subpackages
// tasktoken and linksecret, so that a function links only the clients it uses.
package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
)

// Action is what an approver does with a request.
type Action string

// The actions a link or the local command can take.
const (
	ActionApprove Action = "approve"
	ActionReject  Action = "reject"
)

func (a Action) valid() bool { return a == ActionApprove || a == ActionReject }

// decision is the ledger's word for the action.
func (a Action) decision() ledger.Decision {
	if a == ActionReject {
		return ledger.DecisionRejected
	}
	return ledger.DecisionApproved
}

// ErrorRejected is the Error of the SendTaskFailure a rejection sends; the
// workflow catches it to end the promotion as rejected. The Cause is the reason.
const ErrorRejected = "Rejected"

// ErrorInputError is the Lambda error name of *InputError, which the workflow
// never retries.
const ErrorInputError = "InputError"

// Domain events on the bus. Their detail is a Result: never the task token.
const (
	// DetailTypeApprovalRequested is published once the approvers were notified.
	DetailTypeApprovalRequested = "Approval Requested"
	// DetailTypeApprovalDecided is published when a request ends: approved,
	// rejected or expired.
	DetailTypeApprovalDecided = "Approval Decided"
)

// DecisionDetailTypes are the detail types Approvals publishes: all that the
// approval function may put on the bus (the CDK app's condition on
// events:detail-type).
func DecisionDetailTypes() []string { return []string{DetailTypeApprovalDecided} }

// Decision errors, wrapped with context; test with errors.Is. ErrExpired is
// also what Signer.Verify returns for an expired link.
var (
	// ErrUnknownRequest means no approval request has the id.
	ErrUnknownRequest = errors.New("approval: no such request")
	// ErrNotApprover means the person is not among the request's approvers.
	ErrNotApprover = errors.New("approval: not an approver of this request")
	// ErrExpired means the link or the request ran out of time.
	ErrExpired = errors.New("approval: expired")
	// ErrDecided means the request was already approved or rejected.
	ErrDecided = errors.New("approval: request already decided")
	// ErrAlreadyUsed means this approver already decided on the request.
	ErrAlreadyUsed = errors.New("approval: approver already decided")
	// ErrReasonRequired means a rejection came without a reason.
	ErrReasonRequired = errors.New("approval: a rejection needs a reason")
	// ErrConflict means concurrent decisions kept changing the request; trying
	// again later resolves it.
	ErrConflict = errors.New("approval: concurrent decision")
)

// Ledger keys of approvals: every approval id starts with idPrefix, and the
// once-key of an approver's decision with decisionKey.
const (
	idPrefix    = "apr-"
	decisionKey = "approval-decision:"
)

// LedgerActions are the DynamoDB actions deciding takes on the ledger (through
// Decide, Expire and the confirmation page): queries of the table's own
// partitions and conditional puts, alone or in a transaction. The CDK app
// grants the approval function these and no other.
func LedgerActions() []string { return ledger.WriteActions() }

// LedgerPartitions are the partition keys of the ledger items deciding reads
// and writes, as IAM string patterns for dynamodb:LeadingKeys: approval
// requests, approvers' decisions, and the markers that record each decision
// once. The CDK app limits the approval function to them. They follow the
// ledger's layout (<kind>#<id> for a record filed without a commit, once#<key>
// for a RecordOnce marker); a test holds them to the keys DynamoDB Local
// receives while deciding.
func LedgerPartitions() []string {
	return []string{
		string(ledger.KindApprovalRequest) + "#" + idPrefix + "*",
		string(ledger.KindApproval) + "#" + idPrefix + "*",
		"once#" + decisionKey + idPrefix + "*",
	}
}

// maxReason bounds a decision's reason, in bytes: it goes into the ledger, the
// Step Functions cause and mail.
const maxReason = 1000

// keepKeys is how long after a request expires its idempotency keys are kept.
const keepKeys = 24 * time.Hour

// Tasks ends the workflow's task that waits for a token. Package tasktoken
// implements it over Step Functions.
type Tasks interface {
	// Succeed completes the task with output, a JSON document.
	Succeed(ctx context.Context, token, output string) error
	// Fail fails the task with an error name and a cause.
	Fail(ctx context.Context, token, errorName, cause string) error
}

// ErrTaskGone is what Tasks wrap when the workflow no longer waits on the
// token: the task timed out, the token is unknown, or an earlier answer
// completed the task.
var ErrTaskGone = errors.New("approval: the workflow no longer waits for the task")

// Workflows tells where the workflow of a promotion stands. Approvals asks it
// when answering a task finds the task gone: an earlier attempt of the same
// answer (a retry of the SDK, or of the person) may have reached the workflow
// and only its response been lost. Package tasktoken implements it over Step
// Functions.
type Workflows interface {
	// Status returns the status of the workflow execution of promotion
	// promotionID.
	Status(ctx context.Context, promotionID string) (WorkflowStatus, error)
}

// WorkflowStatus is the status of a workflow execution, as Step Functions
// names it.
type WorkflowStatus string

// The statuses Approvals tells apart. Running or succeeded, the workflow went
// past its approval; failed, timed out or aborted, it ended while waiting.
const (
	WorkflowRunning   WorkflowStatus = "RUNNING"
	WorkflowSucceeded WorkflowStatus = "SUCCEEDED"
	WorkflowFailed    WorkflowStatus = "FAILED"
	WorkflowTimedOut  WorkflowStatus = "TIMED_OUT"
	WorkflowAborted   WorkflowStatus = "ABORTED"
)

// Notifier is the part of the SNS client that tells people.
type Notifier interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ Notifier = (*sns.Client)(nil)

// Option configures Approvals and Requester.
type Option func(*options)

type options struct {
	events    bus.Publisher
	workflows Workflows
	now       func() time.Time
}

// WithEvents publishes "Approval Requested" and "Approval Decided" to p.
func WithEvents(p bus.Publisher) Option { return func(o *options) { o.events = p } }

// WithWorkflows asks w where a promotion's workflow stands when a decision
// finds its task gone. Without it, a task gone means the request expired.
func WithWorkflows(w Workflows) Option { return func(o *options) { o.workflows = w } }

// WithClock sets the clock (default time.Now); tests pass a fake one.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Result is where an approval request stands, as a person or the bus may see
// it: everything but the task token.
type Result struct {
	ApprovalID  string                `json:"approvalId"`
	PromotionID string                `json:"promotionId"`
	App         string                `json:"app"`
	Env         string                `json:"env"`
	Digest      string                `json:"digest"`
	Status      ledger.ApprovalStatus `json:"status"`
	Approvers   []string              `json:"approvers"`
	Approved    []string              `json:"approved,omitempty"`
	Quorum      int                   `json:"quorum"`
	Expires     time.Time             `json:"expires"`
	DecidedBy   string                `json:"decidedBy,omitempty"`
	Reason      string                `json:"reason,omitempty"`
}

func resultOf(req *ledger.ApprovalRequest) Result {
	return Result{
		ApprovalID: req.ID, PromotionID: req.PromotionID, App: req.App, Env: req.Env, Digest: req.Digest,
		Status: req.Status, Approvers: slices.Clone(req.Approvers), Approved: slices.Clone(req.Approved),
		Quorum: quorum(req), Expires: req.Expires, DecidedBy: req.DecidedBy, Reason: req.Reason,
	}
}

// taskOutput is the output of the waiting task when the request is approved.
type taskOutput struct {
	ApprovalID  string    `json:"approvalId"`
	PromotionID string    `json:"promotionId"`
	ApprovedBy  []string  `json:"approvedBy"`
	DecidedAt   time.Time `json:"decidedAt"`
	Reason      string    `json:"reason,omitempty"`
}

// Approvals decides approval requests. The function URL handler (through a
// verified link), the timeout handler and the local command share it.
type Approvals struct {
	ledger ledger.Ledger
	tasks  Tasks
	notify Notifier
	topic  string
	opts   options
}

// New returns Approvals that keep requests in l and complete their tasks with
// tasks (a tasktoken.Sender; nil in a function that only expires requests).
// Expiry notices go to topic through notify; an empty topic sends none.
func New(l ledger.Ledger, tasks Tasks, notify Notifier, topic string, opts ...Option) *Approvals {
	return &Approvals{ledger: l, tasks: tasks, notify: notify, topic: topic, opts: newOptions(opts)}
}

// Decide records approver's action on the request approvalID and, when it ends
// the request (the quorum of approvals, or one rejection), completes the
// waiting task. It checks everything a link's signature does not: that the
// request waits, has not expired, names approver, and that approver has not
// decided yet. A rejection needs a reason.
//
// Each approver's decision is recorded once. If completing the task fails for
// a reason a retry can fix, the request is set back to waiting and an error
// returned; the same decision tried again resumes it. If the task is gone, the
// workflow's status (WithWorkflows) tells why: running or succeeded, an
// earlier attempt resumed it and the decision stands; otherwise the workflow
// stopped waiting first, the request is marked expired and the error is
// ErrExpired.
func (a *Approvals) Decide(ctx context.Context, approvalID, approver string, action Action, reason string) (Result, error) {
	if !action.valid() {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownAction, action)
	}
	reason = oneLine(reason, maxReason)
	if action == ActionReject && reason == "" {
		return Result{}, ErrReasonRequired
	}
	now := a.opts.now()
	var vote *ledger.Approval
	var req *ledger.ApprovalRequest
	for attempt := 1; ; attempt++ {
		var err error
		if req, err = a.load(ctx, approvalID); err != nil {
			return Result{}, err
		}
		if err := admit(req, approver, now); err != nil {
			return resultOf(req), err
		}
		if vote == nil {
			if vote, err = a.vote(ctx, req, approver, action, reason, now); err != nil {
				return resultOf(req), err
			}
		}
		apply(req, vote)
		err = a.ledger.Update(ctx, req)
		if err == nil {
			break
		}
		if !errors.Is(err, ledger.ErrStale) {
			return Result{}, fmt.Errorf("record decision on %s: %w", approvalID, err)
		}
		if attempt == 2 {
			return Result{}, fmt.Errorf("%w on %s", ErrConflict, approvalID)
		}
	}
	slog.InfoContext(ctx, "approval decision recorded", "approval", req.ID, "promotion", req.PromotionID,
		"approver", approver, "decision", vote.Decision, "status", req.Status)
	if req.Status == ledger.ApprovalWaiting {
		return resultOf(req), nil
	}
	return a.complete(ctx, req, vote, now)
}

// vote records approver's decision once per request. A decision recorded
// before whose effect was lost (the request does not show it, or was set back)
// is returned to be applied again; a different decision is ErrAlreadyUsed.
func (a *Approvals) vote(ctx context.Context, req *ledger.ApprovalRequest, approver string, action Action, reason string, now time.Time) (*ledger.Approval, error) {
	v := &ledger.Approval{
		Header: ledger.Header{
			ID: req.ID + "/" + approver, App: req.App, Env: req.Env, Digest: req.Digest, At: now,
		},
		PromotionID: req.PromotionID, Approver: approver, Decision: action.decision(), Reason: reason,
	}
	key := decisionKey + req.ID + ":" + approver
	stored, _, err := ledger.RecordOnce(ctx, a.ledger, key, keep(req.Expires, now), v)
	if err != nil {
		return nil, fmt.Errorf("record decision of %s on %s: %w", approver, req.ID, err)
	}
	if stored.Decision != v.Decision {
		return nil, fmt.Errorf("%w: %s %s request %s before", ErrAlreadyUsed, approver, stored.Decision, req.ID)
	}
	return stored, nil
}

// admit says why approver may not decide on req now, or nil.
func admit(req *ledger.ApprovalRequest, approver string, now time.Time) error {
	switch {
	case approver == "" || !slices.Contains(req.Approvers, approver):
		return fmt.Errorf("%w: %q on %s", ErrNotApprover, approver, req.ID)
	case req.Status == ledger.ApprovalExpired:
		return fmt.Errorf("%w: request %s", ErrExpired, req.ID)
	case req.Status != ledger.ApprovalWaiting:
		return fmt.Errorf("%w: %s %s by %s", ErrDecided, req.ID, req.Status, req.DecidedBy)
	case !now.Before(req.Expires):
		return fmt.Errorf("%w: request %s at %s", ErrExpired, req.ID, req.Expires.Format(time.RFC3339))
	case slices.Contains(req.Approved, approver):
		return fmt.Errorf("%w: %s approved %s before", ErrAlreadyUsed, approver, req.ID)
	}
	return nil
}

// apply changes req by one decision.
func apply(req *ledger.ApprovalRequest, v *ledger.Approval) {
	if v.Decision == ledger.DecisionRejected {
		req.Status, req.DecidedBy, req.Reason = ledger.ApprovalRejected, v.Approver, v.Reason
		return
	}
	if !slices.Contains(req.Approved, v.Approver) {
		req.Approved = append(req.Approved, v.Approver)
	}
	if len(req.Approved) >= quorum(req) {
		req.Status, req.DecidedBy, req.Reason = ledger.ApprovalApproved, v.Approver, v.Reason
	}
}

// undo takes one decision back out of req, so that it can be applied again.
func undo(req *ledger.ApprovalRequest, v *ledger.Approval) {
	req.Status, req.DecidedBy, req.Reason = ledger.ApprovalWaiting, "", ""
	req.Approved = slices.DeleteFunc(slices.Clone(req.Approved), func(s string) bool { return s == v.Approver })
}

// complete ends the waiting task of a decided request.
func (a *Approvals) complete(ctx context.Context, req *ledger.ApprovalRequest, v *ledger.Approval, now time.Time) (Result, error) {
	var err error
	if req.Status == ledger.ApprovalApproved {
		out, merr := json.Marshal(taskOutput{
			ApprovalID: req.ID, PromotionID: req.PromotionID, ApprovedBy: req.Approved, DecidedAt: now.UTC(), Reason: req.Reason,
		})
		if merr != nil {
			return Result{}, merr
		}
		err = a.tasks.Succeed(ctx, req.TaskToken, string(out))
	} else {
		err = a.tasks.Fail(ctx, req.TaskToken, ErrorRejected, req.Reason)
	}
	if err == nil {
		slog.InfoContext(ctx, "approval completed", "approval", req.ID, "promotion", req.PromotionID, "status", req.Status)
		a.announce(ctx, req)
		return resultOf(req), nil
	}
	if errors.Is(err, ErrTaskGone) {
		return a.taskGone(ctx, req, v, err)
	}
	return Result{}, a.setBack(ctx, req, v, err)
}

// setBack takes decision v back out of req, so that the same decision tried
// again completes it, and returns err, the reason, with context.
func (a *Approvals) setBack(ctx context.Context, req *ledger.ApprovalRequest, v *ledger.Approval, err error) error {
	undo(req, v)
	if uerr := a.ledger.Update(ctx, req); uerr != nil {
		err = errors.Join(err, fmt.Errorf("set request back to waiting: %w", uerr))
	}
	return fmt.Errorf("complete approval %s: %w", req.ID, err)
}

// taskGone decides what a decided request whose task is gone has become. The
// task may be gone because the decision reached it: the answer's first attempt
// resumed the workflow and its response was lost, and a retry found no task.
// The execution's status tells: running or succeeded, the workflow went on and
// the decision stands; failed, timed out or aborted, it stopped waiting before
// the decision, and the request expired. When the status cannot be read, or is
// none of these, the request is set back to waiting and the error returned: the
// same decision tried again asks anew.
func (a *Approvals) taskGone(ctx context.Context, req *ledger.ApprovalRequest, v *ledger.Approval, gone error) (Result, error) {
	why := fmt.Sprintf("the workflow stopped waiting before the decision of %s reached it", v.Approver)
	if w := a.opts.workflows; w != nil {
		status, err := w.Status(ctx, req.PromotionID)
		switch {
		case err != nil:
			return Result{}, a.setBack(ctx, req, v, errors.Join(gone, fmt.Errorf("read the workflow of %s: %w", req.PromotionID, err)))
		case status == WorkflowRunning || status == WorkflowSucceeded:
			slog.InfoContext(ctx, "approval completed by an earlier attempt", "approval", req.ID, "promotion", req.PromotionID,
				"status", req.Status, "workflow", status, "error", gone)
			a.announce(ctx, req)
			return resultOf(req), nil
		case status == WorkflowFailed || status == WorkflowTimedOut || status == WorkflowAborted:
			why += fmt.Sprintf(" (the workflow %s)", strings.ToLower(strings.ReplaceAll(string(status), "_", " ")))
		default:
			return Result{}, a.setBack(ctx, req, v, errors.Join(gone, fmt.Errorf("the workflow of %s is %q", req.PromotionID, status)))
		}
	}
	slog.WarnContext(ctx, "approval reached no waiting workflow", "approval", req.ID, "error", gone)
	res, xerr := a.markExpired(ctx, req, why)
	return res, errors.Join(fmt.Errorf("%w: the workflow no longer waits for %s", ErrExpired, req.ID), xerr)
}

// Expire marks a waiting request expired and notifies the topic. A request
// already expired is left as it is; one already approved or rejected is
// ErrDecided.
func (a *Approvals) Expire(ctx context.Context, approvalID string) (Result, error) {
	for attempt := 1; ; attempt++ {
		req, err := a.load(ctx, approvalID)
		if err != nil {
			return Result{}, err
		}
		switch req.Status {
		case ledger.ApprovalExpired:
			return resultOf(req), nil
		case ledger.ApprovalApproved, ledger.ApprovalRejected:
			return resultOf(req), fmt.Errorf("%w: %s %s by %s", ErrDecided, req.ID, req.Status, req.DecidedBy)
		}
		res, err := a.markExpired(ctx, req, "no decision before the request expired at "+req.Expires.UTC().Format(time.RFC3339))
		if !errors.Is(err, ledger.ErrStale) {
			return res, err
		}
		if attempt == 2 {
			return Result{}, fmt.Errorf("%w on %s", ErrConflict, approvalID)
		}
	}
}

// Timeout is the input of the workflow state that catches the end of the
// waiting task (its timeout or heartbeat timeout): the promotion and digest of
// the state's input, and the caught error.
type Timeout struct {
	PromotionID string `json:"promotionId"`
	Digest      string `json:"digest"`
	// Error and Cause are what Step Functions caught, for example States.Timeout.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// HandleTimeout expires the waiting approval request of a promotion whose
// workflow stopped waiting. It finds the request on the digest's timeline; a
// promotion without one, or whose request was decided, is logged and
// acknowledged.
func (a *Approvals) HandleTimeout(ctx context.Context, in Timeout) (Result, error) {
	if in.PromotionID == "" || in.Digest == "" {
		return Result{}, &InputError{Reason: "timeout without promotionId or digest"}
	}
	recs, err := a.ledger.ByDigest(ctx, in.Digest)
	if err != nil {
		return Result{}, fmt.Errorf("find approval of promotion %s: %w", in.PromotionID, err)
	}
	var res Result
	found := false
	for _, r := range recs {
		req, ok := r.(*ledger.ApprovalRequest)
		if !ok || req.PromotionID != in.PromotionID {
			continue
		}
		found = true
		res, err = a.Expire(ctx, req.ID)
		if errors.Is(err, ErrDecided) {
			slog.WarnContext(ctx, "workflow stopped waiting on a decided approval", "approval", req.ID,
				"status", req.Status, "error", in.Error)
			err = nil
		}
		if err != nil {
			return res, err
		}
	}
	if !found {
		slog.WarnContext(ctx, "no approval request for promotion", "promotion", in.PromotionID, "digest", in.Digest, "error", in.Error)
	}
	return res, nil
}

// markExpired stores req as expired, then tells the topic and the bus.
func (a *Approvals) markExpired(ctx context.Context, req *ledger.ApprovalRequest, why string) (Result, error) {
	req.Status, req.DecidedBy, req.Reason = ledger.ApprovalExpired, "", why
	if err := a.ledger.Update(ctx, req); err != nil {
		return Result{}, fmt.Errorf("expire %s: %w", req.ID, err)
	}
	slog.InfoContext(ctx, "approval expired", "approval", req.ID, "promotion", req.PromotionID, "why", why)
	a.announce(ctx, req)
	if a.topic == "" || a.notify == nil {
		return resultOf(req), nil
	}
	_, err := a.notify.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(a.topic),
		Subject:  aws.String(subject(fmt.Sprintf("Highway: approval expired, %s to %s", req.App, req.Env))),
		Message:  aws.String(expiredMessage(req)),
	})
	if err != nil {
		return resultOf(req), fmt.Errorf("notify expiry of %s: %w", req.ID, err)
	}
	return resultOf(req), nil
}

// announce publishes the end of a request on the bus. The decision stands
// whatever the bus says, so a failure is logged, not returned.
func (a *Approvals) announce(ctx context.Context, req *ledger.ApprovalRequest) {
	publish(ctx, a.opts.events, DetailTypeApprovalDecided, req)
}

func publish(ctx context.Context, p bus.Publisher, detailType string, req *ledger.ApprovalRequest) {
	if p == nil {
		return
	}
	if err := p.Publish(ctx, bus.Event{DetailType: detailType, Detail: resultOf(req)}); err != nil {
		slog.WarnContext(ctx, "publish approval event", "approval", req.ID, "detailType", detailType, "error", err)
	}
}

// check says whether approver may decide on the request now, without changing
// anything; the confirmation page asks it.
func (a *Approvals) check(ctx context.Context, approvalID, approver string) (Result, error) {
	req, err := a.load(ctx, approvalID)
	if err != nil {
		return Result{}, err
	}
	return resultOf(req), admit(req, approver, a.opts.now())
}

// load reads the request approvalID as it stands.
func (a *Approvals) load(ctx context.Context, approvalID string) (*ledger.ApprovalRequest, error) {
	if approvalID == "" {
		return nil, ErrUnknownRequest
	}
	rec, err := a.ledger.Latest(ctx, ledger.KindApprovalRequest, approvalID)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRequest, approvalID)
	}
	if err != nil {
		return nil, fmt.Errorf("load approval %s: %w", approvalID, err)
	}
	req, ok := rec.(*ledger.ApprovalRequest)
	if !ok {
		return nil, fmt.Errorf("load approval %s: found a %T", approvalID, rec)
	}
	return req, nil
}

// quorum is how many approvals the request needs; at least one.
func quorum(req *ledger.ApprovalRequest) int { return max(req.Quorum, 1) }

// keep is how long an idempotency key of a request expiring at expires is kept.
func keep(expires, now time.Time) time.Duration {
	return max(expires.Sub(now), 0) + keepKeys
}

// oneLine makes s a single trimmed line of at most n bytes: text from people
// and commits goes into mail, where a line break could pass for Highway's own.
func oneLine(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029
	}), " ")
	if len(s) > n {
		cut := n - len("…")
		for cut > 0 && (s[cut]&0xC0) == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// maxLogged bounds, in bytes, what a log line repeats of a value a stranger
// sent (a query parameter, a header, a form field): the function URL is open
// to anyone, and its logs must not be theirs to fill.
const maxLogged = 100

// clip returns s, cut to maxLogged bytes on a character boundary with a marker
// saying how much was left out.
func clip(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	cut := maxLogged
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…[%d more bytes]", s[:cut], len(s)-cut)
}

// subject makes s an SNS subject: printable ASCII, under 100 characters.
func subject(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if len(b) > 99 {
		b = append(b[:96], "..."...)
	}
	return string(b)
}

// InputError is bad input from the workflow: a retry cannot fix it. Lambda
// reports it to Step Functions with the error name "InputError", which the
// state machine catches instead of retrying.
type InputError struct {
	// Reason says what is wrong, for the workflow's error cause.
	Reason string
}

// Error says what was wrong with the input.
func (e *InputError) Error() string { return "approval: bad input: " + e.Reason }

// expiredMessage is the body of an expiry notice.
func expiredMessage(req *ledger.ApprovalRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The approval request for promoting %s to %s has expired: %s.\n\n", req.App, req.Env, req.Reason)
	fmt.Fprintf(&b, "Approval:   %s\nPromotion:  %s\nDigest:     %s\n", req.ID, req.PromotionID, req.Digest)
	fmt.Fprintf(&b, "Approvals:  %d of %d", len(req.Approved), quorum(req))
	if len(req.Approved) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(req.Approved, ", "))
	}
	fmt.Fprintf(&b, "\n\nThe promotion was not deployed. To ask anew:\n  highway promote --app %s --env %s --digest %s\n", req.App, req.Env, req.Digest)
	return b.String()
}
