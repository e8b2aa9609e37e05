package github_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// FuzzWebhookPush delivers arbitrary bodies, signed, as push events: whatever
// arrives, the webhook must not panic, must answer (its fakes never fail, so
// never with a 5xx), and must record only the commits it says it recorded.
func FuzzWebhookPush(f *testing.F) {
	for _, name := range []string{"push/with-new-branch.payload.json", "push/payload.json", "ping/payload.json"} {
		b, err := readOctokit(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"ref":"refs/heads/main","after":"` + exampleCommit + `","repository":{"full_name":"Codertocat/Hello-World","pushed_at":"x"}}`))
	f.Add([]byte(`{"ref":"refs/heads/main","commits":[{"id":null}],"repository":{"full_name":"codertocat/hello-world","pushed_at":1}}`))
	f.Add([]byte(`null`))
	telemetrytest.DiscardLogs(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := newFixture(t, ledger.NewMemory())
		resp, err := fx.hook.Handle(context.Background(), request("push", "d-fuzz", body, key))
		if err != nil || resp.StatusCode >= http.StatusInternalServerError {
			t.Fatalf("Handle(%q) = %d %s, %v; want an answer", body, resp.StatusCode, resp.Body, err)
		}
		_, a := fx.deliver(t, request("push", "d-fuzz", body, key))
		if a.Outcome != source.OutcomeRecorded && a.Outcome != source.OutcomeDuplicate && len(fx.pub.events) != 0 {
			t.Errorf("Handle(%q) answered %q but published %d events", body, a.Outcome, len(fx.pub.events))
		}
		for _, sha := range a.Commits {
			if recs := fx.commits(t, sha); len(recs) != 1 {
				t.Errorf("Handle(%q) reported commit %s, but the ledger holds %d records of it", body, sha, len(recs))
			}
		}
	})
}
