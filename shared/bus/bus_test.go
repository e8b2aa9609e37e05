package bus

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/highwayhq/highway/shared/awsfake"
)

type putEntry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Time         float64
}

func TestEventBridgePublishesInBatchesOfTen(t *testing.T) {
	srv := awsfake.New(t)
	srv.OnFunc("PutEvents", func(r awsfake.Request) awsfake.Response {
		var in struct{ Entries []putEntry }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "ValidationException", err.Error())
		}
		entries := strings.Repeat(`{"EventId":"e"},`, len(in.Entries))
		return awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[`+strings.TrimSuffix(entries, ",")+`]}`)
	})
	srv.Inject(awsfake.Fault{Operation: "PutEvents", Kind: awsfake.Throttle, First: 1})
	b := NewEventBridge(eventbridge.NewFromConfig(srv.Config()), "highway")

	at := time.Date(2026, 11, 17, 9, 42, 18, 0, time.UTC)
	var evs []Event
	for i := range 23 {
		evs = append(evs, Event{DetailType: "Commit Recorded", Detail: map[string]int{"n": i}, Time: at})
	}
	if err := b.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}

	// Batches of 10, 10 and 3, the first throttled once and retried by the
	// SDK: one call each, however many attempts the SDK took.
	if first := srv.Calls("PutEvents")[0]; first.Fault != awsfake.Throttle {
		t.Errorf("first PutEvents attempt fault = %v, want Throttle", first.Fault)
	}
	var sizes []int
	for _, c := range srv.Invocations("PutEvents") {
		var in struct{ Entries []putEntry }
		if err := c.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(in.Entries))
		e := in.Entries[0]
		if e.EventBusName != "highway" || e.Source != Source || e.DetailType != "Commit Recorded" || int64(e.Time) != at.Unix() {
			t.Errorf("entry = %+v", e)
		}
	}
	if fmt.Sprint(sizes) != "[10 10 3]" {
		t.Errorf("batch sizes = %v, want [10 10 3]", sizes)
	}
}

func TestEventBridgeRejectedEntriesAreAnError(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":1,"Entries":[{"EventId":"a"},{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`))
	b := NewEventBridge(eventbridge.NewFromConfig(srv.Config()), "highway")
	err := b.Publish(context.Background(), Event{DetailType: "A", Detail: 1}, Event{DetailType: "B", Detail: 2})
	if err == nil || !strings.Contains(err.Error(), "B: InternalFailure try again") {
		t.Errorf("Publish() error = %v, want the rejected entry named", err)
	}
}

func TestPublishRefusesEventsItCannotEncode(t *testing.T) {
	tests := []struct {
		name string
		give Event
		want string
	}{
		{"no detail type", Event{Detail: 1}, "without a detail type"},
		{"unencodable detail", Event{DetailType: "X", Detail: func() {}}, "encode X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			b := NewEventBridge(eventbridge.NewFromConfig(srv.Config()), "highway")
			err := b.Publish(context.Background(), tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Publish() error = %v, want %q", err, tt.want)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent for an invalid event, want 0", n)
			}
		})
	}
}

func TestDryRunPrintsInsteadOfPublishing(t *testing.T) {
	var buf bytes.Buffer
	err := DryRun{W: &buf}.Publish(context.Background(), Event{DetailType: "Commit Recorded", Detail: map[string]string{"commit": "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `dry-run: would publish "Commit Recorded" {"commit":"abc"}` + "\n"; buf.String() != want {
		t.Errorf("DryRun wrote %q, want %q", buf.String(), want)
	}
}

func TestDryRunShortensLongDetails(t *testing.T) {
	var buf bytes.Buffer
	err := DryRun{W: &buf, Max: 20}.Publish(context.Background(), Event{DetailType: "Gate Decided", Detail: map[string]string{"reason": strings.Repeat("é", 40)}})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(buf.String(), "\n")
	if !strings.HasSuffix(line, "…") || !utf8.ValidString(line) || len(line) > len(`dry-run: would publish "Gate Decided" `)+20+len("…") {
		t.Errorf("DryRun{Max: 20} wrote %q, want the detail cut to 20 bytes of valid UTF-8 and an ellipsis", line)
	}
}
