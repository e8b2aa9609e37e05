// Command push is the Lambda function that records CodeCommit branch pushes in
// the ledger and announces them on Highway's bus.
package main

import (
	"context"
	"log/slog"
	"os"

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
	h := push.NewHandler(rt.Policy,
		ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		rt.Metrics)
	function.Start(rt, h.Handle)
}
