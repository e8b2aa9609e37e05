package localaws

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ColdStarts is how many cold starts BenchInvoke measures, and InitRuns how
// many more it traces package initialization in.
const (
	ColdStarts = 20
	InitRuns   = 5
)

// initDone is in the log once the first invocation is over, after what the
// function printed while it initialized.
const initDone = "REPORT RequestId"

// BenchInvoke measures bootstrap as Lambda runs it, under the emulator (env
// added to its environment), invoked with event; check, when not nil, refuses
// a wrong response. It reports, as b's metrics:
//
//   - cold-p50-ms and cold-p90-ms: over ColdStarts runs, from starting the
//     emulator process to the first response (a cold-start proxy: Lambda's
//     own init is not in it);
//   - init-ms: the median, over InitRuns more, of the time the function's
//     package initializers took (GODEBUG=inittrace=1), part of the cold start;
//   - warm-p50-ms and warm-p99-ms: one invoke each of b's iterations, on one
//     emulator after a first invoke (run with -benchtime 1000x for 1,000);
//   - peak-rss-MB: the function process's peak resident set (VmHWM) after
//     them all.
//
// Every invoke after the first is a redelivery of the same event, so a
// function that records once does its work on the first only: cold-p90 and
// the warm figures are of the redelivery path.
func BenchInvoke(b *testing.B, bootstrap string, env []string, event []byte, check func([]byte) error) {
	b.Helper()
	rie := Require(b, EnvRIE)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	invoke := func(e *Emulator) {
		body, err := e.Invoke(ctx, event)
		if err == nil && bytes.Contains(body, []byte(`"errorMessage"`)) {
			err = fmt.Errorf("function error: %s", body)
		}
		if err == nil && check != nil {
			err = check(body)
		}
		if err != nil {
			b.Fatalf("invoke: %v\nlog:\n%s", err, e.Log())
		}
	}

	cold := make([]time.Duration, 0, ColdStarts)
	for range ColdStarts {
		took, _ := ColdStart(b, rie, bootstrap, env, event, check)
		cold = append(cold, took)
	}

	// Package initialization, apart: tracing it prints a line per package.
	var inits []time.Duration
	for range InitRuns {
		e, err := StartEmulator(rie, bootstrap, append(slices.Clone(env), "GODEBUG=inittrace=1"))
		if err != nil {
			b.Fatal(err)
		}
		invoke(e)
		inits = append(inits, initTime(e.WaitLog(initDone, time.Second)))
		e.Stop()
	}

	e, err := StartEmulator(rie, bootstrap, env)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop()
	invoke(e)
	var warm []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		invoke(e)
		warm = append(warm, time.Since(start))
	}
	b.StopTimer()
	rss, err := peakRSS(e.cmd.Process.Pid, filepath.Base(bootstrap))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(Millis(Percentile(cold, 50)), "cold-p50-ms")
	b.ReportMetric(Millis(Percentile(cold, 90)), "cold-p90-ms")
	b.ReportMetric(Millis(Percentile(inits, 50)), "init-ms")
	b.ReportMetric(Millis(Percentile(warm, 50)), "warm-p50-ms")
	b.ReportMetric(Millis(Percentile(warm, 99)), "warm-p99-ms")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
}

// initTime sums the clock time of the package initializers that
// GODEBUG=inittrace=1 printed to log ("init pkg @0.1 ms, 0.3 ms clock, ...")
// after the emulator, itself a Go program that traces its own, said it
// started the function ("exec './bootstrap'").
func initTime(log string) time.Duration {
	_, log, _ = strings.Cut(log, "exec '")
	var total time.Duration
	for line := range strings.Lines(log) {
		if !strings.HasPrefix(line, "init ") {
			continue
		}
		_, rest, ok := strings.Cut(line, ", ")
		v, _, ok2 := strings.Cut(rest, " ms clock")
		if f, err := strconv.ParseFloat(v, 64); ok && ok2 && err == nil {
			total += time.Duration(f * float64(time.Millisecond))
		}
	}
	return total
}

// Millis is d in milliseconds, as benchmarks report them.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Percentile is the p-th percentile of ds, nearest rank; 0 for none.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max((p*len(s)+99)/100, 1)-1]
}

// peakRSS is the peak resident set, in bytes, of the process named name
// among the children of pid (the emulator runs the function as its child).
func peakRSS(pid int, name string) (int64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, ent := range entries {
		child, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "status"))
		if err != nil {
			continue
		}
		if field(status, "PPid:") != strconv.Itoa(pid) || field(status, "Name:") != name {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(field(status, "VmHWM:"), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM of %d: %w", child, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no process %s under the emulator (pid %d)", name, pid)
}

// field is the value of a /proc status line starting with key.
func field(status []byte, key string) string {
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte(key)); ok {
			return strings.TrimSpace(string(v))
		}
	}
	return ""
}

// ColdStart starts bootstrap under the emulator rie (env added to its
// environment), invokes it once with event and stops it. It returns how long
// the answer took from the emulator's start, and the emulator, for its
// Started and its log up to the first invocation's report. An error answer,
// or one check refuses, fails tb with the log.
func ColdStart(tb testing.TB, rie, bootstrap string, env []string, event []byte, check func([]byte) error) (time.Duration, *Emulator) {
	tb.Helper()
	e, err := StartEmulator(rie, bootstrap, env)
	if err != nil {
		tb.Fatal(err)
	}
	defer e.Stop()
	body, err := e.Invoke(context.Background(), event)
	took := time.Since(e.Started)
	if err == nil && bytes.Contains(body, []byte(`"errorMessage"`)) {
		err = fmt.Errorf("function error: %s", body)
	}
	if err == nil && check != nil {
		err = check(body)
	}
	if err != nil {
		tb.Fatalf("%s: %v\nlog:\n%s", bootstrap, err, e.Log())
	}
	e.WaitLog(initDone, time.Second)
	return took, e
}
