// Package gate decides whether a build may move on. Evaluate is a pure function
// of the policy's checks and the evidence a build left (its phases, test,
// SARIF, coverage and image-scan reports, the branch's timing baseline): the
// same inputs give the same decision, and every check says what it looked at,
// the threshold, what it observed and why it passed or failed.
package gate

import (
	"time"

	"github.com/highwayhq/highway/shared/report"
)

// The names of the checks, as the policy, waivers and decisions spell them.
const (
	CheckCompile   = "compile"
	CheckTests     = "tests"
	CheckSlowTests = "slowTests"
	CheckLint      = "lint"
	CheckSecurity  = "security"
	CheckCoverage  = "coverage"
)

// Build is what is known of the build being judged.
type Build struct {
	// ID is the CodeBuild build id (project:uuid), or the pipeline job id.
	ID string
	// Project is the CodeBuild project.
	Project string
	// App is the app the build belongs to.
	App string
	// Commit is the source commit SHA.
	Commit string
	// Branch is the source branch, for the timing baseline.
	Branch string
	// Digest is the digest of the artifact the build produced, if any.
	Digest string
	// Status is CodeBuild's build status: SUCCEEDED, FAILED, STOPPED, ...
	Status string
	// Phases are the build's phases, as CodeBuild reports them.
	Phases []Phase
	// At is when the build finished.
	At time.Time
}

// Phase is one CodeBuild build phase.
type Phase struct {
	// Name is the phase type: SUBMITTED, PROVISIONING, INSTALL, PRE_BUILD, BUILD, ...
	Name string
	// Status is the phase status: SUCCEEDED, FAILED, FAULT, TIMED_OUT, ...
	Status string
	// Contexts are the phase-context messages, for example the failing command.
	Contexts []string
	// Duration is how long the phase took.
	Duration time.Duration
}

// Input is one piece of evidence: its value when it was found and read, where it
// came from, or why it could not be read.
type Input[T any] struct {
	// From says where the evidence came from (file names, report ARNs).
	From string
	// Value is the parsed evidence; meaningful only when Found and Err is nil.
	Value T
	// Found is false when no such evidence exists.
	Found bool
	// Err says why existing evidence could not be read.
	Err error
	// Missing, when set, says why there is no evidence at all and how to
	// give it ("no image scan given: pass --image-scan ..."): a check without
	// the evidence says this instead of where it looked.
	Missing string
}

// ImageScan is the result of an ECR image scan: finding counts by severity.
type ImageScan struct {
	// Counts are the findings per severity (critical, high, medium, low).
	Counts map[report.Severity]int
}

// Evidence is everything a gate looks at for one build.
type Evidence struct {
	Build     Build
	Tests     Input[report.Tests]
	SARIF     Input[[]report.Run]
	Coverage  Input[report.Coverage]
	ImageScan Input[ImageScan]
	// Baseline holds the branch's recent passing timings; nil when none yet.
	Baseline *Baseline
}
