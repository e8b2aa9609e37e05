package promotion

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/ledger"
)

// What the gate publishes, promotion reads: the two sides of "Gate Decided"
// stay compatible.
func TestGateDecidedContract(t *testing.T) {
	sent := gating.Decided{App: "checkout", Build: "b-1", Commit: commit, Digest: digest, Verdict: ledger.VerdictPass,
		Artifact: &ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"}}
	raw, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	var got gateDecided
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := gateDecided{App: sent.App, Commit: sent.Commit, Digest: sent.Digest, Verdict: sent.Verdict, Artifact: sent.Artifact}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("promotion reads %+v from %s, want %+v", got, raw, want)
	}
}

func TestInvokeDispatches(t *testing.T) {
	f := newFixture(t, ledger.NewMemory())
	detail, _ := json.Marshal(gating.Decided{App: "checkout", Build: "b-1", Commit: commit, Digest: digest, Verdict: ledger.VerdictPass,
		Artifact: &ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"}})
	ev, _ := json.Marshal(events.CloudWatchEvent{Source: "highway", DetailType: "Gate Decided", Time: f.now, Detail: detail})

	res, err := f.p.Invoke(context.Background(), ev)
	if err != nil || res.(Result).Outcome != "registered" {
		t.Fatalf("Invoke(Gate Decided) = %+v, %v; want registered", res, err)
	}
	if got := f.dep.deployed("dev"); len(got) != 1 || got[0] != digest {
		t.Errorf("a passed gate deployed %v to dev, want the digest", got)
	}

	// A step whose precondition fails returns *PreconditionFailed itself, so
	// the Lambda runtime names the error as the state machine catches it.
	_, err = f.p.Invoke(context.Background(), []byte(`{"step":"preconditions","promotionId":"nope","app":"checkout","env":"prod"}`))
	if pf, ok := err.(*PreconditionFailed); !ok || pf.Reason == "" {
		t.Errorf("Invoke(bad step) error = %#v, want a bare *PreconditionFailed", err)
	}

	tick, _ := json.Marshal(events.CloudWatchEvent{Source: "aws.events", DetailType: "Scheduled Event", Time: f.now.Add(time.Hour)})
	if res, err := f.p.Invoke(context.Background(), tick); err != nil || res.(Result).Outcome != "tick" {
		t.Errorf("Invoke(schedule) = %+v, %v; want a tick", res, err)
	}
	if res, err := f.p.Invoke(context.Background(), []byte(`[1]`)); err != nil || res.(Result).Outcome != "ignored" {
		t.Errorf("Invoke(not an object) = %+v, %v; want ignored", res, err)
	}
}
