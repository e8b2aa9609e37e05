package gate_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// secs is a duration of s seconds.
func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ms is a duration of n milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// repeat is n copies of d.
func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestSlowTestsBudgets(t *testing.T) {
	abc := found(junitFrom, suite(
		tcase("TestA", report.Passed, secs(1)),
		tcase("TestB", report.Failed, secs(2)),
		tcase("TestC", report.Passed, secs(3)),
		tcase("TestSkipped", report.Skipped, 0),
	))
	tests := []struct {
		name string
		give policy.SlowTestsCheck
		in   gate.Input[report.Tests]
		want ledger.CheckResult
	}{
		{
			name: "suite under budget",
			give: policy.SlowTestsCheck{SuiteBudget: 15 * time.Minute},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 900, Observed: 6, Passed: true, Reason: "suite took 6s (budget 15m0s)"},
		},
		{
			name: "suite exactly at budget",
			give: policy.SlowTestsCheck{SuiteBudget: secs(6)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 6, Observed: 6, Passed: true, Reason: "suite took 6s (budget 6s)"},
		},
		{
			name: "suite over budget",
			give: policy.SlowTestsCheck{SuiteBudget: secs(5.999)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 5.999, Observed: 6, Reason: "suite took 6s, over its 5.999s budget"},
		},
		{
			name: "slowest test exactly at budget",
			give: policy.SlowTestsCheck{TestBudget: secs(3)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 3, Observed: 3, Passed: true, Reason: "slowest test pkg.TestC took 3s (budget 3s)"},
		},
		{
			name: "tests over budget, slowest first, failed ones included",
			give: policy.SlowTestsCheck{TestBudget: secs(1.5)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 1.5, Observed: 3, Reason: "2 tests over the 1.5s budget: pkg.TestC (3s), pkg.TestB (2s)"},
		},
		{
			name: "a skipped test's time does not count",
			give: policy.SlowTestsCheck{TestBudget: secs(1)},
			in:   found(junitFrom, suite(tcase("TestA", report.Passed, ms(500)), tcase("TestS", report.Skipped, secs(9)))),
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 1, Observed: 0.5, Passed: true, Reason: "slowest test pkg.TestA took 500ms (budget 1s)"},
		},
		{
			name: "every test skipped",
			give: policy.SlowTestsCheck{TestBudget: secs(1)},
			in:   found(junitFrom, suite(tcase("TestS", report.Skipped, 0))),
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 1, Passed: true, Reason: "no test ran (budget 1s)"},
		},
		{
			name: "both pass: the measure nearest its limit is shown",
			give: policy.SlowTestsCheck{SuiteBudget: secs(12), TestBudget: secs(3.3)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 3.3, Observed: 3, Passed: true,
				Reason: "suite took 6s (budget 12s); slowest test pkg.TestC took 3s (budget 3.3s)"},
		},
		{
			name: "only the failing measure is explained",
			give: policy.SlowTestsCheck{SuiteBudget: secs(4), TestBudget: secs(10)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 4, Observed: 6, Reason: "suite took 6s, over its 4s budget"},
		},
		{
			name: "both fail",
			give: policy.SlowTestsCheck{SuiteBudget: secs(4), TestBudget: secs(2.5)},
			in:   abc,
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 4, Observed: 6,
				Reason: "suite took 6s, over its 4s budget; 1 test over the 2.5s budget: pkg.TestC (3s)"},
		},
		{
			name: "no report fails closed",
			give: policy.SlowTestsCheck{SuiteBudget: 15 * time.Minute},
			in:   notFound[report.Tests]("reports/junit/*.xml"),
			want: ledger.CheckResult{Name: "slowTests", Input: "reports/junit/*.xml", Threshold: 900, Reason: "no test report found (looked in reports/junit/*.xml)"},
		},
		{
			name: "no report, optional",
			give: policy.SlowTestsCheck{TestBudget: 30 * time.Second, Optional: true},
			in:   notFound[report.Tests]("reports/junit/*.xml"),
			want: ledger.CheckResult{Name: "slowTests", Input: "reports/junit/*.xml", Threshold: 30, Passed: true,
				Reason: "no test report found (looked in reports/junit/*.xml); evidence missing, passed because the check is optional"},
		},
		{
			name: "unreadable report",
			give: policy.SlowTestsCheck{Regression: &policy.Regression{Percent: 25}},
			in:   unreadable[report.Tests](junitFrom, errors.New("too deep")),
			want: ledger.CheckResult{Name: "slowTests", Input: junitFrom, Threshold: 1.25, Reason: "test report unreadable: too deep"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(t, policy.Checks{SlowTests: &tt.give}, gate.Evidence{Build: build(), Tests: tt.in})
			if got != tt.want {
				t.Errorf("Evaluate(...) check slowTests = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSlowTestsRegression(t *testing.T) {
	// one is a report of a single test pkg.TestA taking d.
	one := func(d time.Duration) report.Tests { return suite(tcase("TestA", report.Passed, d)) }
	// steady is a baseline whose suite always took d and whose TestA took the
	// given times.
	steady := func(d time.Duration, testA ...time.Duration) *gate.Baseline {
		return &gate.Baseline{Suite: repeat(d, max(len(testA), 3)), Tests: map[string][]time.Duration{"pkg.TestA": testA}}
	}
	six := func() report.Tests {
		var cases []report.Case
		for i := 1; i <= 6; i++ {
			cases = append(cases, tcase(fmt.Sprintf("T%d", i), report.Passed, secs(float64(i+1))))
		}
		return suite(cases...)
	}
	sixBase := &gate.Baseline{Suite: repeat(secs(27), 3), Tests: map[string][]time.Duration{}}
	for i := 1; i <= 6; i++ {
		sixBase.Tests[fmt.Sprintf("pkg.T%d", i)] = repeat(secs(1), 3)
	}
	pct25 := &policy.Regression{Percent: 25}
	const lastThree = "nothing over 25% slower than its median of the last 3 builds"

	tests := []struct {
		name  string
		give  policy.SlowTestsCheck
		tests report.Tests
		base  *gate.Baseline
		want  ledger.CheckResult
	}{
		{
			name:  "no baseline yet",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(100)),
			want: ledger.CheckResult{Threshold: 1.25, Passed: true,
				Reason: "no regression check yet: the timing baseline is being built (0 of 3 passing builds)"},
		},
		{
			name:  "two builds are not a baseline",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(100)),
			base:  &gate.Baseline{Suite: repeat(secs(1), 2), Tests: map[string][]time.Duration{"pkg.TestA": repeat(secs(1), 2)}},
			want: ledger.CheckResult{Threshold: 1.25, Passed: true,
				Reason: "no regression check yet: the timing baseline is being built (2 of 3 passing builds)"},
		},
		{
			name:  "median of three, exactly 25% slower",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(2.5)),
			base:  steady(secs(2.5), secs(1), secs(3), secs(2)),
			want:  ledger.CheckResult{Threshold: 1.25, Observed: 1.25, Passed: true, Reason: lastThree},
		},
		{
			name:  "median of three, 30% slower",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(2.6)),
			base:  steady(secs(2.6), secs(1), secs(3), secs(2)),
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1.3,
				Reason: "1 over 25% slower than the median of the last 3 builds: pkg.TestA 2.6s vs 2s (+30%)"},
		},
		{
			name:  "median of four is the mean of the middle two",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(3.2)),
			base:  steady(secs(3.2), secs(10), secs(1), secs(3), secs(2)),
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1.28,
				Reason: "1 over 25% slower than the median of the last 4 builds: pkg.TestA 3.2s vs 2.5s (+28%)"},
		},
		{
			name:  "median of four, within the limit",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(3.1)),
			base:  steady(secs(3.1), secs(10), secs(1), secs(3), secs(2)),
			want:  ledger.CheckResult{Threshold: 1.25, Observed: 1.24, Passed: true, Reason: "nothing over 25% slower than its median of the last 4 builds"},
		},
		{
			name:  "window of 3 sees only the newest builds",
			give:  policy.SlowTestsCheck{Regression: &policy.Regression{Builds: 3, Percent: 25}},
			tests: one(secs(2)),
			base:  steady(secs(2), secs(10), secs(10), secs(10), secs(1), secs(1), secs(1)),
			want: ledger.CheckResult{Threshold: 1.25, Observed: 2,
				Reason: "1 over 25% slower than the median of the last 3 builds: pkg.TestA 2s vs 1s (+100%)"},
		},
		{
			name:  "window of 6 sees them all",
			give:  policy.SlowTestsCheck{Regression: &policy.Regression{Builds: 6, Percent: 25}},
			tests: one(secs(2)),
			base:  steady(secs(2), secs(10), secs(10), secs(10), secs(1), secs(1), secs(1)),
			// The median is 5.5s; the suite, steady at 2s, is the worst ratio.
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1, Passed: true, Reason: "nothing over 25% slower than its median of the last 6 builds"},
		},
		{
			name:  "a test with fewer than 3 timings is not compared",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(secs(10)),
			base:  &gate.Baseline{Suite: repeat(secs(10), 3), Tests: map[string][]time.Duration{"pkg.TestA": {secs(1), secs(1)}}},
			want:  ledger.CheckResult{Threshold: 1.25, Observed: 1, Passed: true, Reason: lastThree},
		},
		{
			name:  "a test under MinDuration is noise",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(ms(99)),
			base:  steady(ms(99), ms(10), ms(10), ms(10)),
			want:  ledger.CheckResult{Threshold: 1.25, Passed: true, Reason: lastThree},
		},
		{
			name:  "a median under MinDuration counts as MinDuration",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(ms(500)),
			base:  steady(ms(500), ms(10), ms(10), ms(10)),
			want: ledger.CheckResult{Threshold: 1.25, Observed: 5,
				Reason: "1 over 25% slower than the median of the last 3 builds: pkg.TestA 500ms vs 100ms (+400%)"},
		},
		{
			name:  "MinDuration set by the policy",
			give:  policy.SlowTestsCheck{Regression: &policy.Regression{Percent: 25, MinDuration: time.Second}},
			tests: one(ms(500)),
			base:  steady(ms(500), ms(10), ms(10), ms(10)),
			want:  ledger.CheckResult{Threshold: 1.25, Passed: true, Reason: lastThree},
		},
		{
			name:  "the suite regressed",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: one(13 * time.Minute),
			base:  &gate.Baseline{Suite: []time.Duration{11 * time.Minute, 10 * time.Minute, 9 * time.Minute}},
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1.3,
				Reason: "1 over 25% slower than the median of the last 3 builds: the suite 13m0s vs 10m0s (+30%)"},
		},
		{
			name:  "a skipped test is not compared",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: suite(tcase("TestA", report.Skipped, secs(10)), tcase("TestB", report.Passed, secs(1))),
			base:  steady(secs(11), secs(1), secs(1), secs(1)),
			// The suite took 11s, as usual.
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1, Passed: true, Reason: lastThree},
		},
		{
			name: "a test that ran twice is compared by its total",
			give: policy.SlowTestsCheck{Regression: pct25},
			tests: report.Tests{Suites: []report.Suite{
				{Name: "a", Duration: secs(1), Cases: []report.Case{tcase("TestA", report.Passed, secs(1))}},
				{Name: "b", Duration: secs(1.6), Cases: []report.Case{tcase("TestA", report.Passed, secs(1.6))}},
			}},
			base: steady(secs(2.6), secs(2), secs(2), secs(2)),
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1.3,
				Reason: "1 over 25% slower than the median of the last 3 builds: pkg.TestA 2.6s vs 2s (+30%)"},
		},
		{
			name:  "offenders worst first, five named",
			give:  policy.SlowTestsCheck{Regression: pct25},
			tests: six(),
			base:  sixBase,
			want: ledger.CheckResult{Threshold: 1.25, Observed: 7,
				Reason: "6 over 25% slower than the median of the last 3 builds: pkg.T6 7s vs 1s (+600%), pkg.T5 6s vs 1s (+500%), " +
					"pkg.T4 5s vs 1s (+400%), pkg.T3 4s vs 1s (+300%), pkg.T2 3s vs 1s (+200%) and 1 more"},
		},
		{
			name:  "regression beside a budget",
			give:  policy.SlowTestsCheck{SuiteBudget: secs(5.2), Regression: pct25},
			tests: one(secs(2.6)),
			base:  steady(secs(2.6), secs(2), secs(2), secs(2)),
			// 2.6s of 5.2s uses half the budget; 1.3 of 1.25 is over.
			want: ledger.CheckResult{Threshold: 1.25, Observed: 1.3,
				Reason: "1 over 25% slower than the median of the last 3 builds: pkg.TestA 2.6s vs 2s (+30%)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Name, want.Input = "slowTests", junitFrom
			got := only(t, policy.Checks{SlowTests: &tt.give}, gate.Evidence{Build: build(), Tests: found(junitFrom, tt.tests), Baseline: tt.base})
			if got != want {
				t.Errorf("Evaluate(...) check slowTests = %+v, want %+v", got, want)
			}
		})
	}
}
