package dora

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/footprint"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/ledger/ledgertest"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// The platforms of the scale benchmark (100 apps, 60 of them delivered from
// a central CI account to three shared environment accounts, 40 from 20
// team accounts) and of its short version.
var (
	platform100   = policytest.Platform{Apps: 100, Central: 60, Teams: 20}
	platformShort = policytest.Platform{Apps: 3, Central: 2, Teams: 1}
)

// scaleT0 is the time of the first (full) run of the scale test; each
// hourly run comes an hour after the one before.
var scaleT0 = time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)

// The histories of the benchmark (90 days up to scaleT0, three releases a
// day per app: about three deployments a day in dev, two in staging, one or
// two in prod) and of its short version; both go on for two days past
// scaleT0, for the hourly runs to find what happened since the last.
var (
	activity100   = ledgertest.Activity{Days: 92, End: scaleT0.Add(48 * time.Hour), Releases: 3}
	activityShort = ledgertest.Activity{Days: 3, End: scaleT0.Add(48 * time.Hour), Releases: 2}
)

// The limits of the dora and heatmap functions, as infra/stacks/dora.go
// configures them (memory: the default of infra/stacks/function.go).
var (
	doraLimit    = footprint.Limit{Function: "dora", Timeout: 5 * time.Minute, MemoryMB: 256}
	heatmapLimit = footprint.Limit{Function: "heatmap", Timeout: 30 * time.Second, MemoryMB: 256}
)

// The phases of the scale test.
const (
	// phaseFull is the dora function's first run: no checkpoint, every
	// window read in full.
	phaseFull = "full"
	// phaseHourly is its scheduled run an hour after the last: from the
	// checkpoints, reading what changed since.
	phaseHourly = "hourly"
	// phaseHeatmap is one request of the dashboard's custom widget.
	phaseHeatmap = "heatmap"
)

// doraScale is one phase of the scale test: where its ledger is, what it
// runs, and what it must read.
type doraScale struct {
	Endpoint, Table string
	Platform        policytest.Platform
	Phase           string
	Now             time.Time
	// App is the heatmap's app parameter; empty: every app.
	App  string
	Want doraWant
}

// doraWant is what a phase must do, counted from the history.
type doraWant struct {
	// Items is how many items DynamoDB returns to its queries.
	Items int64
	// Writes is how many checkpoints it saves; -1: at most one for each
	// environment (an hourly run saves only the checkpoints that changed).
	Writes int64
	// Shown is how many successful deployments the heatmap counts.
	Shown int
}

// scalePolicy is infra/highway.yaml grown to the platform pl.
func scalePolicy(tb testing.TB, pl policytest.Platform) *policy.Policy {
	tb.Helper()
	base, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := policytest.Build(base, pl)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestScaleDORA runs the dora function's work and the heatmap widget's over
// DynamoDB Local, counting what they read: the first run reads every window
// in full, each hourly run only its checkpoints and what changed since the
// last (the records of the Settle before it and after), and the widget only
// its app's environments. On its own it is the short version (3 apps, 3
// days); BenchmarkScale100Apps runs it at platform size, one phase per
// child process.
func TestScaleDORA(t *testing.T) {
	telemetrytest.DiscardLogs(t)
	var s doraScale
	if footprint.Spec(t, &s) {
		footprint.Report(t, runDORAPhase(t, s))
		return
	}
	db := localaws.DynamoDB(t)
	table := localaws.LedgerTable(t, db)
	p := scalePolicy(t, platformShort)
	recs := ledgertest.History(p, activityShort)
	if err := ledgertest.Fill(context.Background(), ledger.NewDynamo(db, table), recs); err != nil {
		t.Fatal(err)
	}
	for _, s := range []doraScale{
		{Phase: phaseFull, Now: scaleT0},
		{Phase: phaseHourly, Now: scaleT0.Add(time.Hour)},
		{Phase: phaseHourly, Now: scaleT0.Add(2 * time.Hour)},
		{Phase: phaseHeatmap, Now: activityShort.End, App: policytest.AppName(0)},
	} {
		s.Endpoint, s.Table, s.Platform = os.Getenv(localaws.EnvDynamoDB), table, platformShort
		s.Want = wantOf(recs, p, s, false, savedThrough(t, ledger.NewDynamo(db, table), p))
		footprint.Report(t, runDORAPhase(t, s))
	}
}

// wantOf is what phase s must read and write on a ledger holding recs,
// from what Refresh and HeatmapOf promise to read; saved says the
// checkpoints are there already, so a full run's saves are refused. An
// hourly run reads from the time each environment's checkpoint was saved
// through (through, by app/env).
func wantOf(recs []ledger.Record, p *policy.Policy, s doraScale, saved bool, through map[string]time.Time) doraWant {
	envs := map[string]bool{}
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if s.App == "" || a.Name == s.App {
				envs[a.Name+"/"+e.Name] = true
			}
		}
	}
	var w doraWant
	depFrom, incFrom := s.Now.Add(-longest()-failureMargin), s.Now.Add(-longest()-restoreMargin)
	count := func(from func(env string) (deployments, incidents time.Time)) {
		for _, r := range recs {
			h := r.RecordHeader()
			env := h.App + "/" + h.Env
			if !envs[env] {
				continue
			}
			deps, incs := from(env)
			switch r.(type) {
			case *ledger.Deployment, *ledger.Promotion:
				w.Items += within(h.At, deps, s.Now)
			case *ledger.Incident:
				w.Items += within(h.At, incs, s.Now)
			}
		}
	}
	switch s.Phase {
	case phaseFull, phaseHeatmap:
		count(func(string) (time.Time, time.Time) { return depFrom, incFrom })
		if s.Phase == phaseFull && !saved {
			w.Writes = int64(len(envs))
		}
	case phaseHourly:
		// The checkpoints, then from each what may have changed: from the
		// Settle before the time it was saved through, and, for incidents,
		// from the first one still open then.
		w.Items, w.Writes = int64(len(envs)), -1
		incSince := map[string]time.Time{}
		for _, r := range recs {
			env := r.RecordHeader().App + "/" + r.RecordHeader().Env
			last := through[env]
			if i, ok := r.(*ledger.Incident); ok && i.ResolvedAt.IsZero() && within(i.At, last.Add(-longest()-restoreMargin), last) == 1 {
				if at, ok := incSince[env]; !ok || i.At.Before(at) {
					incSince[env] = i.At
				}
			}
		}
		count(func(env string) (time.Time, time.Time) {
			since := later(depFrom, through[env].Add(-Settle))
			from := since
			if at, ok := incSince[env]; ok && at.Before(from) {
				from = at
			}
			return since, later(incFrom, from)
		})
	}
	if s.Phase == phaseHeatmap {
		// PageOf: each environment's deployments and promotions from the
		// first week (or twice the longest window back) less failureMargin,
		// its incidents from then less restoreMargin; the heatmap shows each
		// promotion's first success that finished since the first week, as
		// a deployment unless it is a rollback.
		weeks := weeksTo(s.Now)
		start := weeks[0]
		if t := s.Now.Add(-2 * longest()); t.Before(start) {
			start = t
		}
		count(func(string) (time.Time, time.Time) { return start.Add(-failureMargin), start.Add(-restoreMargin) })
		rollback := map[string]bool{}
		for _, r := range recs {
			if p, ok := r.(*ledger.Promotion); ok && envs[p.App+"/"+p.Env] && isRollback(p) {
				rollback[p.ID] = true
			}
		}
		first := map[string]time.Time{}
		for _, r := range recs {
			d, ok := r.(*ledger.Deployment)
			if !ok || !envs[d.App+"/"+d.Env] || d.Status != ledger.DeploymentSuccess || within(d.At, start.Add(-failureMargin), s.Now) == 0 {
				continue
			}
			if at, seen := first[d.PromotionID]; !seen || finished(d).Before(at) {
				first[d.PromotionID] = finished(d)
			}
		}
		for id, at := range first {
			if !rollback[id] && within(at, weeks[0], s.Now) == 1 {
				w.Shown++
			}
		}
	}
	return w
}

// savedThrough is the time each environment's checkpoint on l was saved
// through, by app/env; none for an environment without one.
func savedThrough(tb testing.TB, l ledger.Ledger, p *policy.Policy) map[string]time.Time {
	tb.Helper()
	out := map[string]time.Time{}
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			rec, err := l.Latest(context.Background(), ledger.KindDORACheckpoint, a.Name+"/"+e.Name)
			if errors.Is(err, ledger.ErrNotFound) {
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			out[a.Name+"/"+e.Name] = rec.(*ledger.DORACheckpoint).Through
		}
	}
	return out
}

// within is 1 when t is in [from, to), else 0.
func within(t, from, to time.Time) int64 {
	if !t.Before(from) && t.Before(to) {
		return 1
	}
	return 0
}

// runDORAPhase runs one phase as its function does, from a fresh client,
// and checks what it read and wrote.
func runDORAPhase(t *testing.T, s doraScale) footprint.Figures {
	t.Helper()
	p := scalePolicy(t, s.Platform)
	counted := ledgertest.Count(dynamodb.NewFromConfig(localaws.Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
	}))
	l := ledger.NewDynamo(counted, s.Table)
	ctx := context.Background()
	var (
		rows  []Row
		shown int
		page  string
		err   error
	)
	name := s.Phase
	if s.Phase == phaseHeatmap {
		name = "widget of " + cmp.Or(s.App, "every app")
	}
	f := footprint.Measure(name, func(f *footprint.Figures) {
		switch s.Phase {
		case phaseFull, phaseHourly:
			var at ledger.Ledger = l
			if s.Phase == phaseFull {
				at = firstRun{l}
			}
			rows, err = hourlyRun(ctx, at, p, s.Now)
		case phaseHeatmap:
			rows, shown, page, err = widget(ctx, l, p, s.Now, s.App)
		default:
			err = errors.New("no phase " + s.Phase)
		}
		tr := counted.Traffic()
		f.Counts["items-read"] = float64(tr.Items)
		f.Counts["queries"] = float64(tr.Queries)
		f.Counts["RCU"] = tr.ReadUnits
		f.Counts["items-written"] = float64(tr.Writes)
		f.Counts["WCU"] = tr.WriteUnits
	})
	if err != nil {
		t.Fatalf("%s at %s: %v", s.Phase, s.Now, err)
	}
	tr := counted.Traffic()
	envs := 0
	for _, a := range p.Apps {
		if s.App == "" || a.Name == s.App {
			envs += len(a.Environments)
		}
	}
	if len(rows) != envs*len(Windows) {
		t.Errorf("%s: %d rows, want %d (%d environments, %d windows)", s.Phase, len(rows), envs*len(Windows), envs, len(Windows))
	}
	if tr.Items != s.Want.Items || tr.Writes != s.Want.Writes && (s.Want.Writes >= 0 || tr.Writes > int64(envs)) {
		t.Errorf("%s at %s read %d items and wrote %d, want %d and %d (-1: at most %d)", s.Phase, s.Now, tr.Items, tr.Writes, s.Want.Items, s.Want.Writes, envs)
	}
	if s.Phase == phaseHeatmap && (shown != s.Want.Shown || !strings.HasPrefix(page, "<!DOCTYPE html>")) {
		t.Errorf("the heatmap shows %d deployments, want %d", shown, s.Want.Shown)
	}
	return f
}

// hourlyRun is the dora function's work: Tally, then every row published as
// EMF metrics and flushed (to nowhere).
func hourlyRun(ctx context.Context, l ledger.Ledger, p *policy.Policy, now time.Time) ([]Row, error) {
	rows, err := Tally(ctx, l, p, now, nil)
	if err != nil {
		return nil, err
	}
	m := telemetry.NewMetrics(io.Discard, telemetry.Namespace)
	var errs []error
	for _, r := range rows {
		errs = append(errs, Publish(m, r))
	}
	return rows, errors.Join(append(errs, m.Flush())...)
}

// widget is the heatmap function's work for the app parameter app: the
// metrics, the rest of the page and the page; it returns the rows, how
// many deployments the day heatmap counts, and the page.
func widget(ctx context.Context, l ledger.Ledger, p *policy.Policy, now time.Time, app string) ([]Row, int, string, error) {
	keep := Only(app, "")
	rows, err := All(ctx, l, p, now, keep)
	if err != nil {
		return nil, 0, "", err
	}
	pg, err := PageOf(ctx, l, p, now, keep)
	if err != nil {
		return nil, 0, "", err
	}
	var page bytes.Buffer
	if err := WritePage(&page, rows, pg); err != nil {
		return nil, 0, "", err
	}
	shown := 0
	for _, d := range pg.Heatmap.Days {
		shown += d.Deployments
	}
	return rows, shown, page.String(), nil
}

// firstRun is a ledger on which no checkpoint is found: Tally runs as it
// does the first time, reading every window in full. Its saves go through
// (or are refused, when a run saved the checkpoint before).
type firstRun struct{ ledger.Ledger }

func (f firstRun) Latest(ctx context.Context, k ledger.Kind, id string) (ledger.Record, error) {
	if k == ledger.KindDORACheckpoint {
		return nil, ledger.ErrNotFound
	}
	return f.Ledger.Latest(ctx, k, id)
}

// BenchmarkScale100Apps measures the dora function's runs and the heatmap
// widget at platform size: 100 apps × 3 environments over 25 accounts, with
// 90 days of history in DynamoDB Local (ledgertest.History: about 140,000
// records). Each phase runs alone in a child process (TestScaleDORA with a
// spec), which checks what it read as the short version does, and reports
// its wall and CPU time, its peak RSS and what it read:
//
//   - DORAFull: the first run, without checkpoints, at scaleT0;
//   - DORAHourly: the scheduled run an hour after the last, from the
//     checkpoints (the first after the full run's, each next an hour later);
//   - HeatmapOneApp: the widget as the dashboard asks for it (app=app-000);
//   - HeatmapAllApps: the page of every environment, as `highway dora
//     --html` writes it (the widget refuses a request without its app).
//
// Filling the table takes minutes and is not measured. Run it with
// `make bench-scale`, or
// scripts/services.sh run -- go test -run '^$' -bench Scale -benchtime 1x ./shared/dora
func BenchmarkScale100Apps(b *testing.B) {
	db := localaws.DynamoDB(b)
	table := localaws.LedgerTable(b, db)
	p := scalePolicy(b, platform100)
	recs := ledgertest.History(p, activity100)
	start := time.Now()
	if err := ledgertest.Fill(context.Background(), ledger.NewDynamo(db, table), recs); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled DynamoDB Local with %d records (%d days of %d apps) in %v", len(recs), activity100.Days, len(p.Apps), time.Since(start).Round(time.Second))
	base := doraScale{Endpoint: os.Getenv(localaws.EnvDynamoDB), Table: table, Platform: platform100}
	phase := func(name string, now time.Time, app string, saved bool) doraScale {
		s := base
		s.Phase, s.Now, s.App = name, now, app
		s.Want = wantOf(recs, p, s, saved, savedThrough(b, ledger.NewDynamo(db, table), p))
		return s
	}
	saved := false // whether a full run saved the checkpoints at scaleT0
	full := func(int) any {
		s := phase(phaseFull, scaleT0, "", saved)
		saved = true
		return s
	}
	b.Run("DORAFull", func(b *testing.B) {
		footprint.Bench(b, "TestScaleDORA", doraLimit, full)
	})
	b.Run("DORAHourly", func(b *testing.B) {
		if !saved {
			footprint.Run(b, "TestScaleDORA", full(0))
		}
		footprint.Bench(b, "TestScaleDORA", doraLimit, func(i int) any {
			return phase(phaseHourly, scaleT0.Add(time.Duration(i+1)*time.Hour), "", true)
		})
	})
	b.Run("HeatmapOneApp", func(b *testing.B) {
		footprint.Bench(b, "TestScaleDORA", heatmapLimit, func(int) any {
			return phase(phaseHeatmap, activity100.End, policytest.AppName(0), true)
		})
	})
	b.Run("HeatmapAllApps", func(b *testing.B) {
		footprint.Bench(b, "TestScaleDORA", heatmapLimit, func(int) any {
			return phase(phaseHeatmap, activity100.End, "", true)
		})
	})
}
