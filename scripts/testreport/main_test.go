package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// stream is `go test -json` output for: a package whose contract suite passed
// against memory and failed once against dynamodb, one with a skipped test, and
// one that did not build.
const stream = `{"Action":"run","Package":"h/ledger","Test":"TestContract"}
{"Action":"run","Package":"h/ledger","Test":"TestContract/memory/put"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/memory/put"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/memory/read"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/memory"}
{"Action":"output","Package":"h/ledger","Test":"TestContract/dynamodb/put","Output":"    ledger_test.go:9: Put() = stale\n"}
{"Action":"fail","Package":"h/ledger","Test":"TestContract/dynamodb/put"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/dynamodb/read"}
{"Action":"fail","Package":"h/ledger","Test":"TestContract/dynamodb"}
{"Action":"fail","Package":"h/ledger","Test":"TestContract"}
{"Action":"fail","Package":"h/ledger","Elapsed":1.5}
{"Action":"output","Package":"h/push","Test":"TestCanary","Output":"    main_test.go:3: HIGHWAY_RIE is unset: run make test\n"}
{"Action":"output","Package":"h/push","Test":"TestCanary","Output":"--- SKIP: TestCanary (0.00s)\n"}
{"Action":"skip","Package":"h/push","Test":"TestCanary"}
{"Action":"output","Package":"h/push","Test":"TestOther","Output":"    scale_test.go:9: figure: hub: 206 of 500 resources\n"}
{"Action":"pass","Package":"h/push","Test":"TestOther"}
{"Action":"pass","Package":"h/push","Elapsed":0.2}
{"Action":"build-output","Package":"h/broken","Output":"broken.go:3:1: syntax error\n"}
{"Action":"fail","Package":"h/broken"}
`

func TestReport(t *testing.T) {
	tests := []struct {
		name   string
		give   string
		noskip bool
		wantOK bool
		want   []string
	}{
		{"failures, skips and build errors", stream, false, false, []string{
			"FAIL h/ledger", "4 passed, 3 failed, 0 skipped",
			"h/ledger TestContract/dynamodb", "1 passed, 1 failed",
			"h/ledger TestContract/memory", "2 passed, 0 failed",
			"--- FAIL: h/ledger TestContract/dynamodb/put\n        ledger_test.go:9: Put() = stale",
			"FAIL h/broken", "broken.go:3:1: syntax error",
			"h/push TestCanary: main_test.go:3: HIGHWAY_RIE is unset",
			"\nfigures:\n  h/push: hub: 206 of 500 resources\n",
			"\n5 passed, 3 failed, 1 skipped\n",
		}},
		{"a skip passes by default", onlyPackage(stream, "h/push"), false, true, []string{"PASS h/push", "1 passed, 0 failed, 1 skipped"}},
		{"a skip fails with -noskip", onlyPackage(stream, "h/push"), true, false, []string{"tests were skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReport(regexp.MustCompile(`TestContract/[^/]+$`))
			inputs, readErr := feed(strings.NewReader(tt.give), nil)
			var out bytes.Buffer
			r.follow(&out, inputs)
			if err := readErr(); err != nil {
				t.Fatal(err)
			}
			if ok := r.summary(&out, tt.noskip); ok != tt.wantOK {
				t.Errorf("summary() = %v, want %v\n%s", ok, tt.wantOK, out.String())
			}
			if strings.Contains(out.String(), "--- FAIL: h/ledger TestContract\n") {
				t.Errorf("report shows a parent that failed only through its subtest:\n%s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func onlyPackage(s, pkg string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `"Package":"`+pkg+`"`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestReportStreams follows a recorded `go test -json` of three packages run
// side by side (scripts/hello has no test to run and finishes last) one
// input at a time, as the clock ticks in between: it says Go is compiling
// before any package starts, prints a package's line as soon as the package
// finishes, and, after two silent ticks, the packages still running and for
// how long. Each send returns once follow has taken the input, so follow
// has handled every input before it: the test reads what it printed then.
func TestReportStreams(t *testing.T) {
	raw, err := os.ReadFile("testdata/go-test.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var lines []input
	for l := range bytes.Lines(raw) {
		lines = append(lines, input{line: bytes.TrimSuffix(l, []byte("\n"))})
	}
	// find is the index of the line with package pkg's action: pass ends it, start starts it.
	find := func(action, pkg string) int {
		i := slices.IndexFunc(lines, func(in input) bool {
			var e event
			return json.Unmarshal(in.line, &e) == nil && e.Action == action && e.Package == module+pkg && e.Test == ""
		})
		if i < 0 {
			t.Fatalf("the recording has no %s of %s", action, pkg)
		}
		return i
	}
	awserrDone, gateStarts := find("pass", "shared/awserr"), find("start", "shared/gate")
	if find("start", "scripts/hello") > awserrDone || find("pass", "scripts/hello") < gateStarts {
		t.Fatal("the recording no longer runs scripts/hello beside the others")
	}

	var out lockedBuffer
	r := newReport(nil)
	inputs := make(chan input)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.follow(&out, inputs)
	}()
	send := func(ins ...input) {
		for _, in := range ins {
			inputs <- in
		}
	}
	tick := input{tick: true}
	lastLine := func() string {
		all := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		return all[len(all)-1]
	}

	send(tick, tick, lines[0])
	if got, want := lastLine(), "… 20s: Go is compiling the tests; no package has started yet"; got != want {
		t.Errorf("after two ticks before any package, the report says %q, want %q", got, want)
	}
	send(lines[1:awserrDone]...)
	send(tick) // awserr, scripts/hello and no line yet: 30s
	send(lines[awserrDone : gateStarts+2]...)
	if got := out.String(); !strings.Contains(got, "PASS "+module+"shared/awserr") || strings.Contains(got, "shared/gate ") {
		t.Errorf("once awserr finished and gate started, the report is\n%s\nwant awserr's line, and none of gate's", got)
	}
	send(tick, tick, lines[gateStarts+2])
	if got, want := lastLine(), "… 50s: 1 package done; running scripts/hello (30s), shared/gate (20s)"; got != want {
		t.Errorf("after two silent ticks, the report says %q, want %q", got, want)
	}
	send(lines[gateStarts+3:]...)
	close(inputs)
	<-done

	if ok := r.summary(&out, true); !ok {
		t.Errorf("summary() = false, want true\n%s", out.String())
	}
	got := out.String()
	if strings.Contains(got, "PASS "+module+"scripts/hello") {
		t.Errorf("a package without a test to run has a line:\n%s", got)
	}
	if i, j := strings.Index(got, "shared/gate "), strings.Index(got, "\n17 passed, 0 failed, 0 skipped\n"); i < 0 || j < i {
		t.Errorf("the report ends\n%s\nwant gate's line, then 17 passed, 0 failed, 0 skipped", got)
	}
}

// TestFeedEndsWithItsInput sends every line, then closes.
func TestFeedEndsWithItsInput(t *testing.T) {
	inputs, readErr := feed(strings.NewReader("a\nb\n"), nil)
	var got []string
	for in := range inputs {
		got = append(got, string(in.line))
	}
	if err := readErr(); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("feed sent %q, %v; want a, b", got, err)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
