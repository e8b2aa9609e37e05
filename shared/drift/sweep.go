package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/highwayhq/highway/shared/policy"
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
	// Failed names the account/region pairs that could not be listed or queued.
	Failed []string `json:"failed,omitempty"`
}

// Sweep selects the policy's stacks in every account and queues one message
// per stack for Detect, so that a thousand stacks are spread over many
// invocations instead of one. An account that fails does not stop the others;
// the error names it, and the retried sweep queues its stacks again (Detect
// skips stacks started moments ago).
func (h *Handler) Sweep(ctx context.Context) (SweepResult, error) {
	if h.queue == nil || h.queueURL == "" {
		return SweepResult{}, errors.New("sweep: no queue configured")
	}
	res := SweepResult{Accounts: len(h.accounts)}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, sweepParallel)
	)
	for _, a := range h.accounts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := h.sweepAccount(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			res.Stacks += n
			if err != nil {
				res.Failed = append(res.Failed, a.Account+"/"+a.Region)
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	slog.InfoContext(ctx, "drift sweep queued", "accounts", res.Accounts, "stacks", res.Stacks, "failed", res.Failed)
	return res, errors.Join(errs...)
}

// sweepAccount queues the selected stacks of one account and region.
func (h *Handler) sweepAccount(ctx context.Context, a policy.Spoke) (int, error) {
	c := h.clients(a.Account, a.Region)
	stacks, err := Select(ctx, pacedStacks{api: c.Stacks, limits: h.limits, account: a.Account}, h.drift.Stacks)
	if err != nil {
		return 0, fmt.Errorf("sweep %s/%s: %w", a.Account, a.Region, err)
	}
	if err := Send(ctx, h.queue, h.queueURL, stacks); err != nil {
		return 0, fmt.Errorf("sweep %s/%s: %w", a.Account, a.Region, err)
	}
	return len(stacks), nil
}

// Send queues one message per stack, ten to a SendMessageBatch. Entries SQS
// fails on its side are sent again, up to three times; entries it refuses as
// the sender's fault, or that keep failing, are an error naming them.
func Send(ctx context.Context, q Sender, queueURL string, stacks []Stack) error {
	var errs []error
	for start := 0; start < len(stacks); start += maxBatch {
		if err := sendBatch(ctx, q, queueURL, stacks[start:min(start+maxBatch, len(stacks))]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sendBatch(ctx context.Context, q Sender, queueURL string, batch []Stack) error {
	pending := map[string]sqstypes.SendMessageBatchRequestEntry{}
	for i, s := range batch {
		body, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode message for %s: %w", s.Name, err)
		}
		id := strconv.Itoa(i)
		pending[id] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(body))}
	}
	var refused []string
	for round := 0; round < sendRounds && len(pending) > 0; round++ {
		if round > 0 {
			if err := sleep(ctx, time.Duration(round)*100*time.Millisecond); err != nil {
				return err
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
			return fmt.Errorf("send %d messages: %w", len(entries), err)
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			if f.SenderFault {
				delete(pending, id)
				refused = append(refused, fmt.Sprintf("%s: %s %s", stackOf(batch, id), aws.ToString(f.Code), aws.ToString(f.Message)))
			}
		}
	}
	for id := range pending {
		refused = append(refused, stackOf(batch, id)+": still failing after retries")
	}
	if len(refused) > 0 {
		return fmt.Errorf("queue refused %d messages: %s", len(refused), strings.Join(refused, "; "))
	}
	return nil
}

// stackOf names the stack of entry id in batch.
func stackOf(batch []Stack, id string) string {
	if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(batch) {
		return batch[i].Name
	}
	return "entry " + id
}
