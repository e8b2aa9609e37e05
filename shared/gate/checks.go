package gate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// phaseBuild is the CodeBuild phase that runs the buildspec's build commands.
const phaseBuild = "BUILD"

// beforeBuild are the CodeBuild phases that run before BUILD; when one of them
// fails, BUILD never runs and the build did not compile either.
var beforeBuild = []string{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD"}

// checkCompile fails when the BUILD phase did not succeed, or never ran
// because an earlier phase failed.
func checkCompile(cfg *policy.CompileCheck, b Build) ledger.CheckResult {
	from := "phases of build " + b.ID
	if len(b.Phases) == 0 {
		return missing(CheckCompile, from, 0, cfg.Optional, "no build phases found")
	}
	r := ledger.CheckResult{Name: CheckCompile, Input: from, Observed: 1}
	for _, p := range b.Phases {
		if p.Name != phaseBuild {
			continue
		}
		if p.Status == "SUCCEEDED" {
			r.Observed, r.Passed, r.Reason = 0, true, "BUILD phase succeeded"
			return r
		}
		r.Reason = "BUILD phase " + phaseOutcome(p)
		return r
	}
	for _, p := range b.Phases {
		if slices.Contains(beforeBuild, p.Name) && p.Status != "" && p.Status != "SUCCEEDED" {
			r.Reason = "BUILD phase never ran: " + p.Name + " phase " + phaseOutcome(p)
			return r
		}
	}
	return missing(CheckCompile, from, 0, cfg.Optional,
		fmt.Sprintf("no BUILD phase among the build's %d phases", len(b.Phases)))
}

// phaseOutcome is a phase's status and its quoted context messages.
func phaseOutcome(p Phase) string {
	s := p.Status
	if s == "" {
		s = "has no status"
	}
	if len(p.Contexts) == 0 {
		return s
	}
	quoted := make([]string, 0, len(p.Contexts))
	for _, c := range p.Contexts {
		quoted = append(quoted, strconv.Quote(report.Shorten(c, 300)))
	}
	return s + ": " + list(quoted, len(quoted))
}

// checkTests fails when more tests failed or errored than allowed.
func checkTests(cfg *policy.TestsCheck, in Input[report.Tests]) ledger.CheckResult {
	threshold := float64(cfg.MaxFailed)
	if why := testsUnusable(in); why != "" {
		return missing(CheckTests, in.From, threshold, cfg.Optional, why)
	}
	var total, skipped, failed int
	var names []string
	for _, s := range in.Value.Suites {
		for _, c := range s.Cases {
			total++
			switch c.Status {
			case report.Failed, report.Errored:
				failed++
				if len(names) < maxNamed {
					names = append(names, c.Key())
				}
			case report.Skipped:
				skipped++
			}
		}
	}
	r := ledger.CheckResult{
		Name:      CheckTests,
		Input:     in.From,
		Threshold: threshold,
		Observed:  float64(failed),
		Passed:    failed <= cfg.MaxFailed,
	}
	if r.Passed {
		r.Reason = fmt.Sprintf("%s, %d failed (max %d), %d skipped", plural(total, "test"), failed, cfg.MaxFailed, skipped)
		return r
	}
	r.Reason = fmt.Sprintf("%d of %s failed (max %d): %s", failed, plural(total, "test"), cfg.MaxFailed, list(names, failed))
	return r
}

// testsUnusable says why a test report cannot be judged: missing, unreadable,
// or holding no test at all (tests that did not run prove nothing).
func testsUnusable(in Input[report.Tests]) string {
	if why := unusable(in, "test report"); why != "" {
		return why
	}
	for _, s := range in.Value.Suites {
		if len(s.Cases) > 0 {
			return ""
		}
	}
	return "test report holds no test cases" + lookedIn(in.From)
}

// levelRank orders SARIF levels; a result without a level is a warning, as
// SARIF defines.
func levelRank(level string) int {
	switch level {
	case "error":
		return 3
	case "warning", "":
		return 2
	case "note":
		return 1
	}
	return 0
}

// toolCount is one tool's counted lint results.
type toolCount struct {
	name  string
	count int
	first string
}

// checkLint fails when any tool reports more results at or above the level
// than allowed. When the security check runs, the security findings it judges
// are left to it, so one finding does not fail two checks.
func checkLint(cfg *policy.LintCheck, in Input[[]report.Run], sec *policy.SecurityCheck) ledger.CheckResult {
	threshold := float64(cfg.Max)
	if why := sarifUnusable(in); why != "" {
		return missing(CheckLint, in.From, threshold, cfg.Optional, why)
	}
	level := cfg.Level
	if level == "" {
		level = "error"
	}
	least := levelRank(level)
	var tools []*toolCount
	byName := map[string]*toolCount{}
	for _, run := range in.Value {
		key := strings.ToLower(run.Tool)
		tc := byName[key]
		if tc == nil {
			tc = &toolCount{name: run.Tool}
			byName[key] = tc
			tools = append(tools, tc)
		}
		listed := sec != nil && listedTool(sec.Tools, run.Tool)
		for _, f := range run.Results {
			if sec != nil && (listed || f.Severity != report.NoSeverity) {
				continue
			}
			if levelRank(f.Level) < least {
				continue
			}
			tc.count++
			if tc.first == "" {
				tc.first = describeFinding(f)
			}
		}
	}
	what := func(n int) string {
		switch {
		case level == "warning" && n == 1:
			return "error or warning"
		case level == "warning":
			return "errors or warnings"
		case n == 1:
			return "error"
		}
		return "errors"
	}
	r := ledger.CheckResult{Name: CheckLint, Input: in.From, Threshold: threshold, Passed: true}
	var over, counts []string
	for _, tc := range tools {
		r.Observed = max(r.Observed, float64(tc.count))
		counts = append(counts, fmt.Sprintf("%s %d", toolName(tc.name), tc.count))
		if tc.count > cfg.Max {
			r.Passed = false
			over = append(over, fmt.Sprintf("%s: %d %s (max %d), first %s", toolName(tc.name), tc.count, what(tc.count), cfg.Max, tc.first))
		}
	}
	if r.Passed {
		r.Reason = fmt.Sprintf("%s: %s (max %d per tool)", what(2), list(counts, len(counts)), cfg.Max)
		return r
	}
	r.Reason = strings.Join(over[:min(len(over), maxNamed)], "; ")
	if len(over) > maxNamed {
		r.Reason += fmt.Sprintf("; and %d more tools", len(over)-maxNamed)
	}
	return r
}

// sarifUnusable says why SARIF evidence cannot be judged: missing,
// unreadable, or without a single run (no tool ran).
func sarifUnusable(in Input[[]report.Run]) string {
	if why := unusable(in, "SARIF report"); why != "" {
		return why
	}
	if len(in.Value) == 0 {
		return "SARIF report holds no runs" + lookedIn(in.From)
	}
	return ""
}

// toolName names a run's tool, even when the SARIF leaves it out.
func toolName(name string) string {
	if name == "" {
		return "(unnamed tool)"
	}
	return name
}

// describeFinding is "rule in path:line", or the rule alone.
func describeFinding(f report.Finding) string {
	rule := f.RuleID
	if rule == "" {
		rule = "(no rule)"
	}
	if f.Location == "" {
		return rule
	}
	return rule + " in " + f.Location
}

// listedTool reports whether tool is one of tools, ignoring case.
func listedTool(tools []string, tool string) bool {
	for _, t := range tools {
		if strings.EqualFold(t, tool) {
			return true
		}
	}
	return false
}

// severities are the bands a security check limits, most severe first.
var severities = []report.Severity{report.Critical, report.High, report.Medium, report.Low}

// bandOfLevel bands a security finding that carries no score by its SARIF
// level; a result of level none is not a finding.
func bandOfLevel(level string) report.Severity {
	switch level {
	case "error":
		return report.High
	case "warning", "":
		return report.Medium
	case "note":
		return report.Low
	}
	return report.NoSeverity
}

// band is what the security check found of one severity.
type band struct {
	sarif, image int
	examples     []string
}

// checkSecurity fails when security findings of any severity exceed its limit,
// counting SARIF results with a security-severity score or from a listed tool,
// and the image scan when the check asks for it. Every source the check relies
// on must be there: SARIF when tools are listed (with a run of each listed
// tool) or when there is no image scan to judge, the image scan when asked for.
func checkSecurity(cfg *policy.SecurityCheck, sarif Input[[]report.Run], image Input[ImageScan]) ledger.CheckResult {
	froms := []string{}
	if sarif.From != "" {
		froms = append(froms, sarif.From)
	}
	if cfg.Image && image.From != "" {
		froms = append(froms, image.From)
	}
	from := strings.Join(froms, ", ")

	var gaps []string
	sarifWhy := unusable(sarif, "SARIF report")
	sarifUsable := sarifWhy == ""
	if !sarifUsable && (len(cfg.Tools) > 0 || !cfg.Image || sarif.Err != nil) {
		gaps = append(gaps, sarifWhy)
	}
	if sarifUsable {
		for _, t := range cfg.Tools {
			if !slices.ContainsFunc(sarif.Value, func(r report.Run) bool { return strings.EqualFold(r.Tool, t) }) {
				gaps = append(gaps, "no run of "+t+" in the SARIF report"+lookedIn(sarif.From))
			}
		}
	}
	imageUsable := false
	if cfg.Image {
		imageWhy := unusable(image, "image scan")
		imageUsable = imageWhy == ""
		if !imageUsable {
			gaps = append(gaps, imageWhy)
		}
	}
	if !sarifUsable && !imageUsable {
		return missing(CheckSecurity, from, 0, cfg.Optional, strings.Join(gaps, "; "))
	}

	bands := map[report.Severity]*band{}
	for _, s := range severities {
		bands[s] = &band{}
	}
	if sarifUsable {
		for _, run := range sarif.Value {
			listed := listedTool(cfg.Tools, run.Tool)
			for _, f := range run.Results {
				sev := f.Severity
				if sev == report.NoSeverity {
					if !listed {
						continue
					}
					sev = bandOfLevel(f.Level)
				}
				b := bands[sev]
				if b == nil {
					continue
				}
				b.sarif++
				if len(b.examples) < 3 {
					b.examples = append(b.examples, describeFinding(f))
				}
			}
		}
	}
	if imageUsable {
		for sev, n := range image.Value.Counts {
			if b := bands[report.Severity(strings.ToLower(string(sev)))]; b != nil && n > 0 {
				b.image += n
			}
		}
	}

	limits := map[report.Severity]*int{
		report.Critical: orZero(cfg.MaxCritical),
		report.High:     orZero(cfg.MaxHigh),
		report.Medium:   cfg.MaxMedium,
		report.Low:      cfg.MaxLow,
	}
	r := ledger.CheckResult{Name: CheckSecurity, Input: from}
	var over, counts []string
	for _, sev := range severities {
		b, limit := bands[sev], limits[sev]
		n := b.sarif + b.image
		counts = append(counts, fmt.Sprintf("%d %s", n, sev))
		if limit == nil || n <= *limit {
			continue
		}
		r.Observed += float64(n - *limit)
		what := strings.Join(b.examples, ", ")
		if shown := len(b.examples); b.sarif > shown {
			what += fmt.Sprintf(" and %d more", b.sarif-shown)
		}
		switch {
		case b.image > 0 && b.sarif > 0:
			what += fmt.Sprintf(", plus %d in the image scan", b.image)
		case b.image > 0:
			what = fmt.Sprintf("%d in the image scan", b.image)
		}
		over = append(over, fmt.Sprintf("%d %s (max %d): %s", n, sev, *limit, what))
	}
	r.Passed = r.Observed == 0
	switch {
	case r.Passed:
		r.Reason = "within limits: " + strings.Join(counts, ", ")
	default:
		r.Reason = strings.Join(over, "; ")
	}
	if len(gaps) > 0 {
		if cfg.Optional {
			r.Reason += "; " + strings.Join(gaps, "; ") + ", ignored because the check is optional"
		} else {
			r.Passed = false
			r.Reason += "; " + strings.Join(gaps, "; ")
		}
	}
	return r
}

// orZero is limit, or a limit of zero when the policy leaves it out.
func orZero(limit *int) *int {
	if limit == nil {
		return new(int)
	}
	return limit
}

// checkCoverage fails when line coverage is under the minimum.
func checkCoverage(cfg *policy.CoverageCheck, in Input[report.Coverage]) ledger.CheckResult {
	why := unusable(in, "coverage report")
	if why == "" && in.Value.Total <= 0 {
		why = "coverage report counts no lines" + lookedIn(in.From)
	}
	if why != "" {
		return missing(CheckCoverage, in.From, cfg.MinLines, cfg.Optional, why)
	}
	c := in.Value
	pct := float64(c.Covered) * 100 / float64(c.Total)
	r := ledger.CheckResult{
		Name:      CheckCoverage,
		Input:     in.From,
		Threshold: cfg.MinLines,
		Observed:  pct,
		Passed:    pct >= cfg.MinLines,
	}
	// Truncated, not rounded, so a failing 69.996% never reads as 70%.
	shown := strconv.FormatFloat(math.Floor(pct*100)/100, 'f', -1, 64)
	r.Reason = fmt.Sprintf("%s%% of %d lines covered (min %s%%)", shown, c.Total, strconv.FormatFloat(cfg.MinLines, 'f', -1, 64))
	return r
}
