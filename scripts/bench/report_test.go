package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// goTestOutput is go test -bench output of two packages, with the lines a
// run prints besides the benchmarks.
const goTestOutput = `services: DynamoDB Local answers at http://127.0.0.1:43347 (pid 9895)
goos: linux
goarch: amd64
pkg: github.com/highwayhq/highway/functions/push
cpu: AMD EPYC
BenchmarkInvoke-2   	    1000	   9271069 ns/op	        53.79 cold-p50-ms	        71.71 cold-p90-ms	        35.29 peak-rss-MB	         8.270 warm-p50-ms	        26.50 warm-p99-ms
PASS
ok  	github.com/highwayhq/highway/functions/push	3.704s
pkg: github.com/highwayhq/highway/scripts/hello
BenchmarkInvoke-2   	    1000	    512716 ns/op	        25.59 cold-p50-ms	        36.27 cold-p90-ms	         6.898 peak-rss-MB	         0.4010 warm-p50-ms	         3.983 warm-p99-ms
--- BENCH: BenchmarkInvoke-2
    bench.go:80: a log line with 2 3 4 fields
pkg: github.com/highwayhq/highway/shared/push
BenchmarkHandlePush-2   	   91022	     13686 ns/op	    9234 B/op	     155 allocs/op
BenchmarkHandle-name-with-dash-12   	   5	     1 ns/op
`

func TestParseBench(t *testing.T) {
	results, lines := parseBench(goTestOutput)
	if len(results) != 4 {
		t.Fatalf("%d results, want 4: %+v", len(results), results)
	}
	push := results[0]
	if push.Pkg != "github.com/highwayhq/highway/functions/push" || push.Name != "BenchmarkInvoke" ||
		push.Values["cold-p90-ms"] != 71.71 || push.Values["warm-p99-ms"] != 26.5 || push.Values["ns/op"] != 9271069 {
		t.Errorf("push = %+v", push)
	}
	if h := results[2]; h.Name != "BenchmarkHandlePush" || h.Values["B/op"] != 9234 || h.Values["allocs/op"] != 155 {
		t.Errorf("handler = %+v", h)
	}
	if results[3].Name != "BenchmarkHandle-name-with-dash" {
		t.Errorf("name = %q, want the GOMAXPROCS suffix dropped and the rest kept", results[3].Name)
	}
	// bench.txt keeps the pkg: lines and the benchmark lines, nothing else,
	// so benchstat groups them by package.
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "pkg: ") || slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "log line") }) {
		t.Errorf("lines = %q", lines)
	}
}

func TestSymbolPackageAndModule(t *testing.T) {
	mods := modulesOf([]byte("bootstrap: go1.26\n\tpath\tgithub.com/highwayhq/highway/functions/promote\n" +
		"\tmod\tgithub.com/highwayhq/highway\t(devel)\t\n" +
		"\tdep\tgithub.com/aws/aws-sdk-go-v2\tv1.41.0\th1:x=\n" +
		"\tdep\tgithub.com/aws/aws-sdk-go-v2/service/ecs\tv1.70.0\th1:y=\n"))
	for _, tt := range []struct{ sym, pkg, module string }{
		{"github.com/aws/aws-sdk-go-v2/service/ecs.(*Client).UpdateService", "github.com/aws/aws-sdk-go-v2/service/ecs", "github.com/aws/aws-sdk-go-v2/service/ecs"},
		{"github.com/aws/aws-sdk-go-v2/service/ecs/types.(*Service).x", "github.com/aws/aws-sdk-go-v2/service/ecs/types", "github.com/aws/aws-sdk-go-v2/service/ecs"},
		{"github.com/aws/aws-sdk-go-v2/aws.Config.Copy", "github.com/aws/aws-sdk-go-v2/aws", "github.com/aws/aws-sdk-go-v2"},
		{"type:*github.com/highwayhq/highway/shared/ledger.Promotion", "github.com/highwayhq/highway/shared/ledger", "github.com/highwayhq/highway"},
		{"type:.eq.github.com/aws/smithy-go.Properties", "github.com/aws/smithy-go", "github.com/aws/smithy-go"},
		{"runtime.mallocgc", "runtime", "std"},
		{"vendor/golang.org/x/net/http2/hpack.init", "vendor/golang.org/x/net/http2/hpack", "std"},
		{"slices.SortFunc[go.shape.[]string,go.shape.string]", "slices", "std"},
		{"go:func.*", "", ""},
	} {
		pkg := symbolPackage(tt.sym)
		if pkg != tt.pkg {
			t.Errorf("symbolPackage(%q) = %q, want %q", tt.sym, pkg, tt.pkg)
			continue
		}
		if pkg != "" {
			if m := moduleOf(pkg, mods); m != tt.module {
				t.Errorf("moduleOf(%q) = %q, want %q", pkg, m, tt.module)
			}
		}
	}
}

// A function meets every budget, one misses two, and one was not measured:
// the report marks each figure and lists what was missed.
func TestReportBudgets(t *testing.T) {
	sizes := []Size{{Name: floor, Bootstrap: 5_800_000, Zipped: 2_300_000}, {Name: "push", Bootstrap: 14_000_000, Zipped: 5_000_000},
		{Name: "promote", Bootstrap: 37_400_000, Zipped: 9_000_000}, {Name: "drift", Bootstrap: 20_000_000}}
	invoke := []Result{
		{Pkg: "github.com/highwayhq/highway/scripts/hello", Name: "BenchmarkInvoke", Values: map[string]float64{"cold-p50-ms": 10, "cold-p90-ms": 12, "warm-p50-ms": 0.3, "warm-p99-ms": 0.5, "peak-rss-MB": 7}},
		{Pkg: "github.com/highwayhq/highway/functions/push", Name: "BenchmarkInvoke", Values: map[string]float64{"cold-p50-ms": 15, "cold-p90-ms": 20, "warm-p50-ms": 0.6, "warm-p99-ms": 1.5, "peak-rss-MB": 30}},
		{Pkg: "github.com/highwayhq/highway/functions/promote", Name: "BenchmarkInvoke", Values: map[string]float64{"cold-p50-ms": 16, "cold-p90-ms": 20, "warm-p50-ms": 1, "warm-p99-ms": 1.4, "peak-rss-MB": 39}},
		{Pkg: "github.com/highwayhq/highway/scripts/bench", Name: "BenchmarkPing/push", Values: map[string]float64{"ping-p50-ms": 60, "floor-p50-ms": 47, "start-ms": 50.5, "policy-ms": 1, "aws-ms": 0.2, "setup-ms": 0.3, "first-ms": 8}},
		{Pkg: "github.com/highwayhq/highway/scripts/bench", Name: "BenchmarkPing/promote", Values: map[string]float64{"ping-p50-ms": 70, "floor-p50-ms": 47}},
	}
	handlers := []Result{ // three samples: the table shows the median
		{Pkg: "github.com/highwayhq/highway/shared/push", Name: "BenchmarkHandlePush", Values: map[string]float64{"ns/op": 20000, "B/op": 9234, "allocs/op": 155}},
		{Pkg: "github.com/highwayhq/highway/shared/push", Name: "BenchmarkHandlePush", Values: map[string]float64{"ns/op": 13686, "B/op": 9234, "allocs/op": 155}},
		{Pkg: "github.com/highwayhq/highway/shared/push", Name: "BenchmarkHandlePush", Values: map[string]float64{"ns/op": 12000, "B/op": 9234, "allocs/op": 155}},
	}
	rep := newReport(sizes, invoke, handlers, []string{"push", "promote", "drift"})

	if rep.Floor.ColdP50 != 10 || rep.Rows[0].Handler != "push.BenchmarkHandlePush" || rep.Rows[0].HandlerNs != 13686 || rep.Rows[0].HandlerAllocs != 155 {
		t.Errorf("floor %+v, push %+v", rep.Floor, rep.Rows[0])
	}
	if len(rep.Rows[0].Missed) != 0 {
		t.Errorf("push missed %v, want none (1.5× cold, +1.0 ms warm p99 are within)", rep.Rows[0].Missed)
	}
	if m := rep.Rows[1].Missed; len(m) != 3 || !strings.HasPrefix(m[0], "bootstrap") || !strings.HasPrefix(m[1], "cold p50") || !strings.HasPrefix(m[2], "ping p50 70.0 ms > 1.3× floor (47.0 ms)") {
		t.Errorf("promote missed %v, want bootstrap, cold start and ping", m)
	}
	if m := rep.Rows[2].Missed; len(m) != 5 {
		t.Errorf("drift, not measured, missed %v; want every budget", m)
	}
	var out bytes.Buffer
	rep.print(&out)
	for _, want := range []string{"hello (floor)", "promote          37.4 MB (6.4×) ✗", "push             14.0 MB (2.4×) ✓", "30.0 MB (4.3×) ✓", "15.0 / 20.0 (1.5×) ✓", "1.50 (+1.00) ✓", "16.0 / 20.0 (1.6×) ✗", "8 budgets missed",
		"push             47.0       60.0 (1.28×) ✓         50.5     1.0      0.2      0.3      8.0", "promote          47.0       70.0 (1.49×) ✗"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
