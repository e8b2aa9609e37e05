package footprint_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/footprint"
)

// hold is the spec of TestHold: how many MiB to hold in its setup, then
// let go, and how many in its phase.
type hold struct{ SetupMiB, MiB int }

// TestHold is the phase the tests of Run run in a child: it holds (and
// touches) the memory its spec asks for, 1 MiB on its own.
func TestHold(t *testing.T) {
	spec := hold{MiB: 1}
	footprint.Spec(t, &spec)
	setup := make([]byte, spec.SetupMiB<<20)
	for i := range setup {
		setup[i] = 1
	}
	setup = nil
	var held []byte
	f := footprint.Measure("hold", func(f *footprint.Figures) {
		held = make([]byte, spec.MiB<<20)
		for i := range held {
			held[i] = byte(i)
		}
		f.Counts["MiB"] = float64(spec.MiB)
	})
	if held[len(held)-1] != byte(len(held)-1) {
		t.Fatal("the memory held was not written")
	}
	footprint.Report(t, f)
}

// TestRunMeasuresTheChild runs TestHold in a child that holds 64 MiB while
// the test holds 160: the spec reaches the child, its counts come back, and
// its peak resident set went from less than it held to at least that, and
// not to the parent's (which getrusage would report).
func TestRunMeasuresTheChild(t *testing.T) {
	parent := make([]byte, 160<<20)
	for i := range parent {
		parent[i] = 1
	}
	figs := footprint.Run(t, "TestHold", hold{MiB: 64})
	runtime.KeepAlive(parent)
	if len(figs) != 1 {
		t.Fatalf("Run(TestHold) = %d phases, want 1", len(figs))
	}
	f := figs[0]
	if f.Phase != "hold" || f.Counts["MiB"] != 64 {
		t.Errorf("Run(TestHold) = phase %q with counts %v, want hold with MiB 64", f.Phase, f.Counts)
	}
	if f.StartRSS >= 64<<20 || f.PeakRSS < 64<<20 || f.PeakRSS >= 128<<20 {
		t.Errorf("peak RSS went from %d to %d bytes, want from under 64 MiB to between 64 and 128 MiB", f.StartRSS, f.PeakRSS)
	}
}

// TestMeasureSeesThePhaseAlone runs TestHold in a child that held 96 MiB in
// its setup, then 8 in its phase: the setup's peak is reported as such, and
// the phase's peak is its own.
func TestMeasureSeesThePhaseAlone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux lets a process reset its peak resident set")
	}
	f := footprint.Run(t, "TestHold", hold{SetupMiB: 96, MiB: 8})[0]
	if f.SetupRSS < 96<<20 || f.PeakRSS < 8<<20 || f.PeakRSS >= 64<<20 {
		t.Errorf("setup peaked at %d bytes and the phase at %d, want at least 96 MiB and between 8 and 64", f.SetupRSS, f.PeakRSS)
	}
}

// TestVerdict reads the margins of a phase against a function's limits: at
// 256 MB a function has a seventh of a vCPU, so a second of CPU takes about
// seven.
func TestVerdict(t *testing.T) {
	l := footprint.Limit{Function: "dora", Timeout: 5 * time.Minute, MemoryMB: 256}
	f := footprint.Figures{Phase: "hourly", Wall: 2 * time.Second, CPU: time.Second, Simulated: 3 * time.Second, SetupRSS: 12 << 20, StartRSS: 10 << 20, PeakRSS: 64 << 20}
	est := l.Estimate(f)
	if want := 2*time.Second + 5910*time.Millisecond + 3*time.Second; est.Round(10*time.Millisecond) != want {
		t.Errorf("Estimate(%+v) = %v, want %v (wall, CPU stretched by 1769/256 - 1, simulated)", f, est, want)
	}
	v := l.Verdict(f)
	for _, want := range []string{"dora hourly", "about 10.9s of the 5m0s timeout, 96.4% left", "peak RSS 64.0 MB (floor 10.0 MB; setup's peak 12.0 MB) of 256 MB, 75.0% left"} {
		if !strings.Contains(v, want) {
			t.Errorf("Verdict() = %q, want it to say %q", v, want)
		}
	}
}
