package main

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The budgets: a function's bootstrap at most BudgetBootstrap bytes, its
// cold-start proxy median at most BudgetColdRatio times the floor's, its ping
// cold start at most BudgetPingRatio times the floor's on the same event, its
// warm p99 at most BudgetWarmOverMS above the floor's, its peak RSS at most
// BudgetRSSMB.
const (
	BudgetBootstrap  = 15_000_000
	BudgetColdRatio  = 1.5
	BudgetPingRatio  = 1.3
	BudgetWarmOverMS = 1.0
	BudgetRSSMB      = 40.0
)

// floor is the name of the hello-world row.
const floor = "hello"

// Result is one line of go test -bench output.
type Result struct {
	// Pkg is the package's import path; Name the benchmark's, without the
	// GOMAXPROCS suffix.
	Pkg, Name string
	// Values maps each unit (ns/op, B/op, cold-p50-ms, ...) to its value.
	Values map[string]float64
}

// parseBench returns the benchmark results of go test output, and the lines
// they came from (with the pkg: lines, so benchstat can tell them apart).
func parseBench(out string) ([]Result, []string) {
	var results []Result
	var lines []string
	pkg := ""
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p
			lines = append(lines, line)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		r := Result{Pkg: pkg, Name: trimProcs(f[0]), Values: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			r.Values[f[i+1]] = v
		}
		results = append(results, r)
		lines = append(lines, line)
	}
	return results, lines
}

// trimProcs drops the -N GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 && strings.IndexFunc(name[i+1:], func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return name[:i]
	}
	return name
}

// Machine is what the figures were measured on.
type Machine struct {
	CPU   string `json:"cpu,omitempty"`
	Cores int    `json:"cores"`
	OS    string `json:"os"`
	Arch  string `json:"arch"`
	Go    string `json:"go"`
}

// Row is one function's figures (or the floor's).
type Row struct {
	Function  string  `json:"function"`
	Bootstrap int64   `json:"bootstrapBytes"`
	Zipped    int64   `json:"zippedBytes"`
	ColdP50   float64 `json:"coldP50Ms"`
	ColdP90   float64 `json:"coldP90Ms"`
	InitMs    float64 `json:"initMs"`
	WarmP50   float64 `json:"warmP50Ms"`
	WarmP99   float64 `json:"warmP99Ms"`
	PeakRSSMB float64 `json:"peakRssMB"`
	// PingP50 is the ping cold start's median, FloorPingP50 the floor's in
	// the same run, and PingSteps the median of each step of the ping's cold
	// start (start, policy, aws, setup, first), all in ms.
	PingP50       float64            `json:"pingP50Ms,omitempty"`
	FloorPingP50  float64            `json:"floorPingP50Ms,omitempty"`
	PingSteps     map[string]float64 `json:"pingStepsMs,omitempty"`
	Handler       string             `json:"handler,omitempty"`
	HandlerNs     float64            `json:"handlerNsPerOp,omitempty"`
	HandlerB      float64            `json:"handlerBytesPerOp,omitempty"`
	HandlerAllocs float64            `json:"handlerAllocsPerOp,omitempty"`
	// Missed names the budgets the function misses.
	Missed []string `json:"missed,omitempty"`
}

// Report is the whole table.
type Report struct {
	Machine Machine `json:"machine"`
	Took    string  `json:"took"`
	Budgets struct {
		BootstrapBytes int64   `json:"bootstrapBytes"`
		ColdRatio      float64 `json:"coldRatio"`
		WarmOverMs     float64 `json:"warmP99OverFloorMs"`
		PeakRSSMB      float64 `json:"peakRssMB"`
		PingRatio      float64 `json:"pingRatio"`
	} `json:"budgets"`
	Floor Row   `json:"floor"`
	Rows  []Row `json:"functions"`
	// Largest is the largest bootstrap by module.
	Largest *Breakdown `json:"largest,omitempty"`
}

// newReport assembles the rows of fns (and the floor) from the sizes, the
// invoke benchmarks and the handler benchmarks, and checks the budgets.
func newReport(sizes []Size, invoke, handlers []Result, fns []string) *Report {
	rep := &Report{}
	rep.Budgets.BootstrapBytes, rep.Budgets.ColdRatio, rep.Budgets.WarmOverMs, rep.Budgets.PeakRSSMB, rep.Budgets.PingRatio =
		BudgetBootstrap, BudgetColdRatio, BudgetWarmOverMS, BudgetRSSMB, BudgetPingRatio
	row := func(name string) Row {
		r := Row{Function: name}
		for _, s := range sizes {
			if s.Name == name {
				r.Bootstrap, r.Zipped = s.Bootstrap, s.Zipped
			}
		}
		for _, b := range invoke {
			if b.Name == "BenchmarkInvoke" && path.Base(b.Pkg) == name {
				r.ColdP50, r.ColdP90, r.InitMs = b.Values["cold-p50-ms"], b.Values["cold-p90-ms"], b.Values["init-ms"]
				r.WarmP50, r.WarmP99 = b.Values["warm-p50-ms"], b.Values["warm-p99-ms"]
				r.PeakRSSMB = b.Values["peak-rss-MB"]
			}
			if b.Name == "BenchmarkPing/"+name {
				r.PingP50, r.FloorPingP50 = b.Values["ping-p50-ms"], b.Values["floor-p50-ms"]
				r.PingSteps = map[string]float64{}
				for _, step := range PingSteps {
					r.PingSteps[step] = b.Values[step+"-ms"]
				}
			}
		}
		var samples []Result
		for _, b := range handlers {
			if strings.EqualFold(strings.TrimPrefix(b.Name, "BenchmarkHandle"), name) {
				r.Handler = path.Base(b.Pkg) + "." + b.Name
				samples = append(samples, b)
			}
		}
		if len(samples) > 0 {
			r.HandlerNs, r.HandlerB, r.HandlerAllocs = median(samples, "ns/op"), median(samples, "B/op"), median(samples, "allocs/op")
		}
		return r
	}
	rep.Floor = row(floor)
	for _, fn := range fns {
		r := row(fn)
		r.Missed = rep.check(r)
		rep.Rows = append(rep.Rows, r)
	}
	return rep
}

// PingSteps are the steps of a ping cold start, as BenchmarkPing names them
// (each reported as <step>-ms).
var PingSteps = []string{"start", "policy", "aws", "setup", "first"}

// median is the median of unit over samples (the lower middle one of an
// even count).
func median(samples []Result, unit string) float64 {
	vs := make([]float64, 0, len(samples))
	for _, r := range samples {
		vs = append(vs, r.Values[unit])
	}
	slices.Sort(vs)
	return vs[(len(vs)-1)/2]
}

// check returns the budgets r misses; a figure not measured is missed.
func (rep *Report) check(r Row) []string {
	var missed []string
	if r.Bootstrap == 0 || r.Bootstrap > BudgetBootstrap {
		missed = append(missed, fmt.Sprintf("bootstrap %s > %s", mb(r.Bootstrap), mb(BudgetBootstrap)))
	}
	if r.ColdP50 == 0 || rep.Floor.ColdP50 == 0 || r.ColdP50 > BudgetColdRatio*rep.Floor.ColdP50 {
		missed = append(missed, fmt.Sprintf("cold p50 %.1f ms > %.1f× floor", r.ColdP50, BudgetColdRatio))
	}
	if r.PingP50 == 0 || r.FloorPingP50 == 0 || r.PingP50 > BudgetPingRatio*r.FloorPingP50 {
		missed = append(missed, fmt.Sprintf("ping p50 %.1f ms > %.1f× floor (%.1f ms)", r.PingP50, BudgetPingRatio, r.FloorPingP50))
	}
	if r.WarmP99 == 0 || rep.Floor.WarmP99 == 0 || r.WarmP99 > rep.Floor.WarmP99+BudgetWarmOverMS {
		missed = append(missed, fmt.Sprintf("warm p99 %.2f ms > floor + %.0f ms", r.WarmP99, BudgetWarmOverMS))
	}
	if r.PeakRSSMB == 0 || r.PeakRSSMB > BudgetRSSMB {
		missed = append(missed, fmt.Sprintf("peak RSS %.1f MB > %.0f MB", r.PeakRSSMB, BudgetRSSMB))
	}
	return missed
}

// missed lists every function's missed budgets.
func (rep *Report) missed() []string {
	var all []string
	for _, r := range rep.Rows {
		for _, m := range r.Missed {
			all = append(all, r.Function+": "+m)
		}
	}
	return all
}

// mb is n bytes in MB (10^6), one decimal.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// ratio is a over b, 0 when b is.
func ratio[N int64 | float64](a, b N) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// mark is ✓ when ok, else ✗.
func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// print writes the table, the floor first, each figure with its budget mark.
func (rep *Report) print(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "\nmake bench: %s, %d cores, %s/%s, %s; took %s\n", m.CPU, m.Cores, m.OS, m.Arch, m.Go, rep.Took)
	fmt.Fprintf(w, "budgets: bootstrap ≤ %s; cold p50 ≤ %.1f× floor; ping p50 ≤ %.1f× floor; warm p99 ≤ floor + %.0f ms; peak RSS ≤ %.0f MB\n\n",
		mb(BudgetBootstrap), BudgetColdRatio, BudgetPingRatio, BudgetWarmOverMS, BudgetRSSMB)
	fmt.Fprintf(w, "%-16s %-24s %-9s %-24s %-8s %-24s %-18s %s\n", "function", "bootstrap", "zipped", "cold p50 / p90 ms", "init ms", "warm p50 / p99 ms", "peak RSS", "handler ns/op, B/op, allocs/op")
	f := rep.Floor
	fmt.Fprintf(w, "%-16s %-24s %-9s %-24s %-8s %-24s %-18s\n", "hello (floor)", mb(f.Bootstrap), mb(f.Zipped),
		fmt.Sprintf("%.1f / %.1f", f.ColdP50, f.ColdP90), fmt.Sprintf("%.1f", f.InitMs), fmt.Sprintf("%.2f / %.2f", f.WarmP50, f.WarmP99), fmt.Sprintf("%.1f MB", f.PeakRSSMB))
	for _, r := range rep.Rows {
		cold := ratio(r.ColdP50, f.ColdP50)
		handler := "-"
		if r.Handler != "" {
			handler = fmt.Sprintf("%.0f, %.0f, %.0f (%s)", r.HandlerNs, r.HandlerB, r.HandlerAllocs, r.Handler)
		}
		fmt.Fprintf(w, "%-16s %-24s %-9s %-24s %-8s %-24s %-18s %s\n", r.Function,
			fmt.Sprintf("%s (%.1f×) %s", mb(r.Bootstrap), ratio(r.Bootstrap, f.Bootstrap), mark(r.Bootstrap > 0 && r.Bootstrap <= BudgetBootstrap)),
			mb(r.Zipped),
			fmt.Sprintf("%.1f / %.1f (%.1f×) %s", r.ColdP50, r.ColdP90, cold, mark(cold > 0 && cold <= BudgetColdRatio)),
			fmt.Sprintf("%.1f", r.InitMs),
			fmt.Sprintf("%.2f / %.2f (%+.2f) %s", r.WarmP50, r.WarmP99, r.WarmP99-f.WarmP99, mark(r.WarmP99 > 0 && r.WarmP99 <= f.WarmP99+BudgetWarmOverMS)),
			fmt.Sprintf("%.1f MB (%.1f×) %s", r.PeakRSSMB, ratio(r.PeakRSSMB, f.PeakRSSMB), mark(r.PeakRSSMB > 0 && r.PeakRSSMB <= BudgetRSSMB)),
			handler)
	}
	rep.printPings(w)
	if missed := rep.missed(); len(missed) > 0 {
		fmt.Fprintf(w, "\n%d budgets missed (a report: BUDGET=strict makes them fail)\n", len(missed))
	}
	rep.printModules(w)
}

// printPings writes the ping cold starts beside the floor's, and their steps.
func (rep *Report) printPings(w io.Writer) {
	fmt.Fprintf(w, "\nping cold start (first answer to an event decoded and ignored without AWS calls; median of 20, alternating with the floor's), by step, ms:\n")
	fmt.Fprintf(w, "%-16s %-10s %-22s", "function", "floor", "ping")
	for _, s := range PingSteps {
		fmt.Fprintf(w, " %-8s", s)
	}
	fmt.Fprintln(w)
	for _, r := range rep.Rows {
		pr := ratio(r.PingP50, r.FloorPingP50)
		fmt.Fprintf(w, "%-16s %-10s %-22s", r.Function, fmt.Sprintf("%.1f", r.FloorPingP50),
			fmt.Sprintf("%.1f (%.2f×) %s", r.PingP50, pr, mark(pr > 0 && pr <= BudgetPingRatio)))
		for _, s := range PingSteps {
			fmt.Fprintf(w, " %-8s", fmt.Sprintf("%.1f", r.PingSteps[s]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "steps: start = the emulator's and the process's start and package initialization; policy and aws = function.Load's reading of the policy and the AWS configuration; setup = the rest of main; first = the first event, to its answer")
}

// printModules writes the largest bootstrap's size by module, the 15
// largest modules and the rest.
func (rep *Report) printModules(w io.Writer) {
	if b := rep.Largest; b != nil {
		fmt.Fprintf(w, "\nlargest bootstrap: %s, %s; its symbols (%s) by module:\n", b.Function, mb(b.Bootstrap), mb(b.Symbols))
		var rest int64
		for i, m := range b.Modules {
			if i >= 15 {
				rest += m.Bytes
				continue
			}
			fmt.Fprintf(w, "  %-60s %9s %5.1f%%\n", m.Module, mb(m.Bytes), 100*float64(m.Bytes)/float64(b.Symbols))
		}
		if rest > 0 {
			fmt.Fprintf(w, "  %-60s %9s %5.1f%%\n", fmt.Sprintf("%d other modules", len(b.Modules)-15), mb(rest), 100*float64(rest)/float64(b.Symbols))
		}
		fmt.Fprintf(w, "its sections:")
		for i, s := range b.Sections {
			if i < 6 {
				fmt.Fprintf(w, " %s %s;", s.Module, mb(s.Bytes))
			}
		}
		fmt.Fprintln(w)
		for _, v := range b.Variants {
			fmt.Fprintf(w, "%s: %s (as shipped %s, %+.1f MB)\n", v.What, mb(v.Bootstrap), mb(v.Shipped), float64(v.Bootstrap-v.Shipped)/1e6)
		}
	}
}
