package dora

import (
	"context"
	"errors"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Windows are the windows the metrics are computed over, each ending now.
var Windows = []struct {
	Name string
	Span time.Duration
}{{"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// Row is the metrics of one app, environment and window.
type Row struct {
	App     string  `json:"app"`
	Env     string  `json:"env"`
	Window  string  `json:"window"`
	Metrics Metrics `json:"metrics"`
	Bands   Bands   `json:"bands"`
}

// Only accepts app and env, each when set: a filter for All and HeatmapOf.
func Only(app, env string) func(a, e string) bool {
	return func(a, e string) bool { return (app == "" || a == app) && (env == "" || e == env) }
}

// All computes the metrics of every environment of p (those keep accepts,
// when keep is not nil) over every window ending at now, reading each
// environment's longest window from the ledger once.
func All(ctx context.Context, l ledger.Ledger, p *policy.Policy, now time.Time, keep func(app, env string) bool) ([]Row, error) {
	var rows []Row
	err := environments(p, keep, func(app, env string) error {
		cp, err := Refresh(ctx, l, app, env, nil, now)
		if err != nil {
			return err
		}
		rows = append(rows, rowsOf(app, env, HistoryOf(cp), now)...)
		return nil
	})
	return rows, err
}

// Publish writes a row's metrics; a metric without data (no commit, no
// incident restored) is not written, so CloudWatch shows a gap, not a zero.
func Publish(put telemetry.Putter, r Row) error {
	dims := telemetry.Dimensions{telemetry.DimApp: r.App, telemetry.DimEnv: r.Env, telemetry.DimWindow: r.Window}
	m := r.Metrics
	var errs []error
	add := func(name string, v float64, u telemetry.Unit) { errs = append(errs, put.Put(name, v, u, dims)) }
	add(telemetry.MetricDeploymentsInWindow, float64(m.Deployments), telemetry.Count)
	add(telemetry.MetricDeploymentsPerDay, m.PerDay, telemetry.Count)
	if m.Commits > 0 {
		add(telemetry.MetricLeadTimeP50, m.LeadTimeMedian.Seconds(), telemetry.Seconds)
		add(telemetry.MetricLeadTimeP90, m.LeadTimeP90.Seconds(), telemetry.Seconds)
	}
	if m.Deployments > 0 {
		add(telemetry.MetricFailedChangesInWindow, float64(m.Failed), telemetry.Count)
		add(telemetry.MetricChangeFailureRate, 100*m.ChangeFailureRate, telemetry.Percent)
	}
	if m.Restored > 0 {
		add(telemetry.MetricTimeToRestoreP50, m.TimeToRestoreMedian.Seconds(), telemetry.Seconds)
	}
	return errors.Join(errs...)
}
