package push

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// publisher is a hand-written fake of bus.Publisher that records what it is
// given, and fails while fail is set.
type publisher struct {
	events []bus.Event
	fail   error
}

func (p *publisher) Publish(_ context.Context, evs ...bus.Event) error {
	if p.fail != nil {
		return p.fail
	}
	p.events = append(p.events, evs...)
	return nil
}

// counter is a hand-written fake of the metrics sink: it adds up each metric
// by name and App dimension.
type counter map[string]float64

func (c *counter) Put(name string, v float64, _ telemetry.Unit, d telemetry.Dimensions) error {
	if *c == nil {
		*c = counter{}
	}
	(*c)[name+"/"+d["App"]] += v
	return nil
}

// failingLedger refuses every write, as DynamoDB does when throttled past the
// SDK's retries.
type failingLedger struct{ ledger.Ledger }

func (failingLedger) Put(context.Context, ledger.Record) error { return errors.New("throttled") }

func testPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sample reads the real-shaped event from events/ and lets a test change its
// detail.
func sample(t *testing.T, edit func(d map[string]any)) events.CloudWatchEvent {
	t.Helper()
	raw, err := os.ReadFile("../../events/codecommit-push.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("events/codecommit-push.json does not decode: %v", err)
	}
	if edit != nil {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		edit(d)
		ev.Detail, _ = json.Marshal(d)
	}
	return ev
}

func TestSampleEventIsRecorded(t *testing.T) {
	l, pub := ledger.NewMemory(), &publisher{}
	h := NewHandler(testPolicy(t), l, pub, &counter{})
	ev := sample(t, nil)

	got, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	const sha = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
	want := Result{Outcome: OutcomeRecorded, App: "checkout", Commit: sha}
	if got != want {
		t.Errorf("Handle() = %+v, want %+v", got, want)
	}
	recs, err := l.ByCommit(context.Background(), sha)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ByCommit(%s) = %d records, %v; want 1", sha, len(recs), err)
	}
	c, ok := recs[0].(*ledger.Commit)
	if !ok {
		t.Fatalf("record is %T, want *ledger.Commit", recs[0])
	}
	if c.Repo != "checkout-service" || c.Branch != "main" || c.App != "checkout" ||
		!c.At.Equal(ev.Time) || !strings.HasSuffix(c.Pusher, "/dana.okafor") {
		t.Errorf("recorded commit = %+v", c)
	}
	if len(pub.events) != 1 || pub.events[0].DetailType != DetailTypeCommitRecorded {
		t.Fatalf("published %+v, want one %q", pub.events, DetailTypeCommitRecorded)
	}
	if r := pub.events[0].Detail.(Recorded); r.Commit != sha || r.Branch != "main" || !r.PushedAt.Equal(ev.Time) {
		t.Errorf("published detail = %+v", r)
	}
}

func TestRedeliveryRecordsOnce(t *testing.T) {
	l, pub, m := ledger.NewMemory(), &publisher{}, &counter{}
	h := NewHandler(testPolicy(t), l, pub, m)
	ev := sample(t, nil)

	for i, want := range []Outcome{OutcomeRecorded, OutcomeDuplicate, OutcomeDuplicate} {
		got, err := h.Handle(context.Background(), ev)
		if err != nil || got.Outcome != want {
			t.Errorf("delivery %d: Handle() = %v, %v; want %v", i+1, got.Outcome, err, want)
		}
	}
	recs, _ := l.ByCommit(context.Background(), commitOf(t, ev))
	if len(recs) != 1 {
		t.Errorf("after three deliveries the ledger holds %d records, want 1", len(recs))
	}
	if got := (*m)[MetricCommitsRecorded+"/checkout"]; got != 1 {
		t.Errorf("%s for checkout = %v after three deliveries, want 1", MetricCommitsRecorded, got)
	}
}

func commitOf(t *testing.T, ev events.CloudWatchEvent) string {
	t.Helper()
	var d Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d.CommitID
}

func TestFailedAnnouncementIsRetried(t *testing.T) {
	l, pub := ledger.NewMemory(), &publisher{fail: errors.New("bus throttled")}
	h := NewHandler(testPolicy(t), l, pub, &counter{})
	ev := sample(t, nil)

	if _, err := h.Handle(context.Background(), ev); err == nil {
		t.Fatal("Handle() with a failing bus = nil error, want one so the event is retried")
	}
	pub.fail = nil
	res, err := h.Handle(context.Background(), ev)
	if err != nil || res.Outcome != OutcomeDuplicate {
		t.Fatalf("retry: Handle() = %+v, %v; want duplicate", res, err)
	}
	if len(pub.events) != 1 {
		t.Errorf("retry published %d events, want the announcement once", len(pub.events))
	}
}

func TestLedgerFailureIsRetried(t *testing.T) {
	pub := &publisher{}
	h := NewHandler(testPolicy(t), failingLedger{ledger.NewMemory()}, pub, &counter{})
	if _, err := h.Handle(context.Background(), sample(t, nil)); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("Handle() error = %v, want the ledger's error", err)
	}
	if len(pub.events) != 0 {
		t.Errorf("published %d events for an unrecorded commit, want 0", len(pub.events))
	}
}

func TestEventsThatAreNotPushesAreAcknowledged(t *testing.T) {
	tests := []struct {
		name string
		give func(d map[string]any)
		want string
	}{
		{"tag", func(d map[string]any) { d["referenceType"] = "tag" }, `reference type "tag"`},
		{"deleted branch", func(d map[string]any) { d["event"] = "referenceDeleted" }, `event "referenceDeleted"`},
		{"unknown repository", func(d map[string]any) { d["repositoryName"] = "other" }, `repository "other" belongs to no app`},
		{"no commit", func(d map[string]any) { delete(d, "commitId") }, "commitId"},
		{"detail not an object", func(d map[string]any) { clear(d); d["event"] = []int{1} }, "undecodable detail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, pub := ledger.NewMemory(), &publisher{}
			ev := sample(t, tt.give)
			res, err := NewHandler(testPolicy(t), l, pub, &counter{}).Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("Handle() error = %v, want nil: a retry cannot fix bad input", err)
			}
			if res.Outcome != OutcomeIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("Handle() = %+v, want ignored with reason containing %q", res, tt.want)
			}
			if len(pub.events) != 0 {
				t.Errorf("published %d events for an ignored push", len(pub.events))
			}
		})
	}
}

func TestZeroTimeIsAcknowledged(t *testing.T) {
	ev := sample(t, nil)
	ev.Time = time.Time{}
	res, err := NewHandler(testPolicy(t), ledger.NewMemory(), &publisher{}, &counter{}).Handle(context.Background(), ev)
	if err != nil || res.Outcome != OutcomeIgnored {
		t.Errorf("Handle() = %+v, %v; want ignored", res, err)
	}
}
