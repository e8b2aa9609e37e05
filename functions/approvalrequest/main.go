// Command approvalrequest is the Lambda task the production approval workflow
// waits on: it files the request under an opaque approval id (the task token
// stays in the ledger) and sends the approvers their signed links; when the
// workflow stops waiting, it expires the request.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/linksecret"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

func main() {
	function.Main("approvalrequest", run)
}

func run(ctx context.Context, rt *function.Runtime) error {
	signer, err := linksecret.LoadSigner(ctx, secretsmanager.NewFromConfig(rt.AWS), os.Getenv(function.EnvApprovalSecret))
	if err != nil {
		return err
	}
	l := ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table)
	events := approval.WithEvents(bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus))
	notify := sns.NewFromConfig(rt.AWS)
	// The approvers' links go to the approvals topic, each approver's to them
	// alone; expiry notices, which carry no link, to the notification topic.
	requests, err := approval.NewRequester(rt.Policy, l, notify, os.Getenv(function.EnvApprovalTopic), signer, os.Getenv(function.EnvApprovalURL), events)
	if err != nil {
		return err
	}
	function.Start(rt, approval.Invoker{Requests: requests, Approvals: approval.New(l, nil, notify, rt.Topic, events)}.Invoke)
	return nil
}
