package gate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// largeBuild is the evidence of a big service's build: 5,000 tests in 50
// suites, 1,000 SARIF results from three tools, an image scan, and a full
// baseline of 10 builds for the 1,000 slowest tests.
func largeBuild() (*policy.Gate, gate.Evidence) {
	var t report.Tests
	base := &gate.Baseline{Tests: map[string][]time.Duration{}}
	for s := range 50 {
		st := report.Suite{Name: fmt.Sprintf("com.example.suite%02d", s)}
		for c := range 100 {
			i := s*100 + c
			d := time.Duration(5+i%400) * time.Millisecond
			status := report.Passed
			if i%97 == 0 {
				status = report.Skipped
			}
			tc := report.Case{Class: st.Name, Name: fmt.Sprintf("testCase%04dDoesSomething", i), Duration: d, Status: status}
			st.Cases = append(st.Cases, tc)
			st.Duration += d
			if len(base.Tests) < gate.MaxBaselineTests && d >= 300*time.Millisecond {
				samples := make([]time.Duration, 10)
				for k := range samples {
					samples[k] = d - time.Duration(k)*time.Millisecond
				}
				base.Tests[tc.Class+"."+tc.Name] = samples
			}
		}
		t.Suites = append(t.Suites, st)
	}
	for range 10 {
		base.Suite = append(base.Suite, 17*time.Minute)
	}
	levels := []string{"error", "warning", "note"}
	sevs := []report.Severity{report.NoSeverity, report.Low, report.Medium, report.High}
	runs := []report.Run{{Tool: "golangci-lint"}, {Tool: "gosec"}, {Tool: "Trivy"}}
	for i := range 1000 {
		r := &runs[i%3]
		f := report.Finding{
			RuleID:   fmt.Sprintf("R%03d", i%120),
			Level:    levels[i%3],
			Message:  "something worth a look",
			Location: fmt.Sprintf("pkg/file%03d.go:%d", i%200, i),
		}
		if r.Tool == "Trivy" {
			f.Severity = sevs[i%4]
			f.Score = map[report.Severity]float64{report.Low: 2, report.Medium: 5, report.High: 7.5}[f.Severity]
		}
		r.Results = append(r.Results, f)
	}
	g := &policy.Gate{
		Projects: []string{"checkout-build"},
		Checks: policy.Checks{
			Compile:   &policy.CompileCheck{},
			Tests:     &policy.TestsCheck{},
			SlowTests: &policy.SlowTestsCheck{SuiteBudget: 15 * time.Minute, TestBudget: 30 * time.Second, Regression: &policy.Regression{Builds: 10, Percent: 25}},
			Lint:      &policy.LintCheck{Level: "warning", Max: 50},
			Security:  &policy.SecurityCheck{Tools: []string{"gosec", "Trivy"}, Image: true},
			Coverage:  &policy.CoverageCheck{MinLines: 70},
		},
		Waivers: []policy.Waiver{{Check: "security", Commit: commit[:7], Reason: "triage in progress"}},
	}
	ev := gate.Evidence{
		Build:     build(),
		Tests:     found(junitFrom, t),
		SARIF:     found(sarifFrom, runs),
		Coverage:  found(covFrom, report.Coverage{Covered: 7100, Total: 10000}),
		ImageScan: found(imageFrom, gate.ImageScan{Counts: map[report.Severity]int{report.High: 2, report.Medium: 10}}),
		Baseline:  base,
	}
	return g, ev
}

func BenchmarkEvaluate(b *testing.B) {
	g, ev := largeBuild()
	d := gate.Evaluate(g, ev, now)
	if len(d.Checks) != 6 {
		b.Fatalf("Evaluate(large build) = %d checks, want 6", len(d.Checks))
	}
	b.ReportAllocs()
	for b.Loop() {
		gate.Evaluate(g, ev, now)
	}
}

func BenchmarkBaselineAdd(b *testing.B) {
	_, ev := largeBuild()
	b.ReportAllocs()
	for b.Loop() {
		ev.Baseline.Add(ev.Tests.Value, 10, 0)
	}
}

// BenchmarkParseAndEvaluate is the gate's whole work on a big build: parse a
// 5,000-test JUnit report and a 1,000-result SARIF log (three tools), then
// evaluate every check against them.
func BenchmarkParseAndEvaluate(b *testing.B) {
	g, ev := largeBuild()
	junit, sarif := junitXML(ev.Tests.Value), sarifJSON(ev.SARIF.Value)
	b.ReportMetric(float64(len(junit)+len(sarif))/1e6, "MB-input")
	b.ReportAllocs()
	for b.Loop() {
		tests, err := report.ParseJUnit(bytes.NewReader(junit))
		if err != nil {
			b.Fatal(err)
		}
		runs, err := report.ParseSARIF(bytes.NewReader(sarif))
		if err != nil {
			b.Fatal(err)
		}
		ev.Tests.Value, ev.SARIF.Value = tests, runs
		if d := gate.Evaluate(g, ev, now); len(d.Checks) != 6 {
			b.Fatalf("Evaluate = %d checks, want 6", len(d.Checks))
		}
	}
}

// junitXML renders tests as a JUnit XML report.
func junitXML(t report.Tests) []byte {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n")
	for _, s := range t.Suites {
		fmt.Fprintf(&buf, "<testsuite name=%q tests=\"%d\" time=\"%.3f\">\n", s.Name, len(s.Cases), s.Duration.Seconds())
		for _, c := range s.Cases {
			fmt.Fprintf(&buf, "<testcase classname=%q name=%q time=\"%.3f\">", c.Class, c.Name, c.Duration.Seconds())
			if c.Status == report.Skipped {
				buf.WriteString("<skipped/>")
			}
			buf.WriteString("</testcase>\n")
		}
		buf.WriteString("</testsuite>\n")
	}
	buf.WriteString("</testsuites>\n")
	return buf.Bytes()
}

// sarifJSON renders runs as a SARIF 2.1.0 log, scores as security-severity.
func sarifJSON(runs []report.Run) []byte {
	type result struct {
		RuleID     string            `json:"ruleId"`
		Level      string            `json:"level"`
		Message    map[string]string `json:"message"`
		Properties map[string]string `json:"properties,omitempty"`
	}
	type run struct {
		Tool    map[string]map[string]string `json:"tool"`
		Results []result                     `json:"results"`
	}
	log := struct {
		Version string `json:"version"`
		Runs    []run  `json:"runs"`
	}{Version: "2.1.0"}
	for _, r := range runs {
		out := run{Tool: map[string]map[string]string{"driver": {"name": r.Tool}}}
		for _, f := range r.Results {
			res := result{RuleID: f.RuleID, Level: f.Level, Message: map[string]string{"text": f.Message}}
			if f.Score > 0 {
				res.Properties = map[string]string{"security-severity": fmt.Sprint(f.Score)}
			}
			out.Results = append(out.Results, res)
		}
		log.Runs = append(log.Runs, out)
	}
	data, err := json.Marshal(log)
	if err != nil {
		panic(err)
	}
	return data
}
