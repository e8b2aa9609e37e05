// Command testreport reads `go test -json` on stdin and prints a short report: one
// line per package, the named suites with how many of their tests passed, the
// figures tests log (lines "figure: ..."), the full output of every failed
// test, and a closing "N passed, N failed, N skipped" line. It exits non-zero when a test or a build failed, or, with -noskip, when
// any test was skipped (under `make test` every local service is running, so a
// skip means something was left out).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type counts struct{ pass, fail, skip int }

// module is the module path, left out of the package names figures show.
const module = "github.com/highwayhq/highway/"

type report struct {
	suites   *regexp.Regexp
	output   map[string][]string // package + test → its output lines
	pkgOut   map[string][]string // package → output outside tests (build errors)
	pkgs     []string
	pkgState map[string]string
	pkgTime  map[string]float64
	pkgCount map[string]*counts
	suite    map[string]*counts // package + suite → counts of the tests below it
	total    counts
	failed   []string
	skipped  []string
	figures  []string // package: figure, in the order logged
}

// figureMark starts a line a test logs as a figure for the report, such as a
// quota's headroom: t.Logf("figure: %v", f).
const figureMark = "figure: "

func main() {
	suites := flag.String("suites", "", "regexp of test names whose subtests are counted and shown, e.g. 'TestContract/[^/]+$'")
	noskip := flag.Bool("noskip", false, "fail when any test was skipped")
	flag.Parse()
	var re *regexp.Regexp
	if *suites != "" {
		re = regexp.MustCompile(*suites)
	}
	r := newReport(re)
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	ok := r.print(os.Stdout, *noskip)
	if !ok {
		os.Exit(1)
	}
}

// newReport returns an empty report that counts the subtests of tests whose
// names match suites (nil: none).
func newReport(suites *regexp.Regexp) *report {
	return &report{
		suites: suites, output: map[string][]string{}, pkgOut: map[string][]string{}, pkgState: map[string]string{},
		pkgTime: map[string]float64{}, pkgCount: map[string]*counts{}, suite: map[string]*counts{},
	}
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Println(string(line)) // not test2json: a build or vet message
			continue
		}
		r.add(e)
	}
	return sc.Err()
}

func (r *report) add(e event) {
	if _, seen := r.pkgCount[e.Package]; !seen && e.Package != "" {
		r.pkgs = append(r.pkgs, e.Package)
		r.pkgCount[e.Package] = &counts{}
	}
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output", "build-output":
		if e.Test != "" {
			r.output[key] = append(r.output[key], e.Output)
			if _, figure, ok := strings.Cut(e.Output, figureMark); ok {
				r.figures = append(r.figures, strings.TrimPrefix(e.Package, module)+": "+strings.TrimSpace(figure))
			}
		} else {
			r.pkgOut[e.Package] = append(r.pkgOut[e.Package], e.Output)
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			r.pkgState[e.Package] = e.Action
			r.pkgTime[e.Package] = e.Elapsed
			return
		}
		c := r.pkgCount[e.Package]
		bump(c, e.Action)
		bump(&r.total, e.Action)
		switch e.Action {
		case "fail":
			r.failed = append(r.failed, key)
		case "skip":
			r.skipped = append(r.skipped, key)
		}
		if r.suites != nil {
			for name := e.Test; name != ""; name = parent(name) {
				if r.suites.MatchString(name) && name != e.Test {
					sk := e.Package + " " + name
					if r.suite[sk] == nil {
						r.suite[sk] = &counts{}
					}
					bump(r.suite[sk], e.Action)
				}
			}
		}
	}
}

func bump(c *counts, action string) {
	switch action {
	case "pass":
		c.pass++
	case "fail":
		c.fail++
	case "skip":
		c.skip++
	}
}

func parent(test string) string {
	if i := strings.LastIndexByte(test, '/'); i >= 0 {
		return test[:i]
	}
	return ""
}

func (r *report) print(w io.Writer, noskip bool) bool {
	ok := true
	for _, p := range r.pkgs {
		c := r.pkgCount[p]
		state := r.pkgState[p]
		if state == "" {
			state = "fail" // no verdict: the test binary crashed or did not build
		}
		if state == "fail" {
			ok = false
		}
		if c.pass+c.fail+c.skip == 0 && state != "fail" {
			continue // a package without tests
		}
		fmt.Fprintf(w, "%-4s %-55s %6s  %d passed, %d failed, %d skipped\n", strings.ToUpper(state), p,
			(time.Duration(r.pkgTime[p]*1000) * time.Millisecond).String(), c.pass, c.fail, c.skip)
		if state == "fail" && c.fail == 0 {
			fmt.Fprint(w, indent(strings.Join(r.pkgOut[p], "")))
		}
	}
	if len(r.suite) > 0 {
		fmt.Fprintln(w, "\nsuites:")
		keys := make([]string, 0, len(r.suite))
		for k := range r.suite {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c := r.suite[k]
			fmt.Fprintf(w, "  %-80s %d passed, %d failed, %d skipped\n", k, c.pass, c.fail, c.skip)
		}
	}
	if len(r.figures) > 0 {
		fmt.Fprintln(w, "\nfigures:")
		for _, f := range r.figures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	for _, k := range r.failed {
		if slices.ContainsFunc(r.failed, func(other string) bool { return strings.HasPrefix(other, k+"/") }) {
			continue // failed through a subtest, which is shown
		}
		fmt.Fprintf(w, "\n--- FAIL: %s\n%s", k, indent(strings.Join(r.output[k], "")))
	}
	if len(r.skipped) > 0 {
		fmt.Fprintln(w, "\nskipped:")
		for _, k := range r.skipped {
			fmt.Fprintf(w, "  %s: %s", k, lastLine(r.output[k]))
		}
		if noskip {
			fmt.Fprintln(w, "tests were skipped although every local service should be running")
			ok = false
		}
	}
	if r.total.fail > 0 {
		ok = false
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", r.total.pass, r.total.fail, r.total.skip)
	return ok
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "---") {
			return l + "\n"
		}
	}
	return "\n"
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
