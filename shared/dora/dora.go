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
	// TimeToRestoreMedian is over the incidents resolved in the window:
	// opened to resolved. Restored counts them.
	TimeToRestoreMedian time.Duration
	Restored            int
}

// Compute returns the metrics of h over [from, to).
func Compute(h History, from, to time.Time) Metrics {
	m := Metrics{From: from, To: to}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }

	// Successful deployments, in the order they finished; a promotion
	// deployed more than once counts at its first success.
	var ok []*ledger.Deployment
	for _, d := range h.Deployments {
		if d.Status == ledger.DeploymentSuccess {
			ok = append(ok, d)
		}
	}
	slices.SortStableFunc(ok, func(a, b *ledger.Deployment) int { return finished(a).Compare(finished(b)) })
	seen := map[string]bool{}
	var changes []*ledger.Deployment // every counted deployment, in any window, rollbacks included
	for _, d := range ok {
		key := cmp.Or(d.PromotionID, d.ID)
		if seen[key] {
			continue
		}
		seen[key] = true
		changes = append(changes, d)
	}

	blamed := map[string]bool{}
	for _, inc := range h.Incidents {
		if inc.DeploymentID != "" {
			blamed[inc.DeploymentID] = true
		}
	}
	firstSeen := map[string]time.Time{} // commit -> end of its first deployment
	var leads []time.Duration
	for i, d := range changes {
		rollback := h.Rollbacks[d.PromotionID]
		for _, c := range d.Commits {
			if _, dup := firstSeen[c]; dup || rollback {
				continue
			}
			firstSeen[c] = finished(d)
			if at, ok := h.CommittedAt[c]; ok && in(finished(d)) {
				leads = append(leads, finished(d).Sub(at))
			}
		}
		if rollback || !in(finished(d)) {
			continue
		}
		m.Deployments++
		rolledBack := i+1 < len(changes) && h.Rollbacks[changes[i+1].PromotionID]
		if blamed[d.ID] || rolledBack {
			m.Failed++
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
