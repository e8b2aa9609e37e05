package dora

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// daysInMemory fills a memory ledger with n days of prod (fill); it returns
// the ledger and the days' end.
func daysInMemory(b *testing.B, n int) (ledger.Ledger, time.Time) {
	l := ledger.NewMemory()
	return l, fill(b, l, n, false)
}

// lastHour is a ledger on which every run finds the checkpoint the run of
// the previous hour saved: Latest of a checkpoint returns a fresh copy of
// it, read from frozen, under the version stored in the ledger now, so the
// run's save (an Update) is accepted and the next run starts from the same
// checkpoint again.
type lastHour struct {
	ledger.Ledger
	frozen  ledger.Ledger
	version int64
	saves   int
}

func (l *lastHour) Latest(ctx context.Context, k ledger.Kind, id string) (ledger.Record, error) {
	if k != ledger.KindDORACheckpoint {
		return l.Ledger.Latest(ctx, k, id)
	}
	rec, err := l.frozen.Latest(ctx, k, id)
	if err != nil {
		return nil, err
	}
	rec.RecordHeader().Version = l.version
	return rec, nil
}

func (l *lastHour) Update(ctx context.Context, rec ledger.Record) error {
	if err := l.Ledger.Update(ctx, rec); err != nil {
		return err
	}
	if _, ok := rec.(*ledger.DORACheckpoint); ok {
		l.version = rec.RecordHeader().Version
		l.saves++
	}
	return nil
}

// BenchmarkHandleDora is the dora function's hourly run over a memory ledger
// holding 30 days of one prod environment (ten deployments a day, two
// commits each, one incident a day): Tally an hour after the previous run,
// whose checkpoint is saved, then Publish of every row into a
// telemetrytest.Recorder. Tally reads the checkpoint, refreshes it from the
// records of the last hour and the Settle before it, and computes the 1, 7
// and 30 day windows; an hour without new facts leaves the checkpoint
// unsaved, as in most hours of production. Every iteration starts from
// the previous hour's checkpoint (lastHour), so each one is the same
// incremental run, not a rerun of the hour just tallied.
func BenchmarkHandleDora(b *testing.B) {
	p := prodOnly(b)
	ctx := context.Background()
	l, last := daysInMemory(b, days)
	if _, err := Tally(ctx, l, p, last, nil); err != nil {
		b.Fatal(err)
	}
	saved, err := l.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
	if err != nil {
		b.Fatal(err)
	}
	frozen := ledger.NewMemory()
	if err := frozen.Put(ctx, saved); err != nil {
		b.Fatal(err)
	}
	w := &lastHour{Ledger: l, frozen: frozen, version: saved.RecordHeader().Version}
	now := last.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		rows, err := Tally(ctx, w, p, now, nil)
		if err != nil {
			b.Fatal(err)
		}
		var metrics telemetrytest.Recorder
		for _, r := range rows {
			if err := Publish(&metrics, r); err != nil {
				b.Fatal(err)
			}
		}
		if m := rows[len(rows)-1].Metrics; len(rows) != 3 || m.Deployments != days*perDay || m.Commits != 2*days*perDay ||
			m.Restored != days || len(metrics.Values(telemetry.MetricDeploymentsInWindow)) != 3 {
			b.Fatalf("Tally(%s) = %+v", now, rows)
		}
	}
	b.StopTimer()
	cp, err := l.Latest(ctx, ledger.KindDORACheckpoint, "checkout/prod")
	if err != nil {
		b.Fatal(err)
	}
	// The hour brought no new fact, and the checkpoint is a day old at most:
	// the hourly run leaves it as it is (it saves on a change, or daily).
	if through := cp.(*ledger.DORACheckpoint).Through; !through.Equal(last) || w.saves != 0 {
		b.Fatalf("checkpoint through %s after %d saves, want %s, unsaved", through, w.saves, last)
	}
}

// BenchmarkHandleHeatmap is one request of the dashboard's custom widget for
// one app (params app=checkout) over a memory ledger holding 12 weeks of
// prod (ten deployments a day, two commits each, one incident a day), as
// the heatmap function answers it: All (the metrics of 1, 7 and 30 days,
// read in full), PageOf (12 weeks read once: the weekly trends, the span
// before each window, the heatmaps, the latest deployments and incidents)
// and WritePage (the HTML with its SVG charts).
func BenchmarkHandleHeatmap(b *testing.B) {
	p := prodOnly(b)
	ctx := context.Background()
	l, end := daysInMemory(b, 7*HeatmapWeeks)
	now := end.Add(-time.Minute) // the range ends on the last day of deployments
	keep := Only("checkout", "")
	b.ReportAllocs()
	for b.Loop() {
		rows, err := All(ctx, l, p, now, keep)
		if err != nil {
			b.Fatal(err)
		}
		pg, err := PageOf(ctx, l, p, now, keep)
		if err != nil {
			b.Fatal(err)
		}
		var page bytes.Buffer
		if err := WritePage(&page, rows, pg); err != nil {
			b.Fatal(err)
		}
		html := page.String()
		total := 0
		for _, d := range pg.Heatmap.Days {
			total += d.Deployments
		}
		// The 30 days before the range's end hold 300 deployments, 600
		// commits and 30 restored incidents; every day the heatmap shows
		// (the weeks' Mondays through the range's last day), ten.
		if m := rows[len(rows)-1].Metrics; len(rows) != 3 || m.Deployments != days*perDay || m.Commits != 2*days*perDay ||
			m.Restored != days || total != perDay*len(pg.Heatmap.Days) || !strings.HasPrefix(html, "<!DOCTYPE html>") {
			b.Fatalf("widget: %d rows (30d %+v), %d deployments on the heatmap, want 3 rows and %d", len(rows), m, total, perDay*len(pg.Heatmap.Days))
		}
	}
}
