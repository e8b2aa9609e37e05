package ledgertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// Activity says how busy a history History generates is.
type Activity struct {
	// Days is how many days the history covers, ending at End (excluded).
	Days int
	End  time.Time
	// Releases is how many artifacts each app builds a day, one commit each.
	// Every release is deployed to the app's first environment; each
	// successful deployment is promoted to the next environment two times in
	// three, after the environment's soak time and, where it asks for one,
	// an approval.
	Releases int
}

// Rates of the things that go wrong in a generated history.
const (
	// failRate is the share of deployments that fail; a failed release goes
	// no further.
	failRate = 0.05
	// incidentRate is, per environment after the first, the share of its
	// successful deployments followed by an incident blamed on them:
	// staging 3%, prod 6%.
	incidentRate = 0.03
	// rollbackEvery incident is followed by a rollback to the environment's
	// previous digest; openEvery incident is never resolved.
	rollbackEvery = 3
	openEvery     = 40
)

// History returns what the ledger holds after a.Days days of delivery of
// every app of p, generated with the ledger's own types and deterministic
// (the same p and a give the same records): each release's commit (with the
// time it was committed), and in each environment it reaches a promotion and
// the deployment it ran (carrying the commit's time, as Highway records it),
// some failed; incidents blamed on a deployment, most resolved, some
// followed by a rollback (a promotion from the environment into itself and
// its deployment). The apps work in different time zones, so deployments
// fall in every hour of the day. Nothing in the history happens at or after
// a.End: a deployment still running then is a promotion deploying, and an
// incident not resolved by then is open.
func History(p *policy.Policy, a Activity) []ledger.Record {
	start := a.End.Add(-time.Duration(a.Days) * 24 * time.Hour).UTC()
	var recs []ledger.Record
	for i, app := range p.Apps {
		g := &generator{app: app, end: a.End, rng: rand.New(rand.NewPCG(uint64(i), 0x4869676877617921)), last: map[string]release{}}
		zone := time.Duration(i*5%24) * time.Hour
		for d := range a.Days {
			for r := range a.Releases {
				build := start.Add(time.Duration(d)*24*time.Hour + zone + 9*time.Hour +
					time.Duration(r)*9*time.Hour/time.Duration(a.Releases) + g.between(0, 45*time.Minute))
				g.release(build, fmt.Sprintf("%s/%d/%d", app.Name, d, r))
			}
		}
		recs = append(recs, g.recs...)
	}
	return recs
}

// generator builds one app's history.
type generator struct {
	app  policy.App
	end  time.Time
	rng  *rand.Rand
	recs []ledger.Record
	// last is the release each environment last ran successfully.
	last map[string]release
}

// release is an artifact and its commit.
type release struct {
	id, sha, digest string
	committedAt     time.Time
}

// between is a random duration in [lo, hi).
func (g *generator) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

// add keeps rec when it happened before the history's end.
func (g *generator) add(rec ledger.Record) bool {
	if !rec.RecordHeader().At.Before(g.end) {
		return false
	}
	g.recs = append(g.recs, rec)
	return true
}

// release records a release built at build: its commit, then its way
// through the environments.
func (g *generator) release(build time.Time, id string) {
	sha, digest := sha256.Sum256([]byte("commit "+id)), sha256.Sum256([]byte(id))
	rel := release{id: id, sha: hex.EncodeToString(sha[:20]), digest: "sha256:" + hex.EncodeToString(digest[:]),
		committedAt: build.Add(-g.between(20*time.Minute, 6*time.Hour))}
	if !g.add(&ledger.Commit{
		Header: ledger.Header{ID: rel.sha, App: g.app.Name, Commit: rel.sha, At: build.Add(-2 * time.Minute)},
		Repo:   g.app.Repository, Branch: "main", Author: "Dev " + g.app.Name + " <dev@example.com>",
		Message: "Change " + id, CommittedAt: rel.committedAt,
	}) {
		return
	}
	at := build.Add(15 * time.Minute) // the gate passed, the first promotion starts
	from := ""
	for j, env := range g.app.Environments {
		if j > 0 {
			at = at.Add(env.Soak)
			if env.Approval != nil {
				at = at.Add(g.between(5*time.Minute, 4*time.Hour))
			}
		}
		finished, ok := g.deploy(env.Name, from, rel, at, j)
		if !ok || j+1 == len(g.app.Environments) || g.rng.IntN(3) == 0 {
			return
		}
		from, at = env.Name, finished
	}
}

// deploy records the promotion of rel into env (from the environment from)
// starting at at, and its deployment; after a success in an environment
// past the first, perhaps an incident and a rollback. It returns when the
// deployment finished and whether it succeeded.
func (g *generator) deploy(env, from string, rel release, at time.Time, index int) (time.Time, bool) {
	id := fmt.Sprintf("prm-%s-%s", env, rel.id)
	ok := g.rng.Float64() >= failRate
	finished, dep := g.promote(id, env, from, rel, at, ok)
	if dep == nil || !ok {
		return finished, false
	}
	prev, hadPrev := g.last[env]
	g.last[env] = rel
	if g.rng.Float64() >= incidentRate*float64(index) {
		return finished, true
	}
	opened := finished.Add(g.between(2*time.Minute, 90*time.Minute))
	inc := &ledger.Incident{
		Header: ledger.Header{ID: "inc-" + id, App: g.app.Name, Env: env, Digest: rel.digest, At: opened},
		Alarm:  g.app.Name + "-" + env + "-5xx", DeploymentID: dep.ID,
	}
	n := g.rng.IntN(openEvery * rollbackEvery)
	if n%openEvery != 0 {
		if resolved := opened.Add(g.between(8*time.Minute, 3*time.Hour)); resolved.Before(g.end) {
			inc.ResolvedAt = resolved
		}
	}
	if !g.add(inc) || n%rollbackEvery != 0 || !hadPrev {
		return finished, true
	}
	if _, back := g.promote("prm-rollback-"+id, env, env, prev, opened.Add(5*time.Minute), true); back != nil {
		g.last[env] = prev
	}
	return finished, true
}

// promote records a promotion of rel into env from the environment from,
// started at at, and, once it finished before the history's end, its
// deployment (returned; nil while it still deploys).
func (g *generator) promote(id, env, from string, rel release, at time.Time, ok bool) (time.Time, *ledger.Deployment) {
	finished := at.Add(g.between(3*time.Minute, 12*time.Minute))
	pr := &ledger.Promotion{
		Header: ledger.Header{ID: id, App: g.app.Name, Env: env, Commit: rel.sha, Digest: rel.digest, At: at.Add(-time.Minute)},
		From:   from, Status: ledger.PromotionSucceeded, StartedAt: at, FinishedAt: finished, Handle: "handle-" + id,
	}
	dep := &ledger.Deployment{
		Header:  ledger.Header{ID: "dep-" + id, App: g.app.Name, Env: env, Commit: rel.sha, Digest: rel.digest, At: at},
		Commits: []string{rel.sha}, PromotionID: id, Status: ledger.DeploymentSuccess,
		FinishedAt: finished, Duration: finished.Sub(at), CommittedAt: map[string]time.Time{rel.sha: rel.committedAt},
	}
	if !ok {
		pr.Status, dep.Status = ledger.PromotionFailed, ledger.DeploymentFailure
	}
	if !finished.Before(g.end) {
		pr.Status, pr.FinishedAt, dep = ledger.PromotionDeploying, time.Time{}, nil
	}
	if !g.add(pr) || dep == nil {
		return finished, nil
	}
	g.add(dep)
	return finished, dep
}

// Fill puts recs on l, a few at a time, as fast as the ledger takes them; it
// returns the first error.
func Fill(ctx context.Context, l ledger.Ledger, recs []ledger.Record) error {
	const workers = 32
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan ledger.Record)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for rec := range next {
				if err := l.Put(ctx, rec); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, rec := range recs {
		select {
		case next <- rec:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
