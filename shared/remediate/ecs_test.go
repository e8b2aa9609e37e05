package remediate_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
)

func TestECSRedeployForcesANewDeployment(t *testing.T) {
	tests := []struct {
		name        string
		give        policy.ECSService
		wantCluster string
		wantService string
	}{
		{"environment's service", policy.ECSService{}, "prod", "checkout"},
		{"named service", policy.ECSService{Cluster: "shop", Service: "payments"}, "shop", "payments"},
		{"named service in the environment's cluster", policy.ECSService{Service: "payments"}, "prod", "payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t)
			srv.On("UpdateService", awsfake.JSON(200, testdata(t, "ecs_update_service_redeploy.json")))

			got, err := remediate.ECSRedeploy(context.Background(), ecs.NewFromConfig(srv.Config()), tt.give, ecsEnv)
			if err != nil {
				t.Fatalf("ECSRedeploy: %v", err)
			}

			want := map[string]any{"cluster": tt.wantCluster, "service": tt.wantService, "forceNewDeployment": true}
			if in := body(t, srv, "UpdateService"); !reflect.DeepEqual(in, want) {
				t.Errorf("UpdateService(%v), want %v", in, want)
			}
			wantOut := remediate.Outcome{
				Detail: "ecs " + tt.wantCluster + "/" + tt.wantService + ": new deployment ecs-svc/5582019473620194857 forced",
				Handle: "ecs-svc/5582019473620194857",
			}
			if got != wantOut {
				t.Errorf("ECSRedeploy = %+v, want %+v", got, wantOut)
			}
		})
	}
}

func TestECSScaleKeepsTheDesiredCountWithinBounds(t *testing.T) {
	// The service runs 3 tasks (testdata/ecs_describe_services.json).
	tests := []struct {
		name       string
		give       policy.ECSScaleAction
		wantCount  float64 // sent to UpdateService; 0: no call
		wantDetail string
	}{
		{"up", policy.ECSScaleAction{Step: 2, Min: 2, Max: 10}, 5, "ecs prod/checkout: desired count 3 → 5 (bounds 2..10)"},
		{"down", policy.ECSScaleAction{Step: -2, Min: 1, Max: 10}, 1, "ecs prod/checkout: desired count 3 → 1 (bounds 1..10)"},
		{"up clamped at max", policy.ECSScaleAction{Step: 4, Min: 1, Max: 5}, 5, "ecs prod/checkout: desired count 3 → 5 (bounds 1..5)"},
		{"down clamped at min", policy.ECSScaleAction{Step: -3, Min: 2, Max: 5}, 2, "ecs prod/checkout: desired count 3 → 2 (bounds 2..5)"},
		{"up already at max", policy.ECSScaleAction{Step: 2, Min: 1, Max: 3}, 0, "ecs prod/checkout: desired count 3 left as it is, at its bound (bounds 1..3)"},
		{"down already at min", policy.ECSScaleAction{Step: -1, Min: 3, Max: 6}, 0, "ecs prod/checkout: desired count 3 left as it is, at its bound (bounds 3..6)"},
		{"up never scales down", policy.ECSScaleAction{Step: 1, Min: 1, Max: 2}, 0, "ecs prod/checkout: desired count 3 left as it is, at its bound (bounds 1..2)"},
		{"down never scales up", policy.ECSScaleAction{Step: -1, Min: 4, Max: 8}, 0, "ecs prod/checkout: desired count 3 left as it is, at its bound (bounds 4..8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t)
			srv.On("DescribeServices", awsfake.JSON(200, testdata(t, "ecs_describe_services.json")))
			srv.On("UpdateService", awsfake.JSON(200, testdata(t, "ecs_update_service_redeploy.json")))

			got, err := remediate.ECSScale(context.Background(), ecs.NewFromConfig(srv.Config()), tt.give, ecsEnv)
			if err != nil {
				t.Fatalf("ECSScale(%+v): %v", tt.give, err)
			}

			describe := body(t, srv, "DescribeServices")
			if describe["cluster"] != "prod" || !reflect.DeepEqual(describe["services"], []any{"checkout"}) {
				t.Errorf("DescribeServices(%v), want cluster prod, services [checkout]", describe)
			}
			if tt.wantCount == 0 {
				if n := len(srv.Invocations("UpdateService")); n != 0 {
					t.Errorf("UpdateService calls = %d, want none", n)
				}
			} else {
				want := map[string]any{"cluster": "prod", "service": "checkout", "desiredCount": tt.wantCount}
				if in := body(t, srv, "UpdateService"); !reflect.DeepEqual(in, want) {
					t.Errorf("UpdateService(%v), want %v", in, want)
				}
			}
			if want := (remediate.Outcome{Detail: tt.wantDetail}); got != want {
				t.Errorf("ECSScale(%+v) = %+v, want %+v", tt.give, got, want)
			}
		})
	}
}

func TestECSScaleRefusesAMissingService(t *testing.T) {
	srv := server(t)
	srv.On("DescribeServices", awsfake.JSON(200, testdata(t, "ecs_describe_services_missing.json")))

	_, err := remediate.ECSScale(context.Background(), ecs.NewFromConfig(srv.Config()),
		policy.ECSScaleAction{Step: 1, Max: 4}, ecsEnv)

	if !errors.Is(err, remediate.ErrRefused) {
		t.Errorf("ECSScale error = %v, want ErrRefused", err)
	}
	if n := len(srv.Invocations("UpdateService")); n != 0 {
		t.Errorf("UpdateService calls = %d, want none", n)
	}
}
