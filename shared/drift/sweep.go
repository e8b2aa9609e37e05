package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// maxBatch is how many messages SQS takes in one SendMessageBatch.
const maxBatch = 10

// sendRounds is how many times entries SQS failed on its side are sent.
const sendRounds = 3

// sweepParallel bounds the accounts listed at once; each keeps its own limits.
const sweepParallel = 8

// SweepResult says what one sweep queued.
type SweepResult struct {
	// Accounts is how many account and region pairs were swept.
	Accounts int `json:"accounts"`
	// Stacks is how many stacks were queued for detection.
	Stacks int `json:"stacks"`
	// Workspaces is how many Terraform workspaces were queued for a plan.
	Workspaces int `json:"workspaces,omitempty"`
	// Failed names the account/region pairs that could not be listed or queued.
	Failed []string `json:"failed,omitempty"`
}

// Sweep selects the policy's stacks in every account and queues one message
// per stack for Detect, and one per Terraform workspace of the policy, so
// that a thousand stacks are spread over many invocations instead of one.
// The workspaces' messages are spread evenly among the stacks', so that the
// batches Detect takes start builds while they detect drift, each within its
// own service's limits. An account that fails does not stop the others; the
// error names it, and the retried sweep queues its stacks again (Detect
// skips stacks and workspaces started moments ago).
func (h *Handler) Sweep(ctx context.Context) (SweepResult, error) {
	if h.queue == nil || h.queueURL == "" {
		return SweepResult{}, errors.New("sweep: no queue configured")
	}
	res := SweepResult{Accounts: len(h.accounts)}
	var (
		mu     sync.Mutex
		errs   []error
		wg     sync.WaitGroup
		sem    = make(chan struct{}, sweepParallel)
		listed = make([][]Stack, len(h.accounts))
	)
	for i, a := range h.accounts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c := h.clients(a.Account, a.Region)
			stacks, err := Select(ctx, pacedStacks{api: c.Stacks, limits: h.limits, account: a.Account}, h.drift.Stacks)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed = append(res.Failed, a.Account+"/"+a.Region)
				errs = append(errs, fmt.Errorf("sweep %s/%s: %w", a.Account, a.Region, err))
				return
			}
			listed[i] = stacks
		})
	}
	wg.Wait()
	var stacks, workspaces []message
	for _, l := range listed {
		for _, s := range l {
			stacks = append(stacks, message{Stack: s})
		}
	}
	for _, w := range h.drift.Terraform {
		workspaces = append(workspaces, message{Stack: Stack{Account: w.Account, Region: w.Region}, Workspace: w.Name})
	}
	refused, err := send(ctx, h.queue, h.queueURL, interleave(stacks, workspaces))
	if err != nil {
		errs = append(errs, fmt.Errorf("sweep: %w", err))
	}
	res.Stacks, res.Workspaces = len(stacks), len(workspaces)
	for _, m := range refused {
		if m.Workspace != "" {
			res.Workspaces--
		} else {
			res.Stacks--
		}
		if at := m.Account + "/" + m.Region; !slices.Contains(res.Failed, at) {
			res.Failed = append(res.Failed, at)
		}
	}
	slog.InfoContext(ctx, "drift sweep queued", "accounts", res.Accounts, "stacks", res.Stacks, "workspaces", res.Workspaces, "failed", res.Failed)
	return res, errors.Join(errs...)
}

// interleave spreads workspaces evenly among stacks: workspace j comes
// after (j+½)·len(stacks)/len(workspaces) stacks.
func interleave(stacks, workspaces []message) []message {
	out := make([]message, 0, len(stacks)+len(workspaces))
	i, j := 0, 0
	for i < len(stacks) || j < len(workspaces) {
		if j < len(workspaces) && (i == len(stacks) || (2*j+1)*len(stacks) <= 2*i*len(workspaces)) {
			out = append(out, workspaces[j])
			j++
		} else {
			out = append(out, stacks[i])
			i++
		}
	}
	return out
}

// Send queues one message per stack, ten to a SendMessageBatch. Entries SQS
// fails on its side are sent again, up to three times; entries it refuses as
// the sender's fault, or that keep failing, are an error naming them.
func Send(ctx context.Context, q Sender, queueURL string, stacks []Stack) error {
	msgs := make([]message, len(stacks))
	for i, s := range stacks {
		msgs[i] = message{Stack: s}
	}
	_, err := send(ctx, q, queueURL, msgs)
	return err
}

// send is Send of stacks and workspaces; it also returns the messages not
// queued.
func send(ctx context.Context, q Sender, queueURL string, msgs []message) ([]message, error) {
	var (
		refused []message
		errs    []error
	)
	for start := 0; start < len(msgs); start += maxBatch {
		r, err := sendBatch(ctx, q, queueURL, msgs[start:min(start+maxBatch, len(msgs))])
		refused = append(refused, r...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return refused, errors.Join(errs...)
}

// sendBatch sends one batch and returns the messages SQS did not take, with
// an error naming them.
func sendBatch(ctx context.Context, q Sender, queueURL string, batch []message) ([]message, error) {
	pending := map[string]sqstypes.SendMessageBatchRequestEntry{}
	for i, s := range batch {
		body, err := json.Marshal(s)
		if err != nil {
			return batch, fmt.Errorf("encode message for %s: %w", s.name(), err)
		}
		id := strconv.Itoa(i)
		pending[id] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(body))}
	}
	var (
		refused []message
		why     []string
	)
	refuse := func(id, reason string) {
		if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(batch) {
			refused = append(refused, batch[i])
		}
		why = append(why, stackOf(batch, id)+": "+reason)
	}
	for round := 0; round < sendRounds && len(pending) > 0; round++ {
		if round > 0 {
			if err := sleep(ctx, time.Duration(round)*100*time.Millisecond); err != nil {
				return batch, err
			}
		}
		entries := make([]sqstypes.SendMessageBatchRequestEntry, 0, len(pending))
		for i := range batch {
			if e, ok := pending[strconv.Itoa(i)]; ok {
				entries = append(entries, e)
			}
		}
		out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			return batch, fmt.Errorf("send %d messages: %w", len(entries), err)
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			if f.SenderFault {
				delete(pending, id)
				refuse(id, aws.ToString(f.Code)+" "+aws.ToString(f.Message))
			}
		}
	}
	for i := range batch {
		if id := strconv.Itoa(i); pending[id].Id != nil {
			refuse(id, "still failing after retries")
		}
	}
	if len(why) > 0 {
		return refused, fmt.Errorf("queue refused %d messages: %s", len(why), strings.Join(why, "; "))
	}
	return nil, nil
}

// stackOf names the stack or workspace of entry id in batch.
func stackOf(batch []message, id string) string {
	if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(batch) {
		return batch[i].name()
	}
	return "entry " + id
}
