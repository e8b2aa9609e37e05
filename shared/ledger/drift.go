package ledger

import (
	"context"
	"errors"
	"fmt"
)

// FileDriftReport stores r as the current report of its stack or environment
// (r.ID) and retires the one it replaces, which it returns (nil for the first)
// so the caller can tell what changed. A redelivered report (same ID and time)
// stores nothing twice.
func FileDriftReport(ctx context.Context, l Ledger, r *DriftReport) (*DriftReport, error) {
	var previous *DriftReport
	rec, err := l.Latest(ctx, KindDriftReport, r.ID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		previous = rec.(*DriftReport)
	}
	if previous != nil && previous.At.Equal(r.At.UTC()) {
		return previous, ErrExists // this very report, filed before
	}
	r.Current = true
	if err := l.Put(ctx, r); err != nil {
		return nil, fmt.Errorf("file drift report %s: %w", r.ID, err)
	}
	if previous != nil && previous.Current {
		previous.Current = false
		if err := l.Update(ctx, previous); err != nil && !errors.Is(err, ErrStale) {
			return nil, fmt.Errorf("retire drift report %s: %w", r.ID, err)
		}
	}
	return previous, nil
}
