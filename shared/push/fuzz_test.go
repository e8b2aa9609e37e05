package push

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/source"
)

// FuzzHandleDetail feeds arbitrary event details to the push handler: whatever
// arrives, it must not panic, must not return an error a retry cannot fix (its
// fakes never fail), and must record only what it reports as recorded.
func FuzzHandleDetail(f *testing.F) {
	raw, err := os.ReadFile("../../events/codecommit-push.json")
	if err != nil {
		f.Fatal(err)
	}
	var sample events.CloudWatchEvent
	if err := json.Unmarshal(raw, &sample); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(sample.Detail))
	f.Add([]byte(`{"event":"referenceCreated","referenceType":"branch","referenceName":"x","repositoryName":"checkout-service","commitId":"` + head + `"}`))
	f.Add([]byte(`{"event":1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	pol := testPolicy(f)
	f.Fuzz(func(t *testing.T, detail []byte) {
		l := ledger.NewMemory()
		pub := &publisher{}
		r := newRepo(root, old, middle, head)
		h := NewHandler(pol, func(string, string, string) CommitGetter { return r }, l, pub, counter{})
		ev := sample
		ev.Detail = detail
		res, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("Handle(%q) error = %v, want an acknowledgement", detail, err)
		}
		if res.Outcome == source.OutcomeIgnored && len(pub.events) != 0 {
			t.Errorf("Handle(%q) ignored the event but published %d events", detail, len(pub.events))
		}
		for _, sha := range res.Commits {
			if recs, _ := l.ByCommit(context.Background(), sha); len(recs) != 1 {
				t.Errorf("Handle(%q) reported commit %s, but the ledger holds %d records of it", detail, sha, len(recs))
			}
		}
	})
}
