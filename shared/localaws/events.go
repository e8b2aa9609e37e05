package localaws

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Sample reads the sample event events/<name> of the module as a T (an
// events.CloudWatchEvent, a Function URL request, a pipeline job, ...).
func Sample[T any](tb testing.TB, name string) T {
	tb.Helper()
	path := filepath.Join(moduleRoot(tb), "events", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var ev T
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatalf("%s does not decode: %v", path, err)
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
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}
