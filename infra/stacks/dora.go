package stacks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
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
	addDORAWidgets(hub, scope, heatmap)
	return nil
}

// The window of the DORA metrics the dashboards graph: its Window dimension
// (one of dora.Windows), and how titles say it.
const (
	doraWindow      = "7d"
	doraWindowTitle = "7 days"
)

// appsPerDashboard is how many apps an app dashboard shows. An app takes six
// widgets (its environments' deploy targets, four DORA graphs and its
// heatmap) and about 2 KB of dashboard body, so 20 apps make 121 widgets (a
// quarter of the 500 CloudWatch allows) and about 40 KB. More would fit, but every heatmap is a Lambda invocation that
// reads the ledger each time the dashboard loads or refreshes, and a page of
// 20 apps (360 rows) is already long to scroll.
const appsPerDashboard = 20

// AppDashboardName is the name of the i-th (from 0) app dashboard:
// <hub>-apps-1, <hub>-apps-2, ... They follow the policy's order of apps, so
// adding an app at the end of the policy moves no other app.
func AppDashboardName(hub policy.Hub, i int) string {
	return fmt.Sprintf("%s-apps-%d", hub.Name, i+1)
}

// dashboardApps returns the apps with environments, in policy order, in the
// groups of appsPerDashboard that share an app dashboard.
func dashboardApps(p *policy.Policy) [][]policy.App {
	var apps []policy.App
	for _, a := range p.Apps {
		if len(a.Environments) > 0 {
			apps = append(apps, a)
		}
	}
	return slices.Collect(slices.Chunk(apps, appsPerDashboard))
}

// addDORAWidgets adds the DORA metrics to the dashboards: on the overview,
// the list of app dashboards and the DORA metrics of all apps at once; on the
// app dashboards, per app, its DORA metrics over doraWindow in its last
// environment and its deployment heatmaps.
func addDORAWidgets(hub *Hub, scope constructs.Construct, heatmap awslambda.IFunction) {
	groups := dashboardApps(hub.Policy)
	hub.Dashboard.AddWidgets(appDashboardsIndex(hub.Policy.Hub, groups))
	hub.Dashboard.AddWidgets(doraSummary(hub.Policy)...)
	for i, apps := range groups {
		name := AppDashboardName(hub.Policy.Hub, i)
		d := awscloudwatch.NewDashboard(scope, jsii.String(fmt.Sprintf("AppsDashboard%d", i+1)), &awscloudwatch.DashboardProps{
			DashboardName: jsii.String(name),
		})
		names := make([]string, len(apps))
		for j, a := range apps {
			names[j] = a.Name
		}
		d.AddWidgets(text(fmt.Sprintf("## %s\nThe DORA metrics (%s, last environment) and deployment heatmaps of %s. [Overview](#dashboards:name=%s)",
			name, doraWindowTitle, strings.Join(names, ", "), hub.Policy.Hub.Name), 3))
		for _, a := range apps {
			addAppRows(d, a, heatmap)
		}
	}
}

// addAppRows adds to d where an app's environments deploy to, its DORA
// metrics over doraWindow in its last environment, and the heatmap
// function's custom widget for the app.
func addAppRows(d awscloudwatch.Dashboard, a policy.App, heatmap awslambda.IFunction) {
	targets := make([]string, len(a.Environments))
	for i, e := range a.Environments {
		targets[i] = fmt.Sprintf("%s → %s (%s/%s)", e.Name, e.Deploy, e.Account, e.Region)
	}
	d.AddWidgets(text(fmt.Sprintf("**%s** deploys %s", a.Name, strings.Join(targets, " · ")), 2))
	env := a.Environments[len(a.Environments)-1].Name
	metric := func(name, label string) awscloudwatch.IMetric {
		return highwayMetric(name, label, "Maximum", awscdk.Duration_Seconds(jsii.Number(hourly)),
			map[string]string{dimApp: a.Name, dimEnv: env, dimWindow: doraWindow})
	}
	title := func(what string) string { return a.Name + "/" + env + ": " + what }
	d.AddWidgets(
		graph(title("deployments a day ("+doraWindowTitle+")"), metric(telemetry.MetricDeploymentsPerDay, "per day")),
		graph(title("lead time p50, seconds ("+doraWindowTitle+")"), metric(telemetry.MetricLeadTimeP50, "p50")),
		graph(title("change failure rate, % ("+doraWindowTitle+")"), metric(telemetry.MetricChangeFailureRate, "%")),
		graph(title("time to restore p50, seconds ("+doraWindowTitle+")"), metric(telemetry.MetricTimeToRestoreP50, "p50")),
	)
	d.AddWidgets(awscloudwatch.NewCustomWidget(&awscloudwatch.CustomWidgetProps{
		FunctionArn: heatmap.FunctionArn(), Title: jsii.String(a.Name + ": deployments and DORA metrics"),
		Width: jsii.Number(24), Height: jsii.Number(12), Params: map[string]string{"app": a.Name},
		UpdateOnRefresh: jsii.Bool(true), UpdateOnTimeRangeChange: jsii.Bool(true),
	}))
}

// appDashboardsIndex is the overview's text widget that links every app
// dashboard, each with its first and last app. Its height is fixed, so the
// overview's layout is the same for any number of apps; a long list scrolls.
func appDashboardsIndex(hub policy.Hub, groups [][]policy.App) awscloudwatch.IWidget {
	var links []string
	for i, apps := range groups {
		name := AppDashboardName(hub, i)
		link := fmt.Sprintf("[%s](#dashboards:name=%s) %s", name, name, apps[0].Name)
		if len(apps) > 1 {
			link += " … " + apps[len(apps)-1].Name
		}
		links = append(links, link)
	}
	if len(links) == 0 {
		links = append(links, "none: the policy has no app with environments")
	}
	return text(fmt.Sprintf("## Apps\nEach app's DORA metrics (%s, last environment) and deployment heatmaps, %d apps a dashboard in policy order: %s",
		doraWindowTitle, appsPerDashboard, strings.Join(links, " · ")), 4)
}

// doraSummary graphs the DORA metrics of all apps together, over doraWindow
// in their last environments (lastEnvironments): deployments a day, the
// apps' lead time and time to restore (mean and slowest), and the change
// failure rate of all their deployments. Each SEARCH returns one series per
// app (an app whose last environment shares its name with another app's
// earlier one adds that one too), so a graph holds at most 2 × apps series:
// within the 500 a graph shows up to 250 apps.
func doraSummary(p *policy.Policy) []awscloudwatch.IWidget {
	filter, scope := lastEnvironments(p)
	filter = dimWindow + `="` + doraWindow + `"` + filter
	find := func(metric string) awscloudwatch.IMetric {
		return search(metric, "Maximum", hourly, filter, byAppEnv, dimApp, dimEnv, dimWindow)
	}
	title := func(what string) string { return "All apps, " + scope + ": " + what + " (" + doraWindowTitle + ")" }
	lead, restore := find(telemetry.MetricLeadTimeP50), find(telemetry.MetricTimeToRestoreP50)
	failureRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("100 * SUM(failed) / SUM(deployed)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"failed":   find(telemetry.MetricFailedChangesInWindow),
			"deployed": find(telemetry.MetricDeploymentsInWindow),
		},
		Label:  jsii.String("all deployments"),
		Period: awscdk.Duration_Seconds(jsii.Number(hourly)),
	})
	return []awscloudwatch.IWidget{
		graph(title("deployments a day"), expr("SUM(perDay)", "all apps", hourly, "perDay", find(telemetry.MetricDeploymentsPerDay))),
		graph(title("lead time p50, seconds"),
			expr("AVG(lead)", "mean of the apps", hourly, "lead", lead),
			expr("MAX(lead)", "slowest app", hourly, "lead", lead)),
		graph(title("change failure rate, %"), failureRate),
		graph(title("time to restore p50, seconds"),
			expr("AVG(restore)", "mean of the apps", hourly, "restore", restore),
			expr("MAX(restore)", "slowest app", hourly, "restore", restore)),
	}
}

// maxEnvFilter keeps a SEARCH of the DORA summary within the 1,024
// characters CloudWatch allows a query, with room for the rest of it.
const maxEnvFilter = 700

// lastEnvironments returns the SEARCH filter that keeps the apps' last
// environments, by their distinct names in policy order, and what the
// summary's titles call them. Platforms name production alike, so the filter
// does not grow with the apps; when the names do not fit in a query, the
// summary covers every environment instead.
func lastEnvironments(p *policy.Policy) (filter, scope string) {
	var names []string
	for _, a := range p.Apps {
		if len(a.Environments) > 0 && !slices.Contains(names, a.Environments[len(a.Environments)-1].Name) {
			names = append(names, a.Environments[len(a.Environments)-1].Name)
		}
	}
	terms := make([]string, len(names))
	for i, n := range names {
		terms[i] = dimEnv + `="` + n + `"`
	}
	filter = " (" + strings.Join(terms, " OR ") + ")"
	if len(names) == 0 || len(filter) > maxEnvFilter {
		return "", "every environment"
	}
	return filter, strings.Join(names, ", ")
}
