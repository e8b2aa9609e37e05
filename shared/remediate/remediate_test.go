package remediate_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
)

// ecsEnv is deployed to ECS service checkout in cluster prod.
var ecsEnv = &policy.Environment{
	Name: "prod", Account: "123456789012", Region: "us-east-1",
	Deploy: &policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "prod", Service: "checkout", Container: "web"}},
}

// lambdaEnv is deployed through alias live of function checkout.
var lambdaEnv = &policy.Environment{
	Name: "prod", Account: "123456789012", Region: "us-east-1",
	Deploy: &policy.Deploy{Lambda: &policy.LambdaDeploy{Function: "checkout", Alias: "live"}},
}

// ssmEnv is deployed through an SSM parameter: no ECS or Lambda target.
var ssmEnv = &policy.Environment{
	Name: "prod", Account: "123456789012", Region: "us-east-1",
	Deploy: &policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/image"}},
}

// server is a fake with the Lambda and EKS REST operations routed; ECS, App
// Runner and SSM speak AWS JSON and need no route.
func server(t *testing.T) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(t)
	srv.Route("DescribeCluster", "GET /clusters/{name}")
	srv.Route("GetAlias", "GET /2015-03-31/functions/{FunctionName}/aliases/{Name}")
	srv.Route("UpdateAlias", "PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}")
	srv.Route("ListVersionsByFunction", "GET /2015-03-31/functions/{FunctionName}/versions")
	return srv
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
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

// action runs one action against the fake with real SDK clients.
type action func(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error)

func redeploy(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error) {
	return remediate.ECSRedeploy(ctx, ecs.NewFromConfig(srv.Config()), policy.ECSService{}, ecsEnv)
}

func scale(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error) {
	return remediate.ECSScale(ctx, ecs.NewFromConfig(srv.Config()), policy.ECSScaleAction{Step: 1, Max: 10}, ecsEnv)
}

func appRunnerRedeploy(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error) {
	return remediate.AppRunnerRedeploy(ctx, apprunner.NewFromConfig(srv.Config()), policy.AppRunnerService{}, appRunnerEnv)
}

// eksScale connects to the cluster as the respond function does: EKS
// DescribeCluster, then a token presigned with STS.
func eksScale(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error) {
	cfg := srv.Config()
	connect := kube.Connecting(eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg)))
	return remediate.EKSScale(ctx, connect, policy.EKSScaleAction{Step: 1, Max: 10}, eksEnv)
}

func aliasRollback(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error) {
	return remediate.LambdaAliasRollback(ctx, lambda.NewFromConfig(srv.Config()), policy.LambdaAlias{}, lambdaEnv)
}

func automation(ctx context.Context, srv *awsfake.Server) (remediate.Outcome, error) {
	return remediate.SSMAutomation(ctx, ssm.NewFromConfig(srv.Config()),
		policy.SSMAutomationAction{Document: "AWS-RestartEC2Instance"}, remediate.Alarm{Name: "checkout-prod-cpu"})
}

func TestAWSRefusalsAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		status int
		code   string
		run    action
	}{
		{"redeploy of a missing service", "UpdateService", http.StatusBadRequest, "ServiceNotFoundException", redeploy},
		{"redeploy without permission", "UpdateService", http.StatusBadRequest, "AccessDeniedException", redeploy},
		{"scale in a missing cluster", "DescribeServices", http.StatusBadRequest, "ClusterNotFoundException", scale},
		{"App Runner redeploy without permission", "ListServices", http.StatusBadRequest, "AccessDeniedException", appRunnerRedeploy},
		{"EKS scale in a missing cluster", "DescribeCluster", http.StatusNotFound, "ResourceNotFoundException", eksScale},
		{"rollback of a missing alias", "GetAlias", http.StatusNotFound, "ResourceNotFoundException", aliasRollback},
		{"automation of a missing document", "StartAutomationExecution", http.StatusBadRequest, "AutomationDefinitionNotFoundException", automation},
		{"automation with bad parameters", "StartAutomationExecution", http.StatusBadRequest, "InvalidAutomationExecutionParametersException", automation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t)
			srv.On(tt.op, awsfake.APIError(tt.status, tt.code, "refused by the fake"))

			_, err := tt.run(context.Background(), srv)

			var ae smithy.APIError
			if !errors.Is(err, remediate.ErrRefused) || !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Fatalf("error = %v, want ErrRefused wrapping %s", err, tt.code)
			}
			if n := len(srv.Invocations(tt.op)); n != 1 {
				t.Errorf("%s calls = %d, want 1 (a refusal is not retried)", tt.op, n)
			}
		})
	}
}

func TestThrottlingIsNotRefused(t *testing.T) {
	tests := []struct {
		name string
		op   string // the first operation the action calls
		run  action
	}{
		{"redeploy", "UpdateService", redeploy},
		{"scale", "DescribeServices", scale},
		{"App Runner redeploy", "ListServices", appRunnerRedeploy},
		{"EKS scale", "DescribeCluster", eksScale},
		{"alias rollback", "GetAlias", aliasRollback},
		{"automation", "StartAutomationExecution", automation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t)
			srv.On(tt.op, awsfake.JSON(200, `{}`)) // never served
			srv.Inject(awsfake.Fault{Kind: awsfake.Throttle})

			_, err := tt.run(context.Background(), srv)

			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
				t.Fatalf("error = %v, want ThrottlingException", err)
			}
			if errors.Is(err, remediate.ErrRefused) {
				t.Errorf("error = %v wraps ErrRefused, want it retryable", err)
			}
			if n, attempts := len(srv.Invocations(tt.op)), len(srv.Calls(tt.op)); n != 1 || attempts < 2 {
				t.Errorf("%s called %d times in %d attempts, want once, retried by the SDK", tt.op, n, attempts)
			}
		})
	}
}

func TestUnresolvedTargetIsRefusedWithoutCalls(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, remediate.Clients) (remediate.Outcome, error)
	}{
		{"redeploy, env not on ECS", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.ECSRedeploy(ctx, c.ECS, policy.ECSService{Service: "checkout"}, ssmEnv)
		}},
		{"scale, no env", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.ECSScale(ctx, c.ECS, policy.ECSScaleAction{Cluster: "prod", Step: 1, Max: 4}, nil)
		}},
		{"App Runner pause, env not on App Runner", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.AppRunnerPause(ctx, c.AppRunner, policy.AppRunnerService{}, ecsEnv)
		}},
		{"App Runner resume, no env", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.AppRunnerResume(ctx, c.AppRunner, policy.AppRunnerService{}, nil)
		}},
		{"EKS restart, env not on EKS", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.EKSRolloutRestart(ctx, c.Kube, policy.EKSWorkload{Deployment: "checkout"}, ecsEnv, restartAt)
		}},
		{"EKS scale, no env", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.EKSScale(ctx, c.Kube, policy.EKSScaleAction{Cluster: "prod", Namespace: "shop", Step: 1, Max: 4}, nil)
		}},
		{"alias rollback, env not on Lambda", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.LambdaAliasRollback(ctx, c.Lambda, policy.LambdaAlias{Function: "checkout"}, ecsEnv)
		}},
		{"automation without document", func(ctx context.Context, c remediate.Clients) (remediate.Outcome, error) {
			return remediate.SSMAutomation(ctx, c.SSM, policy.SSMAutomationAction{}, remediate.Alarm{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t)
			cfg := srv.Config()
			c := remediate.Clients{ECS: ecs.NewFromConfig(cfg), AppRunner: apprunner.NewFromConfig(cfg),
				Kube:   kube.Connecting(eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg))),
				Lambda: lambda.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg)}

			_, err := tt.run(context.Background(), c)

			if !errors.Is(err, remediate.ErrRefused) {
				t.Errorf("error = %v, want ErrRefused", err)
			}
			if reqs := srv.Requests(); len(reqs) != 0 {
				t.Errorf("AWS calls = %d (first %s), want none", len(reqs), reqs[0].Operation)
			}
		})
	}
}
