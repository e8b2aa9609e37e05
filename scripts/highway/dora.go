package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// doraCmd is `highway dora [--app A] [--env E] [--policy FILE]`: the DORA
// metrics of the policy's environments over 1, 7 and 30 days, from the hub's
// ledger.
func doraCmd(ctx context.Context, out io.Writer, args []string, now time.Time) error {
	fs := flag.NewFlagSet("dora", flag.ContinueOnError)
	fs.SetOutput(out)
	policyFile := fs.String("policy", "infra/highway.yaml", "policy file")
	app := fs.String("app", "", "only this app")
	env := fs.String("env", "", "only this environment")
	htmlFile := fs.String("html", "", "also write a standalone page with the metrics and the deployment heatmaps to this file")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	p, err := policy.Load(*policyFile)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	l, err := hubLedger(ctx)
	if err != nil {
		return err
	}
	rows, err := doraTable(ctx, l, p, *app, *env, now)
	if err != nil {
		return err
	}
	if err := writeDORA(out, rows); err != nil {
		return err
	}
	if *htmlFile == "" {
		return nil
	}
	return writeDORAPage(ctx, out, l, p, rows, *app, *env, now, *htmlFile)
}

// writeDORAPage writes rows, the metrics, and the deployment heatmaps of the
// environments (app and env, when set) as a standalone page to file.
func writeDORAPage(ctx context.Context, out io.Writer, l ledger.Ledger, p *policy.Policy, rows []dora.Row, app, env string, now time.Time, file string) error {
	h, err := dora.HeatmapOf(ctx, l, p, now, dora.Only(app, env))
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := dora.WritePage(&page, rows, h); err != nil {
		return err
	}
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "wrote %s\n", file)
	return err
}

// doraTable computes the metrics of every environment of the policy (or of
// app and env, when set) over each window ending at now.
func doraTable(ctx context.Context, l ledger.Ledger, p *policy.Policy, app, env string, now time.Time) ([]dora.Row, error) {
	rows, err := dora.All(ctx, l, p, now, dora.Only(app, env))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: the policy has no environment %q of app %q", errBadInput, env, app)
	}
	return rows, nil
}

// writeDORA prints the DORA table: each metric with its band.
func writeDORA(out io.Writer, rows []dora.Row) error {
	fmt.Fprintf(out, "%-18s %-6s %-24s %-30s %-24s %s\n", "app/env", "window", "deployments", "lead time p50 / p90", "change failure rate", "time to restore p50")
	for _, r := range rows {
		m := r.Metrics
		deploys := fmt.Sprintf("%d, %.2f/day %s", m.Deployments, m.PerDay, band(r.Bands.DeploymentFrequency))
		lead := "-"
		if m.Commits > 0 {
			lead = fmt.Sprintf("%s / %s %s", m.LeadTimeMedian.Round(time.Second), m.LeadTimeP90.Round(time.Second), band(r.Bands.LeadTime))
		}
		cfr := "-"
		if m.Deployments > 0 {
			cfr = fmt.Sprintf("%.0f%% (%d/%d) %s", 100*m.ChangeFailureRate, m.Failed, m.Deployments, band(r.Bands.ChangeFailureRate))
		}
		ttr := "-"
		if m.Restored > 0 {
			ttr = fmt.Sprintf("%s (%d) %s", m.TimeToRestoreMedian.Round(time.Second), m.Restored, band(r.Bands.TimeToRestore))
		}
		if _, err := fmt.Fprintf(out, "%-18s %-6s %-24s %-30s %-24s %s\n", r.App+"/"+r.Env, r.Window, deploys, lead, cfr, ttr); err != nil {
			return err
		}
	}
	return nil
}

func band(b dora.Band) string {
	if b == "" {
		return ""
	}
	return "[" + string(b) + "]"
}
