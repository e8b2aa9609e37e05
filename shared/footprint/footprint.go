// Package footprint measures what one phase of work costs the process that
// runs it: wall and CPU time and peak resident memory, the figures Lambda
// holds a function to (its timeout, and its memory, which also sets its CPU
// share).
//
// A benchmark runs the phase alone in a child process (its own test binary
// again, running one test), as Lambda runs an invocation in a process of its
// own: the benchmark's setup, such as filling a table or serving fakes, then
// costs the figures nothing, and the peak is the kernel's high-water mark of
// the child's resident set, which no sampling can miss. The test is the
// phase's short version under plain `go test`; given a spec by Run, it runs
// the phase at the size the spec says and hands its figures back (Spec,
// Measure, Report).
package footprint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment variables with which Run hands a child its spec and gets its
// figures back: the path of each file.
const (
	envSpec = "HIGHWAY_FOOTPRINT_SPEC"
	envOut  = "HIGHWAY_FOOTPRINT_OUT"
)

// Figures are what one phase cost.
type Figures struct {
	// Phase names the phase.
	Phase string `json:"phase"`
	// Wall and CPU are the phase's real time and the process's user and
	// system CPU time during it (every goroutine, the GC's included).
	Wall time.Duration `json:"wall"`
	CPU  time.Duration `json:"cpu"`
	// Simulated is the time that passed on the fake clock of a
	// testing/synctest bubble: waits the phase's pacing imposes, which take
	// no real time in the bubble. Zero for a phase run without one.
	Simulated time.Duration `json:"simulated,omitempty"`
	// SetupRSS is the process's highest resident set, in bytes, before the
	// phase: its start and setup (reading the policy, say), as a function's
	// init. StartRSS is its resident set when the phase started (its floor:
	// the runtime, the binary, what the setup keeps), and PeakRSS its
	// highest during the phase.
	SetupRSS int64 `json:"setupRSS"`
	StartRSS int64 `json:"startRSS"`
	PeakRSS  int64 `json:"peakRSS"`
	// Counts are what the phase did, as the test counted it (items read,
	// calls made), reported per run.
	Counts map[string]float64 `json:"counts,omitempty"`
}

// Spec reports whether the test runs as Run's child and, if it does,
// decodes the spec Run was given into v.
func Spec(tb testing.TB, v any) bool {
	tb.Helper()
	path := os.Getenv(envSpec)
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		tb.Fatalf("footprint: spec %s: %v", path, err)
	}
	return true
}

// Measure runs fn as the phase named phase and returns what it cost; fn may
// fill in the figures' Simulated and Counts. It collects garbage first and
// returns what the setup freed to the operating system, so the phase pays
// for none of what came before and starts from what the process holds; on
// Linux it then resets the process's high-water mark
// (/proc/self/clear_refs), so the peak is the phase's own (elsewhere it is
// the process's since it started). Call it outside a synctest bubble:
// inside one, the clock it reads is the bubble's.
func Measure(phase string, fn func(f *Figures)) Figures {
	f := Figures{Phase: phase, Counts: map[string]float64{}}
	_, f.SetupRSS = residentSet()
	debug.FreeOSMemory()
	resetPeak()
	f.StartRSS, _ = residentSet()
	cpu := cpuTime()
	start := time.Now()
	fn(&f)
	f.Wall = time.Since(start)
	f.CPU = cpuTime() - cpu
	_, f.PeakRSS = residentSet()
	return f
}

// Report hands figs to the parent when the test runs as Run's child, and
// logs them in any case.
func Report(tb testing.TB, figs ...Figures) {
	tb.Helper()
	for _, f := range figs {
		tb.Logf("%s: wall %v, CPU %v, simulated %v, peak RSS %.1f MB (%.1f MB before; setup's peak %.1f MB); %v",
			f.Phase, f.Wall.Round(time.Millisecond), f.CPU.Round(time.Millisecond), f.Simulated.Round(time.Millisecond),
			mb(f.PeakRSS), mb(f.StartRSS), mb(f.SetupRSS), f.Counts)
	}
	path := os.Getenv(envOut)
	if path == "" {
		return
	}
	b, err := json.Marshal(figs)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		tb.Fatalf("footprint: report figures: %v", err)
	}
}

// Run runs test, a test of the calling package, in a child process (the
// test binary again) with spec for Spec, and returns the figures the child
// reported. A child that fails, or reports nothing, fails tb.
func Run(tb testing.TB, test string, spec any) []Figures {
	tb.Helper()
	dir := tb.TempDir()
	specPath, outPath := filepath.Join(dir, "spec.json"), filepath.Join(dir, "figures.json")
	b, err := json.Marshal(spec)
	if err == nil {
		err = os.WriteFile(specPath, b, 0o644)
	}
	if err != nil {
		tb.Fatalf("footprint: write the spec: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), envSpec+"="+specPath, envOut+"="+outPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("footprint: %s in a child process: %v\n%s", test, err, tail(out.String(), 60))
	}
	var figs []Figures
	b, err = os.ReadFile(outPath)
	if err == nil {
		err = json.Unmarshal(b, &figs)
	}
	if err != nil || len(figs) == 0 {
		tb.Fatalf("footprint: %s reported no figures (%v); does it call Spec and Report?\n%s", test, err, tail(out.String(), 60))
	}
	return figs
}

// Limit is what Lambda gives a function: its timeout and its memory, which
// also sets its CPU share (a whole vCPU at 1,769 MB).
type Limit struct {
	Function string
	Timeout  time.Duration
	MemoryMB int
}

// fullCPU is the memory at which Lambda gives a function one vCPU.
const fullCPU = 1769

// Bench runs test in a child process once per iteration of b, with the spec
// spec returns for iteration i (from 0), and reports the child's figures as
// b's metrics: ns/op is the phase's wall time (not the child's start), then
// cpu-ms/op, sim-s/op (when simulated), peak-RSS-MB, setup-RSS-MB and
// floor-RSS-MB (the highest, highest and lowest over the iterations), and
// every count per op. Unless
// limit is zero, it logs them against limit (Verdict). It returns the
// figures: the mean times and counts, the highest peaks and the lowest floor.
func Bench(b *testing.B, test string, limit Limit, spec func(i int) any) Figures {
	b.Helper()
	var all []Figures
	for i := 0; b.Loop(); i++ {
		figs := Run(b, test, spec(i))
		if len(figs) != 1 {
			b.Fatalf("footprint: %s reported %d phases, want one per child", test, len(figs))
		}
		all = append(all, figs[0])
	}
	b.StopTimer()
	var wall, cpu, sim time.Duration
	peak, setup, floor := int64(0), int64(0), int64(math.MaxInt64)
	counts := map[string]float64{}
	for _, f := range all {
		wall, cpu, sim = wall+f.Wall, cpu+f.CPU, sim+f.Simulated
		peak, setup, floor = max(peak, f.PeakRSS), max(setup, f.SetupRSS), min(floor, f.StartRSS)
		for k, v := range f.Counts {
			counts[k] += v
		}
	}
	n := time.Duration(len(all))
	wall, cpu, sim = wall/n, cpu/n, sim/n
	b.ReportMetric(float64(wall.Nanoseconds()), "ns/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/op")
	if sim > 0 {
		b.ReportMetric(sim.Seconds(), "sim-s/op")
	}
	b.ReportMetric(mb(peak), "peak-RSS-MB")
	b.ReportMetric(mb(floor), "floor-RSS-MB")
	b.ReportMetric(mb(setup), "setup-RSS-MB")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.ReportMetric(counts[k]/float64(len(all)), k+"/op")
	}
	f := Figures{Phase: all[0].Phase, Wall: wall, CPU: cpu, Simulated: sim, SetupRSS: setup, StartRSS: floor, PeakRSS: peak, Counts: map[string]float64{}}
	for k, v := range counts {
		f.Counts[k] = v / float64(len(all))
	}
	if limit != (Limit{}) {
		b.Log(limit.Verdict(f))
	}
	return f
}

// Estimate is how long f would take in Lambda under l: f's wall time with
// its CPU time stretched to the share of a vCPU l's memory buys (the rest of
// the wall time is waiting, which the share does not slow), plus the
// simulated time.
func (l Limit) Estimate(f Figures) time.Duration {
	share := min(1, float64(l.MemoryMB)/fullCPU)
	stretch := time.Duration(float64(f.CPU) * (1/share - 1))
	return f.Wall + stretch + f.Simulated
}

// Verdict says, in one line, how f compares with l: time against the
// timeout and peak memory against the memory, each with the margin left.
func (l Limit) Verdict(f Figures) string {
	est := l.Estimate(f)
	share := min(1, float64(l.MemoryMB)/fullCPU)
	return fmt.Sprintf("%s %s: wall %v, CPU %v, simulated %v; in Lambda at %d MB (%.2f vCPU) about %v of the %v timeout, %.1f%% left; "+
		"peak RSS %.1f MB (floor %.1f MB; setup's peak %.1f MB) of %d MB, %.1f%% left",
		l.Function, f.Phase, f.Wall.Round(time.Millisecond), f.CPU.Round(time.Millisecond), f.Simulated.Round(time.Millisecond),
		l.MemoryMB, share, est.Round(100*time.Millisecond), l.Timeout, 100*(1-est.Seconds()/l.Timeout.Seconds()),
		mb(f.PeakRSS), mb(f.StartRSS), mb(f.SetupRSS), l.MemoryMB, 100*(1-mb(f.PeakRSS)/float64(l.MemoryMB)))
}

func usage() syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprintf("footprint: getrusage: %v", err)) // cannot fail with RUSAGE_SELF
	}
	return ru
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	ru := usage()
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// residentSet is the process's resident set now and its high-water mark,
// in bytes. On Linux both come from /proc/self/status (VmRSS, VmHWM): the
// getrusage maximum of a child started by os/exec also holds the parent's,
// which the kernel carries over the exec of a vfork-style clone. Elsewhere
// both are getrusage's maximum (bytes on macOS).
func residentSet() (now, peak int64) {
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		return statusKB(status, "VmRSS:") << 10, statusKB(status, "VmHWM:") << 10
	}
	peak = int64(usage().Maxrss)
	if runtime.GOOS != "darwin" {
		peak <<= 10
	}
	return peak, peak
}

// resetPeak sets the process's high-water mark to its resident set now,
// where Linux allows it; elsewhere it does nothing.
func resetPeak() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// statusKB is the value, in kB, of the /proc status line starting with key.
func statusKB(status []byte, key string) int64 {
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte(key)); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(v)), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// mb is n bytes in MiB.
func mb(n int64) float64 { return float64(n) / (1 << 20) }

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
