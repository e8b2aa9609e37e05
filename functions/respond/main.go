// Command respond is the Lambda function that answers CloudWatch alarms, from
// the hub and the spokes, with the policy's runbooks: it opens an incident
// blamed on the environment's latest deployment, runs the runbook's actions
// in order within the guards (dry-run, cooldown, hourly rate limit, circuit
// breaker, one response per alarm transition, none while CloudWatch
// suppresses a composite alarm's actions), and resolves the incident when
// the alarm returns to OK. Rollbacks are asked of the promote function; the
// other actions act in the environment's account, on ECS, App Runner, EKS
// clusters (through the Kubernetes API), Lambda and SSM.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/remediate"
	"github.com/highwayhq/highway/shared/respond"
)

func main() {
	rt, err := function.Load(context.Background())
	if err == nil {
		err = run(rt)
	}
	if err != nil {
		slog.Error("respond: start", "error", err)
		os.Exit(1)
	}
}

func run(rt *function.Runtime) error {
	events := bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus)
	tags := alarm.NewTags(func(account, region string) alarm.TagLister {
		return cloudwatch.NewFromConfig(rt.Accounts.Config(account, region))
	}, 0, nil)
	h, err := respond.New(respond.Config{
		Policy: rt.Policy,
		Ledger: ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		Tags:   tags.For,
		Clients: func(app, account, region string) remediate.Clients {
			cfg := rt.Accounts.ForApp(app, account, region)
			return remediate.Clients{
				ECS:       ecs.NewFromConfig(cfg),
				AppRunner: apprunner.NewFromConfig(cfg),
				Kube:      kube.Connecting(eks.NewFromConfig(cfg), sts.NewPresignClient(sts.NewFromConfig(cfg))),
				Lambda:    lambda.NewFromConfig(cfg),
				SSM:       ssm.NewFromConfig(cfg),
			}
		},
		Rollback: respond.RollbackByEvent{Bus: events},
		Bus:      events,
		Notify:   sns.NewFromConfig(rt.AWS),
		Topic:    rt.Topic,
	})
	if err != nil {
		return err
	}
	function.Start(rt, h.Handle)
	return nil
}
