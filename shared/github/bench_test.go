package github_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// BenchmarkHandleWebhook measures the webhook handler on the sample delivery
// (events/github-push.json, a push of two commits to storefront's
// repository, 8.5 KB): checking its size and signature (HMAC-SHA256 of the
// body), decoding the payload, claiming the delivery, recording both
// commits in an in-memory ledger, counting and announcing them on the
// recording bus fake, and marking the claim done. Every iteration starts
// from an empty ledger, made inside the timed loop, so none of them
// measures a redelivery. Logs are formatted as JSON, as under the Lambda
// runtime, and discarded.
func BenchmarkHandleWebhook(b *testing.B) {
	ev := localaws.Sample[events.LambdaFunctionURLRequest](b, "github-push.json")
	var answer struct{ SecretString string }
	if err := json.Unmarshal(localaws.SampleFile(b, "secretsmanager-github-webhook.json"), &answer); err != nil {
		b.Fatal(err)
	}
	var keys struct{ Current string }
	if err := json.Unmarshal([]byte(answer.SecretString), &keys); err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	secret, err := github.NewSecret(ctx, func(context.Context) ([][]byte, error) { return [][]byte{[]byte(keys.Current)}, nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	pub := &publisher{}
	telemetrytest.DiscardLogs(b)

	b.ReportAllocs()
	for b.Loop() {
		pub.events = pub.events[:0]
		h := github.New(github.Config{Policy: p, Secret: secret, Ledger: ledger.NewMemory(), Bus: pub, Metrics: &telemetrytest.Recorder{}})
		resp, err := h.Handle(ctx, ev)
		if err != nil || resp.StatusCode != http.StatusOK || len(pub.events) != 2 {
			b.Fatalf("Handle() = %d %s, %v, %d events; want the push recorded", resp.StatusCode, resp.Body, err, len(pub.events))
		}
	}
}
