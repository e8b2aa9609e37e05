package policy

import "time"

// Gate is an app's build gate: which builds it judges, where their reports are,
// the checks a build must pass, and the waivers in force.
type Gate struct {
	// Projects are the CodeBuild projects whose builds are gated.
	Projects []string `yaml:"projects" json:"projects" policy:"required"`
	// Reports locates the report files inside a build's output artifact.
	Reports Reports `yaml:"reports,omitempty" json:"reports,omitempty"`
	// ArtifactBuckets are the S3 buckets the gated builds write their output
	// artifacts to; the gate may read only these.
	ArtifactBuckets []string `yaml:"artifactBuckets,omitempty" json:"artifactBuckets,omitempty"`
	// ImageRepositories are the ECR repositories whose image scans the security
	// check reads; the gate may read only these.
	ImageRepositories []string `yaml:"imageRepositories,omitempty" json:"imageRepositories,omitempty"`
	// Checks are the checks a build must pass; a check left out is not run.
	Checks Checks `yaml:"checks" json:"checks" policy:"required"`
	// Waivers excuse a failing check for a commit or until a date.
	Waivers []Waiver `yaml:"waivers,omitempty" json:"waivers,omitempty"`
}

// Reports are glob patterns (path.Match syntax, matched against paths inside the
// artifact) of the report files a build produces.
type Reports struct {
	// JUnit matches JUnit XML test reports.
	JUnit []string `yaml:"junit,omitempty" json:"junit,omitempty"`
	// SARIF matches SARIF 2.1.0 files of linters and security scanners.
	SARIF []string `yaml:"sarif,omitempty" json:"sarif,omitempty"`
	// Coverage matches a Cobertura XML file or a Go cover profile.
	Coverage []string `yaml:"coverage,omitempty" json:"coverage,omitempty"`
}

// Checks configures each check; nil disables it. Every check fails closed: when
// its evidence is missing or unreadable the build does not pass, unless the
// check is Optional.
type Checks struct {
	// Compile fails when the build's BUILD phase failed.
	Compile *CompileCheck `yaml:"compile,omitempty" json:"compile,omitempty"`
	// Tests fails when more tests failed than allowed.
	Tests *TestsCheck `yaml:"tests,omitempty" json:"tests,omitempty"`
	// SlowTests fails on time budgets and regressions against a baseline.
	SlowTests *SlowTestsCheck `yaml:"slowTests,omitempty" json:"slowTests,omitempty"`
	// Lint fails on SARIF results of linters at or above a level.
	Lint *LintCheck `yaml:"lint,omitempty" json:"lint,omitempty"`
	// Security fails on security findings by severity.
	Security *SecurityCheck `yaml:"security,omitempty" json:"security,omitempty"`
	// Coverage fails when line coverage is under a minimum.
	Coverage *CoverageCheck `yaml:"coverage,omitempty" json:"coverage,omitempty"`
}

// CompileCheck has no threshold: a failed BUILD phase fails it.
type CompileCheck struct {
	// Optional lets the check pass when the build's phases are unknown.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// TestsCheck limits failed tests (failures and errors).
type TestsCheck struct {
	// MaxFailed is how many failed tests are tolerated; default 0.
	MaxFailed int `yaml:"maxFailed,omitempty" json:"maxFailed,omitempty"`
	// Optional lets the check pass when there is no test report.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// SlowTestsCheck limits test durations, absolutely and against a baseline.
type SlowTestsCheck struct {
	// SuiteBudget is the longest the whole run may take (sum of suites); 0: none.
	SuiteBudget time.Duration `yaml:"suiteBudget,omitempty" json:"suiteBudget,omitempty"`
	// TestBudget is the longest any single test may take; 0: none.
	TestBudget time.Duration `yaml:"testBudget,omitempty" json:"testBudget,omitempty"`
	// Regression compares with the recent passing builds of the same branch.
	Regression *Regression `yaml:"regression,omitempty" json:"regression,omitempty"`
	// Optional lets the check pass when there is no test report.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// Regression fails a test, or the suite, that is slower than its rolling median
// over the last Builds passing builds of the same branch by more than Percent.
type Regression struct {
	// Builds is the baseline window; default 10.
	Builds int `yaml:"builds,omitempty" json:"builds,omitempty"`
	// Percent is the tolerated slowdown over the median, for example 25.
	Percent float64 `yaml:"percent" json:"percent" policy:"required"`
	// MinDuration ignores tests faster than this, whose timings are noise;
	// default 100ms.
	MinDuration time.Duration `yaml:"minDuration,omitempty" json:"minDuration,omitempty"`
}

// LintCheck limits linter results per tool.
type LintCheck struct {
	// Level is the lowest SARIF level that counts: error (default) or warning.
	Level string `yaml:"level,omitempty" json:"level,omitempty"`
	// Max is how many counted results each tool may report; default 0.
	Max int `yaml:"max,omitempty" json:"max,omitempty"`
	// Optional lets the check pass when there is no SARIF file.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// SecurityCheck limits security findings per severity. A SARIF result is a
// security finding when it carries a security-severity score or its tool is
// listed in Tools; ECR image scan findings count when Image is set.
type SecurityCheck struct {
	// Tools are the SARIF tool names (case-insensitive) whose every result is a
	// security finding, for example gosec or Trivy.
	Tools []string `yaml:"tools,omitempty" json:"tools,omitempty"`
	// Image adds the ECR image scan findings of the build's image.
	Image bool `yaml:"image,omitempty" json:"image,omitempty"`
	// MaxCritical is how many critical findings are tolerated; default 0.
	MaxCritical *int `yaml:"maxCritical,omitempty" json:"maxCritical,omitempty"`
	// MaxHigh is how many high findings are tolerated; default 0.
	MaxHigh *int `yaml:"maxHigh,omitempty" json:"maxHigh,omitempty"`
	// MaxMedium is how many medium findings are tolerated; default unlimited.
	MaxMedium *int `yaml:"maxMedium,omitempty" json:"maxMedium,omitempty"`
	// MaxLow is how many low findings are tolerated; default unlimited.
	MaxLow *int `yaml:"maxLow,omitempty" json:"maxLow,omitempty"`
	// Optional lets the check pass when there is no evidence at all.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// CoverageCheck requires a minimum line coverage.
type CoverageCheck struct {
	// MinLines is the minimum line coverage in percent, 0 to 100.
	MinLines float64 `yaml:"minLines" json:"minLines" policy:"required"`
	// Optional lets the check pass when there is no coverage report.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// Waiver excuses one check of an app, for one commit or until a date. A waived
// check is still evaluated and stays visible in the decision.
type Waiver struct {
	// Check is the check's name: compile, tests, slowTests, lint, security or
	// coverage.
	Check string `yaml:"check" json:"check" policy:"required"`
	// Commit limits the waiver to one commit SHA (a prefix of at least 7).
	Commit string `yaml:"commit,omitempty" json:"commit,omitempty"`
	// Until ends the waiver at this instant; a date means its midnight UTC.
	Until time.Time `yaml:"until,omitempty" json:"until,omitzero"`
	// Reason says why, for the decision and the audit trail.
	Reason string `yaml:"reason" json:"reason" policy:"required"`
}
