package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// errBadInput marks errors that exit 2: the command could not judge at all.
var errBadInput = errors.New("bad input")

// exitCode is an error carrying the process's exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// gateEval judges report files with an app's gate, the way the deployed gate
// would, and prints the decision. It returns exitCode(1) on a failing verdict;
// errors wrapping errBadInput exit 2.
func gateEval(out io.Writer, args []string, now time.Time) error {
	fs := flag.NewFlagSet("gate eval", flag.ContinueOnError)
	fs.SetOutput(out)
	policyFile := fs.String("policy", "infra/highway.yaml", "policy file")
	app := fs.String("app", "", "app whose gate judges (required)")
	var junit, sarif []string
	fs.Func("junit", "JUnit XML report (repeatable)", func(s string) error { junit = append(junit, s); return nil })
	fs.Func("sarif", "SARIF 2.1.0 file (repeatable)", func(s string) error { sarif = append(sarif, s); return nil })
	coverage := fs.String("coverage", "", "Cobertura XML or Go cover profile")
	buildEvent := fs.String("build-event", "", "CodeBuild Build State Change event (JSON): adds the compile check and the build's identity")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	if *app == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: usage: highway gate eval --app NAME [--policy FILE] [--junit F]... [--sarif F]... [--coverage F] [--build-event F] [--json]", errBadInput)
	}
	p, err := policy.Load(*policyFile)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	a, ok := p.App(*app)
	if !ok || a.Gate == nil {
		return fmt.Errorf("%w: app %q has no gate in %s", errBadInput, *app, *policyFile)
	}

	ev := gate.Evidence{Build: gate.Build{ID: "local", App: a.Name, Status: "SUCCEEDED", At: now}}
	g := gating.ArtifactOnly(a.Gate)
	if *buildEvent != "" {
		be, err := readBuildEvent(*buildEvent)
		if err != nil {
			return err
		}
		ev.Build = be.Build
		ev.Build.App = a.Name
		g = a.Gate
		if g.Checks.Security != nil && g.Checks.Security.Image {
			ev.ImageScan = gate.Input[gate.ImageScan]{From: "highway gate eval reads no image scan"}
		}
	}
	if ev.Tests, err = readAll(junit, "--junit", report.ParseJUnit, report.Merge); err != nil {
		return err
	}
	if ev.SARIF, err = readAll(sarif, "--sarif", report.ParseSARIF, func(runs ...[]report.Run) []report.Run {
		var all []report.Run
		for _, r := range runs {
			all = append(all, r...)
		}
		return all
	}); err != nil {
		return err
	}
	var cov []string
	if *coverage != "" {
		cov = []string{*coverage}
	}
	if ev.Coverage, err = readAll(cov, "--coverage", report.ParseCoverage, func(c ...report.Coverage) report.Coverage { return c[0] }); err != nil {
		return err
	}

	d := gate.Evaluate(g, ev, now)
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else if _, err := io.WriteString(out, gating.Explain(d)); err != nil {
		return err
	}
	if d.Verdict != ledger.VerdictPass {
		return exitCode(1)
	}
	return nil
}

// readAll parses every file with parse and merges them. A file that cannot be
// opened is bad input; a file that does not parse is evidence the gate judges
// unreadable, so the decision says why.
func readAll[T any](files []string, flagName string, parse func(io.Reader) (T, error), merge func(...T) T) (gate.Input[T], error) {
	in := gate.Input[T]{From: strings.Join(files, ", ")}
	if len(files) == 0 {
		in.From = "no " + flagName + " given"
		return in, nil
	}
	var values []T
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return in, fmt.Errorf("%w: %v", errBadInput, err)
		}
		v, err := parse(f)
		f.Close()
		if err != nil {
			in.Found, in.Err = true, fmt.Errorf("%s: %w", name, err)
			return in, nil
		}
		values = append(values, v)
	}
	in.Found, in.Value = true, merge(values...)
	return in, nil
}

func readBuildEvent(name string) (evidence.BuildEvent, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return evidence.BuildEvent{}, fmt.Errorf("%w: %v", errBadInput, err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return evidence.BuildEvent{}, fmt.Errorf("%w: %s: %v", errBadInput, name, err)
	}
	be, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		return evidence.BuildEvent{}, fmt.Errorf("%w: %s: %v", errBadInput, name, err)
	}
	return be, nil
}
