// Command drift is the Lambda function that detects drift. On the policy's
// schedule it queues one detection per selected stack in every account
// Highway reaches and one plan per Terraform workspace, reports detections
// whose completion event never came, and compares what each environment runs
// with the digest promoted there; from its queue it starts each stack's drift
// detection and each workspace's CodeBuild build; on CloudFormation's
// completion event it reads the drifted resources, on a build's state change
// the plan the build left, files the report and announces what changed.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/runtimecheck"
)

// processes is how many execution environments may run at once: the drift
// queue's event source mapping's maximum concurrency, plus the scheduled
// round. Each takes its share of the policy's per-account call rate.
const processes = 2

func main() {
	rt, err := function.Load(context.Background())
	if err == nil {
		err = run(rt)
	}
	if err != nil {
		slog.Error("drift: start", "error", err)
		os.Exit(1)
	}
}

func run(rt *function.Runtime) error {
	artifacts, err := evidence.LimitsForMemory(os.Getenv(evidence.EnvMemorySize))
	if err != nil {
		return err
	}
	h, err := drift.New(drift.Config{
		Policy: rt.Policy,
		Clients: func(account, region string) drift.Clients {
			c := cloudformation.NewFromConfig(rt.Accounts.Config(account, region))
			return drift.Clients{Stacks: c, Detections: c, Drifts: c}
		},
		Runtime: func(app, account, region string) runtimecheck.Clients {
			cfg := rt.Accounts.ForApp(app, account, region)
			return runtimecheck.Clients{
				Lambda:    lambda.NewFromConfig(cfg),
				ECS:       ecs.NewFromConfig(cfg),
				SSM:       ssm.NewFromConfig(cfg),
				AppRunner: apprunner.NewFromConfig(cfg),
				Kube:      kube.Connecting(eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg))),
			}
		},
		Ledger:   ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		Queue:    sqs.NewFromConfig(rt.AWS),
		QueueURL: os.Getenv(function.EnvDriftQueue),
		Bus:      bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		Notify:   sns.NewFromConfig(rt.AWS),
		Topic:    rt.Topic,
		Metrics:  rt.Metrics,
		Limits:   drift.LimitsFor(rt.Policy.Drift, processes),
		Builds: func(account, region string) drift.BuildClients {
			cfg := rt.Accounts.Config(account, region)
			return drift.BuildClients{Builds: codebuild.NewFromConfig(cfg), Artifacts: s3.NewFromConfig(cfg)}
		},
		Artifacts: artifacts,
	})
	if err != nil {
		return err
	}
	function.Start(rt, h.Invoke)
	return nil
}
