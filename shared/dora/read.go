package dora

import (
	"context"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// Margins of Read: a deployment's failure may show after the window ends (an
// incident or a rollback the next morning), and an incident resolved in the
// window may have opened well before it.
const (
	failureMargin = 24 * time.Hour
	restoreMargin = 30 * 24 * time.Hour
)

// Read gathers from the ledger, by queries only, what Compute needs for one
// app and environment over [from, to): the deployments started from a day
// before the window to a day after it, the promotions that rolled the
// environment back, the incidents opened from a month before, and the commit
// time of every commit deployed.
func Read(ctx context.Context, l ledger.Ledger, app, env string, from, to time.Time) (History, error) {
	cp := newCheckpoint(app, env, to)
	if err := gather(ctx, l, cp, from.Add(-failureMargin), to.Add(failureMargin), from.Add(-restoreMargin), to.Add(failureMargin), nil); err != nil {
		return History{}, err
	}
	return HistoryOf(cp), nil
}
