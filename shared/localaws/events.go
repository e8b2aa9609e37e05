package localaws

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// SampleFile is the sample event events/<name> of the module, as it is
// stored: the payload an invocation sends.
func SampleFile(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot(tb), "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// Sample reads the sample event events/<name> of the module as a T (an
// events.CloudWatchEvent, a Function URL request, a pipeline job, ...).
func Sample[T any](tb testing.TB, name string) T {
	tb.Helper()
	var ev T
	if err := json.Unmarshal(SampleFile(tb, name), &ev); err != nil {
		tb.Fatalf("events/%s does not decode: %v", name, err)
	}
	return ev
}

// Event reads the sample EventBridge event events/<name> of the module, and
// applies edit (when not nil) to its detail, for tests that need a variant of a
// real-shaped event.
func Event(tb testing.TB, name string, edit func(detail map[string]any)) events.CloudWatchEvent {
	tb.Helper()
	ev := Sample[events.CloudWatchEvent](tb, name)
	if edit != nil {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			tb.Fatal(err)
		}
		edit(d)
		var err error
		if ev.Detail, err = json.Marshal(d); err != nil {
			tb.Fatal(err)
		}
	}
	return ev
}

// moduleRoot is the folder holding go.mod, above the test's working directory.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// ModuleRoot is the folder of go.mod, from the working directory up: Highway's
// folder, for tests and the commands under scripts/.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run it from Highway's folder")
		}
		dir = parent
	}
}
