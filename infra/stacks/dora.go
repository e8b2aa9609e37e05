package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/telemetry"
)

// The functions of the DORA capability.
const (
	// FunctionDORA is the scheduled function that publishes the DORA metrics.
	FunctionDORA = "dora"
	// FunctionHeatmap is the dashboard's custom widget: the deployment
	// heatmaps and the metrics as HTML.
	FunctionHeatmap = "heatmap"
)

// doraSchedule is how often the DORA metrics are computed: hourly keeps the
// 1-day window's figures fresh for the dashboard.
const doraSchedule = "rate(1 hour)"

// newDORA computes the DORA metrics of every app and environment on a
// schedule, reading the ledger (and writing there only its checkpoints) and
// publishing the metrics through EMF in its logs.
func newDORA(hub *Hub) error {
	scope := constructs.NewConstruct(hub.Stack, jsii.String("DORA"))
	fn, err := hub.Function(scope, FunctionDORA, FunctionProps{
		Description: "Highway: computes the DORA metrics of every app and environment from the ledger and publishes them as CloudWatch metrics.",
		Timeout:     awscdk.Duration_Minutes(jsii.Number(5)),
	})
	if err != nil {
		return err
	}
	hub.GrantLedgerReadWrite(fn) // its checkpoints
	hub.Schedule(scope, "Schedule", "Highway: hourly, dora computes and publishes the DORA metrics.",
		awsevents.Schedule_Expression(jsii.String(doraSchedule)), fn)
	heatmap, err := hub.Function(scope, FunctionHeatmap, FunctionProps{
		Description: "Highway: the dashboard's deployment heatmaps and DORA metrics, as HTML read from the ledger.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(30)),
	})
	if err != nil {
		return err
	}
	hub.GrantLedgerRead(heatmap)
	addDORAWidgets(hub, heatmap)
	return nil
}

// addDORAWidgets adds to the Highway dashboard, per app, its DORA metrics
// over 7 days in its last environment, and the deployment heatmaps.
func addDORAWidgets(hub *Hub, heatmap awslambda.IFunction) {
	for _, a := range hub.Policy.Apps {
		if len(a.Environments) == 0 {
			continue
		}
		env := a.Environments[len(a.Environments)-1].Name
		metric := func(name, label string) awscloudwatch.IMetric {
			return highwayMetric(name, label, "Maximum", awscdk.Duration_Hours(jsii.Number(1)),
				map[string]string{"App": a.Name, "Env": env, "Window": "7d"})
		}
		title := func(what string) string { return a.Name + "/" + env + ": " + what }
		hub.Dashboard.AddWidgets(
			graph(title("deployments a day (7 days)"), metric(telemetry.MetricDeploymentsPerDay, "per day")),
			graph(title("lead time p50, seconds (7 days)"), metric(telemetry.MetricLeadTimeP50, "p50")),
			graph(title("change failure rate, % (7 days)"), metric(telemetry.MetricChangeFailureRate, "%")),
			graph(title("time to restore p50, seconds (7 days)"), metric(telemetry.MetricTimeToRestoreP50, "p50")),
		)
		hub.Dashboard.AddWidgets(awscloudwatch.NewCustomWidget(&awscloudwatch.CustomWidgetProps{
			FunctionArn: heatmap.FunctionArn(), Title: jsii.String(a.Name + ": deployments and DORA metrics"),
			Width: jsii.Number(24), Height: jsii.Number(12), Params: map[string]string{"app": a.Name},
			UpdateOnRefresh: jsii.Bool(true), UpdateOnTimeRangeChange: jsii.Bool(true),
		}))
	}
}
