// Command push is the Lambda function that records the commits of CodeCommit
// branch pushes in the ledger, with their author and commit time, and announces
// them on Highway's bus.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/push"
)

func main() {
	rt, err := function.Load(context.Background())
	if err != nil {
		slog.Error("push: start", "error", err)
		os.Exit(1)
	}
	commits := func(app, account, region string) push.CommitGetter {
		return codecommit.NewFromConfig(rt.Accounts.ForApp(app, account, region))
	}
	h := push.NewHandler(rt.Policy, commits,
		ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		rt.Metrics)
	function.Start(rt, h.Handle)
}
