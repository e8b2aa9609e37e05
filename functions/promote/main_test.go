package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/promotion"
)

// deployment prepares promote (a helper not named deploy, which is the
// package of deployers here); EventBridge and SSM (dev's deploy) accept every
// call.
func deployment(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "promote")
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("PutParameter", awsfake.JSON(200, `{"Version":4,"Tier":"Standard"}`))
	return d
}

// event is the sample event events/<name>.
func event(tb testing.TB, name string) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, name)
}

// TestBootstrapUnderEmulator runs promote as built, under the Lambda Runtime
// Interface Emulator: a passed gate's event registers the artifact and deploys
// it to dev (an SSM parameter in the dev account, through the spoke role); a
// pipeline event of an execution Highway did not start is acknowledged, and
// so is a rollback of an environment with nothing to roll back to.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deployment(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The incident the sample rollback request answers, as respond opened it.
	if err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).Put(ctx, &ledger.Incident{
		Header: ledger.Header{ID: "inc-3b59700a5562f2ca", App: "checkout", Env: "prod", At: time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)},
		Alarm:  "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx",
	}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct{ event, want string }{
		{"gate-decided.json", "registered"},
		{"codepipeline-execution-succeeded.json", "ignored"},
		// An alarm's runbook asks for prod's rollback, for its open
		// incident; prod ran nothing before.
		{"highway-rollback-requested.json", "nothing-to-roll-back"},
	} {
		body, err := emu.Invoke(ctx, event(t, tt.event))
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", tt.event, err, emu.Log())
		}
		var got promotion.Result
		if err := json.Unmarshal(body, &got); err != nil || got.Outcome != tt.want {
			t.Errorf("%s: response %s (%v), want %s\nlog:\n%s", tt.event, body, err, tt.want, emu.Log())
		}
	}

	puts := d.AWS.Invocations("PutParameter")
	if len(puts) != 1 {
		t.Fatalf("PutParameter calls = %d, want 1 (dev)", len(puts))
	}
	var in struct{ Name, Value string }
	if err := puts[0].DecodeJSON(&in); err != nil || in.Name != "/checkout/dev/image" ||
		in.Value != "checkout-service@sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6" {
		t.Errorf("PutParameter(%+v), %v; want the image by digest in dev's parameter", in, err)
	}
	if role, want := d.RoleOf(puts[0]), d.AccessRole("222222222222"); role != want {
		t.Errorf("dev was deployed through role %q, want the access role in dev's account, %s", role, want)
	}
	deps, err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).Deployments(ctx, "checkout", "dev", time.Time{}, time.Now().Add(time.Hour))
	if err != nil || len(deps) != 1 || deps[0].Status != ledger.DeploymentSuccess {
		t.Errorf("dev deployments in DynamoDB Local = %+v, %v; want one success", deps, err)
	}
}

// BenchmarkInvoke measures promote as built, under the emulator, with the
// sample passed gate (gate-decided.json, the event that starts every
// promotion, through localaws.BenchInvoke); make bench runs it. The first
// invoke registers the artifact and deploys it to dev; every redelivery finds
// the artifact registered and dev's promotion ended, deploys nothing, and
// answers registered for dev again, which the check requires.
func BenchmarkInvoke(b *testing.B) {
	d := deployment(b)
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, event(b, "gate-decided.json"), func(body []byte) error {
		var got promotion.Result
		if err := json.Unmarshal(body, &got); err != nil || got.Outcome != "registered" || got.Env != "dev" {
			return fmt.Errorf("response %s (%v), want registered for dev", body, err)
		}
		return nil
	})
}
