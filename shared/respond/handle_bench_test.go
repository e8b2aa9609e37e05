package respond

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// memSNS is an in-memory SNS that keeps the messages it is given.
type memSNS struct {
	mu       sync.Mutex
	messages []string
}

var _ Notifier = (*memSNS)(nil)

func (s *memSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, aws.ToString(in.Message))
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// BenchmarkHandleRespond is the respond function on the sample alarm event
// (events/cloudwatch-alarm-state-change.json: checkout-prod-5xx goes to
// ALARM) under the example policy (infra/highway.yaml), not in dry run:
// Handle matches the runbook checkout-prod-errors, records the transition,
// opens an incident blamed on prod's deployment of 20 minutes before,
// announces it, and runs the runbook's actions through the guards (breaker,
// cooldown, hourly slot): rollback, asked on an in-memory bus as production
// asks it (RollbackByEvent), then notify, through an in-memory SNS, with the
// recent deployments; each step is claimed and marked done on the ledger,
// and each action recorded on the ledger and the bus. Each
// iteration runs on a fresh memory ledger holding only that deployment, so
// it is the first delivery of the transition, never a redelivery; building
// it is not measured. Logs are discarded.
func BenchmarkHandleRespond(b *testing.B) {
	telemetrytest.DiscardLogs(b)
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ev := localaws.Sample[events.CloudWatchEvent](b, "cloudwatch-alarm-state-change.json")
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	now := func() time.Time { return fired.Add(3 * time.Second) }
	notify := &memSNS{}
	ctx := context.Background()

	// fresh is a handler over a ledger holding prod's last deployment.
	fresh := func() (*Handler, *recordingBus) {
		l := ledger.NewMemory(ledger.WithClock(now))
		err := l.Put(ctx, &ledger.Deployment{Header: ledger.Header{ID: "dep-b", App: "checkout", Env: "prod", Digest: digestB, At: fired.Add(-20 * time.Minute)},
			Status: ledger.DeploymentSuccess, FinishedAt: fired.Add(-12 * time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
		events := &recordingBus{}
		h, err := New(Config{
			Policy: p, Ledger: l,
			Tags: func(alarm.StateChange) func(context.Context) (map[string]string, error) {
				return func(context.Context) (map[string]string, error) { return nil, nil }
			},
			Clients:  func(string, string, string) remediate.Clients { return remediate.Clients{} },
			Rollback: RollbackByEvent{Bus: events, Now: now},
			Bus:      events, Notify: notify, Topic: topic, Now: now,
		})
		if err != nil {
			b.Fatal(err)
		}
		return h, events
	}
	wantEvents := []string{DetailTypeIncidentOpened, route.DetailTypeRollbackRequested, DetailTypeRemediation, DetailTypeRemediation}
	check := func(events *recordingBus) {
		if got := events.types(); !slices.Equal(got, wantEvents) {
			b.Fatalf("published %v, want %v", got, wantEvents)
		}
	}

	var events *recordingBus
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if events != nil {
			check(events)
		}
		var h *Handler
		h, events = fresh()
		b.StartTimer()
		res, err := h.Handle(ctx, ev)
		if err != nil || res.Outcome != "opened" || len(res.Runbooks) != 1 || res.Runbooks[0].Runbook != "checkout-prod-errors" ||
			!slices.Equal(outcomes(res.Runbooks[0]), []string{"rollback:done", "notify:done"}) {
			b.Fatalf("Handle(sample alarm) = %+v, %v; want checkout-prod-errors opened, rollback and notify done", res, err)
		}
	}
	check(events)
	if len(notify.messages) != b.N || !strings.Contains(notify.messages[0], "blamed on deployment dep-b of "+digestB) {
		b.Fatalf("%d runs sent %d notifications, want one each blaming dep-b", b.N, len(notify.messages))
	}
}
