package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/highwayhq/highway/shared/policy"
)

// staleParallel bounds the stacks checked at once; CloudFormation calls among
// them keep to Limits.
const staleParallel = 16

// StaleResult says what one stale sweep found.
type StaleResult struct {
	// Stacks is how many selected stacks were looked at.
	Stacks int `json:"stacks"`
	// Workspaces is how many Terraform workspaces were looked at.
	Workspaces int `json:"workspaces,omitempty"`
	// Stale is how many had a detection pending for longer than asked.
	Stale int `json:"stale"`
	// Reported is how many of those were finished and are reported now.
	Reported int `json:"reported"`
	// Running is how many CloudFormation still runs.
	Running int `json:"running"`
	// Unknown is how many CloudFormation no longer knows; the next sweep's
	// detection supersedes them.
	Unknown int `json:"unknown"`
}

// SweepStale reports the detections whose completion event never came: for
// every selected stack whose last detection has been pending (DETECTING) for
// longer than olderThan, it asks DescribeStackDriftDetectionStatus and, when
// the detection is over, reports it exactly as OnStatusChange would (an event
// arriving later is then a duplicate); for every Terraform workspace whose
// build has, it asks BatchGetBuilds and reports it as OnBuild would. Stacks
// of an account that fails are skipped, and the error names the account.
func (h *Handler) SweepStale(ctx context.Context, olderThan time.Duration) (StaleResult, error) {
	var (
		mu   sync.Mutex
		res  StaleResult
		errs []error
		wg   sync.WaitGroup
	)
	for _, a := range h.accounts {
		wg.Go(func() {
			r, err := h.staleAccount(ctx, a, olderThan)
			mu.Lock()
			defer mu.Unlock()
			res.Stacks += r.Stacks
			res.Stale += r.Stale
			res.Reported += r.Reported
			res.Running += r.Running
			res.Unknown += r.Unknown
			if err != nil {
				errs = append(errs, fmt.Errorf("stale sweep %s/%s: %w", a.Account, a.Region, err))
			}
		})
	}
	sem := make(chan struct{}, staleParallel)
	for _, w := range h.drift.Terraform {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			found, err := h.staleWorkspace(ctx, w, olderThan)
			mu.Lock()
			defer mu.Unlock()
			res.Workspaces++
			res.count(found)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	slog.InfoContext(ctx, "drift stale sweep", "stacks", res.Stacks, "workspaces", res.Workspaces, "stale", res.Stale, "reported", res.Reported,
		"running", res.Running, "unknown", res.Unknown)
	return res, errors.Join(errs...)
}

func (h *Handler) staleAccount(ctx context.Context, a policy.Spoke, olderThan time.Duration) (StaleResult, error) {
	c := h.clients(a.Account, a.Region)
	stacks, err := Select(ctx, pacedStacks{api: c.Stacks, limits: h.limits, account: a.Account}, h.drift.Stacks)
	if err != nil {
		return StaleResult{}, err
	}
	var (
		mu   sync.Mutex
		res  = StaleResult{Stacks: len(stacks)}
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, staleParallel)
	)
	for _, s := range stacks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			found, err := h.staleStack(ctx, c.Drifts, s, olderThan)
			mu.Lock()
			defer mu.Unlock()
			res.count(found)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

// count adds what the stale check of one stack or workspace found.
func (r *StaleResult) count(found staleFinding) {
	switch found {
	case staleReported:
		r.Stale++
		r.Reported++
	case staleRunning:
		r.Stale++
		r.Running++
	case staleUnknown:
		r.Stale++
		r.Unknown++
	case staleFailed:
		r.Stale++
	}
}

// staleFinding is what the stale check of one stack or workspace found.
type staleFinding int

const (
	notStale staleFinding = iota
	staleReported
	staleRunning
	staleUnknown
	staleFailed
)

func (h *Handler) staleStack(ctx context.Context, api DetectionReader, s Stack, olderThan time.Duration) (staleFinding, error) {
	pending, err := latestReport(ctx, h.ledger, PendingID(s.Account, s.Region, s.Name))
	if err != nil {
		return notStale, err
	}
	if pending == nil || pending.Status != StatusDetecting || h.now().Sub(pending.At) < olderThan {
		return notStale, nil
	}
	var out *cloudformation.DescribeStackDriftDetectionStatusOutput
	err = h.limits.Do(ctx, s.Account, func(ctx context.Context, opt func(*cloudformation.Options)) error {
		var err error
		out, err = api.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{
			StackDriftDetectionId: aws.String(pending.DetectionID),
		}, opt)
		return err
	})
	if err != nil {
		if !retryable(err) {
			slog.WarnContext(ctx, "stale drift detection unknown to CloudFormation", "stack", s.Name,
				"detection", pending.DetectionID, "error", err)
			return staleUnknown, nil
		}
		return staleFailed, fmt.Errorf("status of detection %s of %s: %w", pending.DetectionID, s.Name, err)
	}
	if out.DetectionStatus == cftypes.StackDriftDetectionStatusDetectionInProgress {
		return staleRunning, nil
	}
	stackID := aws.ToString(out.StackId)
	if stackID == "" {
		stackID = s.ID
	}
	_, err = h.report(ctx, completion{
		account: s.Account, region: s.Region, stack: s.Name, stackID: stackID, detection: pending.DetectionID,
		stackStatus: string(out.StackDriftStatus), detectionStatus: string(out.DetectionStatus), at: aws.ToTime(out.Timestamp),
	})
	if err != nil {
		return staleFailed, err
	}
	return staleReported, nil
}
