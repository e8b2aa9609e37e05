package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/highwayhq/highway/shared/ledger"
)

// driftCmd is `highway drift report [--json]`: the latest drift report of
// every stack and environment, from the hub's ledger ($HIGHWAY_TABLE).
func driftCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || args[0] != "report" {
		return fmt.Errorf("%w: usage: highway drift report [--json]", errBadInput)
	}
	fs := flag.NewFlagSet("drift report", flag.ContinueOnError)
	fs.SetOutput(out)
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	l, err := hubLedger(ctx)
	if err != nil {
		return err
	}
	reports, err := l.CurrentDriftReports(ctx)
	if err != nil {
		return err
	}
	return writeDrift(out, reports, *asJSON)
}

// writeDrift prints drift reports: one block per stack or environment, each
// drifted resource with its severity and property differences; or JSON.
func writeDrift(out io.Writer, reports []*ledger.DriftReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	if len(reports) == 0 {
		_, err := fmt.Fprintln(out, "no drift report yet")
		return err
	}
	for _, r := range reports {
		what := r.Stack
		if what == "" {
			what = r.App + "/" + r.Env
		}
		fmt.Fprintf(out, "%-40s %-16s %s/%s  checked %s\n", what, r.Status, r.Account, r.Region, r.At.UTC().Format("2006-01-02 15:04Z"))
		if r.ExpectedDigest != "" || r.Target != "" {
			fmt.Fprintf(out, "    %s runs %s, promoted %s\n", r.Target, orNone(r.Digest), orNone(r.ExpectedDigest))
		}
		for _, d := range r.Drifted {
			note := ""
			if d.Suppressed {
				note = "  (suppressed: " + d.SuppressedBecause + ")"
			}
			fmt.Fprintf(out, "    %-8s %-9s %s %s%s\n", strings.ToUpper(orNone(d.Severity)), d.Status, d.Type, d.LogicalID, note)
			for _, p := range d.Differences {
				fmt.Fprintf(out, "        %s %s: %s → %s\n", p.Type, p.Path, orNone(p.Expected), orNone(p.Actual))
			}
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
