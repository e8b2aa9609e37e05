package gate_test

import (
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

func ExampleEvaluate() {
	g := &policy.Gate{
		Projects: []string{"checkout-build"},
		Checks: policy.Checks{
			Compile:  &policy.CompileCheck{},
			Tests:    &policy.TestsCheck{},
			Coverage: &policy.CoverageCheck{MinLines: 70},
		},
		Waivers: []policy.Waiver{{
			Check:  "coverage",
			Until:  time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
			Reason: "payments module is new",
		}},
	}
	ev := gate.Evidence{
		Build: gate.Build{
			ID:     "checkout-build:5f2c",
			App:    "checkout",
			Commit: "4f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
			Phases: []gate.Phase{{Name: "INSTALL", Status: "SUCCEEDED"}, {Name: "BUILD", Status: "SUCCEEDED"}},
		},
		Tests: gate.Input[report.Tests]{From: "reports/junit/unit.xml", Found: true, Value: report.Tests{Suites: []report.Suite{{
			Name: "cart",
			Cases: []report.Case{
				{Class: "cart", Name: "TestAdd", Status: report.Passed},
				{Class: "cart", Name: "TestTotal", Status: report.Failed, Message: "got 9.99, want 10.00"},
			},
		}}}},
		Coverage: gate.Input[report.Coverage]{From: "reports/coverage.xml", Found: true, Value: report.Coverage{Covered: 655, Total: 1000}},
	}
	d := gate.Evaluate(g, ev, time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	fmt.Println("verdict:", d.Verdict)
	for _, c := range d.Checks {
		fmt.Printf("%-8s threshold %-2g observed %-4g passed %-5t %s\n", c.Name, c.Threshold, c.Observed, c.Passed, c.Reason)
	}
	// Output:
	// verdict: fail
	// compile  threshold 0  observed 0    passed true  BUILD phase succeeded
	// tests    threshold 0  observed 1    passed false 1 of 2 tests failed (max 0): cart.TestTotal
	// coverage threshold 70 observed 65.5 passed false waived (payments module is new, until 2026-12-31): 65.5% of 1000 lines covered (min 70%)
}
