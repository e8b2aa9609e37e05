// Package longtest chooses the size of Highway's long simulations. `make
// test` runs each of them short (days rather than weeks, hundreds of events
// rather than thousands), so that the whole suite stays fast; `make
// test-long` sets HIGHWAY_LONG=1 and runs them at full size. Both sizes
// assert the same properties.
package longtest

import (
	"os"
	"testing"
)

// Env is the environment variable that asks for the long simulations;
// `make test-long` sets it to 1.
const Env = "HIGHWAY_LONG"

// Enabled reports whether the long simulations run (HIGHWAY_LONG=1).
func Enabled() bool {
	return os.Getenv(Env) == "1"
}

// Size returns long when the long simulations run and short otherwise, and
// logs which one the test runs, what measures, so that its output says how
// big the run was.
func Size[T any](tb testing.TB, what string, short, long T) T {
	tb.Helper()
	if Enabled() {
		tb.Logf("long version: %v %s (%s=1)", long, what, Env)
		return long
	}
	tb.Logf("short version: %v %s (make test-long runs %v)", short, what, long)
	return short
}
