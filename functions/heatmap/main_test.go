package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// deploy prepares the custom widget with prod's deployment of 2026-11-17 on
// the ledger in DynamoDB Local.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "heatmap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := ledger.NewDynamo(localaws.DynamoDB(tb), d.Table)
	done := time.Date(2026, 11, 17, 11, 32, 27, 0, time.UTC)
	if err := l.Put(ctx, &ledger.Deployment{Header: ledger.Header{ID: "dep-1", App: "checkout", Env: "prod", Digest: "sha256:e648", At: done.Add(-5 * time.Minute)},
		PromotionID: "prm-1", Status: ledger.DeploymentSuccess, FinishedAt: done}); err != nil {
		tb.Fatal(err)
	}
	return d
}

// sampleEvent is the custom widget event from events/, its time range
// ending 2026-11-18.
func sampleEvent(tb testing.TB) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, "cloudwatch-custom-widget.json")
}

// pageHolds is what the widget's HTML holds for the sample event: the day
// heatmap with prod's deployment on 2026-11-17 and none on the 18th, and
// prod's row of the day's metrics.
var pageHolds = []string{`<svg id="days"`, `data-date="2026-11-17" data-count="1"`, `data-date="2026-11-18" data-count="0"`,
	`<tr data-app="checkout" data-env="prod" data-window="1d">`}

// TestBootstrapUnderEmulator runs the custom widget as built, under the
// Lambda Runtime Interface Emulator, with a real-shaped custom widget event
// (its time range ending 2026-11-18): it answers HTML whose day heatmap holds
// prod's deployment of 2026-11-17, read from DynamoDB Local; asked to
// describe itself, it answers its documentation.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
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
	html := invoke(sampleEvent(t))
	for _, want := range pageHolds {
		if !strings.Contains(html, want) {
			t.Errorf("the widget's HTML lacks %s", want)
		}
	}
	if doc := invoke([]byte(`{"describe": true}`)); !strings.Contains(doc, "## Highway deployments") {
		t.Errorf("describe → %q", doc)
	}
	for _, params := range []string{`{}`, `{"app": "no-such-app"}`} {
		event := strings.Replace(string(sampleEvent(t)), `{
      "app": "checkout"
    }`, params, 1)
		if html := invoke([]byte(event)); !strings.Contains(html, "give it the parameter <code>app</code>") || strings.Contains(html, "<svg") {
			t.Errorf("params %s → %q, want the widget to ask for one app and read nothing", params, html)
		}
	}
}

// BenchmarkInvoke measures heatmap as built, under the emulator, with the
// sample custom widget event (localaws.BenchInvoke); make bench runs it. The
// widget only reads the ledger, so every redelivery renders the same page,
// which the check requires to hold prod's deployment.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, sampleEvent(b), func(body []byte) error {
		var html string
		if err := json.Unmarshal(body, &html); err != nil {
			return fmt.Errorf("response %s is not a string: %w", body, err)
		}
		for _, want := range pageHolds {
			if !strings.Contains(html, want) {
				return fmt.Errorf("the widget's HTML lacks %s", want)
			}
		}
		return nil
	})
}
