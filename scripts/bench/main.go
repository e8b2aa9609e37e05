// Command bench is `make bench`: Highway's performance budget, measured in
// one run on this machine. It builds every function as it ships and the
// hello-world floor with the same flags, then prints one table:
//
//   - bootstrap and zipped size (linux/arm64, as deployed);
//   - cold-start proxy (median and p90 of 20 runs, emulator start to first
//     response), of which package initialization (GODEBUG=inittrace), and
//     warm invoke (median and p99 of 1,000) under the Lambda
//     Runtime Interface Emulator with the function's events/ file, AWS
//     answered by DynamoDB Local and the wire-level fake on loopback; peak
//     RSS of the function process (localaws.BenchInvoke);
//   - ping cold start (median of 20, alternating with the floor's on the
//     same event): each function's first answer to an event it decodes and
//     ignores without an AWS call (events/ping), and the steps of that cold
//     start (BenchmarkPing);
//   - each figure's ratio or difference to the floor;
//   - each handler's decision logic in process, with fakes (the Go
//     benchmark BenchmarkHandle<Function> of its shared package);
//   - the largest binary's size by top module (go tool nm on the same build
//     with its symbol table).
//
// Budgets are printed beside each figure; with -strict (BUDGET=strict) a
// missed budget makes the exit status non-zero. The table is also written as
// JSON (bench.json) and the raw figures in Go benchmark format (bench.txt),
// which benchstat compares between commits (make bench-compare).
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/localaws"
)

func main() {
	out := flag.String("out", "build/bench", "directory of bench.json, bench.txt and the binaries")
	strict := flag.Bool("strict", os.Getenv("BUDGET") == "strict", "exit non-zero when a budget is missed (BUDGET=strict)")
	benchtime := flag.String("warm", "1000x", "warm invokes per function, as go test -benchtime")
	modules := flag.String("modules", "", "only print this function's size by module")
	count := flag.Int("count", envInt("BENCH_COUNT", 1), "samples of each handler benchmark and size, for benchstat (BENCH_COUNT)")
	flag.Parse()
	run := func() error { return run(context.Background(), os.Stdout, *out, *benchtime, *count, *strict) }
	if *modules != "" {
		run = func() error { return printModules(context.Background(), os.Stdout, *out, *modules) }
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, out, benchtime string, count int, strict bool) error {
	root, err := localaws.ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fns, err := functions(root)
	if err != nil {
		return err
	}
	started := time.Now()
	sizes, err := buildSizes(ctx, root, filepath.Join(out, "arm64"), fns)
	if err != nil {
		return err
	}
	var raw bytes.Buffer
	for range count { // a size has no variance; benchstat wants as many samples as the rest
		for _, s := range sizes {
			fmt.Fprintf(&raw, "BenchmarkSize/%s 1 %d bootstrap-B %d zip-B\n", s.Name, s.Bootstrap, s.Zipped)
		}
	}
	invoke, err := goBench(ctx, root, &raw, "scripts/services.sh", "run", "--",
		"go", "test", "-run", "^$", "-bench", "^BenchmarkInvoke$", "-benchtime", benchtime, "-count", "1",
		"./functions/...", "./scripts/hello")
	if err != nil {
		return fmt.Errorf("invoke benchmarks: %w", err)
	}
	pings, err := goBench(ctx, root, &raw, "scripts/services.sh", "run", "--",
		"go", "test", "-run", "^$", "-bench", "^BenchmarkPing$", "-benchtime", "1x", "-count", "1", "./scripts/bench")
	if err != nil {
		return fmt.Errorf("ping benchmarks: %w", err)
	}
	invoke = append(invoke, pings...)
	handlers, err := goBench(ctx, root, &raw, "go", "test", "-run", "^$", "-bench", "^BenchmarkHandle", "-benchmem", "-count", strconv.Itoa(count), "./shared/...")
	if err != nil {
		return fmt.Errorf("handler benchmarks: %w", err)
	}
	largest := slices.MaxFunc(sizes, func(a, b Size) int { return cmp.Compare(a.Bootstrap, b.Bootstrap) })
	modules, err := breakdown(ctx, root, filepath.Join(out, "arm64"), largest.Name, largest.Bootstrap, sizes[0].Bootstrap)
	if err != nil {
		return err
	}
	rep := newReport(sizes, invoke, handlers, fns)
	rep.Largest = modules
	rep.Machine = machine()
	rep.Took = time.Since(started).Round(time.Second).String()
	if err := os.WriteFile(filepath.Join(out, "bench.txt"), raw.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "bench.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	rep.print(w)
	fmt.Fprintf(w, "\nwrote %s and %s\n", filepath.Join(out, "bench.json"), filepath.Join(out, "bench.txt"))
	if missed := rep.missed(); strict && len(missed) > 0 {
		return fmt.Errorf("BUDGET=strict: %d budgets missed: %s", len(missed), strings.Join(missed, "; "))
	}
	return nil
}

// printModules builds fn and prints its size by module.
func printModules(ctx context.Context, w io.Writer, out, fn string) error {
	root, err := localaws.ModuleRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "arm64")
	sizes, err := buildSizes(ctx, root, dir, []string{fn})
	if err != nil {
		return err
	}
	b, err := breakdown(ctx, root, dir, fn, sizes[1].Bootstrap, sizes[0].Bootstrap)
	if err != nil {
		return err
	}
	(&Report{Largest: b}).printModules(w)
	return nil
}

// envInt is the integer in environment variable name, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// functions are the directories under functions/ with a main package.
func functions(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var fns []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			fns = append(fns, e.Name())
		}
	}
	return fns, nil
}

// goBench runs a go test benchmark command in root, copies its benchmark
// lines to raw, and returns them parsed. The command's other output goes to
// stderr, so progress shows.
func goBench(ctx context.Context, root string, raw io.Writer, name string, args ...string) ([]Result, error) {
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	cmd.Stdout = io.MultiWriter(&stdout, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	results, lines := parseBench(stdout.String())
	for _, l := range lines {
		fmt.Fprintln(raw, l)
	}
	return results, nil
}

// machine says what the figures were measured on.
func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(info)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
