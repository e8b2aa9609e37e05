package gate_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// now is the evaluation time of every test.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	commit    = "4f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
	junitFrom = "reports/junit/unit.xml"
	sarifFrom = "reports/lint.sarif"
	covFrom   = "reports/coverage.xml"
	imageFrom = "ecr scan sha256:abc"
)

// found is evidence that was found and read.
func found[T any](from string, v T) gate.Input[T] {
	return gate.Input[T]{From: from, Value: v, Found: true}
}

// notFound is evidence that does not exist.
func notFound[T any](from string) gate.Input[T] {
	return gate.Input[T]{From: from}
}

// unreadable is evidence that exists but could not be parsed.
func unreadable[T any](from string, err error) gate.Input[T] {
	return gate.Input[T]{From: from, Found: true, Err: err}
}

// tcase is a test of class pkg.
func tcase(name string, s report.Status, d time.Duration) report.Case {
	return report.Case{Class: "pkg", Name: name, Status: s, Duration: d}
}

// suite is a one-suite report whose duration is the sum of its cases.
func suite(cases ...report.Case) report.Tests {
	var d time.Duration
	for _, c := range cases {
		d += c.Duration
	}
	return report.Tests{Suites: []report.Suite{{Name: "pkg", Duration: d, Cases: cases}}}
}

// build is a build whose phases all succeeded.
func build() gate.Build {
	return gate.Build{
		ID:      "checkout-build:1111",
		Project: "checkout-build",
		App:     "checkout",
		Commit:  commit,
		Branch:  "main",
		Digest:  "sha256:abc",
		Status:  "SUCCEEDED",
		Phases: []gate.Phase{
			{Name: "SUBMITTED", Status: "SUCCEEDED"},
			{Name: "INSTALL", Status: "SUCCEEDED"},
			{Name: "BUILD", Status: "SUCCEEDED"},
			{Name: "POST_BUILD", Status: "SUCCEEDED"},
		},
		At: time.Date(2026, 6, 1, 11, 58, 0, 0, time.UTC),
	}
}

// only evaluates a gate configuring the checks in c and returns its single
// result.
func only(t *testing.T, c policy.Checks, ev gate.Evidence) ledger.CheckResult {
	t.Helper()
	d := gate.Evaluate(&policy.Gate{Projects: []string{"checkout-build"}, Checks: c}, ev, now)
	if len(d.Checks) != 1 {
		t.Fatalf("Evaluate(%+v) checks = %+v, want exactly one", c, d.Checks)
	}
	wantVerdict := ledger.VerdictFail
	if d.Checks[0].Passed {
		wantVerdict = ledger.VerdictPass
	}
	if d.Verdict != wantVerdict {
		t.Errorf("Evaluate(%+v) verdict = %s with check %+v, want %s", c, d.Verdict, d.Checks[0], wantVerdict)
	}
	return d.Checks[0]
}

func TestCompile(t *testing.T) {
	failedBuild := build()
	failedBuild.Phases[2] = gate.Phase{Name: "BUILD", Status: "FAILED", Contexts: []string{
		"COMMAND_EXECUTION_ERROR: Error while executing command: go build ./... Reason: exit status 1",
	}}
	failedInstall := build()
	failedInstall.Phases = []gate.Phase{
		{Name: "SUBMITTED", Status: "SUCCEEDED"},
		{Name: "PROVISIONING", Status: "SUCCEEDED"},
		{Name: "INSTALL", Status: "FAILED", Contexts: []string{"COMMAND_EXECUTION_ERROR: npm ci", "exit status 1"}},
		{Name: "FINALIZING", Status: "SUCCEEDED"},
	}
	timedOut := build()
	timedOut.Phases[2] = gate.Phase{Name: "BUILD", Status: "TIMED_OUT"}
	running := build()
	running.Phases = []gate.Phase{{Name: "SUBMITTED", Status: "SUCCEEDED"}, {Name: "INSTALL", Status: "SUCCEEDED"}, {Name: "PRE_BUILD"}}
	lateFailure := build()
	lateFailure.Phases = []gate.Phase{{Name: "SUBMITTED", Status: "SUCCEEDED"}, {Name: "UPLOAD_ARTIFACTS", Status: "FAILED"}}
	noStatus := build()
	noStatus.Phases[2].Status = ""
	noPhases := build()
	noPhases.Phases = nil
	const input = "phases of build checkout-build:1111"

	tests := []struct {
		name string
		give policy.CompileCheck
		b    gate.Build
		want ledger.CheckResult
	}{
		{
			name: "BUILD succeeded",
			b:    build(),
			want: ledger.CheckResult{Name: "compile", Input: input, Passed: true, Reason: "BUILD phase succeeded"},
		},
		{
			name: "BUILD failed, its context quoted",
			b:    failedBuild,
			want: ledger.CheckResult{Name: "compile", Input: input, Observed: 1,
				Reason: `BUILD phase FAILED: "COMMAND_EXECUTION_ERROR: Error while executing command: go build ./... Reason: exit status 1"`},
		},
		{
			name: "BUILD timed out without context",
			b:    timedOut,
			want: ledger.CheckResult{Name: "compile", Input: input, Observed: 1, Reason: "BUILD phase TIMED_OUT"},
		},
		{
			name: "BUILD without a status",
			b:    noStatus,
			want: ledger.CheckResult{Name: "compile", Input: input, Observed: 1, Reason: "BUILD phase has no status"},
		},
		{
			name: "INSTALL failed so BUILD never ran",
			b:    failedInstall,
			want: ledger.CheckResult{Name: "compile", Input: input, Observed: 1,
				Reason: `BUILD phase never ran: INSTALL phase FAILED: "COMMAND_EXECUTION_ERROR: npm ci", "exit status 1"`},
		},
		{
			name: "optional does not excuse a failed phase",
			give: policy.CompileCheck{Optional: true},
			b:    failedInstall,
			want: ledger.CheckResult{Name: "compile", Input: input, Observed: 1,
				Reason: `BUILD phase never ran: INSTALL phase FAILED: "COMMAND_EXECUTION_ERROR: npm ci", "exit status 1"`},
		},
		{
			name: "no BUILD phase yet",
			b:    running,
			want: ledger.CheckResult{Name: "compile", Input: input, Reason: "no BUILD phase among the build's 3 phases"},
		},
		{
			name: "a failure after BUILD does not explain its absence",
			b:    lateFailure,
			want: ledger.CheckResult{Name: "compile", Input: input, Reason: "no BUILD phase among the build's 2 phases"},
		},
		{
			name: "no phases fails closed",
			b:    noPhases,
			want: ledger.CheckResult{Name: "compile", Input: input, Reason: "no build phases found"},
		},
		{
			name: "no phases, optional",
			give: policy.CompileCheck{Optional: true},
			b:    noPhases,
			want: ledger.CheckResult{Name: "compile", Input: input, Passed: true,
				Reason: "no build phases found; evidence missing, passed because the check is optional"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(t, policy.Checks{Compile: &tt.give}, gate.Evidence{Build: tt.b})
			if got != tt.want {
				t.Errorf("Evaluate(...) check compile = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTests(t *testing.T) {
	ok := func(n string) report.Case { return tcase(n, report.Passed, time.Second) }
	bad := func(n string) report.Case { return tcase(n, report.Failed, time.Second) }
	tests := []struct {
		name string
		give policy.TestsCheck
		in   gate.Input[report.Tests]
		want ledger.CheckResult
	}{
		{
			name: "all passed",
			in:   found(junitFrom, suite(ok("TestA"), ok("TestB"), tcase("TestC", report.Skipped, 0))),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Passed: true, Reason: "3 tests, 0 failed (max 0), 1 skipped"},
		},
		{
			name: "failures and errors both count",
			in:   found(junitFrom, suite(ok("TestA"), bad("TestB"), tcase("TestC", report.Errored, 0))),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Observed: 2, Reason: "2 of 3 tests failed (max 0): pkg.TestB, pkg.TestC"},
		},
		{
			name: "as many failures as allowed",
			give: policy.TestsCheck{MaxFailed: 2},
			in:   found(junitFrom, suite(ok("TestA"), bad("TestB"), bad("TestC"))),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Threshold: 2, Observed: 2, Passed: true, Reason: "3 tests, 2 failed (max 2), 0 skipped"},
		},
		{
			name: "one more than allowed",
			give: policy.TestsCheck{MaxFailed: 1},
			in:   found(junitFrom, suite(ok("TestA"), bad("TestB"), bad("TestC"))),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Threshold: 1, Observed: 2, Reason: "2 of 3 tests failed (max 1): pkg.TestB, pkg.TestC"},
		},
		{
			name: "names five failures and counts the rest",
			in: found(junitFrom, suite(bad("T1"), bad("T2"), bad("T3"), bad("T4"), bad("T5"), bad("T6"), bad("T7"),
				report.Case{Name: "NoClass", Status: report.Passed})),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Observed: 7,
				Reason: "7 of 8 tests failed (max 0): pkg.T1, pkg.T2, pkg.T3, pkg.T4, pkg.T5 and 2 more"},
		},
		{
			name: "a test without a class is named alone",
			in:   found(junitFrom, suite(report.Case{Name: "TestLonely", Status: report.Failed})),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Observed: 1, Reason: "1 of 1 test failed (max 0): TestLonely"},
		},
		{
			name: "no report fails closed",
			in:   notFound[report.Tests]("reports/junit/*.xml"),
			want: ledger.CheckResult{Name: "tests", Input: "reports/junit/*.xml", Reason: "no test report found (looked in reports/junit/*.xml)"},
		},
		{
			name: "no report, optional",
			give: policy.TestsCheck{Optional: true},
			in:   notFound[report.Tests]("reports/junit/*.xml"),
			want: ledger.CheckResult{Name: "tests", Input: "reports/junit/*.xml", Passed: true,
				Reason: "no test report found (looked in reports/junit/*.xml); evidence missing, passed because the check is optional"},
		},
		{
			name: "unreadable report fails closed",
			in:   unreadable[report.Tests](junitFrom, errors.New("XML syntax error on line 3")),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Reason: "test report unreadable: XML syntax error on line 3"},
		},
		{
			name: "unreadable report, optional",
			give: policy.TestsCheck{Optional: true, MaxFailed: 3},
			in:   unreadable[report.Tests](junitFrom, errors.New("XML syntax error on line 3")),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Threshold: 3, Passed: true,
				Reason: "test report unreadable: XML syntax error on line 3; evidence missing, passed because the check is optional"},
		},
		{
			name: "a report without tests proves nothing",
			in:   found(junitFrom, report.Tests{Suites: []report.Suite{{Name: "empty"}}}),
			want: ledger.CheckResult{Name: "tests", Input: junitFrom, Reason: "test report holds no test cases (looked in reports/junit/unit.xml)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(t, policy.Checks{Tests: &tt.give}, gate.Evidence{Build: build(), Tests: tt.in})
			if got != tt.want {
				t.Errorf("Evaluate(...) check tests = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	cov := func(covered, total int) gate.Input[report.Coverage] {
		return found(covFrom, report.Coverage{Format: "cobertura", Covered: covered, Total: total})
	}
	tests := []struct {
		name string
		give policy.CoverageCheck
		in   gate.Input[report.Coverage]
		want ledger.CheckResult
	}{
		{
			name: "over the minimum",
			give: policy.CoverageCheck{MinLines: 70},
			in:   cov(750, 1000),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 70, Observed: 75, Passed: true, Reason: "75% of 1000 lines covered (min 70%)"},
		},
		{
			name: "exactly the minimum",
			give: policy.CoverageCheck{MinLines: 70},
			in:   cov(7000, 10000),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 70, Observed: 70, Passed: true, Reason: "70% of 10000 lines covered (min 70%)"},
		},
		{
			name: "just under is not shown rounded up",
			give: policy.CoverageCheck{MinLines: 70},
			in:   cov(69999, 100000),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 70, Observed: 69.999, Reason: "69.99% of 100000 lines covered (min 70%)"},
		},
		{
			name: "fractional minimum",
			give: policy.CoverageCheck{MinLines: 66.7},
			in:   cov(2, 3),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 66.7, Observed: 200.0 / 3, Reason: "66.66% of 3 lines covered (min 66.7%)"},
		},
		{
			name: "no report fails closed",
			give: policy.CoverageCheck{MinLines: 70},
			in:   notFound[report.Coverage]("reports/coverage.xml"),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 70, Reason: "no coverage report found (looked in reports/coverage.xml)"},
		},
		{
			name: "no report, optional",
			give: policy.CoverageCheck{MinLines: 70, Optional: true},
			in:   notFound[report.Coverage]("reports/coverage.xml"),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 70, Passed: true,
				Reason: "no coverage report found (looked in reports/coverage.xml); evidence missing, passed because the check is optional"},
		},
		{
			name: "unreadable report",
			give: policy.CoverageCheck{MinLines: 70},
			in:   unreadable[report.Coverage](covFrom, errors.New("unknown format")),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Threshold: 70, Reason: "coverage report unreadable: unknown format"},
		},
		{
			name: "a report of no lines",
			give: policy.CoverageCheck{MinLines: 0},
			in:   cov(0, 0),
			want: ledger.CheckResult{Name: "coverage", Input: covFrom, Reason: "coverage report counts no lines (looked in reports/coverage.xml)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(t, policy.Checks{Coverage: &tt.give}, gate.Evidence{Build: build(), Coverage: tt.in})
			if got != tt.want {
				t.Errorf("Evaluate(...) check coverage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// everything is a gate configuring all six checks, and evidence that passes
// each of them.
func everything() (*policy.Gate, gate.Evidence) {
	g := &policy.Gate{
		Projects: []string{"checkout-build"},
		Checks: policy.Checks{
			// Declared out of order: the decision's order must not follow it.
			Coverage:  &policy.CoverageCheck{MinLines: 70},
			Security:  &policy.SecurityCheck{Tools: []string{"gosec"}},
			Lint:      &policy.LintCheck{},
			SlowTests: &policy.SlowTestsCheck{TestBudget: 30 * time.Second},
			Tests:     &policy.TestsCheck{},
			Compile:   &policy.CompileCheck{},
		},
	}
	ev := gate.Evidence{
		Build: build(),
		Tests: found(junitFrom, suite(tcase("TestA", report.Passed, time.Second), tcase("TestB", report.Passed, 2*time.Second))),
		SARIF: found(sarifFrom, []report.Run{
			{Tool: "golangci-lint", Results: []report.Finding{{RuleID: "lll", Level: "note"}}},
			{Tool: "gosec"},
		}),
		Coverage: found(covFrom, report.Coverage{Covered: 80, Total: 100}),
	}
	return g, ev
}

func TestDecisionShape(t *testing.T) {
	g, ev := everything()
	d := gate.Evaluate(g, ev, now)
	wantHeader := ledger.Header{
		Kind:   ledger.KindGateDecision,
		ID:     "checkout-build:1111",
		App:    "checkout",
		Commit: commit,
		Digest: "sha256:abc",
		At:     ev.Build.At,
	}
	if d.Header != wantHeader {
		t.Errorf("Evaluate(...) header = %+v, want %+v", d.Header, wantHeader)
	}
	var names []string
	for _, c := range d.Checks {
		names = append(names, c.Name)
		if !c.Passed || c.Waived {
			t.Errorf("Evaluate(...) check %s = %+v, want passed", c.Name, c)
		}
	}
	wantNames := []string{"compile", "tests", "slowTests", "lint", "security", "coverage"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("Evaluate(...) check order = %v, want %v", names, wantNames)
	}
	if d.Verdict != ledger.VerdictPass {
		t.Errorf("Evaluate(...) verdict = %s, want pass", d.Verdict)
	}
	if again := gate.Evaluate(g, ev, now); !reflect.DeepEqual(again, d) {
		t.Errorf("Evaluate(...) twice = %+v then %+v, want the same decision", d, again)
	}
}

func TestDecisionVerdict(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*policy.Gate, *gate.Evidence)
		want      ledger.Verdict
		wantNames []string
	}{
		{
			name: "one failing check fails the build",
			edit: func(_ *policy.Gate, ev *gate.Evidence) {
				ev.Coverage = found(covFrom, report.Coverage{Covered: 10, Total: 100})
			},
			want: ledger.VerdictFail,
		},
		{
			name: "a waived failing check lets it pass",
			edit: func(g *policy.Gate, ev *gate.Evidence) {
				ev.Coverage = found(covFrom, report.Coverage{Covered: 10, Total: 100})
				g.Waivers = []policy.Waiver{{Check: "coverage", Commit: commit[:7], Reason: "new module"}}
			},
			want: ledger.VerdictPass,
		},
		{
			name: "a waiver for another check does not",
			edit: func(g *policy.Gate, ev *gate.Evidence) {
				ev.Coverage = found(covFrom, report.Coverage{Covered: 10, Total: 100})
				g.Waivers = []policy.Waiver{{Check: "lint", Commit: commit[:7], Reason: "new module"}}
			},
			want: ledger.VerdictFail,
		},
		{
			name: "missing evidence fails the build",
			edit: func(_ *policy.Gate, ev *gate.Evidence) { ev.SARIF = notFound[[]report.Run](sarifFrom) },
			want: ledger.VerdictFail,
		},
		{
			name: "only configured checks run",
			edit: func(g *policy.Gate, ev *gate.Evidence) {
				g.Checks = policy.Checks{Tests: &policy.TestsCheck{}, Compile: &policy.CompileCheck{}}
				ev.SARIF = notFound[[]report.Run](sarifFrom)
			},
			want:      ledger.VerdictPass,
			wantNames: []string{"compile", "tests"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ev := everything()
			tt.edit(g, &ev)
			d := gate.Evaluate(g, ev, now)
			if d.Verdict != tt.want {
				t.Errorf("Evaluate(...) verdict = %s, want %s; checks %+v", d.Verdict, tt.want, d.Checks)
			}
			if tt.wantNames != nil {
				var names []string
				for _, c := range d.Checks {
					names = append(names, c.Name)
				}
				if !reflect.DeepEqual(names, tt.wantNames) {
					t.Errorf("Evaluate(...) checks = %v, want %v", names, tt.wantNames)
				}
			}
		})
	}
}

func TestDecisionHeaderTime(t *testing.T) {
	_, ev := everything()
	ev.Build.At = time.Time{}
	if d := gate.Evaluate(nil, ev, now); !d.At.Equal(now) {
		t.Errorf("Evaluate(build without time) at = %v, want now %v", d.At, now)
	}
}

func TestNilGatePasses(t *testing.T) {
	_, ev := everything()
	d := gate.Evaluate(nil, ev, now)
	if d.Verdict != ledger.VerdictPass || len(d.Checks) != 0 || d.ID != ev.Build.ID {
		t.Errorf("Evaluate(nil gate) = %+v, want a passing decision of build %s without checks", d, ev.Build.ID)
	}
}

func TestWaivers(t *testing.T) {
	until := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	failing := "0% of 100 lines covered (min 70%)"
	tests := []struct {
		name       string
		give       policy.Waiver
		covered    int // of 100 lines; 70 or more passes
		wantWaived bool
		wantReason string
	}{
		{
			name:       "commit prefix of 7 matches",
			give:       policy.Waiver{Check: "coverage", Commit: commit[:7], Reason: "new module"},
			wantWaived: true,
			wantReason: "waived (new module, commit 4f9c2e1): " + failing,
		},
		{
			name:       "full commit in upper case matches",
			give:       policy.Waiver{Check: "coverage", Commit: "4F9C2E1AA0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5", Reason: "r"},
			wantWaived: true,
			wantReason: "waived (r, commit 4F9C2E1AA0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5): " + failing,
		},
		{
			name:       "other commit does not match",
			give:       policy.Waiver{Check: "coverage", Commit: "4f9c2e2", Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "prefix shorter than 7 does not match",
			give:       policy.Waiver{Check: "coverage", Commit: "4f9c2e", Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "prefix longer than the commit does not match",
			give:       policy.Waiver{Check: "coverage", Commit: commit + "0", Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "future end date",
			give:       policy.Waiver{Check: "coverage", Until: until, Reason: "CVE without fix"},
			wantWaived: true,
			wantReason: "waived (CVE without fix, until 2026-12-31): " + failing,
		},
		{
			name:       "future end instant",
			give:       policy.Waiver{Check: "coverage", Until: now.Add(time.Second), Reason: "r"},
			wantWaived: true,
			wantReason: "waived (r, until 2026-06-01T12:00:01Z): " + failing,
		},
		{
			name:       "ends now",
			give:       policy.Waiver{Check: "coverage", Until: now, Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "expired",
			give:       policy.Waiver{Check: "coverage", Until: now.Add(-24 * time.Hour), Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "commit and future date",
			give:       policy.Waiver{Check: "coverage", Commit: commit[:8], Until: until, Reason: "r"},
			wantWaived: true,
			wantReason: "waived (r, commit 4f9c2e1a, until 2026-12-31): " + failing,
		},
		{
			name:       "commit matches but expired",
			give:       policy.Waiver{Check: "coverage", Commit: commit[:8], Until: now.Add(-time.Hour), Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "other check",
			give:       policy.Waiver{Check: "tests", Commit: commit[:7], Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "a waiver that never ends is ignored",
			give:       policy.Waiver{Check: "coverage", Reason: "r"},
			wantReason: failing,
		},
		{
			name:       "passing check is left alone",
			give:       policy.Waiver{Check: "coverage", Commit: commit[:7], Reason: "r"},
			covered:    70,
			wantReason: "70% of 100 lines covered (min 70%)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &policy.Gate{
				Projects: []string{"checkout-build"},
				Checks:   policy.Checks{Coverage: &policy.CoverageCheck{MinLines: 70}},
				Waivers:  []policy.Waiver{tt.give},
			}
			ev := gate.Evidence{Build: build(), Coverage: found(covFrom, report.Coverage{Covered: tt.covered, Total: 100})}
			d := gate.Evaluate(g, ev, now)
			got := d.Checks[0]
			passed := tt.covered >= 70
			if got.Waived != tt.wantWaived || got.Passed != passed || got.Reason != tt.wantReason {
				t.Errorf("Evaluate(waiver %+v) check coverage = %+v, want waived %v, passed %v, reason %q",
					tt.give, got, tt.wantWaived, passed, tt.wantReason)
			}
			wantVerdict := ledger.VerdictFail
			if passed || tt.wantWaived {
				wantVerdict = ledger.VerdictPass
			}
			if d.Verdict != wantVerdict {
				t.Errorf("Evaluate(waiver %+v) verdict = %s, want %s", tt.give, d.Verdict, wantVerdict)
			}
		})
	}
}

func TestCheckNamesAgreeWithPolicy(t *testing.T) {
	// Waivers are validated against the policy's list and matched against the
	// gate's names, so the two must agree, in the decision's order.
	got := []string{gate.CheckCompile, gate.CheckTests, gate.CheckSlowTests, gate.CheckLint, gate.CheckSecurity, gate.CheckCoverage}
	if !reflect.DeepEqual(got, policy.CheckNames) {
		t.Errorf("gate check names = %v, want policy.CheckNames %v", got, policy.CheckNames)
	}
}
