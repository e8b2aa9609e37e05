package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/evidence"
)

// StaleAfter is how long a detection may stay pending before the scheduled
// round asks CloudFormation how it ended (its completion event is taken as
// lost). Detections finish in seconds to minutes.
const StaleAfter = 30 * time.Minute

// Round is what one scheduled round did.
type Round struct {
	Stale   StaleResult   `json:"stale"`
	Sweep   SweepResult   `json:"sweep"`
	Runtime RuntimeResult `json:"runtime"`
}

// Invoke is the drift function's handler. It tells its triggers apart by
// the payload: a batch from the drift queue (Records) goes to Detect and is
// answered with the messages to deliver again; CloudFormation's completion
// event goes to OnStatusChange, a CodeBuild build's state change (a
// Terraform workspace's plan) to OnBuild; the schedule's event runs a round:
// SweepStale, Sweep and CheckRuntime at the event's time, each running even
// when another fails. Anything else is refused, naming what it was.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var head struct {
		Records    []json.RawMessage `json:"Records"`
		Source     string            `json:"source"`
		DetailType string            `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, fmt.Errorf("drift: payload is not a JSON object: %w", err)
	}
	switch {
	case head.Records != nil:
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("drift: decode queue batch: %w", err)
		}
		return h.Detect(ctx, ev)
	case head.Source == "aws.cloudformation" && head.DetailType == DetailTypeStatusChange:
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("drift: decode %s: %w", head.DetailType, err)
		}
		return h.OnStatusChange(ctx, ev)
	case head.Source == evidence.SourceCodeBuild && head.DetailType == evidence.DetailTypeBuildStateChange:
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("drift: decode %s: %w", head.DetailType, err)
		}
		return h.OnBuild(ctx, ev)
	case head.Source == "aws.events" && head.DetailType == "Scheduled Event":
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("drift: decode scheduled event: %w", err)
		}
		return h.Round(ctx, ev.Time)
	default:
		return nil, fmt.Errorf("drift: unexpected event (source %q, detail-type %q): want a drift queue batch, a scheduled event, %q or %q",
			head.Source, head.DetailType, DetailTypeStatusChange, evidence.DetailTypeBuildStateChange)
	}
}

// Round runs one scheduled round at time at (the schedule's time, so that a
// redelivered event repeats no runtime check): it reports detections whose
// event never came, queues every selected stack and Terraform workspace,
// and checks what the environments run.
func (h *Handler) Round(ctx context.Context, at time.Time) (Round, error) {
	if at.IsZero() {
		at = h.now()
	}
	var r Round
	var errs [3]error
	r.Stale, errs[0] = h.SweepStale(ctx, StaleAfter)
	r.Sweep, errs[1] = h.Sweep(ctx)
	r.Runtime, errs[2] = h.CheckRuntime(ctx, at)
	return r, errors.Join(errs[:]...)
}
