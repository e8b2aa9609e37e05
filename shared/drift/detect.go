package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/highwayhq/highway/shared/ledger"
)

// detectParallel bounds the messages of one batch handled at once; the
// CloudFormation calls among them keep to Limits.
const detectParallel = 32

// Detect starts the drift detection of every stack in a batch of queue
// messages and files each as a pending detection. It answers with the
// messages to deliver again (SQS partial batch failure): those whose start was
// still throttled after every retry, or failed in a way a retry can fix.
// Malformed messages, stacks of accounts the policy does not name, and stacks
// CloudFormation refuses (deleted since the sweep, say) are logged and
// acknowledged, never retried. A stack whose detection started within Rerun
// is not started again, so a redelivered message starts nothing.
func (h *Handler) Detect(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
		wg       sync.WaitGroup
		sem      = make(chan struct{}, h.parallel)
	)
	for _, m := range ev.Records {
		sem <- struct{}{} // taken in the batch's order
		wg.Go(func() {
			defer func() { <-sem }()
			if err := h.detectMessage(ctx, m); err != nil {
				slog.WarnContext(ctx, "drift detection not started; the message returns to the queue",
					"message", m.MessageId, "error", err)
				mu.Lock()
				failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// message is the body of a drift queue message: a Stack, or a Terraform
// workspace to plan, {account, region, workspace}.
type message struct {
	Stack
	// Workspace names the policy's Terraform workspace; empty for a stack.
	Workspace string `json:"workspace,omitempty"`
}

// MarshalJSON writes a stack's message as its Stack, and a workspace's as
// {account, region, workspace}.
func (m message) MarshalJSON() ([]byte, error) {
	if m.Workspace == "" {
		return json.Marshal(m.Stack)
	}
	return json.Marshal(struct {
		Account   string `json:"account"`
		Region    string `json:"region"`
		Workspace string `json:"workspace"`
	}{m.Account, m.Region, m.Workspace})
}

// name names the stack or workspace of m.
func (m message) name() string {
	if m.Workspace != "" {
		return workspaceKey(m.Workspace)
	}
	return m.Name
}

// detectMessage starts one stack's detection, or one workspace's plan; an
// error means a retry may work.
func (h *Handler) detectMessage(ctx context.Context, m events.SQSMessage) error {
	var msg message
	err := json.Unmarshal([]byte(m.Body), &msg)
	if err == nil && msg.Workspace != "" {
		return h.planMessage(ctx, m, msg.Workspace)
	}
	s := msg.Stack
	if err != nil || s.Account == "" || s.Region == "" || s.Name == "" {
		slog.ErrorContext(ctx, "drift message dropped: not a stack", "message", m.MessageId, "body", m.Body, "error", err)
		return nil
	}
	if !h.allowed[s.Account+"/"+s.Region] {
		slog.ErrorContext(ctx, "drift message dropped: account and region not in the policy", "message", m.MessageId,
			"account", s.Account, "region", s.Region)
		return nil
	}
	// The messages of a batch share the invocation's request id: each claims
	// as a holder of its own.
	started, err := h.start(ctx, s, ledger.HolderOf(ctx)+"/"+m.MessageId)
	if err != nil {
		if permanent(err) {
			slog.ErrorContext(ctx, "drift detection refused", "stack", s.Name, "account", s.Account, "region", s.Region, "error", err)
			return nil
		}
		return err
	}
	if started == nil {
		slog.InfoContext(ctx, "drift detection already started", "stack", s.Name, "account", s.Account, "region", s.Region)
		return nil
	}
	slog.InfoContext(ctx, "drift detection started", "stack", s.Name, "account", s.Account, "region", s.Region,
		"detection", started.DetectionID)
	return nil
}

// errLedger marks ledger failures, which a retry may fix.
var errLedger = errors.New("ledger")

// permanent reports errors no retry fixes: CloudFormation refusing the call
// (a stack deleted since the sweep, missing permissions), as opposed to
// throttling, 5xx, time running out and ledger failures.
func permanent(err error) bool {
	return !retryable(err) && !errors.Is(err, errLedger) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// Start starts one stack's drift detection within the limits and files it as
// pending (Status DETECTING, id PendingID). It returns the pending record, or
// nil when a detection of the stack started within Rerun, or is being started
// by a concurrent delivery: deliveries of the same stack (a swept round run
// again, SQS delivering a message twice) claim its start on the ledger first,
// so one of them calls DetectStackDrift.
func (h *Handler) Start(ctx context.Context, s Stack) (*ledger.DriftReport, error) {
	return h.start(ctx, s, ledger.HolderOf(ctx))
}

// start is Start, claiming as holder.
func (h *Handler) start(ctx context.Context, s Stack, holder string) (*ledger.DriftReport, error) {
	pid := PendingID(s.Account, s.Region, s.Name)
	return h.startOnce(ctx, pid, s.Name, holder, func(string) (*ledger.DriftReport, error) {
		return h.detect(ctx, s, pid)
	})
}

// startOnce runs begin, which starts the check of name (a stack's detection,
// a workspace's build) and files it as pending under pid, unless a check
// filed there started within Rerun, or another delivery holds the claim of
// the Rerun window now falls in. begin is given the claim's key, which
// names that window's start. It returns what begin filed, or nil when it did
// not run.
func (h *Handler) startOnce(ctx context.Context, pid, name, holder string, begin func(key string) (*ledger.DriftReport, error)) (*ledger.DriftReport, error) {
	last, err := latestReport(ctx, h.ledger, pid)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errLedger, err)
	}
	if last != nil && h.now().Sub(last.At) < h.rerun {
		return nil, nil
	}
	// The start is claimed for the Rerun window it falls in.
	key := fmt.Sprintf("drift:detect:%s:%d", pid, h.now().Truncate(h.rerun).Unix())
	var (
		pending  *ledger.DriftReport
		beginErr error
	)
	done, err := h.claims(holder).Once(ctx, key, "drift-detect/"+pid, "", func() error {
		pending, beginErr = begin(key)
		return beginErr
	})
	switch {
	case beginErr != nil:
		return nil, beginErr
	case err != nil && pending == nil: // the claim could not be read or taken
		return nil, fmt.Errorf("%w: %w", errLedger, err)
	case err != nil: // started and filed, but the claim not marked done: it ends with its lease
		slog.WarnContext(ctx, "drift check started; its claim stays until its lease ends", "name", name, "error", err)
	case !done:
		return nil, nil
	}
	return pending, nil
}

// detect calls DetectStackDrift on one stack and files the pending detection;
// it fails only when the detection did not start.
func (h *Handler) detect(ctx context.Context, s Stack, pid string) (*ledger.DriftReport, error) {
	name := s.ID
	if name == "" {
		name = s.Name
	}
	api := h.clients(s.Account, s.Region).Detections
	var out *cloudformation.DetectStackDriftOutput
	err := h.limits.Do(ctx, s.Account, func(ctx context.Context, opt func(*cloudformation.Options)) error {
		var err error
		out, err = api.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: aws.String(name)}, opt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("detect drift of %s: %w", s.Name, err)
	}
	pending := &ledger.DriftReport{
		Header:      ledger.Header{ID: pid, At: h.now()},
		Stack:       s.Name,
		Status:      StatusDetecting,
		Account:     s.Account,
		Region:      s.Region,
		DetectionID: aws.ToString(out.StackDriftDetectionId),
	}
	if err := h.ledger.Put(ctx, pending); err != nil {
		// Started all the same: starting it again would run a second
		// detection. Its completion is reported as one Highway did not
		// start (the stack is selected), and a lost completion event is
		// made up for by the next round.
		slog.WarnContext(ctx, "drift detection started but not filed as pending", "stack", s.Name,
			"detection", pending.DetectionID, "error", err)
	}
	return pending, nil
}
