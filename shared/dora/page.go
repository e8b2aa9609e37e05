package dora

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// HeatmapWeeks is how many weeks the page covers, its trends and its day
// heatmap alike: calendar weeks, Monday to Sunday (UTC), the last the week
// of the page's time.
const HeatmapWeeks = 12

// Recent is how many of the latest deployments, and of the latest
// incidents, the page lists.
const Recent = 10

// Page is what the DORA page shows besides the metrics of the windows: each
// environment's weekly trends and the change of each window against the
// span before it, the deployments by day and by weekday × hour, and the
// latest deployments and incidents, as of To. Deployments are counted as
// the metrics count them: once per promotion, rollbacks apart.
type Page struct {
	// To is the time the page is as of.
	To time.Time
	// Weeks are the starts of the HeatmapWeeks weeks (Monday 00:00 UTC),
	// oldest first; the last week ends at To.
	Weeks []time.Time
	// Envs are the environments shown, in the policy's order.
	Envs []Trend
	// Heatmap counts the environments' deployments and rollbacks over the
	// weeks.
	Heatmap Heatmap
	// Deployments are the latest deployments of the environments, of every
	// outcome, newest first: at most Recent.
	Deployments []Deployment
	// Incidents are the latest incidents of the environments, newest
	// first: at most Recent.
	Incidents []*ledger.Incident
	// Timelines are the timelines of the artifacts the latest deployments
	// and incidents name, in the order first named.
	Timelines []Timeline
}

// Timeline is what the page read of one artifact: its deployments, the
// rollbacks from it, and the incidents blamed on it, oldest first. Ref is the artifact's digest, or
// the commit of a deployment that names none: what `highway timeline`
// takes; Commit is the commit it was built from.
type Timeline struct {
	Ref, Commit string
	Deployments []Deployment
	Incidents   []*ledger.Incident
}

// refOf is what names the timeline of d: its digest, or its commit.
func refOf(d *ledger.Deployment) string { return cmp.Or(d.Digest, d.Commit) }

// Trend is one environment's metrics week by week, and over the span
// before each window.
type Trend struct {
	App, Env string
	// Weeks are the metrics of each of the page's weeks.
	Weeks []Metrics
	// Previous are the metrics of the span before each window (the 7 days
	// before the last 7 days, ...), by the window's name.
	Previous map[string]Metrics
}

// Deployment is a deployment as the page lists it: what the metrics made
// of it.
type Deployment struct {
	*ledger.Deployment
	// Counted says the metrics count it as a deployment: it succeeded, is
	// its promotion's first success, and is no rollback.
	Counted bool
	// Rollback says it rolled the environment back (a promotion's first
	// success, counted apart).
	Rollback bool
	// Failed says it counts as a failed change: an incident was blamed on
	// it, or the next deployment rolled it back.
	Failed bool
	// Replaced, for a rollback, names the timeline of the deployment it
	// rolled back.
	Replaced string
}

// Heatmap counts deployments (as the metrics count them) and rollbacks by
// day, and by weekday and hour, when they finished (UTC).
type Heatmap struct {
	// Days are the days from the first week's Monday through the day of the
	// page's time, oldest first.
	Days []Day
	// WeekHour counts by weekday, Monday first, and hour.
	WeekHour [7][24]Cell
}

// Day is one day of the day heatmap.
type Day struct {
	Date time.Time // midnight UTC
	Cell
}

// Cell is what one cell of a heatmap counts.
type Cell struct {
	Deployments, Rollbacks int
}

// weekdayOf is t's row in the heatmaps: 0 for Monday to 6 for Sunday.
func weekdayOf(t time.Time) int { return (int(t.Weekday()) + 6) % 7 }

// weeksTo returns the starts of the HeatmapWeeks weeks, Monday 00:00 UTC,
// ending with the week of t, oldest first.
func weeksTo(t time.Time) []time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	last := day.AddDate(0, 0, -weekdayOf(day))
	weeks := make([]time.Time, HeatmapWeeks)
	for i := range weeks {
		weeks[i] = last.AddDate(0, 0, -7*(HeatmapWeeks-1-i))
	}
	return weeks
}

// PageOf reads from l what the page shows of the environments of p that
// keep accepts (every one when nil), as of now, reading each environment
// once: its deployments and promotions that started since the first week's
// Monday (or twice the longest window before now, if earlier) less
// failureMargin, its incidents opened since then less restoreMargin, and
// the commit time of each commit a deployment does not carry.
func PageOf(ctx context.Context, l ledger.Ledger, p *policy.Policy, now time.Time, keep func(app, env string) bool) (Page, error) {
	pg := Page{To: now, Weeks: weeksTo(now)}
	first := pg.Weeks[0]
	last := now.UTC().Truncate(24 * time.Hour)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		pg.Heatmap.Days = append(pg.Heatmap.Days, Day{Date: d})
	}
	start := first
	if s := now.Add(-2 * longest()); s.Before(start) {
		start = s
	}
	var deps []Deployment
	var incs []*ledger.Incident
	err := environments(p, keep, func(app, env string) error {
		h, err := historyOver(ctx, l, app, env, start.Add(-failureMargin), start.Add(-restoreMargin), now)
		if err != nil {
			return err
		}
		t := Trend{App: app, Env: env, Previous: map[string]Metrics{}}
		for i, w := range pg.Weeks {
			end := now
			if i+1 < len(pg.Weeks) {
				end = pg.Weeks[i+1]
			}
			t.Weeks = append(t.Weeks, Compute(h, w, end))
		}
		for _, w := range Windows {
			t.Previous[w.Name] = Compute(h, now.Add(-2*w.Span), now.Add(-w.Span))
		}
		pg.Envs = append(pg.Envs, t)
		ds := listed(h, now)
		pg.Heatmap.add(ds, first)
		deps = append(deps, ds...)
		for _, inc := range h.Incidents {
			if inc.At.Before(now) {
				incs = append(incs, inc)
			}
		}
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	slices.SortStableFunc(deps, func(a, b Deployment) int {
		return cmp.Or(finished(b.Deployment).Compare(finished(a.Deployment)), cmp.Compare(b.ID, a.ID))
	})
	slices.SortStableFunc(incs, func(a, b *ledger.Incident) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(b.ID, a.ID))
	})
	pg.Deployments = deps[:min(len(deps), Recent)]
	pg.Incidents = incs[:min(len(incs), Recent)]
	pg.Timelines = timelinesOf(pg.Deployments, pg.Incidents, deps, incs)
	return pg, nil
}

// timelinesOf returns the timeline of each artifact the listed deployments
// and incidents name, in the order first named, from every deployment and
// incident read (deps and incs, newest first).
func timelinesOf(listedDeps []Deployment, listedIncs []*ledger.Incident, deps []Deployment, incs []*ledger.Incident) []Timeline {
	byID := map[string]*ledger.Deployment{}
	for _, d := range deps {
		byID[d.ID] = d.Deployment
	}
	var out []Timeline
	index := map[string]int{}
	name := func(ref string) {
		if _, ok := index[ref]; ref != "" && !ok {
			index[ref] = len(out)
			out = append(out, Timeline{Ref: ref})
		}
	}
	for _, d := range listedDeps {
		name(refOf(d.Deployment))
	}
	for _, inc := range listedIncs {
		name(incidentRef(inc, byID))
	}
	for _, d := range slices.Backward(deps) {
		if i, ok := index[refOf(d.Deployment)]; ok {
			out[i].Deployments = append(out[i].Deployments, d)
			out[i].Commit = cmp.Or(out[i].Commit, d.Commit)
		}
		if i, ok := index[d.Replaced]; ok && d.Replaced != refOf(d.Deployment) {
			out[i].Deployments = append(out[i].Deployments, d) // rolled back from it
		}
	}
	for _, inc := range slices.Backward(incs) {
		if i, ok := index[incidentRef(inc, byID)]; ok {
			out[i].Incidents = append(out[i].Incidents, inc)
		}
	}
	return out
}

// incidentRef is what names the timeline an incident belongs to: the
// digest it carries, else that of the deployment it is blamed on (one of
// byID), else nothing.
func incidentRef(inc *ledger.Incident, byID map[string]*ledger.Deployment) string {
	if inc.Digest != "" {
		return inc.Digest
	}
	if d, ok := byID[inc.DeploymentID]; ok {
		return refOf(d)
	}
	return ""
}

// historyOver reads app's env: the deployments and promotions that started
// in [from, to), the incidents opened in [incFrom, to), and the time of
// every commit deployed.
func historyOver(ctx context.Context, l ledger.Ledger, app, env string, from, incFrom, to time.Time) (History, error) {
	h := History{Rollbacks: map[string]bool{}, CommittedAt: map[string]time.Time{}}
	var err error
	if h.Deployments, err = l.Deployments(ctx, app, env, from, to); err != nil {
		return History{}, fmt.Errorf("deployments: %w", err)
	}
	promos, err := l.Promotions(ctx, app, env, from, to)
	if err != nil {
		return History{}, fmt.Errorf("promotions: %w", err)
	}
	for _, p := range promos {
		if isRollback(p) {
			h.Rollbacks[p.ID] = true
		}
	}
	if h.Incidents, err = l.Incidents(ctx, app, env, incFrom, to); err != nil {
		return History{}, fmt.Errorf("incidents: %w", err)
	}
	if err := commitTimes(ctx, l, h.Deployments, h.CommittedAt, nil); err != nil {
		return History{}, err
	}
	return h, nil
}

// listed returns h's deployments that finished before to, with what the
// metrics made of each.
func listed(h History, to time.Time) []Deployment {
	made := map[*ledger.Deployment]Deployment{}
	changes := changesOf(h)
	for i, c := range changes {
		d := Deployment{Deployment: c.Deployment, Counted: !c.Rollback, Rollback: c.Rollback, Failed: c.Failed}
		if c.Rollback && i > 0 {
			d.Replaced = refOf(changes[i-1].Deployment)
		}
		made[c.Deployment] = d
	}
	var out []Deployment
	for _, d := range h.Deployments {
		if !finished(d).Before(to) {
			continue
		}
		if m, ok := made[d]; ok {
			out = append(out, m)
			continue
		}
		out = append(out, Deployment{Deployment: d})
	}
	return out
}

// add counts the deployments of deps the metrics count, and the rollbacks,
// by when they finished; those before from are left out, as are those after
// the heatmap's last day.
func (hm *Heatmap) add(deps []Deployment, from time.Time) {
	for _, d := range deps {
		at := finished(d.Deployment).UTC()
		i := int(at.Sub(from) / (24 * time.Hour))
		if !d.Counted && !d.Rollback || at.Before(from) || i >= len(hm.Days) {
			continue
		}
		for _, cell := range []*Cell{&hm.Days[i].Cell, &hm.WeekHour[weekdayOf(at)][at.Hour()]} {
			if d.Rollback {
				cell.Rollbacks++
			} else {
				cell.Deployments++
			}
		}
	}
}
