package promotion

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// BenchmarkHandlePromote measures the promote function's handler (Invoke, as
// the Lambda runtime calls it) on events/gate-decided.json, the first delivery
// of a passed gate: dispatching the payload, registering the artifact once,
// requesting its promotion to dev, taking dev's lock, deploying through the
// recording deployer fake (dev's SSM deploy finishes at once), recording the
// deployment, releasing the lock, and requesting staging, whose soak has not
// passed, so nothing more is deployed. Bus events go to the recording fake.
// Every iteration starts from an empty ledger, made inside the timed loop (a
// few small allocations), so none of them measures a redelivery. Logs are
// formatted as JSON, as under the Lambda runtime, and discarded.
func BenchmarkHandlePromote(b *testing.B) {
	payload, err := os.ReadFile("../../events/gate-decided.json")
	if err != nil {
		b.Fatal(err)
	}
	f := newFixture(b, ledger.NewMemory())
	telemetrytest.DiscardLogs(b)
	ctx := context.Background()
	want := []string{DetailTypeArtifactRegistered, DetailTypeArtifactPromoted, DetailTypeDeploymentFinished}

	b.ReportAllocs()
	for b.Loop() {
		f.p.ledger = ledger.NewMemory()
		f.bus.sent = f.bus.sent[:0]
		clear(f.dep.calls)

		out, err := f.p.Invoke(ctx, payload)
		res, _ := out.(Result)
		if err != nil || res.Outcome != "registered" || res.Env != "dev" || res.Digest != digest {
			b.Fatalf("Invoke(Gate Decided) = %+v, %v; want %s registered and promoted to dev", out, err, digest)
		}
		if got := f.dep.calls["dev"]; len(got) != 1 || got[0] != digest || len(f.dep.calls) != 1 {
			b.Fatalf("deployed %v, want the digest to dev only", f.dep.calls)
		}
		if !slices.Equal(f.bus.sent, want) {
			b.Fatalf("published %v, want %v", f.bus.sent, want)
		}
	}
	staging, err := f.p.ledger.Promotions(ctx, "checkout", "staging", f.now.Add(-window), f.now.Add(window))
	if err != nil || len(staging) != 1 || staging[0].Status != ledger.PromotionRequested || !staging[0].NotBefore.After(f.now) {
		b.Fatalf("staging promotions of the last iteration = %+v, %v; want one requested, waiting for its soak", staging, err)
	}
}
