package dora

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// Settle is how long after its time a record may still reach the ledger. A
// deployment is filed when it ends, under the time it started, and a
// promotion holds its environment for at most two hours (the promotion
// lock) before the minute tick ends it. Each incremental run therefore reads
// again the records of the Settle before the previous run.
const Settle = 3 * time.Hour

// MaxCheckpoint bounds a checkpoint's encoded size, well under DynamoDB's
// 400 KB item limit. A deployment of one commit takes about 280 bytes, so it
// holds about 1,000 deployments over the 31 days kept (some 35 a day). A
// checkpoint that outgrows it is not saved: the next run reads the longest
// window in full, as the first run does, and figures stay right.
const MaxCheckpoint = 300 << 10

// longest is the span of the longest window.
func longest() time.Duration {
	var s time.Duration
	for _, w := range Windows {
		s = max(s, w.Span)
	}
	return s
}

// Refresh brings the checkpoint cp of app's env up to now and returns the
// result; cp is not modified. It reads from the ledger only what may have
// changed since cp.Through: the deployments and promotions that started
// since cp.Through less Settle, the incidents opened since then or still
// open at the last run (a resolution updates the record), and the commit
// time of the commits those deployments carry that it does not know yet.
// Without a checkpoint (nil, or one ahead of now) it reads the longest
// window with its margins in full. Facts older than that are dropped.
func Refresh(ctx context.Context, l ledger.Ledger, app, env string, cp *ledger.DORACheckpoint, now time.Time) (*ledger.DORACheckpoint, error) {
	depFrom := now.Add(-longest() - failureMargin)
	incFrom := now.Add(-longest() - restoreMargin)
	next := newCheckpoint(app, env, now)
	since, incSince := depFrom, incFrom
	if cp != nil && !cp.Through.IsZero() && !cp.Through.After(now) {
		next.Header = cp.Header
		since = later(depFrom, cp.Through.Add(-Settle))
		incSince = since
		for _, i := range cp.Incidents {
			if i.ResolvedAt.IsZero() && i.At.Before(incSince) {
				incSince = i.At
			}
		}
		incSince = later(incFrom, incSince)
		// Keep what the reads below do not cover again.
		for _, d := range cp.Deployments {
			if !d.At.Before(depFrom) && d.At.Before(since) {
				next.Deployments = append(next.Deployments, d)
			}
		}
		for id, at := range cp.Rollbacks {
			if !at.Before(depFrom) && at.Before(since) {
				next.Rollbacks[id] = at
			}
		}
		for _, i := range cp.Incidents {
			if !i.At.Before(incFrom) && i.At.Before(incSince) {
				next.Incidents = append(next.Incidents, i)
			}
		}
		for _, d := range next.Deployments {
			for _, c := range d.Commits {
				if at, ok := cp.CommittedAt[c]; ok {
					next.CommittedAt[c] = at
				}
			}
		}
	}
	next.Through = now
	if err := gather(ctx, l, next, since, incSince, now, cp); err != nil {
		return nil, err
	}
	return next, nil
}

// gather adds to cp the deployments and promotions of its app and env that
// started in [from, to), the incidents opened in [incFrom, to), and the
// commit time of the commits deployed; a commit time the deployment carries,
// or known to prev (which may be nil), is not read again.
func gather(ctx context.Context, l ledger.Ledger, cp *ledger.DORACheckpoint, from, incFrom, to time.Time, prev *ledger.DORACheckpoint) error {
	deps, err := l.Deployments(ctx, cp.App, cp.Env, from, to)
	if err != nil {
		return err
	}
	for _, d := range deps {
		cp.Deployments = append(cp.Deployments, ledger.DeploymentFact{
			ID: d.ID, PromotionID: d.PromotionID, Status: d.Status,
			At: d.At, FinishedAt: d.FinishedAt, Commits: d.Commits,
		})
	}
	var known map[string]time.Time
	if prev != nil {
		known = prev.CommittedAt
	}
	if err := commitTimes(ctx, l, deps, cp.CommittedAt, known); err != nil {
		return err
	}
	promos, err := l.Promotions(ctx, cp.App, cp.Env, from, to)
	if err != nil {
		return err
	}
	for _, p := range promos {
		if isRollback(p) {
			cp.Rollbacks[p.ID] = p.At
		}
	}
	incs, err := l.Incidents(ctx, cp.App, cp.Env, incFrom, to)
	if err != nil {
		return err
	}
	for _, i := range incs {
		cp.Incidents = append(cp.Incidents, ledger.IncidentFact{ID: i.ID, DeploymentID: i.DeploymentID, At: i.At, ResolvedAt: i.ResolvedAt})
	}
	sortFacts(cp)
	return nil
}

// commitTimes adds to into the commit time of each commit deps carry that
// it lacks: the time the deployment carries, else known's (which may be
// nil), else the one the commit's record on l holds. A commit the ledger
// knows no time of is left out.
func commitTimes(ctx context.Context, l ledger.Ledger, deps []*ledger.Deployment, into, known map[string]time.Time) error {
	for _, d := range deps {
		for _, c := range d.Commits {
			if _, ok := into[c]; ok {
				continue
			}
			if at, ok := d.CommittedAt[c]; ok {
				into[c] = at
				continue
			}
			if at, ok := known[c]; ok {
				into[c] = at
				continue
			}
			at, err := ledger.CommittedAt(ctx, l, c)
			if err != nil {
				return err
			}
			if !at.IsZero() {
				into[c] = at
			}
		}
	}
	return nil
}

// newCheckpoint is an empty checkpoint of app's env, first written at.
func newCheckpoint(app, env string, at time.Time) *ledger.DORACheckpoint {
	return &ledger.DORACheckpoint{
		Header:      ledger.Header{ID: app + "/" + env, App: app, Env: env, At: at},
		Rollbacks:   map[string]time.Time{},
		CommittedAt: map[string]time.Time{},
	}
}

// HistoryOf is what Compute needs, from a checkpoint.
func HistoryOf(cp *ledger.DORACheckpoint) History {
	h := History{Rollbacks: map[string]bool{}, CommittedAt: maps.Clone(cp.CommittedAt)}
	for id := range cp.Rollbacks {
		h.Rollbacks[id] = true
	}
	for _, d := range cp.Deployments {
		h.Deployments = append(h.Deployments, &ledger.Deployment{
			Header:  ledger.Header{ID: d.ID, App: cp.App, Env: cp.Env, At: d.At},
			Commits: d.Commits, PromotionID: d.PromotionID, Status: d.Status, FinishedAt: d.FinishedAt,
		})
	}
	for _, i := range cp.Incidents {
		h.Incidents = append(h.Incidents, &ledger.Incident{
			Header:       ledger.Header{ID: i.ID, App: cp.App, Env: cp.Env, At: i.At},
			DeploymentID: i.DeploymentID, ResolvedAt: i.ResolvedAt,
		})
	}
	return h
}

// rowsOf computes every window ending at now from h.
func rowsOf(app, env string, h History, now time.Time) []Row {
	rows := make([]Row, 0, len(Windows))
	for _, w := range Windows {
		m := Compute(h, now.Add(-w.Span), now)
		rows = append(rows, Row{App: app, Env: env, Window: w.Name, Metrics: m, Bands: BandsOf(m)})
	}
	return rows
}

// environments calls fn with every app and environment of p that keep
// accepts (every one when keep is nil), in the policy's order.
func environments(p *policy.Policy, keep func(app, env string) bool, fn func(app, env string) error) error {
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if keep != nil && !keep(a.Name, e.Name) {
				continue
			}
			if err := fn(a.Name, e.Name); err != nil {
				return fmt.Errorf("dora %s/%s: %w", a.Name, e.Name, err)
			}
		}
	}
	return nil
}

// Tally computes, like All, the metrics of every environment of p over every
// window ending at now, but incrementally: it starts from each environment's
// checkpoint on the ledger, reads what changed since (Refresh), and saves
// the checkpoint back. A checkpoint it cannot save (another run saved one
// first, or it outgrew MaxCheckpoint) is logged and costs the next run a
// longer read, never a wrong figure.
func Tally(ctx context.Context, l ledger.Ledger, p *policy.Policy, now time.Time, keep func(app, env string) bool) ([]Row, error) {
	var rows []Row
	err := environments(p, keep, func(app, env string) error {
		var cp *ledger.DORACheckpoint
		rec, err := l.Latest(ctx, ledger.KindDORACheckpoint, app+"/"+env)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
		case err != nil:
			return err
		default:
			var ok bool
			if cp, ok = rec.(*ledger.DORACheckpoint); !ok {
				return fmt.Errorf("checkpoint: found a %T", rec)
			}
		}
		next, err := Refresh(ctx, l, app, env, cp, now)
		if err != nil {
			return err
		}
		rows = append(rows, rowsOf(app, env, HistoryOf(next), now)...)
		return save(ctx, l, cp, next)
	})
	return rows, err
}

// resave is how long a checkpoint whose facts have not changed goes unsaved.
// Until it is saved, each run reads again from its older Through, which
// costs a query or two that find nothing new (nothing new is why it was not
// saved); saving it every hour would rewrite every environment's checkpoint,
// tens of kilobytes each, every hour for nothing.
const resave = 24 * time.Hour

// save stores next, the refresh of prev (nil when there was none), unless it
// holds the same facts as prev and prev is less than resave old.
func save(ctx context.Context, l ledger.Ledger, prev, next *ledger.DORACheckpoint) error {
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if prev != nil && next.Through.Sub(prev.Through) < resave && !prev.Through.After(next.Through) && sameFacts(prev, next) {
		return nil
	}
	if len(b) > MaxCheckpoint {
		slog.WarnContext(ctx, "dora checkpoint not saved: too large; the next run reads in full",
			"checkpoint", next.ID, "bytes", len(b), "max", MaxCheckpoint)
		return nil
	}
	switch {
	case prev == nil:
		err = l.Put(ctx, next)
	case prev.Through.After(next.Through):
		return nil // a run for a past time leaves the newer checkpoint alone
	default:
		err = l.Update(ctx, next)
	}
	if errors.Is(err, ledger.ErrStale) || errors.Is(err, ledger.ErrExists) {
		slog.WarnContext(ctx, "dora checkpoint not saved: another run saved one first", "checkpoint", next.ID)
		return nil
	}
	return err
}

// sameFacts reports whether a and b hold the same deployments, rollbacks,
// incidents and commit times.
func sameFacts(a, b *ledger.DORACheckpoint) bool {
	facts := func(cp *ledger.DORACheckpoint) ledger.DORACheckpoint {
		return ledger.DORACheckpoint{Deployments: cp.Deployments, Rollbacks: cp.Rollbacks, Incidents: cp.Incidents, CommittedAt: cp.CommittedAt}
	}
	fa, err1 := json.Marshal(facts(a))
	fb, err2 := json.Marshal(facts(b))
	return err1 == nil && err2 == nil && bytes.Equal(fa, fb)
}

// sortFacts orders a checkpoint's facts by time, so what is stored reads in
// order.
func sortFacts(cp *ledger.DORACheckpoint) {
	slices.SortStableFunc(cp.Deployments, func(a, b ledger.DeploymentFact) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(cp.Incidents, func(a, b ledger.IncidentFact) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
