// Command approval serves the signed approve and reject links of production
// approvals, behind a Lambda function URL: it verifies a link in constant
// time, accepts it once, records who decided and why, and completes the
// waiting workflow task.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/linksecret"
	"github.com/highwayhq/highway/shared/approval/tasktoken"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

func main() {
	function.Main("approval", run)
}

func run(ctx context.Context, rt *function.Runtime) error {
	machine := os.Getenv(function.EnvApprovalStateMachine)
	if machine == "" {
		return fmt.Errorf("%s must be set", function.EnvApprovalStateMachine)
	}
	signer, err := linksecret.LoadSigner(ctx, secretsmanager.NewFromConfig(rt.AWS), os.Getenv(function.EnvApprovalSecret))
	if err != nil {
		return err
	}
	workflows := sfn.NewFromConfig(rt.AWS)
	approvals := approval.New(
		ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		tasktoken.Sender{API: workflows},
		sns.NewFromConfig(rt.AWS), rt.Topic,
		approval.WithEvents(bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus)),
		approval.WithWorkflows(tasktoken.Executions{API: workflows, StateMachine: machine}))
	function.Start(rt, approval.NewLinks(approvals, signer).Handle)
	return nil
}
