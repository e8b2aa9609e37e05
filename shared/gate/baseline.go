package gate

import "time"

// Baseline is a branch's test timings over its most recent passing builds,
// oldest first: what "slower than usual" is measured against.
type Baseline struct {
	// Suite is the total test time of each build in the window.
	Suite []time.Duration `json:"suite"`
	// Tests maps a test's key (class and name) to its durations in the builds
	// that ran it.
	Tests map[string][]time.Duration `json:"tests"`
}
