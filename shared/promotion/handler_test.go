package promotion

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// sampleEvent is a real-shaped event of events/, changed by edit.
func sampleEvent(t *testing.T, name string, edit func(ev map[string]any)) events.CloudWatchEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s does not decode: %v", name, err)
	}
	return ev
}

// The rules select pipeline and ECS events by account only: the handler alone
// tells the end of a deployment Highway started from everything else those
// accounts send.
func TestHandleFinishesOnlyWhatEndsADeployment(t *testing.T) {
	// staging's pipeline checkout-staging runs execution h-staging-1 in
	// 333333333333, prod's service shop/checkout deployment h-prod-1 in
	// 444444444444, both in eu-west-1.
	pipeline := func(change func(ev, d map[string]any)) func(ev map[string]any) {
		return func(ev map[string]any) {
			d := ev["detail"].(map[string]any)
			d["pipeline"], d["execution-id"] = "checkout-staging", "h-staging-1"
			change(ev, d)
		}
	}
	service := func(change func(ev, d map[string]any)) func(ev map[string]any) {
		return func(ev map[string]any) {
			ev["detail"].(map[string]any)["deploymentId"] = "h-prod-1"
			change(ev, ev["detail"].(map[string]any))
		}
	}
	const pipelineEvent, ecsEvent = "codepipeline-execution-succeeded.json", "ecs-deployment-completed.json"
	tests := []struct {
		name         string
		sample       string
		edit         func(ev map[string]any)
		env          string
		wantOutcome  string
		wantReason   string
		wantFinished bool
	}{
		{name: "the execution succeeded", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) {}),
			env: "staging", wantOutcome: "finished", wantFinished: true},
		{name: "an action of the execution succeeded", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) {
			ev["detail-type"] = "CodePipeline Action Execution State Change"
			d["stage"], d["action"] = "Deploy", "Deploy"
			d["type"] = map[string]any{"owner": "AWS", "category": "Deploy", "provider": "ECS", "version": "1"}
		}), env: "staging", wantOutcome: "ignored", wantReason: `"CodePipeline Action Execution State Change" from "aws.codepipeline" is not for promotion`},
		{name: "a stage of the execution succeeded", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) {
			ev["detail-type"] = "CodePipeline Stage Execution State Change"
			d["stage"] = "Deploy"
		}), env: "staging", wantOutcome: "ignored", wantReason: `"CodePipeline Stage Execution State Change" from "aws.codepipeline" is not for promotion`},
		{name: "the execution started", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) { d["state"] = "STARTED" }),
			env: "staging", wantOutcome: "ignored", wantReason: "execution h-staging-1 is STARTED"},
		{name: "a pipeline of the same name in another account", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) { ev["account"] = "555555555555" }),
			env: "staging", wantOutcome: "ignored", wantReason: "pipeline checkout-staging in 555555555555 eu-west-1 deploys no environment"},
		{name: "a pipeline of the same name in another region", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) { ev["region"] = "us-east-1" }),
			env: "staging", wantOutcome: "ignored", wantReason: "pipeline checkout-staging in 333333333333 us-east-1 deploys no environment"},
		{name: "another pipeline of the account", sample: pipelineEvent, edit: pipeline(func(ev, d map[string]any) { d["pipeline"] = "payments-staging" }),
			env: "staging", wantOutcome: "ignored", wantReason: "pipeline payments-staging in 333333333333 eu-west-1 deploys no environment"},
		{name: "the service deployment completed", sample: ecsEvent, edit: service(func(ev, d map[string]any) {}),
			env: "prod", wantOutcome: "finished", wantFinished: true},
		{name: "a service action named like a completed deployment", sample: ecsEvent, edit: service(func(ev, d map[string]any) { ev["detail-type"] = "ECS Service Action" }),
			env: "prod", wantOutcome: "ignored", wantReason: `"ECS Service Action" from "aws.ecs" is not for promotion`},
		{name: "a task state change", sample: ecsEvent, edit: service(func(ev, d map[string]any) { ev["detail-type"] = "ECS Task State Change" }),
			env: "prod", wantOutcome: "ignored", wantReason: `"ECS Task State Change" from "aws.ecs" is not for promotion`},
		{name: "the service deployment is in progress", sample: ecsEvent, edit: service(func(ev, d map[string]any) { d["eventName"] = "SERVICE_DEPLOYMENT_IN_PROGRESS" }),
			env: "prod", wantOutcome: "ignored", wantReason: "deployment h-prod-1 is SERVICE_DEPLOYMENT_IN_PROGRESS"},
		{name: "a service of the same name in another region", sample: ecsEvent, edit: service(func(ev, d map[string]any) {
			ev["region"], ev["resources"] = "us-east-1", []string{"arn:aws:ecs:us-east-1:444444444444:service/shop/checkout"}
		}), env: "prod", wantOutcome: "ignored", wantReason: "service arn:aws:ecs:us-east-1:444444444444:service/shop/checkout deploys no environment"},
		{name: "another service of the account", sample: ecsEvent, edit: service(func(ev, d map[string]any) {
			ev["resources"] = []string{"arn:aws:ecs:eu-west-1:444444444444:service/shop/payments"}
		}), env: "prod", wantOutcome: "ignored", wantReason: "service arn:aws:ecs:eu-west-1:444444444444:service/shop/payments deploys no environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN deployments Highway started to staging and prod
			ctx := context.Background()
			f := newFixture(t, ledger.NewMemory())
			a := f.register(t, commit, digest)
			for _, name := range []string{"staging", "prod"} {
				app, env := f.env(t, name)
				pr, err := f.p.Request(ctx, a, env, "", f.now)
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := f.p.Deploy(ctx, app, env, pr); err != nil || !ok {
					t.Fatalf("Deploy(%s) = %v, %v", name, ok, err)
				}
			}

			// WHEN the event arrives
			res, err := f.p.Handle(ctx, sampleEvent(t, tt.sample, tt.edit))

			// THEN it finishes its environment's deployment, or is ignored
			// with its reason and changes nothing
			if err != nil || res.Outcome != tt.wantOutcome || !strings.Contains(res.Reason, tt.wantReason) {
				t.Errorf("Handle() = %+v, %v; want %s with reason containing %q", res, err, tt.wantOutcome, tt.wantReason)
			}
			for _, name := range []string{"staging", "prod"} {
				ps := f.promotions(t, name)
				want := ledger.PromotionDeploying
				if name == tt.env && tt.wantFinished {
					want = ledger.PromotionSucceeded
				}
				if len(ps) != 1 || ps[0].Status != want {
					t.Errorf("%s promotions after the event = %+v, want one %s", name, ps, want)
				}
			}
		})
	}
}
