// Command gate is the Lambda function that judges finished CodeBuild builds of
// the policy's gated projects: it records an explainable decision, announces it,
// and stops the pipeline execution of a build that fails.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/imagescan"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/reportgroups"
)

func main() {
	rt, err := function.Load(context.Background())
	if err != nil {
		slog.Error("gate: start", "error", err)
		os.Exit(1)
	}
	limits, err := evidence.LimitsForMemory(os.Getenv(evidence.EnvMemorySize))
	if err != nil {
		slog.Error("gate: start", "error", err)
		os.Exit(1)
	}
	clients := func(app, account, region string) gating.BuildClients {
		cfg := rt.Accounts.ForApp(app, account, region)
		return gating.BuildClients{
			Reports:   reportgroups.Reader{API: codebuild.NewFromConfig(cfg)},
			Images:    imagescan.Scanner{API: ecr.NewFromConfig(cfg)},
			Artifacts: s3.NewFromConfig(cfg),
			Pipelines: codepipeline.NewFromConfig(cfg),
		}
	}
	h := gating.NewBuilds(rt.Policy, clients,
		ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		sns.NewFromConfig(rt.AWS), rt.Topic, gating.WithMetrics(rt.Metrics), gating.WithArtifactLimits(limits))
	function.Start(rt, h.Handle)
}
