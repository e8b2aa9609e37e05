package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestCorrelationFieldsReachEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(WithCorrelation(slog.NewJSONHandler(&buf, nil))).With("fn", "push")

	ctx := Correlate(context.Background(), Correlation{EventID: "ev-1", Commit: "abc123"})
	ctx = Correlate(ctx, Correlation{Digest: "sha256:ff"})
	log.InfoContext(ctx, "commit recorded")
	log.InfoContext(context.Background(), "no correlation")

	dec := json.NewDecoder(&buf)
	var first, second map[string]any
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"eventId": "ev-1", "commit": "abc123", "digest": "sha256:ff", "fn": "push"} {
		if first[k] != want {
			t.Errorf("first line %s = %v, want %q (line %v)", k, first[k], want, first)
		}
	}
	for _, k := range []string{"eventId", "commit", "digest"} {
		if _, ok := second[k]; ok {
			t.Errorf("line without correlation carries %s: %v", k, second)
		}
	}
}

func TestCorrelateKeepsEarlierFields(t *testing.T) {
	ctx := Correlate(context.Background(), Correlation{EventID: "e", Commit: "c"})
	ctx = Correlate(ctx, Correlation{Commit: "c2"})
	got := CorrelationFrom(ctx)
	want := Correlation{EventID: "e", Commit: "c2"}
	if got != want {
		t.Errorf("CorrelationFrom() = %+v, want %+v", got, want)
	}
}
