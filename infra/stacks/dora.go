package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
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
	newDashboard(scope, hub, heatmap)
	return nil
}

// newDashboard is the Highway dashboard: per app, its DORA metrics over 7
// days in its last environment, and the deployment heatmaps.
func newDashboard(scope constructs.Construct, hub *Hub, heatmap awslambda.IFunction) awscloudwatch.Dashboard {
	var rows []*[]awscloudwatch.IWidget
	for _, a := range hub.Policy.Apps {
		if len(a.Environments) == 0 {
			continue
		}
		env := a.Environments[len(a.Environments)-1].Name
		metric := func(name, label string) awscloudwatch.IMetric {
			return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String("Highway"),
				MetricName:    jsii.String(name),
				DimensionsMap: &map[string]*string{"App": jsii.String(a.Name), "Env": jsii.String(env), "Window": jsii.String("7d")},
				Statistic:     jsii.String("Maximum"),
				Period:        awscdk.Duration_Hours(jsii.Number(1)),
				Label:         jsii.String(label),
			})
		}
		graph := func(title string, m awscloudwatch.IMetric) awscloudwatch.IWidget {
			return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String(a.Name + "/" + env + ": " + title), Width: jsii.Number(6), Height: jsii.Number(6),
				Left: &[]awscloudwatch.IMetric{m},
			})
		}
		rows = append(rows,
			&[]awscloudwatch.IWidget{
				graph("deployments a day (7 days)", metric("DeploymentsPerDay", "per day")),
				graph("lead time p50, seconds (7 days)", metric("LeadTimeP50", "p50")),
				graph("change failure rate, % (7 days)", metric("ChangeFailureRate", "%")),
				graph("time to restore p50, seconds (7 days)", metric("TimeToRestoreP50", "p50")),
			},
			&[]awscloudwatch.IWidget{awscloudwatch.NewCustomWidget(&awscloudwatch.CustomWidgetProps{
				FunctionArn: heatmap.FunctionArn(), Title: jsii.String(a.Name + ": deployments and DORA metrics"),
				Width: jsii.Number(24), Height: jsii.Number(12), Params: map[string]string{"app": a.Name},
				UpdateOnRefresh: jsii.Bool(true), UpdateOnTimeRangeChange: jsii.Bool(true),
			})},
		)
	}
	return awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(hub.Policy.Hub.Name),
		Widgets:       &rows,
	})
}
