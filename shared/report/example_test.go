package report_test

import (
	"fmt"
	"strings"

	"github.com/highwayhq/highway/shared/report"
)

func ExampleParseJUnit() {
	const xml = `<testsuite name="cart" time="0,5">
  <testcase classname="cart.Total" name="sums" time="0.1"/>
  <testcase classname="cart.Total" name="rounds" time="0.2"><failure message="want 6.7, got 6.69"/></testcase>
  <testcase classname="cart.Coupon" name="applies"><skipped message="not yet"/></testcase>
</testsuite>`
	tests, err := report.ParseJUnit(strings.NewReader(xml))
	if err != nil {
		fmt.Println(err)
		return
	}
	total, failed, errored, skipped := tests.Counts()
	fmt.Println(total, failed, errored, skipped, tests.Duration())
	for _, c := range tests.Suites[0].Cases {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(c.Key(), c.Status, c.Message)))
	}
	// Output:
	// 3 1 0 1 500ms
	// cart.Total.sums passed
	// cart.Total.rounds failed want 6.7, got 6.69
	// cart.Coupon.applies skipped not yet
}

func ExampleParseSARIF() {
	const log = `{"version": "2.1.0", "runs": [{
  "tool": {"driver": {"name": "gosec", "rules": [
    {"id": "G101", "defaultConfiguration": {"level": "error"}, "properties": {"tags": ["security", "HIGH"]}},
    {"id": "G401", "properties": {"security-severity": "7.5"}}]}},
  "results": [
    {"ruleId": "G101", "message": {"text": "Potential hardcoded credentials"},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "main.go"}, "region": {"startLine": 14}}}]},
    {"ruleId": "G401", "ruleIndex": 1, "level": "warning", "message": {"text": "Use of weak cryptographic primitive"},
     "suppressions": [{"kind": "inSource", "justification": "checksums only"}]}]}]}`
	runs, err := report.ParseSARIF(strings.NewReader(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range runs[0].Results {
		fmt.Println(runs[0].Tool, f.RuleID, f.Level, f.Severity, f.Location, f.Message)
	}
	_, err = report.ParseSARIF(strings.NewReader(`{"version": "2.1.0", "runs": [{"results": [{"level": 3}]}]}`))
	fmt.Println(err)
	// Output:
	// gosec G101 error high main.go:14 Potential hardcoded credentials
	// sarif: runs[0].results[0].level: want a string, got a number (byte 53)
}

func ExampleParseCoverage() {
	const profile = `mode: set
example.com/shapes/area.go:7.34,9.2 2 1
example.com/shapes/area.go:11.30,13.2 2 0
example.com/shapes/area.go:7.34,9.2 2 0
`
	c, err := report.ParseCoverage(strings.NewReader(profile))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %d/%d %.0f%%\n", c.Format, c.Covered, c.Total, c.Percent())
	// Output:
	// gocover 2/4 50%
}
