package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

var doraCommand = command{
	name:     "dora",
	synopsis: "dora [--app A] [--env E] [--policy FILE] [--html FILE]",
	about: `the DORA metrics of the policy's environments over 1, 7 and 30 days,
each with its performance band; --html also writes the page with the trends and heatmaps`,
	define: func(fs *flag.FlagSet) action {
		policyFile := fs.String("policy", defaultPolicy, "the policy `FILE`")
		app := fs.String("app", "", "only this `app`")
		env := fs.String("env", "", "only this `environment`")
		htmlFile := fs.String("html", "", "also write a standalone page of the metrics, their trends and the deployment heatmaps to this `FILE`")
		return func(ctx context.Context, c *cli, _ []string) error {
			p, err := loadPolicy(*policyFile)
			if err != nil {
				return err
			}
			if err := checkAppEnv(p, *policyFile, *app, *env); err != nil {
				return err
			}
			if *htmlFile != "" {
				if err := writable(*htmlFile); err != nil {
					return err
				}
			}
			h, err := c.openHub(ctx)
			if err != nil {
				return err
			}
			now := h.now()
			rows, err := doraTable(ctx, h.ledger, p, *app, *env, now)
			if err != nil {
				return err
			}
			if err := writeDORA(c.out, rows); err != nil {
				return err
			}
			if *htmlFile == "" {
				return nil
			}
			return writeDORAPage(ctx, c.out, h.ledger, p, rows, *app, *env, now, *htmlFile)
		}
	},
}

// checkAppEnv says what is wrong when app is not in the policy, or env is not
// an environment of app (of any app, when app is empty).
func checkAppEnv(p *policy.Policy, policyFile, app, env string) error {
	var apps, envs []string
	for _, a := range p.Apps {
		apps = append(apps, a.Name)
		if app != "" && a.Name != app {
			continue
		}
		for _, e := range a.Environments {
			if !slices.Contains(envs, e.Name) {
				envs = append(envs, e.Name)
			}
		}
	}
	switch {
	case app != "" && !slices.Contains(apps, app):
		return badInput("--app %q: %s has no such app (its apps: %s)", app, policyFile, strings.Join(apps, ", "))
	case env != "" && !slices.Contains(envs, env) && app != "":
		return badInput("--env %q: app %s has no such environment in %s (its environments: %s)", env, app, policyFile, strings.Join(envs, ", "))
	case env != "" && !slices.Contains(envs, env):
		return badInput("--env %q: no app of %s has such an environment (environments: %s)", env, policyFile, strings.Join(envs, ", "))
	}
	return nil
}

// writeDORAPage writes rows, the metrics, and the deployment heatmaps of the
// environments (app and env, when set) as a standalone page to file.
func writeDORAPage(ctx context.Context, out io.Writer, l ledger.Ledger, p *policy.Policy, rows []dora.Row, app, env string, now time.Time, file string) error {
	pg, err := dora.PageOf(ctx, l, p, now, dora.Only(app, env))
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := dora.WritePage(&page, rows, pg); err != nil {
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
		return nil, badInput("the policy has no environment %q of app %q", env, app)
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
