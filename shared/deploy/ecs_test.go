package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/policy"
)

const (
	currentTaskDef = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:41"
	nextTaskDef    = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:42"
)

// ecsServer answers the four ECS operations with testdata's real-shaped
// answers; tests replace the ones they vary.
func ecsServer(t *testing.T) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(t)
	srv.On("DescribeServices", awsfake.JSON(200, testdata(t, "ecs_describe_services.json")))
	srv.On("DescribeTaskDefinition", awsfake.JSON(200, testdata(t, "ecs_describe_task_definition.json")))
	srv.On("RegisterTaskDefinition", awsfake.JSON(200, testdata(t, "ecs_register_task_definition.json")))
	srv.On("UpdateService", awsfake.JSON(200, testdata(t, "ecs_update_service.json")))
	return srv
}

func ecsDeployer(t *testing.T, srv *awsfake.Server, p *policy.Deploy) deploy.Deployer {
	t.Helper()
	d, err := deploy.For(p, deploy.Clients{ECS: ecs.NewFromConfig(srv.Config())})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// body decodes the JSON body of the only call of op.
func body(t *testing.T, srv *awsfake.Server, op string) map[string]any {
	t.Helper()
	calls := srv.Invocations(op)
	if len(calls) != 1 {
		t.Fatalf("%s calls = %d, want 1", op, len(calls))
	}
	var m map[string]any
	if err := calls[0].DecodeJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestECSRegistersImageAtDigestAndUpdatesTheService(t *testing.T) {
	srv := ecsServer(t)

	res, err := ecsDeployer(t, srv, ecsPolicy).Deploy(context.Background(), target(imageArtifact()))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Handle != "ecs-svc/8120459273658102214" || res.Done {
		t.Errorf("Deploy = %+v, want Handle ecs-svc/8120459273658102214 (the new PRIMARY) and not Done", res)
	}

	describe := body(t, srv, "DescribeServices")
	if describe["cluster"] != "prod" || !reflect.DeepEqual(describe["services"], []any{"checkout"}) {
		t.Errorf("DescribeServices(%v), want cluster prod, services [checkout]", describe)
	}
	taskDef := body(t, srv, "DescribeTaskDefinition")
	if taskDef["taskDefinition"] != currentTaskDef || !reflect.DeepEqual(taskDef["include"], []any{"TAGS"}) {
		t.Errorf("DescribeTaskDefinition(%v), want %s with TAGS", taskDef, currentTaskDef)
	}
	update := body(t, srv, "UpdateService")
	want := map[string]any{"cluster": "prod", "service": "checkout", "taskDefinition": nextTaskDef}
	if !reflect.DeepEqual(update, want) {
		t.Errorf("UpdateService(%v), want %v", update, want)
	}
}

func TestECSRegistrationCopiesTheTaskDefinition(t *testing.T) {
	srv := ecsServer(t)
	if _, err := ecsDeployer(t, srv, ecsPolicy).Deploy(context.Background(), target(imageArtifact())); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	got := body(t, srv, "RegisterTaskDefinition")

	// What was described, less what ECS sets itself, with the web
	// container's image pinned to the artifact and the aws: tag dropped.
	var described struct {
		TaskDefinition map[string]any `json:"taskDefinition"`
	}
	if err := json.Unmarshal([]byte(testdata(t, "ecs_describe_task_definition.json")), &described); err != nil {
		t.Fatal(err)
	}
	want := described.TaskDefinition
	for _, k := range []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"} {
		delete(want, k)
	}
	want["containerDefinitions"].([]any)[0].(map[string]any)["image"] = repository + "@" + imageDigest
	want["tags"] = []any{
		map[string]any{"key": "app", "value": "checkout"},
		map[string]any{"key": "cost-center", "value": "payments"},
	}

	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("RegisterTaskDefinition %s = %s, want %s", k, gj, wj)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("RegisterTaskDefinition sets %s = %v, which was not described", k, got[k])
		}
	}
}

func TestECSRefusesWhatCannotBeDeployed(t *testing.T) {
	services := testdata(t, "ecs_describe_services.json")
	tests := []struct {
		name      string
		policy    *policy.Deploy
		services  string
		wantInErr string
		wantCalls int // DescribeTaskDefinition calls
	}{
		{
			name:      "container not in the task definition",
			policy:    &policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "prod", Service: "checkout", Container: "worker"}},
			services:  services,
			wantInErr: `no container "worker" (it has web, log-router)`,
			wantCalls: 1,
		},
		{
			name:      "service missing",
			policy:    ecsPolicy,
			services:  `{"services":[],"failures":[{"arn":"arn:aws:ecs:us-east-1:123456789012:service/prod/checkout","reason":"MISSING"}]}`,
			wantInErr: "MISSING",
		},
		{
			name:      "service draining",
			policy:    ecsPolicy,
			services:  strings.Replace(services, `"status": "ACTIVE"`, `"status": "DRAINING"`, 1),
			wantInErr: "is DRAINING",
		},
		{
			name:      "CodeDeploy controller",
			policy:    ecsPolicy,
			services:  strings.Replace(services, `"deploymentController": {"type": "ECS"}`, `"deploymentController": {"type": "CODE_DEPLOY"}`, 1),
			wantInErr: "CODE_DEPLOY",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ecsServer(t)
			srv.On("DescribeServices", awsfake.JSON(200, tt.services))

			_, err := ecsDeployer(t, srv, tt.policy).Deploy(context.Background(), target(imageArtifact()))
			if !errors.Is(err, deploy.ErrRefused) || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("Deploy error = %v, want ErrRefused mentioning %q", err, tt.wantInErr)
			}
			if n := len(srv.Invocations("DescribeTaskDefinition")); n != tt.wantCalls {
				t.Errorf("DescribeTaskDefinition calls = %d, want %d", n, tt.wantCalls)
			}
			for _, op := range []string{"RegisterTaskDefinition", "UpdateService"} {
				if n := len(srv.Invocations(op)); n != 0 {
					t.Errorf("%s calls = %d, want 0", op, n)
				}
			}
		})
	}
}

func TestECSAlreadyRunningTheImageChangesNothing(t *testing.T) {
	// The service's task definition runs checkout@sha256:5c59...: promoting
	// that digest again reports the current deployment.
	running := imageArtifact()
	running.Digest = "sha256:5c5999b3e60284d6d9f5b0bbbb735fe362fb22d69e744976002d243c31c3b33f"
	services := testdata(t, "ecs_describe_services.json")
	tests := []struct {
		name     string
		services string
		wantDone bool
	}{
		{"rollout completed", services, true},
		{"rollout in progress", strings.Replace(services, `"rolloutState": "COMPLETED"`, `"rolloutState": "IN_PROGRESS"`, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ecsServer(t)
			srv.On("DescribeServices", awsfake.JSON(200, tt.services))

			res, err := ecsDeployer(t, srv, ecsPolicy).Deploy(context.Background(), target(running))
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if res.Handle != "ecs-svc/3947562830158294761" || res.Done != tt.wantDone {
				t.Errorf("Deploy = %+v, want Handle ecs-svc/3947562830158294761, Done %v", res, tt.wantDone)
			}
			for _, op := range []string{"RegisterTaskDefinition", "UpdateService"} {
				if n := len(srv.Invocations(op)); n != 0 {
					t.Errorf("%s calls = %d, want 0", op, n)
				}
			}
		})
	}
}

func TestECSRetriesThrottling(t *testing.T) {
	ops := []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService"}
	tests := []struct {
		name string
		give string // the operation throttled twice
	}{
		{"describe services", "DescribeServices"},
		{"describe task definition", "DescribeTaskDefinition"},
		{"register task definition", "RegisterTaskDefinition"},
		{"update service", "UpdateService"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ecsServer(t)
			srv.Inject(awsfake.Fault{Operation: tt.give, Kind: awsfake.Throttle, First: 2})

			res, err := ecsDeployer(t, srv, ecsPolicy).Deploy(context.Background(), target(imageArtifact()))
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if res.Handle != "ecs-svc/8120459273658102214" {
				t.Errorf("Handle = %q, want ecs-svc/8120459273658102214", res.Handle)
			}
			// Each operation called once: the SDK retried the throttling.
			for _, op := range ops {
				if got := len(srv.Invocations(op)); got != 1 {
					t.Errorf("%s called %d times, want once", op, got)
				}
			}
			if first := srv.Calls(tt.give)[0]; first.Fault != awsfake.Throttle {
				t.Errorf("first %s attempt fault = %v, want Throttle", tt.give, first.Fault)
			}
		})
	}
}

func TestECSUpdateWithoutPrimaryDeploymentIsRetryable(t *testing.T) {
	srv := ecsServer(t)
	srv.On("UpdateService", awsfake.JSON(200, strings.Replace(testdata(t, "ecs_update_service.json"), `"status": "PRIMARY"`, `"status": "ACTIVE"`, 1)))

	_, err := ecsDeployer(t, srv, ecsPolicy).Deploy(context.Background(), target(imageArtifact()))
	if err == nil || errors.Is(err, deploy.ErrRefused) {
		t.Errorf("Deploy error = %v, want a retryable error", err)
	}
}
