package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/promotion"
)

// workflow runs the production approval workflow in the demo's process, state
// by state as the CDK app's state machine does, with the names, retries and
// outcomes the state machine is built from (promotion.State*, Step*,
// Outcome*, StepRetries, ApprovalRequestRetries; TestDeployedApprovalWorkflow
// runs the synthesized state machine itself): Preconditions, RequestApproval
// (waiting on a task token; a failed request is asked again
// promotion.ApprovalRequestRetries times, bad input never), Deploy, the status
// loop, Record, each of the promotion function's steps run again
// promotion.StepRetries times when it fails, a refused precondition never. It
// stands in for Step Functions' StartExecution, which starts an execution
// once by its name, and for the SendTask calls the approval links make. As
// in Step Functions, what fails inside an execution does not fail the call
// that started or resumed it: the execution records the promotion failed, or
// fails. Each attempt at a promotion has an id of its own, and so a workflow
// of its own.
type workflow struct {
	out        io.Writer
	wait       func(time.Duration) // the scenario's time passing, as in a Wait state
	promoter   *promotion.Promoter
	requests   *approval.Requester
	executions map[string]execution // waiting, by task token
	started    map[string]bool      // by execution name
}

// execution is one waiting workflow: the state machine's input.
type execution struct {
	PromotionID string `json:"promotionId"`
	App         string `json:"app"`
	Env         string `json:"env"`
	Digest      string `json:"digest"`
	Commit      string `json:"commit"`
}

// StartExecution runs the workflow up to the approval it waits for; an
// execution of that name started already is not started again.
func (w *workflow) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	var ex execution
	if err := json.Unmarshal([]byte(aws.ToString(in.Input)), &ex); err != nil {
		return nil, fmt.Errorf("workflow input: %w", err)
	}
	started := &sfn.StartExecutionOutput{ExecutionArn: aws.String("local:" + ex.PromotionID)}
	name := cmp.Or(aws.ToString(in.Name), ex.PromotionID)
	if w.started[name] {
		return started, nil
	}
	w.started[name] = true
	fmt.Fprintf(w.out, "  workflow %s: %s\n", ex.PromotionID, promotion.StatePreconditions)
	out, err := w.run(ctx, ex, promotion.StepPreconditions, "")
	var pf *promotion.PreconditionFailed
	if errors.As(err, &pf) {
		fmt.Fprintf(w.out, "  workflow %s: %v, %s\n", ex.PromotionID, pf, promotion.StateRecordRefused)
		w.record(ctx, ex, promotion.OutcomeRefused)
		return started, nil
	}
	if err != nil {
		fmt.Fprintf(w.out, "  workflow %s: %s failed (%v); %s\n", ex.PromotionID, promotion.StatePreconditions, err, promotion.StateRecordFailed)
		w.record(ctx, ex, promotion.OutcomeFailed)
		return started, nil
	}
	fmt.Fprintf(w.out, "  workflow %s: %s (waiting for the task token)\n", ex.PromotionID, promotion.StateRequestApproval)
	for retry := 0; ; retry++ {
		// Each try is a new task, with a token of its own, as in Step Functions.
		token := fmt.Sprintf("local-task-%s-%d", ex.PromotionID, retry)
		w.executions[token] = ex
		_, err = w.requests.Handle(ctx, approval.Request{TaskToken: token, PromotionID: ex.PromotionID, App: ex.App, Env: ex.Env,
			Digest: ex.Digest, Commit: ex.Commit, Summary: *out.Summary})
		if err == nil {
			return started, nil
		}
		delete(w.executions, token)
		var bad *approval.InputError
		if errors.As(err, &bad) || retry == promotion.ApprovalRequestRetries {
			break
		}
		fmt.Fprintf(w.out, "  workflow %s: %s failed (%v); retried\n", ex.PromotionID, promotion.StateRequestApproval, err)
	}
	fmt.Fprintf(w.out, "  workflow %s: %s failed (%v); %s\n", ex.PromotionID, promotion.StateRequestApproval, err, promotion.StateRecordFailed)
	w.record(ctx, ex, promotion.OutcomeFailed)
	return started, nil
}

// execution names the execution a task token belongs to (its promotion), or
// the token when it belongs to none: a task is answered once per execution,
// whichever try of its request it was.
func (w *workflow) execution(token string) string {
	if ex, ok := w.executions[token]; ok {
		return ex.PromotionID
	}
	return token
}

// Succeed resumes an approved workflow: Deploy, the status loop, Record.
func (w *workflow) Succeed(ctx context.Context, token, _ string) error {
	ex, ok := w.executions[token]
	if !ok {
		return approval.ErrTaskGone
	}
	delete(w.executions, token)
	fmt.Fprintf(w.out, "  workflow %s: approved; %s\n", ex.PromotionID, promotion.StateDeploy)
	out, err := w.run(ctx, ex, promotion.StepDeploy, "")
	for polls := 0; err == nil && out.Status == promotion.StatusDeploying; polls++ {
		if polls == maxPolls {
			err = fmt.Errorf("still deploying after %d looks", polls)
			break
		}
		if w.wait != nil {
			w.wait(promotion.StatusPoll)
		}
		out, err = w.run(ctx, ex, promotion.StepStatus, "")
	}
	status := out.Status
	if err != nil {
		fmt.Fprintf(w.out, "  workflow %s: %s failed (%v)\n", ex.PromotionID, promotion.StateDeploy, err)
		status = promotion.StatusFailed
	}
	fmt.Fprintf(w.out, "  workflow %s: Record %s\n", ex.PromotionID, status)
	w.record(ctx, ex, status)
	return nil
}

// Fail ends a rejected workflow: Record rejected.
func (w *workflow) Fail(ctx context.Context, token, errorName, cause string) error {
	ex, ok := w.executions[token]
	if !ok {
		return approval.ErrTaskGone
	}
	delete(w.executions, token)
	fmt.Fprintf(w.out, "  workflow %s: %s (%s); %s\n", ex.PromotionID, errorName, cause, promotion.StateRecordRejected)
	w.record(ctx, ex, promotion.OutcomeRejected)
	return nil
}

// maxPolls bounds the status loop of the demo's workflow: a deployment the
// demo starts is done at once, or within a few looks.
const maxPolls = 100

// record runs the Record step; when it fails past its retries, the
// execution fails, as the state machine's would (and its alarm fires).
func (w *workflow) record(ctx context.Context, ex execution, outcome string) {
	if _, err := w.run(ctx, ex, promotion.StepRecord, outcome); err != nil {
		fmt.Fprintf(w.out, "  workflow %s: Record %s failed (%v); the execution failed\n", ex.PromotionID, outcome, err)
	}
}

// run runs one of the promotion function's steps, again when it fails, as
// the state machine's retriers do: promotion.StepRetries times, never a
// refused precondition.
func (w *workflow) run(ctx context.Context, ex execution, step, outcome string) (promotion.StepOutput, error) {
	for retry := 0; ; retry++ {
		out, err := w.promoter.Step(ctx, promotion.StepInput{Step: step, PromotionID: ex.PromotionID, App: ex.App, Env: ex.Env, Outcome: outcome})
		var pf *promotion.PreconditionFailed
		if err == nil || errors.As(err, &pf) || retry == promotion.StepRetries {
			return out, err
		}
		fmt.Fprintf(w.out, "  workflow %s: %s failed (%v); retried\n", ex.PromotionID, step, err)
	}
}

// mailbox is the demo's notification and approvals topics: it prints each
// message and keeps the last one addressed to each approver, whose signed
// links that approver then opens.
type mailbox struct {
	out  io.Writer
	last string
	to   map[string]string // approver -> the last message addressed to them
}

func (m *mailbox) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	m.last = aws.ToString(in.Message)
	if to, ok := in.MessageAttributes[approval.MessageAttributeApprover]; ok {
		m.to[aws.ToString(to.StringValue)] = m.last
		fmt.Fprintf(m.out, "  dry-run: would notify %s alone %q:\n", aws.ToString(to.StringValue), aws.ToString(in.Subject))
	} else {
		fmt.Fprintf(m.out, "  dry-run: would notify %q:\n", aws.ToString(in.Subject))
	}
	for _, line := range strings.Split(strings.TrimRight(m.last, "\n"), "\n") {
		fmt.Fprintf(m.out, "    | %s\n", line)
	}
	return &sns.PublishOutput{MessageId: aws.String("dry-run")}, nil
}

// linkPattern finds the signed links in a notification.
var linkPattern = regexp.MustCompile(`https?://\S+\?\S*sig=\S+`)

// link returns approver's link for action from the last message to them.
func (m *mailbox) link(approver string, action approval.Action) (*url.URL, error) {
	for _, raw := range linkPattern.FindAllString(m.to[approver], -1) {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		q := u.Query()
		if q.Get("approver") == approver && q.Get("action") == string(action) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("the last notification has no %s link for %s", action, approver)
}

// click opens a signed link as a person does: the link shows a confirmation
// page (GET), and confirming posts the same signed query.
func click(ctx context.Context, links *approval.Links, u *url.URL, at time.Time) (int, error) {
	for _, method := range []string{"GET", "POST"} {
		var ev events.LambdaFunctionURLRequest
		ev.RawPath, ev.RawQueryString = u.Path, u.RawQuery
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.HTTP.SourceIP = "127.0.0.1"
		ev.RequestContext.TimeEpoch = at.UnixMilli()
		if method == "POST" {
			ev.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded"}
		}
		resp, err := links.Handle(ctx, ev)
		if err != nil || resp.StatusCode != 200 {
			return resp.StatusCode, err
		}
	}
	return 200, nil
}
