package gate

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/highwayhq/highway/shared/report"
)

// Baseline is a branch's test timings over its most recent passing builds,
// oldest first: what "slower than usual" is measured against.
type Baseline struct {
	// Suite is the total test time of each build in the window.
	Suite []time.Duration `json:"suite"`
	// Tests maps a test's key (report.Case.Key: class and name) to its
	// durations in the builds that ran it.
	Tests map[string][]time.Duration `json:"tests"`
}

// A baseline is stored as one DynamoDB item, which may not exceed 400 KB. A
// test's entry costs its key plus one number per build in the window, so a
// suite of thousands of tests with a window of 50 would not fit. Add therefore
// keeps only the slowest tests, which are the ones whose regressions cost the
// most time, up to both bounds below; the estimate is of the JSON encoding,
// which is no smaller than DynamoDB's, and its budget leaves room for the rest
// of the item.
const (
	// MaxBaselineTests is the most tests a baseline keeps timings for.
	MaxBaselineTests = 1000
	// MaxBaselineBytes bounds the estimated encoded size of a baseline's tests.
	MaxBaselineBytes = 256 << 10
)

// Add returns the baseline after one more passing build whose test report is
// t; b itself is left as it was (a nil b is an empty baseline). It keeps the
// last window suite totals and, per test, the last window durations of the
// tests that passed (durations of tests sharing a key are summed). Tests not in
// t are dropped, as are tests whose every kept duration is under minDuration,
// whose timings are noise. Then only the slowest tests by latest duration are
// kept, at most MaxBaselineTests and MaxBaselineBytes of them. A window or
// minDuration of zero or less means DefaultWindow or DefaultMinDuration, as in
// the policy.
func (b *Baseline) Add(t report.Tests, window int, minDuration time.Duration) *Baseline {
	if window <= 0 {
		window = DefaultWindow
	}
	if minDuration <= 0 {
		minDuration = DefaultMinDuration
	}
	var old Baseline
	if b != nil {
		old = *b
	}
	out := &Baseline{Suite: appendWindow(old.Suite, t.Duration(), window)}

	passed := map[string]time.Duration{}
	present := map[string]bool{}
	for _, s := range t.Suites {
		for _, c := range s.Cases {
			key := c.Key()
			present[key] = true
			if c.Status == report.Passed {
				passed[key] += c.Duration
			}
		}
	}
	type entry struct {
		key     string
		samples []time.Duration
	}
	var entries []entry
	for key := range present {
		var samples []time.Duration
		if d, ok := passed[key]; ok {
			samples = appendWindow(old.Tests[key], d, window)
		} else {
			samples = slices.Clone(lastN(old.Tests[key], window))
		}
		if len(samples) > 0 && slices.Max(samples) >= minDuration {
			entries = append(entries, entry{key, samples})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.samples[len(b.samples)-1], a.samples[len(a.samples)-1]), cmp.Compare(a.key, b.key))
	})
	out.Tests = make(map[string][]time.Duration, min(len(entries), MaxBaselineTests))
	size := 0
	for _, e := range entries {
		size += entrySize(e.key, e.samples)
		if len(out.Tests) == MaxBaselineTests || size > MaxBaselineBytes {
			break
		}
		out.Tests[e.key] = e.samples
	}
	return out
}

// appendWindow returns a new slice of the last window values of s followed
// by d; s is not changed.
func appendWindow(s []time.Duration, d time.Duration, window int) []time.Duration {
	s = lastN(s, window-1)
	out := make([]time.Duration, len(s), len(s)+1)
	copy(out, s)
	return append(out, d)
}

// entrySize estimates the JSON encoding of one test's entry:
// "key":[1,2,3], with the key's escapes counted as plain bytes.
func entrySize(key string, samples []time.Duration) int {
	n := len(key) + 6 // two quotes, colon, two brackets, the comma after
	var buf [20]byte
	for _, d := range samples {
		n += len(strconv.AppendInt(buf[:0], int64(d), 10)) + 1
	}
	return n
}

// median is the middle of ds once sorted, or the mean of the two middle values
// for an even count; 0 for none. ds is not changed.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var buf [64]time.Duration
	s := append(buf[:0], ds...)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	lo, hi := s[n/2-1], s[n/2]
	return lo + (hi-lo)/2
}
