package policy_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/policy"
)

// gated is a valid policy with a gate using every check; the error cases below
// are edits of it, so their line numbers can be read off directly.
const gated = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
    pipelines: [checkout-pipeline]
    gate:
      projects: [checkout-build]
      reports:
        junit: ["reports/junit/*.xml"]
      checks:
        compile: {}
        tests: {maxFailed: 0}
        slowTests: {suiteBudget: 15m, testBudget: 30s, regression: {builds: 10, percent: 25}}
        lint: {level: error, max: 0}
        security: {tools: [gosec], image: true}
        coverage: {minLines: 70}
      waivers:
        - {check: lint, commit: 4f9c2e1, reason: generated code}
      artifactBuckets: [codepipeline-eu-west-1-222222222222]
      imageRepositories: [team/checkout-service]
`

func TestParseGate(t *testing.T) {
	p, err := policy.Parse([]byte(gated), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(gated) error: %v", err)
	}
	app := p.Apps[0]
	if want := []string{"checkout-pipeline"}; !reflect.DeepEqual(app.Pipelines, want) {
		t.Errorf("Parse(gated) pipelines = %v, want %v", app.Pipelines, want)
	}
	want := &policy.Gate{
		Projects:          []string{"checkout-build"},
		Reports:           policy.Reports{JUnit: []string{"reports/junit/*.xml"}},
		ArtifactBuckets:   []string{"codepipeline-eu-west-1-222222222222"},
		ImageRepositories: []string{"team/checkout-service"},
		Checks: policy.Checks{
			Compile: &policy.CompileCheck{},
			Tests:   &policy.TestsCheck{},
			SlowTests: &policy.SlowTestsCheck{
				SuiteBudget: 15 * time.Minute,
				TestBudget:  30 * time.Second,
				Regression:  &policy.Regression{Builds: 10, Percent: 25},
			},
			Lint:     &policy.LintCheck{Level: "error"},
			Security: &policy.SecurityCheck{Tools: []string{"gosec"}, Image: true},
			Coverage: &policy.CoverageCheck{MinLines: 70},
		},
		Waivers: []policy.Waiver{{Check: "lint", Commit: "4f9c2e1", Reason: "generated code"}},
	}
	if !reflect.DeepEqual(app.Gate, want) {
		t.Errorf("Parse(gated) gate = %+v, want %+v", app.Gate, want)
	}
}

func TestParseGateValid(t *testing.T) {
	tests := []struct {
		name string
		old  string
		new  string
	}{
		{name: "regression window at its minimum", old: "builds: 10", new: "builds: 3"},
		{name: "regression window at its maximum", old: "builds: 10", new: "builds: 50"},
		{name: "regression window left to its default", old: "builds: 10, ", new: ""},
		{name: "coverage of 0", old: "minLines: 70", new: "minLines: 0"},
		{name: "coverage of 100", old: "minLines: 70", new: "minLines: 100"},
		{name: "fractional coverage", old: "minLines: 70", new: "minLines: 72.5"},
		{name: "warnings count", old: "level: error", new: "level: warning"},
		{name: "full commit", old: "commit: 4f9c2e1", new: "commit: 4f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"},
		{name: "waiver with an end date only", old: "commit: 4f9c2e1", new: "until: 2026-12-31"},
		{name: "waiver with both", old: "commit: 4f9c2e1", new: "commit: 4F9C2E1, until: 2026-12-31T18:00:00Z"},
		{name: "only a regression", old: "suiteBudget: 15m, testBudget: 30s, ", new: ""},
		{name: "no pipelines", old: "    pipelines: [checkout-pipeline]\n", new: ""},
		{name: "pipeline names CodePipeline accepts", old: "[checkout-pipeline]", new: "[checkout.pipeline, a@b_c-1]"},
		{name: "several patterns", old: `junit: ["reports/junit/*.xml"]`, new: `junit: ["reports/junit/*.xml", "out/TEST-?.xml", "x/[a-c]*.xml"]`},
		{name: "only one check", old: "        tests: {maxFailed: 0}\n", new: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(gated, tt.old, tt.new, 1)
			if give == gated {
				t.Fatalf("edit %q -> %q changed nothing", tt.old, tt.new)
			}
			if _, err := policy.Parse([]byte(give), "p.yaml"); err != nil {
				t.Errorf("Parse(%s) error: %v", tt.name, err)
			}
		})
	}
}

func TestParseGateErrors(t *testing.T) {
	tests := []struct {
		name string
		old  string
		new  string
		want string
	}{
		{
			name: "no projects",
			old:  "projects: [checkout-build]", new: "projects: []",
			want: `p.yaml:10:17: apps[0].gate.projects: a gate needs at least one CodeBuild project`,
		},
		{
			name: "projects left out",
			old:  "      projects: [checkout-build]\n", new: "",
			want: `p.yaml:9:5: apps[0].gate: missing required key "projects"`,
		},
		{
			name: "duplicate project",
			old:  "projects: [checkout-build]", new: "projects: [checkout-build, checkout-build]",
			want: `p.yaml:10:34: apps[0].gate.projects[1]: duplicate project "checkout-build" (first at line 10)`,
		},
		{
			name: "project name CodeBuild refuses",
			old:  "projects: [checkout-build]", new: "projects: [checkout build]",
			want: `p.yaml:10:18: apps[0].gate.projects[0]: project "checkout build" is not a CodeBuild project name (letters, digits, '_' and '-', 2 to 255, starting with a letter or digit)`,
		},
		{
			name: "no checks",
			old:  "      checks:\n        compile: {}\n        tests: {maxFailed: 0}\n        slowTests: {suiteBudget: 15m, testBudget: 30s, regression: {builds: 10, percent: 25}}\n        lint: {level: error, max: 0}\n        security: {tools: [gosec], image: true}\n        coverage: {minLines: 70}\n      waivers:\n        - {check: lint, commit: 4f9c2e1, reason: generated code}\n",
			new:  "      checks: {}\n",
			want: `p.yaml:13:15: apps[0].gate.checks: no checks; configure at least one of compile, tests, slowTests, lint, security, coverage`,
		},
		{
			name: "check without settings",
			old:  "compile: {}", new: "compile:",
			want: "p.yaml:14:17: apps[0].gate.checks.compile: compile has no settings, so it would not run; write `compile: {}` to run it with the defaults",
		},
		{
			name: "negative maxFailed",
			old:  "maxFailed: 0", new: "maxFailed: -1",
			want: `p.yaml:15:28: apps[0].gate.checks.tests.maxFailed: maxFailed -1 must be 0 or more`,
		},
		{
			name: "zero regression percent",
			old:  "percent: 25", new: "percent: 0",
			want: `p.yaml:16:90: apps[0].gate.checks.slowTests.regression.percent: percent 0 must be more than 0 (the tolerated slowdown over the median, like 25)`,
		},
		{
			name: "regression window too short",
			old:  "builds: 10", new: "builds: 2",
			want: `p.yaml:16:77: apps[0].gate.checks.slowTests.regression.builds: builds 2 must be 3 to 50 (the passing builds the median is taken over)`,
		},
		{
			name: "regression window too long",
			old:  "builds: 10", new: "builds: 51",
			want: `p.yaml:16:77: apps[0].gate.checks.slowTests.regression.builds: builds 51 must be 3 to 50 (the passing builds the median is taken over)`,
		},
		{
			name: "explicit zero window",
			old:  "builds: 10", new: "builds: 0",
			want: `p.yaml:16:77: apps[0].gate.checks.slowTests.regression.builds: builds 0 must be 3 to 50 (the passing builds the median is taken over)`,
		},
		{
			name: "negative budget",
			old:  "suiteBudget: 15m", new: "suiteBudget: -15m",
			want: `p.yaml:16:34: apps[0].gate.checks.slowTests.suiteBudget: duration -15m0s must not be negative`,
		},
		{
			name: "negative minDuration",
			old:  "percent: 25}", new: "percent: 25, minDuration: -1ms}",
			want: `p.yaml:16:107: apps[0].gate.checks.slowTests.regression.minDuration: duration -1ms must not be negative`,
		},
		{
			name: "budget as a bare number",
			old:  "suiteBudget: 15m", new: "suiteBudget: 900",
			want: `p.yaml:16:34: apps[0].gate.checks.slowTests.suiteBudget: want a duration like 90s, got a number ("900")`,
		},
		{
			name: "budget with an unknown unit",
			old:  "testBudget: 30s", new: "testBudget: 30sec",
			want: `p.yaml:16:51: apps[0].gate.checks.slowTests.testBudget: want a duration like 90s, got a string ("30sec")`,
		},
		{
			name: "slowTests without a limit",
			old:  "slowTests: {suiteBudget: 15m, testBudget: 30s, regression: {builds: 10, percent: 25}}", new: "slowTests: {}",
			want: `p.yaml:16:20: apps[0].gate.checks.slowTests: slowTests sets no limit; give suiteBudget, testBudget or regression`,
		},
		{
			name: "unknown lint level",
			old:  "level: error", new: "level: warn",
			want: `p.yaml:17:23: apps[0].gate.checks.lint.level: level "warn" must be error or warning`,
		},
		{
			name: "negative lint max",
			old:  "max: 0", new: "max: -2",
			want: `p.yaml:17:35: apps[0].gate.checks.lint.max: max -2 must be 0 or more`,
		},
		{
			name: "negative security limit",
			old:  "image: true}", new: "image: true, maxHigh: -1}",
			want: `p.yaml:18:58: apps[0].gate.checks.security.maxHigh: maxHigh -1 must be 0 or more`,
		},
		{
			name: "empty tool name",
			old:  "tools: [gosec]", new: `tools: [gosec, ""]`,
			want: `p.yaml:18:35: apps[0].gate.checks.security.tools[1]: tool name must not be empty`,
		},
		{
			name: "coverage over 100",
			old:  "minLines: 70", new: "minLines: 101",
			want: `p.yaml:19:30: apps[0].gate.checks.coverage.minLines: minLines 101 must be 0 to 100 (percent of lines)`,
		},
		{
			name: "negative coverage",
			old:  "minLines: 70", new: "minLines: -0.5",
			want: `p.yaml:19:30: apps[0].gate.checks.coverage.minLines: minLines -0.5 must be 0 to 100 (percent of lines)`,
		},
		{
			name: "misspelt waiver check",
			old:  "check: lint,", new: "check: lnit,",
			want: `p.yaml:21:19: apps[0].gate.waivers[0].check: unknown check "lnit" (did you mean "lint"?)`,
		},
		{
			name: "waiver check in the wrong case",
			old:  "check: lint,", new: "check: slowtests,",
			want: `p.yaml:21:19: apps[0].gate.waivers[0].check: unknown check "slowtests" (did you mean "slowTests"?)`,
		},
		{
			name: "waiver check unlike any",
			old:  "check: lint,", new: "check: performance,",
			want: `p.yaml:21:19: apps[0].gate.waivers[0].check: unknown check "performance"; want one of compile, tests, slowTests, lint, security, coverage`,
		},
		{
			name: "waiver for a check the gate does not run",
			old:  "        lint: {level: error, max: 0}\n", new: "",
			want: `p.yaml:20:19: apps[0].gate.waivers[0].check: waiver for lint, which this gate does not run`,
		},
		{
			name: "waiver that never ends",
			old:  "commit: 4f9c2e1, ", new: "",
			want: `p.yaml:21:11: apps[0].gate.waivers[0]: a waiver must end: give commit (one commit) or until (a date), or both`,
		},
		{
			name: "commit prefix too short",
			old:  "commit: 4f9c2e1", new: "commit: 4f9c2e",
			want: `p.yaml:21:33: apps[0].gate.waivers[0].commit: commit "4f9c2e" must be a commit SHA or a prefix of at least 7 hex digits`,
		},
		{
			name: "commit that is not hex",
			old:  "commit: 4f9c2e1", new: "commit: main-branch",
			want: `p.yaml:21:33: apps[0].gate.waivers[0].commit: commit "main-branch" must be a commit SHA or a prefix of at least 7 hex digits`,
		},
		{
			name: "empty waiver reason",
			old:  "reason: generated code", new: `reason: " "`,
			want: `p.yaml:21:50: apps[0].gate.waivers[0].reason: a waiver needs a reason, for the decision and the audit trail`,
		},
		{
			name: "until that is not a date",
			old:  "commit: 4f9c2e1", new: "until: 2026-13-01",
			want: `p.yaml:21:32: apps[0].gate.waivers[0].until: parsing time "2026-13-01": month out of range`,
		},
		{
			name: "malformed glob",
			old:  `"reports/junit/*.xml"`, new: `"reports/[junit/*.xml"`,
			want: `p.yaml:12:17: apps[0].gate.reports.junit[0]: pattern "reports/[junit/*.xml" is not a valid glob (path.Match syntax: *, ?, [a-z], \ to escape)`,
		},
		{
			name: "recursive glob",
			old:  `"reports/junit/*.xml"`, new: `"reports/**/*.xml"`,
			want: `p.yaml:12:17: apps[0].gate.reports.junit[0]: pattern "reports/**/*.xml" uses **, which does not cross '/' in path.Match syntax; write one pattern per directory, like reports/*.xml`,
		},
		{
			name: "empty glob",
			old:  `"reports/junit/*.xml"`, new: `""`,
			want: `p.yaml:12:17: apps[0].gate.reports.junit[0]: pattern must not be empty`,
		},
		{
			name: "absolute glob",
			old:  `"reports/junit/*.xml"`, new: `"/reports/*.xml"`,
			want: `p.yaml:12:17: apps[0].gate.reports.junit[0]: pattern "/reports/*.xml" must be relative to the artifact's root (no leading '/')`,
		},
		{
			name: "empty pipeline name",
			old:  "[checkout-pipeline]", new: `[checkout-pipeline, ""]`,
			want: `p.yaml:8:36: apps[0].pipelines[1]: pipeline name must not be empty`,
		},
		{
			name: "duplicate pipeline",
			old:  "[checkout-pipeline]", new: "[checkout-pipeline, checkout-pipeline]",
			want: `p.yaml:8:36: apps[0].pipelines[1]: duplicate pipeline "checkout-pipeline" (first at line 8)`,
		},
		{
			name: "pipeline name CodePipeline refuses",
			old:  "[checkout-pipeline]", new: "[checkout/pipeline]",
			want: `p.yaml:8:17: apps[0].pipelines[0]: pipeline "checkout/pipeline" is not a CodePipeline name (letters, digits, '.', '@', '_' and '-', at most 100)`,
		},
		{
			name: "bucket name S3 refuses",
			old:  "[codepipeline-eu-west-1-222222222222]", new: "[Artifacts_Bucket]",
			want: `p.yaml:22:25: apps[0].gate.artifactBuckets[0]: bucket "Artifacts_Bucket" is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)`,
		},
		{
			name: "bucket name with adjacent dots",
			old:  "[codepipeline-eu-west-1-222222222222]", new: "[my..bucket]",
			want: `p.yaml:22:25: apps[0].gate.artifactBuckets[0]: bucket "my..bucket" is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)`,
		},
		{
			name: "repository name ECR refuses",
			old:  "[team/checkout-service]", new: "[Team/Checkout]",
			want: `p.yaml:23:27: apps[0].gate.imageRepositories[0]: repository "Team/Checkout" is not an ECR repository name (lowercase letters and digits, separated by '.', '_', '-' or '/', at most 256)`,
		},
		{
			name: "duplicate repository",
			old:  "[team/checkout-service]", new: "[team/checkout-service, team/checkout-service]",
			want: `p.yaml:23:50: apps[0].gate.imageRepositories[1]: duplicate repository "team/checkout-service" (first at line 23)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(gated, tt.old, tt.new, 1)
			if give == gated {
				t.Fatalf("edit %q -> %q changed nothing", tt.old, tt.new)
			}
			p, err := policy.Parse([]byte(give), "p.yaml")
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want error %q", tt.name, p, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%s) error =\n%s\nwant\n%s", tt.name, got, tt.want)
			}
		})
	}
}

func TestParseWaiverUntil(t *testing.T) {
	tests := []struct {
		name string
		give string
		want time.Time
	}{
		{name: "date is its midnight UTC", give: "2026-12-31", want: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
		{name: "UTC timestamp", give: "2026-12-31T18:30:00Z", want: time.Date(2026, 12, 31, 18, 30, 0, 0, time.UTC)},
		{name: "timestamp with an offset", give: "2026-12-31T18:30:00+02:00", want: time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)},
		{name: "timestamp with a space", give: "2026-12-31 18:30:00", want: time.Date(2026, 12, 31, 18, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(gated, "commit: 4f9c2e1", "until: "+tt.give, 1)
			p, err := policy.Parse([]byte(give), "p.yaml")
			if err != nil {
				t.Fatalf("Parse(until: %s) error: %v", tt.give, err)
			}
			if got := p.Apps[0].Gate.Waivers[0].Until; !got.Equal(tt.want) {
				t.Errorf("Parse(until: %s) until = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

func TestGateJSONRoundTrip(t *testing.T) {
	give := strings.NewReplacer(
		"percent: 25}", "percent: 12.5, minDuration: 250ms}",
		"commit: 4f9c2e1", "commit: 4f9c2e1, until: 2026-12-31T18:30:00Z",
		"image: true}", "image: true, maxCritical: 0, maxMedium: 5}",
	).Replace(gated)
	p, err := policy.Parse([]byte(give), "p.yaml")
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	data, err := p.Encode()
	if err != nil {
		t.Fatalf("Encode() error: %v", err)
	}
	for _, want := range []string{`suiteBudget: 15m0s`, `testBudget: 30s`, `minDuration: 250ms`, `until: 2026-12-31T18:30:00Z`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Encode() lacks %s:\n%s", want, data)
		}
	}
	got, err := policy.Parse(data, "highway.yaml")
	if err != nil {
		t.Fatalf("Parse(Encode()) error: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("Parse(JSON()) gate = %+v, want %+v", got.Apps[0].Gate, p.Apps[0].Gate)
	}
}

func TestExampleWaiverParses(t *testing.T) {
	// The example file shows a waiver commented out; uncommented, it must be
	// valid, or it teaches a mistake.
	data, err := os.ReadFile("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const commented = "      # waivers:\n"
	src := string(data)
	i := strings.Index(src, commented)
	if i < 0 {
		t.Fatalf("infra/highway.yaml has no %q", commented)
	}
	// Uncomment the waiver's block: the commented lines from "# waivers:" on.
	end := i
	for _, line := range strings.SplitAfter(src[i:], "\n") {
		if !strings.HasPrefix(line, "      # ") {
			break
		}
		end += len(line)
	}
	src = src[:i] + strings.ReplaceAll(src[i:end], "      # ", "      ") + src[end:]
	p, err := policy.Parse([]byte(src), "highway.yaml")
	if err != nil {
		t.Fatalf("Parse(example with its waiver) error: %v", err)
	}
	app, _ := p.App("checkout")
	if app.Gate == nil || len(app.Gate.Waivers) != 1 {
		t.Fatalf("example gate = %+v, want one waiver", app.Gate)
	}
	if w := app.Gate.Waivers[0]; w.Check != "security" || len(w.Commit) < policy.MinWaiverCommit || w.Until.IsZero() {
		t.Errorf("example waiver = %+v, want a security waiver with commit and until", w)
	}
}

func TestExampleGate(t *testing.T) {
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := p.App("checkout")
	if want := []string{"checkout-pipeline"}; !reflect.DeepEqual(app.Pipelines, want) {
		t.Errorf("checkout pipelines = %v, want %v", app.Pipelines, want)
	}
	if app.Gate == nil {
		t.Fatal("checkout has no gate")
	}
	c := app.Gate.Checks
	for _, name := range policy.CheckNames {
		v := reflect.ValueOf(c).FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) })
		if !v.IsValid() || v.IsNil() {
			t.Errorf("example gate does not configure %s; it should show every check", name)
		}
	}
	if s := c.SlowTests; s == nil || s.SuiteBudget != 15*time.Minute || s.TestBudget != 30*time.Second ||
		s.Regression == nil || s.Regression.Builds != 10 || s.Regression.Percent != 25 {
		t.Errorf("example slowTests = %+v, want 15m, 30s, regression 10 builds 25%%", s)
	}
}
