package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// TestBootstrapUnderEmulator runs the custom widget as built, under the
// Lambda Runtime Interface Emulator, with a real-shaped custom widget event
// (its time range ending 2026-11-18): it answers HTML whose day heatmap holds
// prod's deployment of 2026-11-17, read from DynamoDB Local; asked to
// describe itself, it answers its documentation.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := localaws.Deploy(t, "heatmap")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)
	done := time.Date(2026, 11, 17, 11, 32, 27, 0, time.UTC)
	if err := l.Put(ctx, &ledger.Deployment{Header: ledger.Header{ID: "dep-1", App: "checkout", Env: "prod", Digest: "sha256:e648", At: done.Add(-5 * time.Minute)},
		PromotionID: "prm-1", Status: ledger.DeploymentSuccess, FinishedAt: done}); err != nil {
		t.Fatal(err)
	}
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	raw, err := os.ReadFile("../../events/cloudwatch-custom-widget.json")
	if err != nil {
		t.Fatal(err)
	}
	invoke := func(event []byte) string {
		t.Helper()
		body, err := emu.Invoke(ctx, event)
		if err != nil || strings.Contains(string(body), `"errorMessage"`) {
			t.Fatalf("invoke: %s, %v\nlog:\n%s", body, err, emu.Log())
		}
		var out string
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("response %s is not a string: %v", body, err)
		}
		return out
	}
	html := invoke(raw)
	for _, want := range []string{`<svg id="days"`, `data-date="2026-11-17" data-count="1"`, `data-date="2026-11-18" data-count="0"`,
		`<tr data-app="checkout" data-env="prod" data-window="1d">`} {
		if !strings.Contains(html, want) {
			t.Errorf("the widget's HTML lacks %s", want)
		}
	}
	if doc := invoke([]byte(`{"describe": true}`)); !strings.Contains(doc, "## Highway deployments") {
		t.Errorf("describe → %q", doc)
	}
}
