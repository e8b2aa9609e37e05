package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModule writes a module of two packages: waits's test waits for the
// others to be done and then looks for what other's test left; other's test
// leaves a file. fail makes other's test fail.
func writeModule(t *testing.T, dir, marker string, fail bool) {
	t.Helper()
	otherTest := `package other

import (
	"os"
	"testing"
)

func TestLeave(t *testing.T) {
	if err := os.WriteFile(` + "`" + marker + "`" + `, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if ` + map[bool]string{true: "true", false: "false"}[fail] + ` {
		t.Fatal("failed on purpose")
	}
}
`
	waitsTest := `package waits

import (
	"io"
	"net"
	"os"
	"testing"
)

func TestAfterOthers(t *testing.T) {
	done := os.Getenv("HIGHWAY_OTHERS_DONE")
	if done == "" {
		t.Fatal("HIGHWAY_OTHERS_DONE unset")
	}
	c, err := net.Dial("unix", done)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(` + "`" + marker + "`" + `); err != nil {
		t.Fatalf("the other package had not finished: %v", err)
	}
}
`
	files := map[string]string{
		"go.mod":              "module example.com/m\n\ngo 1.24\n",
		"other/other.go":      "package other\n",
		"other/other_test.go": otherTest,
		"waits/waits.go":      "package waits\n",
		"waits/waits_test.go": waitsTest,
		"notests/notests.go":  "package notests\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runIn runs the runner over dir's packages and returns its JSON events and
// whether it saw a failure.
func runIn(t *testing.T, dir string, p int) ([]event, bool) {
	t.Helper()
	t.Chdir(dir)
	var out bytes.Buffer
	r := &runner{out: bufio.NewWriter(&out), cache: filepath.Join(dir, "cache"),
		afterOthers: "example.com/m/waits", testFlags: []string{"-test.v=test2json", "-test.count=1"}}
	if err := r.main([]string{"./..."}, p); err != nil {
		t.Fatal(err)
	}
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		events = append(events, e)
	}
	return events, r.failed
}

// event is the part of a go test -json event the tests read.
type event struct {
	Action, Package, Test string
}

// outcome is a package's last pass or fail.
func outcome(events []event, pkg string) string {
	got := ""
	for _, e := range events {
		if e.Package == pkg && e.Test == "" && (e.Action == "pass" || e.Action == "fail") {
			got = e.Action
		}
	}
	return got
}

func TestPackageWaitsForTheOthersAndBinariesAreKept(t *testing.T) {
	// GIVEN a module whose waiting package looks for what the other leaves
	dir := t.TempDir()
	marker := filepath.Join(dir, "left-by-other")
	writeModule(t, dir, marker, false)
	type binary struct {
		name string
		info os.FileInfo
	}
	var kept []binary
	for _, p := range []int{1, 2} {
		// WHEN the module's tests run, the waiting package told when the
		// others are done, p packages at a time (one: it must go last)
		os.Remove(marker)
		events, failed := runIn(t, dir, p)

		// THEN both pass, as JSON events go test -json would print, and the
		// waiting package saw what the other left
		for _, pkg := range []string{"example.com/m/other", "example.com/m/waits"} {
			if got := outcome(events, pkg); got != "pass" {
				t.Errorf("p=%d: %s %q, want pass", p, pkg, got)
			}
		}
		if failed {
			t.Errorf("p=%d: the runner saw a failure", p)
		}
		if got := outcome(events, "example.com/m/notests"); got != "" {
			t.Errorf("p=%d: a package without tests ran: %s", p, got)
		}

		// AND the two test binaries are kept, and the second run, with
		// nothing changed, links none again
		binaries, _ := filepath.Glob(filepath.Join(dir, "cache", "*", "*"))
		if len(binaries) != 2 {
			t.Fatalf("p=%d: binaries %v, want two", p, binaries)
		}
		var now []binary
		for i, b := range binaries {
			fi, err := os.Stat(b)
			if err != nil {
				t.Fatal(err)
			}
			if kept != nil && (b != kept[i].name || !os.SameFile(fi, kept[i].info)) {
				t.Errorf("p=%d: binary %s after a run that kept %s: linked again", p, b, kept[i].name)
			}
			now = append(now, binary{b, fi})
		}
		kept = now
	}
}

func TestAFailingTestFailsTheRun(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, filepath.Join(dir, "left-by-other"), true)
	events, failed := runIn(t, dir, 2)
	if !failed || outcome(events, "example.com/m/other") != "fail" {
		t.Errorf("failed = %v, other %q; want the run and the package failed", failed, outcome(events, "example.com/m/other"))
	}
}
