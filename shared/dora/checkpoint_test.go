package dora

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/longtest"
	"github.com/highwayhq/highway/shared/policy"
)

// prodOnly is a policy with one app, checkout, deployed to prod.
func prodOnly(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(`version: 1
hub: {account: "111111111111", region: eu-west-1}
apps: [{name: checkout, repository: checkout-service, environments: [{name: prod, account: "444444444444", region: eu-west-1}]}]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// write is one ledger write of the simulation, due at a time.
type write struct {
	due time.Time
	do  func(ctx context.Context, l ledger.Ledger) error
}

// simulate returns the writes of days of a busy prod environment from start,
// each due when Highway would make it: promotions requested at random
// minutes, their deployments filed when they end (up to 110 minutes later,
// under the time they started), one in ten failed, one in eight deployed
// twice, one in fifteen a rollback; one to three commits each, some
// redeployed, some never recorded; incidents, a third blamed on the last
// deployment, resolved from ten minutes to three days later.
func simulate(rng *rand.Rand, start time.Time, days int) []write {
	var ws []write
	put := func(due time.Time, r ledger.Record) {
		ws = append(ws, write{due, func(ctx context.Context, l ledger.Ledger) error { return l.Put(ctx, r) }})
	}
	var commits []string
	lastDeployment := ""
	for h := range days * 24 {
		hour := start.Add(time.Duration(h) * time.Hour)
		for range rng.IntN(3) {
			requested := hour.Add(time.Duration(rng.IntN(60)) * time.Minute)
			id := fmt.Sprintf("prm-%d-%d", h, len(ws))
			from := "staging"
			if rng.IntN(15) == 0 {
				from = "prod"
			}
			put(requested, &ledger.Promotion{Header: ledger.Header{ID: id, App: "checkout", Env: "prod", At: requested}, From: from, Status: ledger.PromotionSucceeded})
			var carried []string
			for range 1 + rng.IntN(3) {
				if len(commits) > 0 && rng.IntN(6) == 0 {
					carried = append(carried, commits[rng.IntN(len(commits))]) // redeployed
					continue
				}
				sha := fmt.Sprintf("%040x", rng.Uint64())
				commits = append(commits, sha)
				carried = append(carried, sha)
				if rng.IntN(12) != 0 { // some commits were never recorded
					made := requested.Add(-time.Duration(10+rng.IntN(3000)) * time.Minute)
					put(made, &ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: made}, Repo: "checkout-service", CommittedAt: made})
				}
			}
			for try := range 1 + rng.IntN(8)/7 {
				status := ledger.DeploymentSuccess
				if rng.IntN(10) == 0 {
					status = ledger.DeploymentFailure
				}
				began := requested.Add(time.Duration(try) * 5 * time.Minute)
				ended := began.Add(time.Duration(1+rng.IntN(110)) * time.Minute)
				d := &ledger.Deployment{Header: ledger.Header{ID: fmt.Sprintf("dep-%s-%d", id, try), App: "checkout", Env: "prod", At: began},
					PromotionID: id, Status: status, FinishedAt: ended, Commits: carried}
				put(ended, d)
				lastDeployment = d.ID
			}
		}
		if rng.IntN(9) == 0 {
			opened := hour.Add(time.Duration(rng.IntN(60)) * time.Minute)
			inc := &ledger.Incident{Header: ledger.Header{ID: fmt.Sprintf("inc-%d", h), App: "checkout", Env: "prod", At: opened}, Alarm: "checkout-prod-errors"}
			if rng.IntN(3) == 0 {
				inc.DeploymentID = lastDeployment
			}
			put(opened, inc)
			resolved := opened.Add(time.Duration(10+rng.IntN(3*24*60)) * time.Minute)
			ws = append(ws, write{resolved, func(ctx context.Context, l ledger.Ledger) error {
				recs, err := l.Incidents(ctx, "checkout", "prod", opened, opened.Add(time.Nanosecond))
				if err != nil || len(recs) != 1 {
					return fmt.Errorf("incident %s: %d found, %v", inc.ID, len(recs), err)
				}
				recs[0].ResolvedAt = resolved
				return l.Update(ctx, recs[0])
			}})
		}
	}
	slices.SortStableFunc(ws, func(a, b write) int { return a.due.Compare(b.due) })
	return ws
}

// counting is a ledger that counts the commit reads and remembers where
// each deployment query started.
type counting struct {
	ledger.Ledger
	byCommit  int
	depsFrom  []time.Time
	incidents []time.Time
}

func (c *counting) ByCommit(ctx context.Context, sha string) ([]ledger.Record, error) {
	c.byCommit++
	return c.Ledger.ByCommit(ctx, sha)
}

func (c *counting) Deployments(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Deployment, error) {
	c.depsFrom = append(c.depsFrom, from)
	return c.Ledger.Deployments(ctx, app, env, from, to)
}

func (c *counting) Incidents(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Incident, error) {
	c.incidents = append(c.incidents, from)
	return c.Ledger.Incidents(ctx, app, env, from, to)
}

// GIVEN days of a busy prod, its records reaching the ledger when Highway
// would write them (deployments when they end, resolutions days after their
// incident)
// WHEN the metrics are tallied every hour from the last run's checkpoint
// THEN every run's figures equal a full read of the ledger, for each window,
// AND after the first run each run reads deployments from its last run less
// Settle only, and reads each commit's time once.
//
// The long version (make test-long) tallies 40 days of each seed hourly
// from its 36th hour. The short one keeps the two things those 40 days
// show: the first days, while the windows fill (seed 1, 12 days), and the
// days past the longest window and its margin, whose oldest deployments each
// run drops (seed 2, tallied from day 31 to day 33).
func TestTallyEqualsAFullReadEveryHour(t *testing.T) {
	type simulation struct {
		seed  uint64
		days  int // of records
		first int // the hour of the first tally, from the first record's
	}
	sims := longtest.Size(t, "simulations {seed, days, first tally's hour}",
		[]simulation{{1, 12, 36}, {2, 33, 31 * 24}},
		[]simulation{{1, 40, 36}, {2, 40, 36}})
	for _, sim := range sims {
		t.Run(fmt.Sprint("seed ", sim.seed), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := prodOnly(t)
			start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
			end := start.Add(time.Duration(sim.days) * 24 * time.Hour)
			writes := simulate(rand.New(rand.NewPCG(sim.seed, sim.seed)), start, sim.days)
			mem := ledger.NewMemory()
			l := &counting{Ledger: mem}
			fullReads, saves, runs := 0, 0, 0
			var saved time.Time // Through of the checkpoint on the ledger
			for now := start.Add(time.Duration(sim.first) * time.Hour); now.Before(end); now = now.Add(time.Hour) {
				for len(writes) > 0 && writes[0].due.Before(now) {
					if err := writes[0].do(ctx, mem); err != nil {
						t.Fatal(err)
					}
					writes = writes[1:]
				}
				l.depsFrom, l.incidents = nil, nil
				got, err := Tally(ctx, l, p, now, nil)
				if err != nil {
					t.Fatalf("%s: Tally() = %v", now, err)
				}
				if !saved.IsZero() && (len(l.depsFrom) != 1 || !l.depsFrom[0].Equal(saved.Add(-Settle))) {
					t.Fatalf("%s: deployments read from %v, want from the saved checkpoint's time less Settle, %s", now, l.depsFrom, saved.Add(-Settle))
				}
				runs++
				rec, err := mem.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
				if err != nil {
					t.Fatal(err)
				}
				if through := rec.(*ledger.DORACheckpoint).Through; !through.Equal(saved) {
					if !saved.IsZero() && through.Sub(saved) > resave {
						t.Fatalf("%s: checkpoint saved %v after the last, want at most %v", now, through.Sub(saved), resave)
					}
					saved = through
					saves++
				}
				before := l.byCommit
				want, err := All(ctx, l, p, now, nil)
				if err != nil {
					t.Fatal(err)
				}
				fullReads += l.byCommit - before
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: incremental\n%+v\nfull read\n%+v", now, got, want)
				}
			}
			// Tally read each commit once, and again only those without a
			// commit record while their deployment was being read again.
			tallyReads := l.byCommit - fullReads
			commits := 0
			rec, err := mem.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
			if err != nil {
				t.Fatal(err)
			}
			cp := rec.(*ledger.DORACheckpoint)
			commits = len(cp.CommittedAt)
			// Past the longest window and its margin, the runs dropped the
			// deployments that fell out of it.
			if horizon := cp.Through.Add(-longest() - failureMargin); horizon.After(start) {
				for _, d := range cp.Deployments {
					if d.At.Before(horizon) {
						t.Errorf("checkpoint through %s holds deployment %s of %s, before %s", cp.Through, d.ID, d.At, horizon)
					}
				}
			}
			t.Logf("%d runs saved the checkpoint %d times: tally read %d commit times, the full reads %d; checkpoint holds %d deployments, %d commit times, %d incidents",
				runs, saves, tallyReads, fullReads, len(cp.Deployments), commits, len(cp.Incidents))
			if tallyReads*20 > fullReads {
				t.Errorf("tally read %d commit times, the full reads %d: want at most a twentieth", tallyReads, fullReads)
			}
		})
	}
}

// An incident left open for weeks keeps being read from its opening, so its
// resolution is seen; once resolved, it is read no more.
func TestRefreshRereadsOpenIncidents(t *testing.T) {
	ctx := context.Background()
	mem := ledger.NewMemory()
	l := &counting{Ledger: mem}
	opened := at(1, 9, 0)
	inc := &ledger.Incident{Header: ledger.Header{ID: "i-1", App: "checkout", Env: "prod", At: opened}, Alarm: "checkout-prod-errors"}
	if err := mem.Put(ctx, inc); err != nil {
		t.Fatal(err)
	}
	var cp *ledger.DORACheckpoint
	for _, now := range []time.Time{at(1, 10, 0), at(9, 10, 0), at(9, 11, 0)} {
		var err error
		if cp, err = Refresh(ctx, l, "checkout", "prod", cp, now); err != nil {
			t.Fatal(err)
		}
	}
	if !l.incidents[2].Equal(opened) {
		t.Fatalf("open incident: incidents read from %v, want from its opening %s", l.incidents, opened)
	}
	inc.ResolvedAt = at(9, 11, 0)
	if err := mem.Update(ctx, inc); err != nil {
		t.Fatal(err)
	}
	cp, err := Refresh(ctx, l, "checkout", "prod", cp, at(9, 12, 0))
	if err != nil || !l.incidents[3].Equal(opened) || len(cp.Incidents) != 1 || !cp.Incidents[0].ResolvedAt.Equal(at(9, 11, 0)) {
		t.Fatalf("after the resolution: %+v, %v", cp.Incidents, err)
	}
	if m := Compute(HistoryOf(cp), at(9, 0, 0), at(9, 12, 0)); m.Restored != 1 || m.TimeToRestoreMedian != 8*24*time.Hour+2*time.Hour {
		t.Errorf("restored %d in %s, want 1 in 8d2h", m.Restored, m.TimeToRestoreMedian)
	}
	if _, err = Refresh(ctx, l, "checkout", "prod", cp, at(9, 13, 0)); err != nil || !l.incidents[4].Equal(at(9, 12, 0).Add(-Settle)) {
		t.Errorf("resolved: incidents read from %v, want from the last run less Settle", l.incidents)
	}
}

// racing is a ledger where another run saves its checkpoint just before
// each update of this one.
type racing struct{ ledger.Ledger }

func (r racing) Update(ctx context.Context, rec ledger.Record) error {
	if cp, ok := rec.(*ledger.DORACheckpoint); ok {
		other := *cp
		if err := r.Ledger.Update(ctx, &other); err != nil {
			return err
		}
	}
	return r.Ledger.Update(ctx, rec)
}

// A checkpoint that cannot be saved, because another run saved one first
// or because it outgrew MaxCheckpoint, costs nothing but a longer read: the
// figures are those of a full read.
func TestTallyWhenTheCheckpointCannotBeSaved(t *testing.T) {
	ctx := context.Background()
	p := prodOnly(t)

	t.Run("another run saved first", func(t *testing.T) {
		mem := ledger.NewMemory()
		if err := mem.Put(ctx, dep("dep-1", "p1", ledger.DeploymentSuccess, at(16, 12, 0), "c1")); err != nil {
			t.Fatal(err)
		}
		if _, err := Tally(ctx, mem, p, at(16, 13, 0), nil); err != nil {
			t.Fatal(err)
		}
		if err := mem.Put(ctx, dep("dep-2", "p2", ledger.DeploymentSuccess, at(16, 13, 30), "c2")); err != nil {
			t.Fatal(err)
		}
		got, err := Tally(ctx, racing{mem}, p, at(16, 14, 0), nil)
		want, _ := All(ctx, mem, p, at(16, 14, 0), nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Tally() = %+v, %v; want %+v", got, err, want)
		}
		rec, err := mem.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
		if err != nil || rec.RecordHeader().Version != 2 {
			t.Errorf("stored checkpoint = %+v, %v; want the other run's, version 2", rec, err)
		}
	})

	t.Run("too large", func(t *testing.T) {
		mem := ledger.NewMemory()
		now := at(20, 0, 0)
		for i := range 2000 { // over 20 days, three commits each
			done := now.Add(-time.Duration(i+1) * 15 * time.Minute)
			d := dep(fmt.Sprintf("dep-%04d", i), fmt.Sprintf("prm-checkout-prod-%04d", i), ledger.DeploymentSuccess, done,
				fmt.Sprintf("%040d", 3*i), fmt.Sprintf("%040d", 3*i+1), fmt.Sprintf("%040d", 3*i+2))
			if err := mem.Put(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Tally(ctx, mem, p, now, nil)
		want, _ := All(ctx, mem, p, now, nil)
		if err != nil || !reflect.DeepEqual(got, want) || got[2].Metrics.Deployments != 2000 {
			t.Errorf("Tally() = %+v, %v; want %+v", got, err, want)
		}
		if _, err := mem.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("checkpoint of 2,000 deployments: Latest() = %v, want it not saved", err)
		}
	})
}

// A deployment that carries its commits' times needs no commit lookup; one
// that does not is looked up, once.
func TestRefreshUsesTheCommitTimesADeploymentCarries(t *testing.T) {
	ctx := context.Background()
	mem := ledger.NewMemory()
	l := &counting{Ledger: mem}
	carried := dep("dep-1", "p1", ledger.DeploymentSuccess, at(16, 12, 0), "c1")
	carried.CommittedAt = map[string]time.Time{"c1": at(16, 9, 0)}
	bare := dep("dep-2", "p2", ledger.DeploymentSuccess, at(16, 14, 0), "c2")
	for _, r := range []ledger.Record{carried, bare,
		&ledger.Commit{Header: ledger.Header{ID: "c2", App: "checkout", Commit: "c2", At: at(16, 11, 0)}, CommittedAt: at(16, 10, 0)}} {
		if err := mem.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := Refresh(ctx, l, "checkout", "prod", nil, at(17, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !cp.CommittedAt["c1"].Equal(at(16, 9, 0)) || !cp.CommittedAt["c2"].Equal(at(16, 10, 0)) || l.byCommit != 1 {
		t.Errorf("commit times %v after %d commit reads; want both, c2's alone read", cp.CommittedAt, l.byCommit)
	}
}

// An hour that brought nothing new leaves the checkpoint as it was (every
// environment's, tens of kilobytes each, would otherwise be rewritten every
// hour); a change saves it, and so does a day without one.
func TestTallySavesTheCheckpointOnlyWhenItChanges(t *testing.T) {
	ctx := context.Background()
	p := prodOnly(t)
	mem := ledger.NewMemory()
	tally := func(now time.Time) {
		t.Helper()
		got, err := Tally(ctx, mem, p, now, nil)
		want, _ := All(ctx, mem, p, now, nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Tally(%s) = %+v, %v; want %+v", now, got, err, want)
		}
	}
	version := func() int64 {
		t.Helper()
		rec, err := mem.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
		if err != nil {
			t.Fatal(err)
		}
		return rec.RecordHeader().Version
	}
	if err := mem.Put(ctx, dep("dep-1", "p1", ledger.DeploymentSuccess, at(16, 12, 0), "c1")); err != nil {
		t.Fatal(err)
	}
	tally(at(16, 13, 0))
	tally(at(16, 14, 0))
	if v := version(); v != 1 {
		t.Errorf("after an hour without change: checkpoint version %d, want 1 (not saved again)", v)
	}
	if err := mem.Put(ctx, dep("dep-2", "p2", ledger.DeploymentSuccess, at(16, 14, 30), "c2")); err != nil {
		t.Fatal(err)
	}
	tally(at(16, 15, 0))
	if v := version(); v != 2 {
		t.Errorf("after a deployment: checkpoint version %d, want 2", v)
	}
	tally(at(17, 14, 0))
	if v := version(); v != 2 {
		t.Errorf("23 hours without change: checkpoint version %d, want 2", v)
	}
	tally(at(17, 16, 0))
	if v := version(); v != 3 {
		t.Errorf("a day without change: checkpoint version %d, want 3 (saved at least daily)", v)
	}
}
