package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FunctionDORA is the scheduled function that publishes the DORA metrics.
const FunctionDORA = "dora"

// doraSchedule is how often the DORA metrics are computed: hourly keeps the
// 1-day window's figures fresh for the dashboard.
const doraSchedule = "rate(1 hour)"

// newDORA computes the DORA metrics of every app and environment on a
// schedule, reading the ledger (it writes nothing) and publishing the
// metrics through EMF in its logs.
func newDORA(hub *Hub) error {
	scope := constructs.NewConstruct(hub.Stack, jsii.String("DORA"))
	fn, err := hub.Function(scope, FunctionDORA, FunctionProps{
		Description: "Highway: computes the DORA metrics of every app and environment from the ledger and publishes them as CloudWatch metrics.",
		Timeout:     awscdk.Duration_Minutes(jsii.Number(5)),
	})
	if err != nil {
		return err
	}
	hub.GrantLedgerRead(fn)
	hub.Schedule(scope, "Schedule", "Highway: hourly, dora computes and publishes the DORA metrics.",
		awsevents.Schedule_Expression(jsii.String(doraSchedule)), fn)
	return nil
}
