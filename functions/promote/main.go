// Command promote is the Lambda function that moves passed artifacts through
// their environments: it registers what a passed gate built, deploys it where
// and when the policy says, records every deployment, and runs the steps of
// the production approval workflow.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
)

func main() {
	rt, err := function.Load(context.Background())
	if err != nil {
		slog.Error("promote: start", "error", err)
		os.Exit(1)
	}
	deployers := func(app *policy.App, env *policy.Environment) (deploy.Deployer, error) {
		cfg := rt.Accounts.ForApp(app.Name, env.Account, env.Region)
		return deploy.For(env.Deploy, deploy.Clients{
			SSM:        ssm.NewFromConfig(cfg),
			Pipeline:   codepipeline.NewFromConfig(cfg),
			Lambda:     lambda.NewFromConfig(cfg),
			ECS:        ecs.NewFromConfig(cfg),
			AppRunner:  apprunner.NewFromConfig(cfg),
			CodeCommit: codecommit.NewFromConfig(cfg),
			Kube:       kube.Connecting(eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg))),
		})
	}
	p := promotion.New(rt.Policy,
		ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		deployers, sfn.NewFromConfig(rt.AWS), os.Getenv(function.EnvApprovalStateMachine),
		promotion.WithMetrics(rt.Metrics))
	function.Start(rt, p.Invoke)
}
