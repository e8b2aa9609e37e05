package push

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// BenchmarkHandlePush measures the push handler on events/codecommit-push.json,
// the first delivery of a push of two new commits: decoding the event, walking
// head and middle back to the old head through the in-memory CodeCommit fake,
// recording both commits in an in-memory ledger, counting them and announcing
// them on the recording bus fake. Every iteration starts from an empty ledger
// and metrics recorder, made inside the timed loop (a few small allocations),
// so none of them measures a redelivery. Logs are formatted as JSON, as under
// the Lambda runtime, and discarded.
func BenchmarkHandlePush(b *testing.B) {
	ev := localaws.Sample[events.CloudWatchEvent](b, "codecommit-push.json")
	r := newRepo(root, old, middle, head)
	pub := &publisher{}
	h := NewHandler(testPolicy(b), func(string, string, string) CommitGetter { return r }, ledger.NewMemory(), pub, &telemetrytest.Recorder{})
	telemetrytest.DiscardLogs(b)
	ctx := context.Background()
	want := []string{head, middle}
	var metrics *telemetrytest.Recorder

	b.ReportAllocs()
	for b.Loop() {
		metrics = &telemetrytest.Recorder{}
		h.ledger, h.metrics = ledger.NewMemory(), metrics
		r.calls, pub.events = r.calls[:0], pub.events[:0]

		res, err := h.Handle(ctx, ev)
		if err != nil || res.Outcome != source.OutcomeRecorded || res.App != "checkout" || !slices.Equal(res.Commits, want) {
			b.Fatalf("Handle() = %+v, %v; want commits %v of checkout recorded", res, err, want)
		}
		if len(pub.events) != 2 {
			b.Fatalf("published %d Commit Recorded events, want 2", len(pub.events))
		}
	}
	if n := len(metrics.Values(telemetry.MetricCommitsRecorded)); n != 2 {
		b.Fatalf("the last iteration counted %d commits, want 2", n)
	}
}
