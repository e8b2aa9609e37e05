package gate

import (
	"fmt"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// Defaults for the settings a policy may leave out.
const (
	// DefaultWindow is how many passing builds a timing baseline spans.
	DefaultWindow = 10
	// DefaultMinDuration is the duration under which a test's timing is noise
	// and is neither compared nor kept in a baseline.
	DefaultMinDuration = 100 * time.Millisecond
	// MinSamples is how many baseline timings a test, or the suite, needs before
	// it is compared: a median of fewer says little.
	MinSamples = 3
)

// maxNamed is how many tests, tools or findings a reason names before it
// only counts the rest, so that a decision stays one readable line.
const maxNamed = 5

// Evaluate judges one build: it runs every check the gate configures, in the
// order compile, tests, slowTests, lint, security, coverage, on the evidence
// the build left, applies the waivers in force at now, and returns the
// decision to record. The verdict is pass when every check passed or was
// waived. Evaluate reads nothing else and changes nothing, so a decision can be
// recomputed and explained from its inputs. A nil gate judges nothing and
// passes.
//
// Every check fails closed: evidence that is missing or unreadable fails it,
// unless the check is optional.
func Evaluate(g *policy.Gate, ev Evidence, now time.Time) *ledger.GateDecision {
	at := ev.Build.At
	if at.IsZero() {
		at = now
	}
	d := &ledger.GateDecision{
		Header: ledger.Header{
			Kind:   ledger.KindGateDecision,
			ID:     ev.Build.ID,
			App:    ev.Build.App,
			Commit: ev.Build.Commit,
			Digest: ev.Build.Digest,
			At:     at,
		},
		Verdict: ledger.VerdictPass,
	}
	if g == nil {
		return d
	}
	c := g.Checks
	var results []ledger.CheckResult
	if c.Compile != nil {
		results = append(results, checkCompile(c.Compile, ev.Build))
	}
	if c.Tests != nil {
		results = append(results, checkTests(c.Tests, ev.Tests))
	}
	if c.SlowTests != nil {
		results = append(results, checkSlowTests(c.SlowTests, ev.Tests, ev.Baseline))
	}
	if c.Lint != nil {
		results = append(results, checkLint(c.Lint, ev.SARIF, c.Security))
	}
	if c.Security != nil {
		results = append(results, checkSecurity(c.Security, ev.SARIF, ev.ImageScan))
	}
	if c.Coverage != nil {
		results = append(results, checkCoverage(c.Coverage, ev.Coverage))
	}
	for i := range results {
		r := &results[i]
		if r.Passed {
			continue
		}
		if w, ok := findWaiver(g.Waivers, r.Name, ev.Build.Commit, now); ok {
			r.Waived = true
			r.Reason = waivedPrefix(w) + r.Reason
			continue
		}
		d.Verdict = ledger.VerdictFail
	}
	d.Checks = results
	return d
}

// findWaiver returns the first waiver that excuses check for commit at now.
func findWaiver(ws []policy.Waiver, check, commit string, now time.Time) (policy.Waiver, bool) {
	for _, w := range ws {
		if waives(w, check, commit, now) {
			return w, true
		}
	}
	return policy.Waiver{}, false
}

// waives reports whether w excuses check for commit at now: the check matches,
// the commit starts with w.Commit (at least 7 characters, any case) when it is
// set, and now is before w.Until when that is set. A waiver with neither a
// commit nor an end never applies: Parse rejects it, and the gate does not
// let a check through for ever on a policy built in code.
func waives(w policy.Waiver, check, commit string, now time.Time) bool {
	if w.Check != check || (w.Commit == "" && w.Until.IsZero()) {
		return false
	}
	if w.Commit != "" && (len(w.Commit) < 7 || len(commit) < len(w.Commit) ||
		!strings.EqualFold(commit[:len(w.Commit)], w.Commit)) {
		return false
	}
	return w.Until.IsZero() || now.Before(w.Until)
}

// waivedPrefix starts the reason of a waived check: why, and for what commit
// or until when.
func waivedPrefix(w policy.Waiver) string {
	parts := []string{w.Reason}
	if w.Commit != "" {
		parts = append(parts, "commit "+w.Commit)
	}
	if !w.Until.IsZero() {
		parts = append(parts, "until "+formatInstant(w.Until))
	}
	return "waived (" + strings.Join(parts, ", ") + "): "
}

// formatInstant shows a date alone when t is a midnight UTC, else the RFC 3339
// instant.
func formatInstant(t time.Time) string {
	u := t.UTC()
	if u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Format(time.DateOnly)
	}
	return u.Format(time.RFC3339)
}

// unusable says why the evidence in cannot be used, or "" when it can. what
// names the evidence: "test report", "coverage report", ...
func unusable[T any](in Input[T], what string) string {
	switch {
	case in.Err != nil:
		return fmt.Sprintf("%s unreadable: %v", what, in.Err)
	case !in.Found && in.Missing != "":
		return in.Missing
	case !in.Found:
		return "no " + what + " found" + lookedIn(in.From)
	}
	return ""
}

// lookedIn is " (looked in from)", or "" when from is empty.
func lookedIn(from string) string {
	if from == "" {
		return ""
	}
	return " (looked in " + from + ")"
}

// missing is the result of a check without usable evidence: a failure, or a
// pass that says so when the check is optional.
func missing(name, from string, threshold float64, optional bool, why string) ledger.CheckResult {
	r := ledger.CheckResult{Name: name, Input: from, Threshold: threshold, Reason: why}
	if optional {
		r.Passed = true
		r.Reason = why + "; evidence missing, passed because the check is optional"
	}
	return r
}

// list joins up to maxNamed items and counts the rest: "a, b and 3 more".
func list(items []string, total int) string {
	shown := items[:min(len(items), maxNamed)]
	s := strings.Join(shown, ", ")
	if rest := total - len(shown); rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}

// plural is "1 test" or "2 tests".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
