package gate_test

import (
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
