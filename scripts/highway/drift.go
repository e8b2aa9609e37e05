package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/ledger"
)

var driftReportCommand = command{
	name:     "drift report",
	synopsis: "drift report [--json]",
	about:    "the latest drift report of every stack, Terraform workspace and environment",
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print the reports as a JSON list")
		return func(ctx context.Context, c *cli, _ []string) error {
			h, err := c.openHub(ctx)
			if err != nil {
				return err
			}
			reports, err := h.ledger.CurrentDriftReports(ctx)
			if err != nil {
				return err
			}
			return writeDrift(c.out, reports, *asJSON)
		}
	},
}

// writeDrift prints drift reports: one block per stack or environment, each
// drifted resource with its severity and property differences; or JSON.
func writeDrift(out io.Writer, reports []*ledger.DriftReport, asJSON bool) error {
	if asJSON {
		return writeJSON(out, nonNil(reports))
	}
	if len(reports) == 0 {
		_, err := fmt.Fprintln(out, "no drift report yet")
		return err
	}
	for _, r := range reports {
		fmt.Fprintf(out, "%-40s %-16s %s/%s  checked %s\n", drift.Checked(r), r.Status, r.Account, r.Region, r.At.UTC().Format("2006-01-02 15:04Z"))
		if r.Reason != "" {
			fmt.Fprintf(out, "    %s\n", r.Reason)
		}
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
