package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestDemoPrintsTheTimeline(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-events", "../../events", "-policy", "../../infra/highway.yaml"}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	golden := "testdata/demo.golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("demo output differs from %s (go test ./scripts/highway -update to accept):\n%s", golden, out.String())
	}
	// The redelivered push must be recognised, and the timeline hold one commit.
	if !strings.Contains(out.String(), `"outcome":"duplicate"`) {
		t.Error("the redelivered push was not reported as a duplicate")
	}
	if n := strings.Count(out.String(), "  commit  "); n != 3 {
		t.Errorf("timelines show %d commit lines, want 3: two pushes brought three commits", n)
	}
}

func TestDemoFailsOnMissingEvents(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-events", t.TempDir(), "-policy", "../../infra/highway.yaml"}, &out)
	if err == nil || !strings.Contains(err.Error(), "codecommit-getcommit.json") {
		t.Errorf("demo without events = %v, want an error naming the missing file", err)
	}
}

// A route added without a local handler must break the demo, not be skipped.
func TestEveryRouteHasALocalHandler(t *testing.T) {
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newLocal(&bytes.Buffer{}, p, ledger.NewMemory(), samples{})
	if err != nil {
		t.Fatalf("newLocal() = %v", err)
	}
	for _, r := range route.Routes(p) {
		if rt.handlers[r.Function] == nil {
			t.Errorf("route %q has no local handler", r.Function)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	err := run(context.Background(), []string{"deploy"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `unknown command "deploy"`) {
		t.Errorf("run(deploy) = %v, want an unknown-command error", err)
	}
}
