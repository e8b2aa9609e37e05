package gate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// measure is one of the slowTests check's limits (the suite budget, the test
// budget, the regression) with what the build showed against it.
type measure struct {
	threshold, observed float64
	failed              bool
	reason              string
}

// use is how much of its threshold a measure used; over 1 fails it.
func (m measure) use() float64 { return m.observed / m.threshold }

// checkSlowTests fails when the suite or a test is over its time budget, or
// slower than the median of its baseline by more than the policy allows. Its
// threshold and observed value are those of the measure that came closest to
// its limit (seconds for a budget, a ratio to the median for the regression);
// its reason lists every measure that failed.
func checkSlowTests(cfg *policy.SlowTestsCheck, in Input[report.Tests], base *Baseline) ledger.CheckResult {
	if why := testsUnusable(in); why != "" {
		return missing(CheckSlowTests, in.From, slowThreshold(cfg), cfg.Optional, why)
	}
	suite := in.Value.Duration()
	var ms []measure
	if cfg.SuiteBudget > 0 {
		ms = append(ms, suiteBudget(suite, cfg.SuiteBudget))
	}
	if cfg.TestBudget > 0 {
		ms = append(ms, testBudget(in.Value, cfg.TestBudget))
	}
	if cfg.Regression != nil {
		ms = append(ms, regression(in.Value, suite, base, cfg.Regression))
	}
	r := ledger.CheckResult{Name: CheckSlowTests, Input: in.From, Passed: true}
	if len(ms) == 0 {
		r.Reason = "no budget or regression limit set"
		return r
	}
	worst := ms[0]
	var failed, all []string
	for _, m := range ms {
		if m.use() > worst.use() {
			worst = m
		}
		all = append(all, m.reason)
		if m.failed {
			r.Passed = false
			failed = append(failed, m.reason)
		}
	}
	r.Threshold, r.Observed = worst.threshold, worst.observed
	if r.Passed {
		r.Reason = strings.Join(all, "; ")
	} else {
		r.Reason = strings.Join(failed, "; ")
	}
	return r
}

// slowThreshold is the threshold a slowTests result without evidence shows:
// that of the first measure the policy sets.
func slowThreshold(cfg *policy.SlowTestsCheck) float64 {
	switch {
	case cfg.SuiteBudget > 0:
		return cfg.SuiteBudget.Seconds()
	case cfg.TestBudget > 0:
		return cfg.TestBudget.Seconds()
	case cfg.Regression != nil:
		return regressionLimit(cfg.Regression)
	}
	return 0
}

// suiteBudget measures the whole run against its budget.
func suiteBudget(suite, budget time.Duration) measure {
	m := measure{threshold: budget.Seconds(), observed: suite.Seconds(), failed: suite > budget}
	if m.failed {
		m.reason = fmt.Sprintf("suite took %s, over its %s budget", formatDuration(suite), formatDuration(budget))
	} else {
		m.reason = fmt.Sprintf("suite took %s (budget %s)", formatDuration(suite), formatDuration(budget))
	}
	return m
}

// timed is a test, or the suite, with its duration and, for a regression,
// the median it was compared with.
type timed struct {
	name     string
	duration time.Duration
	median   time.Duration
	ratio    float64
}

// testBudget measures the slowest test against the budget for any one test
// and names the slowest of those over it.
func testBudget(t report.Tests, budget time.Duration) measure {
	var slowest *report.Case
	var over []timed
	for _, s := range t.Suites {
		for i, c := range s.Cases {
			if c.Status == report.Skipped {
				continue
			}
			if slowest == nil || c.Duration > slowest.Duration {
				slowest = &s.Cases[i]
			}
			if c.Duration > budget {
				over = append(over, timed{name: c.Key(), duration: c.Duration})
			}
		}
	}
	if slowest == nil {
		// Every test was skipped: none took any time.
		return measure{threshold: budget.Seconds(), reason: fmt.Sprintf("no test ran (budget %s)", formatDuration(budget))}
	}
	m := measure{threshold: budget.Seconds(), observed: slowest.Duration.Seconds(), failed: len(over) > 0}
	if !m.failed {
		m.reason = fmt.Sprintf("slowest test %s took %s (budget %s)", slowest.Key(), formatDuration(slowest.Duration), formatDuration(budget))
		return m
	}
	slices.SortFunc(over, func(a, b timed) int {
		return cmp.Or(cmp.Compare(b.duration, a.duration), cmp.Compare(a.name, b.name))
	})
	names := make([]string, 0, maxNamed)
	for _, o := range over[:min(len(over), maxNamed)] {
		names = append(names, fmt.Sprintf("%s (%s)", o.name, formatDuration(o.duration)))
	}
	m.reason = fmt.Sprintf("%s over the %s budget: %s", plural(len(over), "test"), formatDuration(budget), list(names, len(over)))
	return m
}

// regressionLimit is the largest ratio to the median a regression tolerates.
func regressionLimit(reg *policy.Regression) float64 {
	return 1 + max(reg.Percent, 0)/100
}

// regression compares the suite, and every test with enough history, with the
// median of its last reg.Builds passing builds. Durations under MinDuration
// are noise and are not compared, and a median under it counts as
// MinDuration, so a test that used to take no time has a finite ratio.
func regression(t report.Tests, suite time.Duration, base *Baseline, reg *policy.Regression) measure {
	window := reg.Builds
	if window <= 0 {
		window = DefaultWindow
	}
	floor := reg.MinDuration
	if floor <= 0 {
		floor = DefaultMinDuration
	}
	m := measure{threshold: regressionLimit(reg)}
	var suiteSamples []time.Duration
	if base != nil {
		suiteSamples = lastN(base.Suite, window)
	}
	if len(suiteSamples) < MinSamples {
		m.reason = fmt.Sprintf("no regression check yet: the timing baseline is being built (%d of %d passing builds)", len(suiteSamples), MinSamples)
		return m
	}
	var slow []timed
	compare := func(name string, d time.Duration, samples []time.Duration) {
		if d < floor || len(samples) < MinSamples {
			return
		}
		med := max(median(samples), floor)
		ratio := float64(d) / float64(med)
		m.observed = max(m.observed, ratio)
		if ratio > m.threshold {
			slow = append(slow, timed{name: name, duration: d, median: med, ratio: ratio})
		}
	}
	compare("the suite", suite, suiteSamples)
	for key, d := range currentDurations(t, base.Tests) {
		compare(key, d, lastN(base.Tests[key], window))
	}
	pct := strconv.FormatFloat(reg.Percent, 'f', -1, 64)
	if len(slow) == 0 {
		m.reason = fmt.Sprintf("nothing over %s%% slower than its median of the last %s", pct, plural(len(suiteSamples), "build"))
		return m
	}
	m.failed = true
	slices.SortFunc(slow, func(a, b timed) int {
		return cmp.Or(cmp.Compare(b.ratio, a.ratio), cmp.Compare(a.name, b.name))
	})
	names := make([]string, 0, maxNamed)
	for _, s := range slow[:min(len(slow), maxNamed)] {
		names = append(names, fmt.Sprintf("%s %s vs %s (%+.0f%%)", s.name, formatDuration(s.duration), formatDuration(s.median), (s.ratio-1)*100))
	}
	m.reason = fmt.Sprintf("%d over %s%% slower than the median of the last %s: %s",
		len(slow), pct, plural(len(suiteSamples), "build"), list(names, len(slow)))
	return m
}

// currentDurations sums, per key, the durations of the tests that ran (were
// not skipped) and have a baseline; only those can regress.
func currentDurations(t report.Tests, known map[string][]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(known))
	for _, s := range t.Suites {
		for _, c := range s.Cases {
			if c.Status == report.Skipped {
				continue
			}
			if key := c.Key(); known[key] != nil {
				out[key] += c.Duration
			}
		}
	}
	return out
}

// lastN is the last n elements of s.
func lastN(s []time.Duration, n int) []time.Duration {
	return s[max(0, len(s)-n):]
}

// formatDuration shows d to the second from a minute up, else to the
// millisecond.
func formatDuration(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}
