// Command testreport reads `go test -json` on stdin and prints a short report:
// one line per package as soon as the package finishes, and at the end the
// named suites with how many of their tests passed, the figures tests log
// (lines "figure: ..."), the full output of every failed test, and a closing
// "N passed, N failed, N skipped" line. When nothing was printed for 20
// seconds, it says what it waits for: Go compiling, or the packages started
// and not finished. It exits non-zero when a test or a build failed, or, with
// -noskip, when any test was skipped (under `make test` every local service
// is running, so a skip means something was left out).
package main

import (
	"bufio"
	"bytes"
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

	ok      bool                     // no package line so far showed a failure
	started map[string]time.Duration // package started and not finished → when
	done    int                      // packages finished
	elapsed time.Duration            // ticks seen × tick
	silent  int                      // ticks since the report last printed
}

// tick is how often the report looks at the clock; after quiet ticks without
// a line printed, it says what it waits for.
const (
	tick  = 10 * time.Second
	quiet = 2
)

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
	clock := time.NewTicker(tick)
	defer clock.Stop()
	inputs, readErr := feed(os.Stdin, clock.C)
	r.follow(os.Stdout, inputs)
	if err := readErr(); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if !r.summary(os.Stdout, *noskip) {
		os.Exit(1)
	}
}

// newReport returns an empty report that counts the subtests of tests whose
// names match suites (nil: none).
func newReport(suites *regexp.Regexp) *report {
	return &report{
		suites: suites, output: map[string][]string{}, pkgOut: map[string][]string{}, pkgState: map[string]string{},
		pkgTime: map[string]float64{}, pkgCount: map[string]*counts{}, suite: map[string]*counts{},
		ok: true, started: map[string]time.Duration{},
	}
}

// An input is what the report follows: a line of `go test -json`, or a tick
// of the clock.
type input struct {
	line []byte
	tick bool
}

// feed sends the lines of in, and a tick for each of ticks, on the channel
// it returns, which it closes after the last line; err then says why
// reading stopped early, if it did.
func feed(in io.Reader, ticks <-chan time.Time) (inputs <-chan input, err func() error) {
	out := make(chan input)
	read := make(chan struct{})
	var readErr error
	go func() {
		defer close(read)
		sc := bufio.NewScanner(in)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			out <- input{line: bytes.Clone(sc.Bytes())}
		}
		readErr = sc.Err()
	}()
	go func() {
		defer close(out)
		for {
			select {
			case <-read:
				return
			case <-ticks:
				select {
				case out <- input{tick: true}:
				case <-read:
					return
				}
			}
		}
	}()
	return out, func() error { return readErr }
}

// follow reads inputs until they end, printing each package's line as soon
// as it finishes, and what the report waits for when it has printed nothing
// for quiet ticks.
func (r *report) follow(w io.Writer, inputs <-chan input) {
	for in := range inputs {
		if in.tick {
			r.elapsed += tick
			if r.silent++; r.silent >= quiet {
				r.waiting(w)
			}
			continue
		}
		var e event
		if err := json.Unmarshal(in.line, &e); err != nil || e.Action == "" {
			fmt.Fprintln(w, string(in.line)) // not test2json: a build or vet message
			r.silent = 0
			continue
		}
		r.add(e)
		if e.Test == "" && finished(e.Action) {
			if r.line(w, e.Package) {
				r.silent = 0
			}
		}
	}
}

// finished is whether a package's action is its verdict.
func finished(action string) bool {
	return action == "pass" || action == "fail" || action == "skip"
}

// waiting says what the report waits for: Go compiling the first packages,
// or the packages started and not finished, for how long.
func (r *report) waiting(w io.Writer) {
	r.silent = 0
	if r.done == 0 && len(r.started) == 0 {
		fmt.Fprintf(w, "… %s: Go is compiling the tests; no package has started yet\n", r.elapsed)
		return
	}
	done := fmt.Sprintf("%d packages done", r.done)
	switch r.done {
	case 0:
		done = "no package done yet"
	case 1:
		done = "1 package done"
	}
	if len(r.started) == 0 {
		fmt.Fprintf(w, "… %s: %s; the next are compiling\n", r.elapsed, done)
		return
	}
	var running []string
	for _, p := range r.pkgs {
		if since, ok := r.started[p]; ok {
			running = append(running, fmt.Sprintf("%s (%s)", strings.TrimPrefix(p, module), r.elapsed-since))
		}
	}
	fmt.Fprintf(w, "… %s: %s; running %s\n", r.elapsed, done, strings.Join(running, ", "))
}

func (r *report) add(e event) {
	if _, seen := r.pkgCount[e.Package]; !seen && e.Package != "" {
		r.pkgs = append(r.pkgs, e.Package)
		r.pkgCount[e.Package] = &counts{}
	}
	key := e.Package + " " + e.Test
	switch e.Action {
	case "start":
		if e.Test == "" {
			r.started[e.Package] = r.elapsed
		}
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
			delete(r.started, e.Package)
			r.done++
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

// line prints package p's line, with its build errors when it failed
// without a failed test, and says whether it printed one: a package without
// tests that passed has none.
func (r *report) line(w io.Writer, p string) bool {
	c := r.pkgCount[p]
	state := r.pkgState[p]
	if state == "" {
		state = "fail" // no verdict: the test binary crashed or did not build
	}
	if state == "fail" {
		r.ok = false
	}
	if c.pass+c.fail+c.skip == 0 && state != "fail" {
		return false // a package without tests
	}
	fmt.Fprintf(w, "%-4s %-55s %6s  %d passed, %d failed, %d skipped\n", strings.ToUpper(state), p,
		(time.Duration(r.pkgTime[p]*1000) * time.Millisecond).String(), c.pass, c.fail, c.skip)
	if state == "fail" && c.fail == 0 {
		fmt.Fprint(w, indent(strings.Join(r.pkgOut[p], "")))
	}
	return true
}

// summary prints the lines of the packages that never finished, then the
// suites, the figures, the failed tests' output, the skipped tests and the
// totals. It says whether everything passed.
func (r *report) summary(w io.Writer, noskip bool) bool {
	for _, p := range r.pkgs {
		if r.pkgState[p] == "" {
			r.line(w, p)
		}
	}
	ok := r.ok
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
