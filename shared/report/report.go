// Package report parses the evidence a build leaves behind: JUnit XML test
// reports, SARIF 2.1.0 static-analysis results, and line coverage (Cobertura XML
// or a Go cover profile). Parsers accept what real tools write and refuse what is
// malformed or hostile (too large, too deep, wrong types) with an error that says
// why, never a crash or an unbounded allocation.
package report

import "time"

// MaxBytes is the largest report any parser reads; a larger input is an error.
const MaxBytes = 64 << 20

// Status is the outcome of one test case.
type Status string

// The outcomes JUnit reports distinguish.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"  // an assertion failed (<failure>)
	Errored Status = "errored" // the test could not run to the end (<error>)
	Skipped Status = "skipped"
)

// Tests is a parsed JUnit XML report (one file), or several merged.
type Tests struct {
	// Suites are the test suites, in file order.
	Suites []Suite
}

// Suite is one <testsuite>.
type Suite struct {
	// Name is the suite's name attribute.
	Name string
	// Duration is the suite's time attribute, or the sum of its cases' when absent.
	// A suite that holds nested suites (each a Suite of its own) gets the sum of
	// its own cases' instead, so that Tests.Duration counts no time twice.
	Duration time.Duration
	// Cases are the suite's test cases.
	Cases []Case
}

// Case is one <testcase>.
type Case struct {
	// Class is the classname attribute (package, module or file, by tool).
	Class string
	// Name is the test's name.
	Name string
	// Duration is the time attribute.
	Duration time.Duration
	// Status is the outcome.
	Status Status
	// Message is the failure or error message, or the skip reason, shortened.
	Message string
	// Suite is the name of the enclosing suite; Key falls back on it when the
	// tool wrote no class name.
	Suite string
}

// Run is one run of one tool in a SARIF log.
type Run struct {
	// Tool is the tool's driver name, for example "gosec" or "Trivy".
	Tool string
	// Results are the run's results (suppressed results excluded).
	Results []Finding
}

// Severity is a security severity band, from CVSS-style scores.
type Severity string

// Security severity bands, by the scale GitHub code scanning uses for the
// security-severity property: >= 9.0 critical, >= 7.0 high, >= 4.0 medium,
// > 0 low.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	// NoSeverity marks a result that carries no security severity.
	NoSeverity Severity = ""
)

// Finding is one SARIF result.
type Finding struct {
	// RuleID is the rule that produced the result.
	RuleID string
	// Level is the SARIF level: error, warning, note or none (after applying the
	// rule's default configuration when the result has none).
	Level string
	// Score is the security-severity score (result property, else the rule's),
	// 0 when absent.
	Score float64
	// Severity is Score's band. When neither the result nor its rule carries a
	// score but a tag names a severity ("CRITICAL", "HIGH", "MEDIUM", "LOW", as
	// gosec and Trivy tag their rules), it is that band and Score stays 0.
	// NoSeverity otherwise.
	Severity Severity
	// Message is the result's message text, shortened.
	Message string
	// Location is "path:line" of the first location, when there is one.
	Location string
}

// Coverage is line coverage.
type Coverage struct {
	// Format names the source: "cobertura", "gocover" or "codebuild".
	Format string
	// Covered is how many lines were executed.
	Covered int
	// Total is how many lines could have been.
	Total int
}
