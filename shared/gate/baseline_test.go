package gate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/report"
)

func TestMedian(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		give []time.Duration
		want time.Duration
	}{
		{name: "none", give: nil, want: 0},
		{name: "one", give: []time.Duration{3 * s}, want: 3 * s},
		{name: "odd count, unsorted", give: []time.Duration{3 * s, 1 * s, 2 * s}, want: 2 * s},
		{name: "even count is the mean of the middle two", give: []time.Duration{4 * s, 1 * s, 3 * s, 2 * s}, want: 2500 * time.Millisecond},
		{name: "an outlier does not move it", give: []time.Duration{5 * s, 5 * s, 1 * s, 100 * s, 6 * s}, want: 5 * s},
		{name: "even count with an outlier", give: []time.Duration{5 * s, 100 * s, 1 * s, 7 * s}, want: 6 * s},
		{name: "odd nanoseconds round down", give: []time.Duration{1, 2}, want: 1},
		{name: "more than fit on the stack", give: slices.Repeat([]time.Duration{1, 9}, 50), want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.give)
			if got := median(tt.give); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.give, got, tt.want)
			}
			if !slices.Equal(tt.give, before) {
				t.Errorf("median changed its input to %v", tt.give)
			}
		})
	}
}

// run is a one-suite report of passing tests, pkg.<name> taking each duration.
func run(durations map[string]time.Duration) report.Tests {
	var cases []report.Case
	var total time.Duration
	for name, d := range durations {
		cases = append(cases, report.Case{Class: "pkg", Name: name, Status: report.Passed, Duration: d})
		total += d
	}
	return report.Tests{Suites: []report.Suite{{Name: "pkg", Duration: total, Cases: cases}}}
}

func TestBaselineAdd(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	tests := []struct {
		name   string
		give   *Baseline
		tests  report.Tests
		window int
		min    time.Duration
		want   *Baseline
	}{
		{
			name:  "first build",
			tests: run(map[string]time.Duration{"A": 2 * s, "B": 50 * ms}),
			want: &Baseline{
				Suite: []time.Duration{2*s + 50*ms},
				// B is under the default MinDuration of 100ms.
				Tests: map[string][]time.Duration{"pkg.A": {2 * s}},
			},
		},
		{
			name:   "window rolls over, oldest out",
			give:   &Baseline{Suite: []time.Duration{1 * s, 2 * s, 3 * s}, Tests: map[string][]time.Duration{"pkg.A": {1 * s, 2 * s, 3 * s}}},
			tests:  run(map[string]time.Duration{"A": 4 * s}),
			window: 3,
			want:   &Baseline{Suite: []time.Duration{2 * s, 3 * s, 4 * s}, Tests: map[string][]time.Duration{"pkg.A": {2 * s, 3 * s, 4 * s}}},
		},
		{
			name:   "a shrunken window trims older timings",
			give:   &Baseline{Suite: []time.Duration{1 * s, 2 * s, 3 * s, 4 * s}, Tests: map[string][]time.Duration{"pkg.A": {1 * s, 2 * s, 3 * s, 4 * s}}},
			tests:  run(map[string]time.Duration{"A": 5 * s}),
			window: 2,
			want:   &Baseline{Suite: []time.Duration{4 * s, 5 * s}, Tests: map[string][]time.Duration{"pkg.A": {4 * s, 5 * s}}},
		},
		{
			name: "tests gone from the report are dropped; failed and skipped keep their history",
			give: &Baseline{Suite: []time.Duration{9 * s}, Tests: map[string][]time.Duration{
				"pkg.Gone": {1 * s}, "pkg.Failed": {2 * s}, "pkg.Skipped": {3 * s}, "pkg.New": nil,
			}},
			tests: report.Tests{Suites: []report.Suite{{Duration: 7 * s, Cases: []report.Case{
				{Class: "pkg", Name: "Failed", Status: report.Failed, Duration: 5 * s},
				{Class: "pkg", Name: "Skipped", Status: report.Skipped},
				{Class: "pkg", Name: "Errored", Status: report.Errored, Duration: 2 * s},
				{Class: "pkg", Name: "New", Status: report.Passed, Duration: 150 * ms},
			}}}},
			want: &Baseline{Suite: []time.Duration{9 * s, 7 * s}, Tests: map[string][]time.Duration{
				"pkg.Failed": {2 * s}, "pkg.Skipped": {3 * s}, "pkg.New": {150 * ms},
			}},
		},
		{
			name: "MinDuration drops a test only when every kept timing is under it",
			give: &Baseline{Suite: []time.Duration{1 * s}, Tests: map[string][]time.Duration{
				"pkg.Sometimes": {600 * ms, 10 * ms}, "pkg.Never": {10 * ms, 20 * ms},
			}},
			tests: run(map[string]time.Duration{"Sometimes": 10 * ms, "Never": 10 * ms, "Fast": 499 * ms, "Slow": 500 * ms}),
			min:   500 * ms,
			want: &Baseline{Suite: []time.Duration{1 * s, 1019 * ms}, Tests: map[string][]time.Duration{
				"pkg.Sometimes": {600 * ms, 10 * ms, 10 * ms}, "pkg.Slow": {500 * ms},
			}},
		},
		{
			name: "a test in two suites is summed",
			tests: report.Tests{Suites: []report.Suite{
				{Duration: 1 * s, Cases: []report.Case{{Class: "pkg", Name: "A", Status: report.Passed, Duration: 1 * s}}},
				{Duration: 2 * s, Cases: []report.Case{{Class: "pkg", Name: "A", Status: report.Passed, Duration: 2 * s}}},
			}},
			want: &Baseline{Suite: []time.Duration{3 * s}, Tests: map[string][]time.Duration{"pkg.A": {3 * s}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.give.Add(tt.tests, tt.window, tt.min)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Add(...) = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBaselineAddLeavesReceiver(t *testing.T) {
	s := time.Second
	old := &Baseline{Suite: []time.Duration{1 * s, 2 * s, 3 * s}, Tests: map[string][]time.Duration{"pkg.A": make([]time.Duration, 3, 10)}}
	copy(old.Tests["pkg.A"], []time.Duration{1 * s, 2 * s, 3 * s})
	keep := &Baseline{Suite: slices.Clone(old.Suite), Tests: map[string][]time.Duration{"pkg.A": slices.Clone(old.Tests["pkg.A"])}}

	first := old.Add(run(map[string]time.Duration{"A": 4 * s}), 10, 0)
	second := old.Add(run(map[string]time.Duration{"A": 5 * s}), 10, 0)
	if !reflect.DeepEqual(old, keep) {
		t.Errorf("Add changed its receiver to %+v, want %+v", old, keep)
	}
	// Appending in place into spare capacity would make the second Add
	// overwrite the first's newest timing.
	if got := first.Tests["pkg.A"]; !slices.Equal(got, []time.Duration{1 * s, 2 * s, 3 * s, 4 * s}) {
		t.Errorf("first Add(...) pkg.A = %v, want 1s 2s 3s 4s", got)
	}
	if got := second.Tests["pkg.A"]; !slices.Equal(got, []time.Duration{1 * s, 2 * s, 3 * s, 5 * s}) {
		t.Errorf("second Add(...) pkg.A = %v, want 1s 2s 3s 5s", got)
	}
}

func TestBaselineAddKeepsTheSlowest(t *testing.T) {
	durations := map[string]time.Duration{}
	for i := range 1500 {
		durations[fmt.Sprintf("T%04d", i)] = time.Second + time.Duration(i)*time.Millisecond
	}
	got := (*Baseline)(nil).Add(run(durations), 10, 0)
	if len(got.Tests) != MaxBaselineTests {
		t.Fatalf("Add(1500 tests) kept %d, want %d", len(got.Tests), MaxBaselineTests)
	}
	// The slowest are T1499 down to T0500.
	for _, key := range []string{"pkg.T1499", "pkg.T0500"} {
		if _, ok := got.Tests[key]; !ok {
			t.Errorf("Add(1500 tests) dropped %s, one of the 1000 slowest", key)
		}
	}
	if _, ok := got.Tests["pkg.T0499"]; ok {
		t.Errorf("Add(1500 tests) kept pkg.T0499, the 1001st slowest")
	}
}

func TestBaselineFitsAnItem(t *testing.T) {
	// Long names and the widest window: 1000 tests would not fit in 400 KB.
	long := strings.Repeat("x", 300)
	b := (*Baseline)(nil)
	for build := range 50 {
		durations := map[string]time.Duration{}
		for i := range 1200 {
			durations[fmt.Sprintf("%s%04d", long, i)] = time.Duration(1000+i+build) * time.Millisecond
		}
		b = b.Add(run(durations), 50, 0)
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) >= 400_000 {
		t.Errorf("Add(...) baseline encodes to %d bytes, want under DynamoDB's 400 KB item limit", len(data))
	}
	if len(b.Tests) == 0 || len(b.Tests) >= MaxBaselineTests {
		t.Errorf("Add(...) kept %d tests, want some, bounded by size before count", len(b.Tests))
	}
	if len(b.Suite) != 50 {
		t.Errorf("Add(...) suite has %d timings, want the window of 50", len(b.Suite))
	}
	if _, ok := b.Tests[fmt.Sprintf("pkg.%s%04d", long, 1199)]; !ok {
		t.Errorf("Add(...) dropped the slowest test")
	}
}
