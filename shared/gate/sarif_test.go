package gate_test

import (
	"errors"
	"testing"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// finding is an unscored SARIF result.
func finding(rule, level, location string) report.Finding {
	return report.Finding{RuleID: rule, Level: level, Location: location}
}

// scored is a SARIF result with a security-severity score.
func scored(rule string, score float64, sev report.Severity, location string) report.Finding {
	return report.Finding{RuleID: rule, Level: "error", Score: score, Severity: sev, Location: location}
}

func runs(rs ...report.Run) gate.Input[[]report.Run] { return found(sarifFrom, rs) }

func intp(n int) *int { return &n }

func TestLint(t *testing.T) {
	golangci := report.Run{Tool: "golangci-lint", Results: []report.Finding{
		finding("errcheck", "error", "main.go:12"),
		finding("govet", "error", "x.go:3"),
		finding("lll", "warning", "x.go:90"),
		finding("godox", "note", "x.go:1"),
	}}
	eslint := report.Run{Tool: "ESLint", Results: []report.Finding{finding("no-undef", "error", "app.js:7")}}
	gosec := report.Run{Tool: "gosec", Results: []report.Finding{finding("G101", "error", "creds.go:4")}}
	trivyScored := report.Run{Tool: "Trivy", Results: []report.Finding{scored("CVE-2026-1234", 9.8, report.Critical, "go.sum:12")}}
	security := &policy.SecurityCheck{Tools: []string{"GOSEC"}}

	tests := []struct {
		name string
		give policy.LintCheck
		sec  *policy.SecurityCheck
		in   gate.Input[[]report.Run]
		want ledger.CheckResult
	}{
		{
			name: "no errors, only lesser levels",
			in:   runs(report.Run{Tool: "golangci-lint", Results: []report.Finding{finding("lll", "warning", ""), finding("godox", "note", "")}}),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Passed: true, Reason: "errors: golangci-lint 0 (max 0 per tool)"},
		},
		{
			name: "errors over the limit",
			in:   runs(golangci),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Observed: 2, Reason: "golangci-lint: 2 errors (max 0), first errcheck in main.go:12"},
		},
		{
			name: "errors exactly at the limit",
			give: policy.LintCheck{Max: 2},
			in:   runs(golangci),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Threshold: 2, Observed: 2, Passed: true, Reason: "errors: golangci-lint 2 (max 2 per tool)"},
		},
		{
			name: "level warning counts warnings too, not notes",
			give: policy.LintCheck{Level: "warning", Max: 2},
			in:   runs(golangci),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Threshold: 2, Observed: 3, Reason: "golangci-lint: 3 errors or warnings (max 2), first errcheck in main.go:12"},
		},
		{
			name: "a result without a level is a warning",
			give: policy.LintCheck{Level: "warning"},
			in:   runs(report.Run{Tool: "tflint", Results: []report.Finding{finding("aws_instance_type", "", "")}}),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Observed: 1, Reason: "tflint: 1 error or warning (max 0), first aws_instance_type"},
		},
		{
			name: "the limit is per tool",
			give: policy.LintCheck{Max: 1},
			in:   runs(eslint, report.Run{Tool: "golangci-lint", Results: golangci.Results[:1]}),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Threshold: 1, Observed: 1, Passed: true, Reason: "errors: ESLint 1, golangci-lint 1 (max 1 per tool)"},
		},
		{
			name: "runs of one tool add up, whatever the case of its name",
			give: policy.LintCheck{Max: 1},
			in:   runs(eslint, report.Run{Tool: "eslint", Results: eslint.Results}),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Threshold: 1, Observed: 2, Reason: "ESLint: 2 errors (max 1), first no-undef in app.js:7"},
		},
		{
			name: "every tool over the limit is named; observed is the worst",
			in:   runs(eslint, golangci),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Observed: 2,
				Reason: "ESLint: 1 error (max 0), first no-undef in app.js:7; golangci-lint: 2 errors (max 0), first errcheck in main.go:12"},
		},
		{
			name: "security findings are left to the security check",
			sec:  security,
			in:   runs(gosec, trivyScored, report.Run{Tool: "golangci-lint", Results: golangci.Results[:1]}),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Observed: 1, Reason: "golangci-lint: 1 error (max 0), first errcheck in main.go:12"},
		},
		{
			name: "without a security check they are lint",
			in:   runs(gosec, trivyScored),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Observed: 1,
				Reason: "gosec: 1 error (max 0), first G101 in creds.go:4; Trivy: 1 error (max 0), first CVE-2026-1234 in go.sum:12"},
		},
		{
			name: "no SARIF fails closed",
			in:   notFound[[]report.Run]("reports/*.sarif"),
			want: ledger.CheckResult{Name: "lint", Input: "reports/*.sarif", Reason: "no SARIF report found (looked in reports/*.sarif)"},
		},
		{
			name: "no SARIF, optional",
			give: policy.LintCheck{Optional: true},
			in:   notFound[[]report.Run]("reports/*.sarif"),
			want: ledger.CheckResult{Name: "lint", Input: "reports/*.sarif", Passed: true,
				Reason: "no SARIF report found (looked in reports/*.sarif); evidence missing, passed because the check is optional"},
		},
		{
			name: "unreadable SARIF",
			in:   unreadable[[]report.Run](sarifFrom, errors.New("runs: want an array")),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Reason: "SARIF report unreadable: runs: want an array"},
		},
		{
			name: "SARIF without runs proves nothing",
			in:   runs(),
			want: ledger.CheckResult{Name: "lint", Input: sarifFrom, Reason: "SARIF report holds no runs (looked in reports/lint.sarif)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := gate.Evaluate(&policy.Gate{Checks: policy.Checks{Lint: &tt.give, Security: tt.sec}}, gate.Evidence{Build: build(), SARIF: tt.in}, now)
			if len(d.Checks) == 0 || d.Checks[0].Name != "lint" {
				t.Fatalf("Evaluate(...) checks = %+v, want lint first", d.Checks)
			}
			if got := d.Checks[0]; got != tt.want {
				t.Errorf("Evaluate(...) check lint = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSecurity(t *testing.T) {
	trivy := report.Run{Tool: "Trivy", Results: []report.Finding{
		scored("CVE-2026-1234", 9.8, report.Critical, "go.sum:12"),
		scored("CVE-2026-2000", 5.0, report.Medium, "go.sum:40"),
	}}
	gosec := report.Run{Tool: "gosec", Results: []report.Finding{
		finding("G101", "error", "creds.go:4"),
		finding("G104", "warning", "main.go:9"),
		finding("G307", "note", "file.go:2"),
		finding("G000", "none", "x.go:1"),
	}}
	linter := report.Run{Tool: "golangci-lint", Results: []report.Finding{finding("errcheck", "error", "main.go:12")}}
	image := func(counts map[report.Severity]int) gate.Input[gate.ImageScan] {
		return found(imageFrom, gate.ImageScan{Counts: counts})
	}
	noImage := notFound[gate.ImageScan](imageFrom)
	both := sarifFrom + ", " + imageFrom

	tests := []struct {
		name  string
		give  policy.SecurityCheck
		sarif gate.Input[[]report.Run]
		image gate.Input[gate.ImageScan]
		want  ledger.CheckResult
	}{
		{
			name:  "medium and low are unlimited by default",
			give:  policy.SecurityCheck{Tools: []string{"gosec"}},
			sarif: runs(report.Run{Tool: "gosec", Results: gosec.Results[1:]}, linter),
			want:  ledger.CheckResult{Name: "security", Input: sarifFrom, Passed: true, Reason: "within limits: 0 critical, 0 high, 1 medium, 1 low"},
		},
		{
			name:  "a scored critical from any tool",
			sarif: runs(trivy, linter),
			want: ledger.CheckResult{Name: "security", Input: sarifFrom, Observed: 1,
				Reason: "1 critical (max 0): CVE-2026-1234 in go.sum:12"},
		},
		{
			name:  "a listed tool's results banded by level, matched in any case",
			give:  policy.SecurityCheck{Tools: []string{"GoSec"}},
			sarif: runs(gosec),
			want: ledger.CheckResult{Name: "security", Input: sarifFrom, Observed: 1,
				Reason: "1 high (max 0): G101 in creds.go:4"},
		},
		{
			name:  "an unlisted tool's unscored results are not findings",
			sarif: runs(gosec, linter),
			want:  ledger.CheckResult{Name: "security", Input: sarifFrom, Passed: true, Reason: "within limits: 0 critical, 0 high, 0 medium, 0 low"},
		},
		{
			name:  "as many as allowed",
			give:  policy.SecurityCheck{Tools: []string{"gosec"}, MaxCritical: intp(1), MaxHigh: intp(1)},
			sarif: runs(trivy, gosec),
			want:  ledger.CheckResult{Name: "security", Input: sarifFrom, Passed: true, Reason: "within limits: 1 critical, 1 high, 2 medium, 1 low"},
		},
		{
			name:  "limits on medium and low when set; observed sums what is over",
			give:  policy.SecurityCheck{Tools: []string{"gosec"}, MaxCritical: intp(1), MaxHigh: intp(1), MaxMedium: intp(0), MaxLow: intp(0)},
			sarif: runs(trivy, gosec),
			want: ledger.CheckResult{Name: "security", Input: sarifFrom, Observed: 3,
				Reason: "2 medium (max 0): CVE-2026-2000 in go.sum:40, G104 in main.go:9; 1 low (max 0): G307 in file.go:2"},
		},
		{
			name:  "three examples, then a count",
			sarif: runs(report.Run{Tool: "Trivy", Results: []report.Finding{scored("C1", 9, report.Critical, ""), scored("C2", 9, report.Critical, ""), scored("C3", 9, report.Critical, ""), scored("C4", 9, report.Critical, ""), scored("C5", 9, report.Critical, "")}}),
			want: ledger.CheckResult{Name: "security", Input: sarifFrom, Observed: 5,
				Reason: "5 critical (max 0): C1, C2, C3 and 2 more"},
		},
		{
			name:  "examples, a count and the image scan",
			give:  policy.SecurityCheck{Image: true},
			sarif: runs(report.Run{Tool: "Trivy", Results: []report.Finding{scored("H1", 8, report.High, "a:1"), scored("H2", 8, report.High, ""), scored("H3", 8, report.High, ""), scored("H4", 8, report.High, "")}}),
			image: image(map[report.Severity]int{"HIGH": 2, "INFORMATIONAL": 5}),
			want: ledger.CheckResult{Name: "security", Input: both, Observed: 6,
				Reason: "6 high (max 0): H1 in a:1, H2, H3 and 1 more, plus 2 in the image scan"},
		},
		{
			name:  "image findings add to SARIF's",
			give:  policy.SecurityCheck{Image: true, MaxCritical: intp(2)},
			sarif: runs(trivy),
			image: image(map[report.Severity]int{report.Critical: 2, report.High: 1, report.Low: 7}),
			want: ledger.CheckResult{Name: "security", Input: both, Observed: 2,
				Reason: "3 critical (max 2): CVE-2026-1234 in go.sum:12, plus 2 in the image scan; 1 high (max 0): 1 in the image scan"},
		},
		{
			name:  "image only, no SARIF needed when no tool is listed",
			give:  policy.SecurityCheck{Image: true},
			sarif: notFound[[]report.Run]("reports/*.sarif"),
			image: image(map[report.Severity]int{report.Medium: 4}),
			want:  ledger.CheckResult{Name: "security", Input: "reports/*.sarif, " + imageFrom, Passed: true, Reason: "within limits: 0 critical, 0 high, 4 medium, 0 low"},
		},
		{
			name:  "missing image scan fails closed",
			give:  policy.SecurityCheck{Tools: []string{"Trivy"}, Image: true},
			sarif: runs(report.Run{Tool: "Trivy"}),
			image: noImage,
			want: ledger.CheckResult{Name: "security", Input: both,
				Reason: "within limits: 0 critical, 0 high, 0 medium, 0 low; no image scan found (looked in ecr scan sha256:abc)"},
		},
		{
			name:  "an image scan not given says how to give it",
			give:  policy.SecurityCheck{Image: true},
			sarif: runs(report.Run{Tool: "Trivy"}),
			image: gate.Input[gate.ImageScan]{Missing: "no image scan given: pass --image-scan or set security.image: false"},
			want: ledger.CheckResult{Name: "security", Input: sarifFrom,
				Reason: "within limits: 0 critical, 0 high, 0 medium, 0 low; no image scan given: pass --image-scan or set security.image: false"},
		},
		{
			name:  "missing image scan, optional",
			give:  policy.SecurityCheck{Tools: []string{"Trivy"}, Image: true, Optional: true},
			sarif: runs(report.Run{Tool: "Trivy"}),
			image: noImage,
			want: ledger.CheckResult{Name: "security", Input: both, Passed: true,
				Reason: "within limits: 0 critical, 0 high, 0 medium, 0 low; no image scan found (looked in ecr scan sha256:abc), ignored because the check is optional"},
		},
		{
			name:  "a listed tool that did not run fails closed",
			give:  policy.SecurityCheck{Tools: []string{"gosec", "Trivy"}},
			sarif: runs(report.Run{Tool: "gosec", Results: gosec.Results[1:]}),
			want: ledger.CheckResult{Name: "security", Input: sarifFrom,
				Reason: "within limits: 0 critical, 0 high, 1 medium, 1 low; no run of Trivy in the SARIF report (looked in reports/lint.sarif)"},
		},
		{
			name:  "no evidence at all",
			give:  policy.SecurityCheck{Tools: []string{"gosec"}, Image: true},
			sarif: notFound[[]report.Run]("reports/*.sarif"),
			image: noImage,
			want: ledger.CheckResult{Name: "security", Input: "reports/*.sarif, " + imageFrom,
				Reason: "no SARIF report found (looked in reports/*.sarif); no image scan found (looked in ecr scan sha256:abc)"},
		},
		{
			name:  "no evidence at all, optional",
			give:  policy.SecurityCheck{Optional: true},
			sarif: notFound[[]report.Run]("reports/*.sarif"),
			want: ledger.CheckResult{Name: "security", Input: "reports/*.sarif", Passed: true,
				Reason: "no SARIF report found (looked in reports/*.sarif); evidence missing, passed because the check is optional"},
		},
		{
			name:  "unreadable SARIF fails even beside an image scan",
			give:  policy.SecurityCheck{Image: true},
			sarif: unreadable[[]report.Run](sarifFrom, errors.New("too large")),
			image: image(nil),
			want: ledger.CheckResult{Name: "security", Input: both,
				Reason: "within limits: 0 critical, 0 high, 0 medium, 0 low; SARIF report unreadable: too large"},
		},
		{
			name:  "image scan ignored unless asked for",
			sarif: runs(linter),
			image: image(map[report.Severity]int{report.Critical: 9}),
			want:  ledger.CheckResult{Name: "security", Input: sarifFrom, Passed: true, Reason: "within limits: 0 critical, 0 high, 0 medium, 0 low"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(t, policy.Checks{Security: &tt.give}, gate.Evidence{Build: build(), SARIF: tt.sarif, ImageScan: tt.image})
			if got != tt.want {
				t.Errorf("Evaluate(...) check security = %+v, want %+v", got, tt.want)
			}
		})
	}
}
