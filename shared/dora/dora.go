// Package dora computes the four DORA software delivery metrics of an app's
// environment from what the ledger records (deployments, the promotions that
// ran them, commits, incidents), and places each in its DORA performance band.
package dora

import (
	"cmp"
	"slices"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// History is what the metrics of one app and environment are computed from:
// the records of the window and, for lead time, when each commit was made.
type History struct {
	// Deployments are the environment's deployments, in any order.
	Deployments []*ledger.Deployment
	// Rollbacks are the ids of the promotions that rolled the environment
	// back (promotions from the environment into itself).
	Rollbacks map[string]bool
	// Incidents are the environment's incidents.
	Incidents []*ledger.Incident
	// CommittedAt is each commit's author time, by SHA; a commit missing
	// here adds no lead time.
	CommittedAt map[string]time.Time
}

// Metrics are the four metrics over one window.
type Metrics struct {
	// From and To bound the window, [From, To).
	From, To time.Time
	// Deployments counts the successful deployments that finished in the
	// window, several deployments of one promotion once, rollbacks excluded;
	// PerDay is that count over the window's days.
	Deployments int
	PerDay      float64
	// LeadTimeMedian and LeadTimeP90 are over every commit that first reached
	// the environment in the window: its commit time to the end of that
	// deployment. Commits counts them.
	LeadTimeMedian, LeadTimeP90 time.Duration
	Commits                     int
	// Failed counts the window's deployments followed by an incident blamed
	// on them or by a rollback; ChangeFailureRate is Failed over Deployments.
	Failed            int
	ChangeFailureRate float64
	// Rollbacks counts the rollbacks that finished in the window, which
	// Deployments leaves out.
	Rollbacks int
	// TimeToRestoreMedian is over the incidents resolved in the window:
	// opened to resolved. Restored counts them.
	TimeToRestoreMedian time.Duration
	Restored            int
}

// Compute returns the metrics of h over [from, to).
func Compute(h History, from, to time.Time) Metrics {
	m := Metrics{From: from, To: to}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }

	firstSeen := map[string]time.Time{} // commit -> end of its first deployment
	var leads []time.Duration
	for _, c := range changesOf(h) {
		done := finished(c.Deployment)
		for _, sha := range c.Commits {
			if _, dup := firstSeen[sha]; dup || c.Rollback {
				continue
			}
			firstSeen[sha] = done
			if at, ok := h.CommittedAt[sha]; ok && in(done) {
				leads = append(leads, done.Sub(at))
			}
		}
		switch {
		case !in(done):
		case c.Rollback:
			m.Rollbacks++
		default:
			m.Deployments++
			if c.Failed {
				m.Failed++
			}
		}
	}
	m.Commits = len(leads)
	m.LeadTimeMedian, m.LeadTimeP90 = percentile(leads, 50), percentile(leads, 90)
	if days := to.Sub(from).Hours() / 24; days > 0 {
		m.PerDay = float64(m.Deployments) / days
	}
	if m.Deployments > 0 {
		m.ChangeFailureRate = float64(m.Failed) / float64(m.Deployments)
	}

	var restores []time.Duration
	for _, inc := range h.Incidents {
		if !inc.ResolvedAt.IsZero() && in(inc.ResolvedAt) {
			restores = append(restores, inc.ResolvedAt.Sub(inc.At))
		}
	}
	m.Restored = len(restores)
	m.TimeToRestoreMedian = percentile(restores, 50)
	return m
}

// change is a successful deployment as the metrics count it.
type change struct {
	*ledger.Deployment
	// Rollback says it rolled the environment back: it is not a deployment
	// of a change, and its commits add no lead time.
	Rollback bool
	// Failed says an incident was blamed on it or the next change rolled it
	// back: it counts as a failed change.
	Failed bool
}

// changesOf returns h's successful deployments as the metrics count them,
// in the order they finished: a promotion deployed more than once counts at
// its first success only.
func changesOf(h History) []change {
	var ok []*ledger.Deployment
	for _, d := range h.Deployments {
		if d.Status == ledger.DeploymentSuccess {
			ok = append(ok, d)
		}
	}
	slices.SortStableFunc(ok, func(a, b *ledger.Deployment) int { return finished(a).Compare(finished(b)) })
	seen := map[string]bool{}
	var out []change
	for _, d := range ok {
		key := cmp.Or(d.PromotionID, d.ID)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, change{Deployment: d, Rollback: h.Rollbacks[d.PromotionID]})
	}
	blamed := map[string]bool{}
	for _, inc := range h.Incidents {
		if inc.DeploymentID != "" {
			blamed[inc.DeploymentID] = true
		}
	}
	for i := range out {
		rolledBack := i+1 < len(out) && out[i+1].Rollback
		out[i].Failed = !out[i].Rollback && (blamed[out[i].ID] || rolledBack)
	}
	return out
}

// isRollback reports whether p rolled its environment back: a promotion
// from the environment into itself.
func isRollback(p *ledger.Promotion) bool { return p.From == p.Env }

// finished is when a deployment ended (its start when the end is unknown).
func finished(d *ledger.Deployment) time.Time {
	if d.FinishedAt.IsZero() {
		return d.At
	}
	return d.FinishedAt
}

// percentile is the p-th percentile of ds by the nearest-rank method (the
// smallest value with at least p% of the values at or below it); 0 for none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(rank, 1)-1]
}
