// Command dora is the Lambda function that, on a schedule, computes the DORA
// metrics of every app and environment of the policy over 1, 7 and 30 days
// from the ledger, incrementally (each run reads what changed since the
// last, from the checkpoint it keeps on the ledger), and publishes them as
// CloudWatch metrics (EMF).
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

// Result says what one run published.
type Result struct {
	Rows []dora.Row `json:"rows"`
}

func main() {
	rt, err := function.Load(context.Background())
	if err != nil {
		slog.Error("dora: start", "error", err)
		os.Exit(1)
	}
	l := ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table)
	function.Start(rt, func(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
		if ev.Source != "aws.events" || ev.DetailType != "Scheduled Event" {
			return Result{}, errors.New("dora: want the schedule's event, got " + ev.DetailType)
		}
		rows, err := dora.Tally(ctx, l, rt.Policy, ev.Time, nil)
		if err != nil {
			return Result{}, err
		}
		var errs []error
		for _, r := range rows {
			errs = append(errs, dora.Publish(rt.Metrics, r))
		}
		return Result{Rows: rows}, errors.Join(errs...)
	})
}
