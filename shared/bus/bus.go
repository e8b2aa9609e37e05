// Package bus publishes Highway's domain events ("Commit Recorded", "Gate
// Decided", "Artifact Promoted", ...) to Highway's EventBridge bus, where the
// other functions and the users' own tools subscribe to them.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Source is the EventBridge source of every event Highway publishes.
const Source = "highway"

// maxEntries is how many entries EventBridge takes in one PutEvents call.
const maxEntries = 10

// Event is one domain event.
type Event struct {
	// DetailType names the event, for example "Commit Recorded".
	DetailType string
	// Detail is marshalled to JSON as the event's detail.
	Detail any
	// Resources are the ARNs the event concerns, if any.
	Resources []string
	// Time is when the fact happened; the bus's receive time when zero.
	Time time.Time
}

// Publisher sends domain events to the bus.
type Publisher interface {
	Publish(ctx context.Context, events ...Event) error
}

// putEventsAPI is the part of the EventBridge client the publisher uses.
type putEventsAPI interface {
	PutEvents(ctx context.Context, params *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ putEventsAPI = (*eventbridge.Client)(nil)

// EventBridge publishes to a named event bus.
type EventBridge struct {
	client putEventsAPI
	bus    string
}

// NewEventBridge returns a publisher to the bus called name.
func NewEventBridge(client putEventsAPI, name string) *EventBridge {
	return &EventBridge{client: client, bus: name}
}

// Publish sends events in batches of ten. Entries EventBridge rejects are an
// error naming each one's code, so that the invocation is retried.
func (b *EventBridge) Publish(ctx context.Context, events ...Event) error {
	entries, err := Entries(b.bus, events)
	if err != nil {
		return err
	}
	for start := 0; start < len(entries); start += maxEntries {
		batch := entries[start:min(start+maxEntries, len(entries))]
		out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			return fmt.Errorf("put events on %s: %w", b.bus, err)
		}
		if out.FailedEntryCount > 0 {
			var failed []string
			for i, r := range out.Entries {
				if r.ErrorCode != nil {
					failed = append(failed, fmt.Sprintf("%s: %s %s", aws.ToString(batch[i].DetailType), aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
				}
			}
			return fmt.Errorf("put events on %s: %d rejected: %s", b.bus, out.FailedEntryCount, strings.Join(failed, "; "))
		}
	}
	return nil
}

// Entries turns events into PutEvents entries for bus.
func Entries(bus string, events []Event) ([]ebtypes.PutEventsRequestEntry, error) {
	entries := make([]ebtypes.PutEventsRequestEntry, 0, len(events))
	for _, e := range events {
		if e.DetailType == "" {
			return nil, errors.New("event without a detail type")
		}
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.DetailType, err)
		}
		entry := ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String(bus),
			Source:       aws.String(Source),
			DetailType:   aws.String(e.DetailType),
			Detail:       aws.String(string(detail)),
			Resources:    e.Resources,
		}
		if !e.Time.IsZero() {
			entry.Time = aws.Time(e.Time)
		}
		entries = append(entries, entry)
	}
	return entries, nil
}

// DryRun prints what it would publish instead of publishing it.
type DryRun struct {
	// W receives one line per event.
	W io.Writer
	// Max, when above zero, shortens each printed detail to about Max bytes.
	Max int
}

// Publish writes one "would publish" line per event.
func (d DryRun) Publish(_ context.Context, events ...Event) error {
	for _, e := range events {
		var detail strings.Builder
		enc := json.NewEncoder(&detail)
		enc.SetEscapeHTML(false) // the line is read by people, not a browser
		if err := enc.Encode(e.Detail); err != nil {
			return fmt.Errorf("encode %s: %w", e.DetailType, err)
		}
		text := strings.TrimSuffix(detail.String(), "\n")
		if d.Max > 0 && len(text) > d.Max {
			text = strings.ToValidUTF8(text[:d.Max], "") + "…"
		}
		if _, err := fmt.Fprintf(d.W, "dry-run: would publish %q %s\n", e.DetailType, text); err != nil {
			return err
		}
	}
	return nil
}
