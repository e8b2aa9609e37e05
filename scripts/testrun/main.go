// Command testrun runs Go tests the way `go test -json -count=1` does, keeping
// the test binaries it links in build/cache/test (package linkcache): a warm
// `make test` links again only the packages whose code or dependencies
// changed. It compiles every package first (go list -export, with go's own
// compile errors), then runs -p packages at a time, the slowest of the last
// run first, each test binary in its package's folder under test2json, and
// prints the same JSON stream `go test -json` prints. It exits 1 when a test
// failed or a binary could not be linked, 2 for bad arguments.
//
// With -after-others PKG, PKG's tests find in the environment variable
// HIGHWAY_OTHERS_DONE a Unix socket that holds every connection open until
// every other package of the run has finished, then closes them (and any
// later one at once): a test that checks what the others left (the AWS calls
// they made, for one) connects and reads to the end, and runs in the same
// process as the rest of its package instead of in a second run.
//
// With -shipped PKGS, it computes once the keys under which
// localaws.BuildShipped keeps the binaries of those main packages as they
// ship, and names the file in HIGHWAY_SHIPPED_KEYS: the tests that run
// functions under the emulator then ask go nothing.
//
//	go run ./scripts/testrun [-p N] [-run RE] [-skip RE] [-tags T] [-timeout D] [-after-others PKG] [-shipped PKGS] [packages]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/localaws/linkcache"
)

// EnvOthersDone names, for the -after-others package's tests, the Unix
// socket whose connections end once every other package of the run has
// finished.
const EnvOthersDone = "HIGHWAY_OTHERS_DONE"

func main() {
	flags := flag.NewFlagSet("testrun", flag.ContinueOnError)
	p := flags.Int("p", runtime.NumCPU(), "packages run at once")
	run := flags.String("run", "", "run only the tests matching this regular expression")
	skip := flags.String("skip", "", "skip the tests matching this regular expression")
	tags := flags.String("tags", "", "build tags")
	timeout := flags.Duration("timeout", 10*time.Minute, "fail a package's tests after this long")
	cpu := flags.Bool("cpu", false, "print each package's CPU time (its test binary and what that ran) to stderr")
	afterOthers := flags.String("after-others", "", "the package whose tests may wait for every other package to finish")
	cache := flags.String("cache", filepath.Join("build", "cache", "test"), "where linked test binaries are kept")
	shipped := flags.String("shipped", "", "comma-separated main packages (paths from the module root, or patterns such as functions/...) whose shipped binaries' keys are computed once for every test (localaws.EnvShippedKeys)")
	flags.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: testrun [-cpu] [-p N] [-run RE] [-skip RE] [-tags T] [-timeout D] [-after-others PKG] [-shipped PKGS] [-cache DIR] [packages]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *p < 1 {
		fmt.Fprintln(os.Stderr, "testrun: -p must be at least 1")
		os.Exit(2)
	}
	patterns := flags.Args()
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	r := &runner{out: bufio.NewWriter(os.Stdout), cache: *cache, tags: *tags, afterOthers: *afterOthers, cpu: *cpu}
	if *shipped != "" {
		r.shipped = strings.Split(*shipped, ",")
	}
	if *tags != "" {
		r.buildFlags = []string{"-tags", *tags}
	}
	r.testFlags = []string{"-test.v=test2json", "-test.count=1", "-test.paniconexit0", "-test.timeout=" + timeout.String()}
	if *run != "" {
		r.testFlags = append(r.testFlags, "-test.run="+*run)
	}
	if *skip != "" {
		r.testFlags = append(r.testFlags, "-test.skip="+*skip)
	}
	if err := r.main(patterns, *p); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(1)
	}
	if r.failed {
		os.Exit(1)
	}
}

// runner runs the test binaries of some packages.
type runner struct {
	cache      string
	tags       string
	buildFlags []string // for go list and go test -c
	testFlags  []string // for each test binary
	test2json  string
	path       string // PATH for the tests: the toolchain's go first, as go test does

	cpu         bool     // print each package's CPU time
	afterOthers string   // the package told when the others are done
	othersDone  string   // the socket that tells it
	shipped     []string // main packages whose shipped keys the tests share
	shippedKeys string   // the file of their keys (localaws.EnvShippedKeys)

	mu     sync.Mutex // guards what follows
	out    *bufio.Writer
	failed bool
}

func (r *runner) main(patterns []string, p int) error {
	bins, err := linkcache.Keys(".", nil, r.buildFlags, true, patterns...)
	if err != nil {
		return err
	}
	tool, err := exec.Command("go", "tool", "-n", "test2json").Output()
	if err != nil {
		return fmt.Errorf("go tool -n test2json: %v", err)
	}
	r.test2json = strings.TrimSpace(string(tool))
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %v", err)
	}
	r.path = filepath.Join(strings.TrimSpace(string(goroot)), "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	if err := os.MkdirAll(r.cache, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(r.cache)
	if err != nil {
		return err
	}
	r.cache = abs

	// The slowest packages of the last run start first, so that the last to
	// finish is not a long one started late.
	took := r.durations()
	slices.SortStableFunc(bins, func(a, b linkcache.Binary) int {
		switch da, db := took[r.runName(a)], took[r.runName(b)]; {
		case da > db:
			return -1
		case da < db:
			return 1
		}
		return 0
	})
	others := 0
	for _, b := range bins {
		if b.ImportPath != r.afterOthers {
			others++
		}
	}
	dir, err := os.MkdirTemp("", "testrun-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if len(r.shipped) > 0 {
		// Every canary would otherwise ask go for its function's key.
		root, err := os.Getwd()
		if err != nil {
			return err
		}
		r.shippedKeys = filepath.Join(dir, "shipped-keys.json")
		if err := localaws.WriteShippedKeys(root, r.shippedKeys, r.shipped...); err != nil {
			return fmt.Errorf("the shipped binaries' keys: %v", err)
		}
	}
	var done *barrier
	if others < len(bins) {
		r.othersDone = filepath.Join(dir, "others-done")
		done, err = newBarrier(r.othersDone)
		if err != nil {
			return err
		}
		defer done.close()
		if others == 0 {
			done.open()
		}
	}
	if p == 1 {
		// One at a time, the package waiting for the others goes last.
		slices.SortStableFunc(bins, func(a, b linkcache.Binary) int {
			return cmpBool(a.ImportPath == r.afterOthers, b.ImportPath == r.afterOthers)
		})
	}
	work := make(chan linkcache.Binary)
	var wg sync.WaitGroup
	var tmu sync.Mutex
	for range p {
		wg.Go(func() {
			for b := range work {
				start := time.Now()
				r.test(b)
				tmu.Lock()
				took[r.runName(b)] = time.Since(start).Seconds()
				if b.ImportPath != r.afterOthers {
					if others--; others == 0 && done != nil {
						done.open()
					}
				}
				tmu.Unlock()
			}
		})
	}
	for _, b := range bins {
		work <- b
	}
	close(work)
	wg.Wait()
	r.out.Flush()
	r.keepDurations(took)
	return nil
}

// test links (or finds) one package's test binary and runs it.
func (r *runner) test(b linkcache.Binary) {
	r.event(map[string]any{"Action": "start", "Package": b.ImportPath})
	name := b.ImportPath
	if r.tags != "" {
		name += "@" + r.tags
	}
	start := time.Now()
	bin, _, err := linkcache.Get(r.cache, name, b.Key, func(out string) error {
		cmd := exec.Command("go", append(append([]string{"test", "-c", "-o", out}, r.buildFlags...), b.ImportPath)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v\n%s", err, msg)
		}
		return nil
	})
	if err != nil {
		r.event(map[string]any{"Action": "output", "Package": b.ImportPath, "Output": fmt.Sprintf("linking the test binary: %v\n", err)})
		r.event(map[string]any{"Action": "fail", "Package": b.ImportPath, "Elapsed": time.Since(start).Seconds()})
		r.fail()
		return
	}
	cmd := exec.Command(r.test2json, append([]string{"-t", "-p", b.ImportPath, bin}, r.testFlags...)...)
	cmd.Dir = b.Dir
	// As go test does: the toolchain's go first on PATH for tests that run it.
	cmd.Env = append(os.Environ(), "PATH="+r.path)
	if b.ImportPath == r.afterOthers {
		cmd.Env = append(cmd.Env, EnvOthersDone+"="+r.othersDone)
	}
	if r.shippedKeys != "" {
		cmd.Env = append(cmd.Env, localaws.EnvShippedKeys+"="+r.shippedKeys)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		r.event(map[string]any{"Action": "output", "Package": b.ImportPath, "Output": fmt.Sprintf("running the test binary: %v\n", err)})
		r.event(map[string]any{"Action": "fail", "Package": b.ImportPath})
		r.fail()
		return
	}
	lines := bufio.NewReader(stdout)
	for {
		line, err := lines.ReadBytes('\n')
		if len(line) > 0 {
			r.mu.Lock()
			r.out.Write(line)
			r.out.Flush()
			r.mu.Unlock()
		}
		if err == io.EOF {
			break
		} else if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		r.fail()
	}
	if r.cpu {
		fmt.Fprintf(os.Stderr, "testrun: %s took %.1f s of CPU\n", b.ImportPath, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds())
	}
}

// runName names a package's run with its tags and test flags, as the last
// run's durations remember it.
func (r *runner) runName(b linkcache.Binary) string {
	return strings.Join(append([]string{b.ImportPath, r.tags}, r.testFlags...), " ")
}

// barrier is a Unix socket that holds the connections made to it until it
// opens, and closes those made after at once: a reader waits for the end of
// its connection, without polling.
type barrier struct {
	l      net.Listener
	mu     sync.Mutex
	opened bool
	conns  []net.Conn
}

func newBarrier(path string) (*barrier, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	b := &barrier{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed
			}
			b.mu.Lock()
			if b.opened {
				c.Close()
			} else {
				b.conns = append(b.conns, c)
			}
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// open ends every connection held, and every one to come.
func (b *barrier) open() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened = true
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

// close stops listening and ends the connections held.
func (b *barrier) close() {
	b.l.Close()
	b.open()
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// event prints one event of the JSON stream.
func (r *runner) event(e map[string]any) {
	e["Time"] = time.Now()
	line, _ := json.Marshal(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Write(append(line, '\n'))
	r.out.Flush()
}

func (r *runner) fail() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
}

// durations reads how long each package took in the last run, in seconds.
func (r *runner) durations() map[string]float64 {
	took := map[string]float64{}
	if b, err := os.ReadFile(filepath.Join(r.cache, "durations.json")); err == nil {
		json.Unmarshal(b, &took) // an unreadable file orders nothing
	}
	return took
}

// keepDurations writes how long each package took, for the next run's order.
func (r *runner) keepDurations(took map[string]float64) {
	b, _ := json.MarshalIndent(took, "", "  ")
	tmp := filepath.Join(r.cache, fmt.Sprintf(".durations-%d", os.Getpid()))
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, filepath.Join(r.cache, "durations.json"))
	}
}
