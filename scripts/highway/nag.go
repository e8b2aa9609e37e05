package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

var nagCommand = command{
	name:     "nag",
	synopsis: "nag [DIR]",
	about:    "summarize the cdk-nag reports of a synth (DIR, default cdk.out); fail on unsuppressed errors",
	maxArgs:  1,
	define: func(*flag.FlagSet) action {
		return func(_ context.Context, c *cli, args []string) error {
			dir := "cdk.out"
			if len(args) == 1 {
				dir = args[0]
			}
			return nag(c.out, dir)
		}
	},
}

// nagCounts is what one cdk-nag report says about one stack and rule pack.
type nagCounts struct {
	compliant, suppressed, warnings, errors int
	failures                                []string
}

// nag summarizes the cdk-nag reports (*-NagReport.csv) that `cdk synth` wrote to
// dir, one line per pack and stack, and fails when any rule of level Error is
// Non-Compliant and not suppressed.
func nag(out io.Writer, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*-NagReport.csv"))
	if err != nil {
		return badInput("%s: %v", dir, err)
	}
	if len(files) == 0 {
		return badInput("no cdk-nag reports in %s: run make synth", dir)
	}
	slices.Sort(files)
	var failures []string
	for _, f := range files {
		c, err := readNagReport(f)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(f), "-NagReport.csv")
		fmt.Fprintf(out, "%-55s %3d compliant  %3d suppressed (with reasons)  %d warnings  %d errors\n",
			name, c.compliant, c.suppressed, c.warnings, c.errors)
		failures = append(failures, c.failures...)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d unsuppressed cdk-nag errors:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	fmt.Fprintln(out, "cdk-nag: 0 unsuppressed errors")
	return nil
}

func readNagReport(path string) (nagCounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nagCounts{}, badInput("%v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nagCounts{}, badInput("%s: %v", path, err)
	}
	if len(rows) == 0 || len(rows[0]) < 5 || rows[0][0] != "Rule ID" || rows[0][2] != "Compliance" || rows[0][4] != "Rule Level" {
		return nagCounts{}, badInput("%s: not a cdk-nag report (header %v)", path, rows[:min(1, len(rows))])
	}
	var c nagCounts
	for _, r := range rows[1:] {
		rule, resource, compliance, level := r[0], r[1], r[2], r[4]
		switch compliance {
		case "Compliant":
			c.compliant++
		case "Suppressed":
			c.suppressed++
		default: // Non-Compliant, or UNKNOWN when a rule could not be evaluated
			if level == "Error" {
				c.errors++
				c.failures = append(c.failures, fmt.Sprintf("%s on %s (%s)", rule, resource, compliance))
			} else {
				c.warnings++
			}
		}
	}
	return c, nil
}
