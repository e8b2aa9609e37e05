package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// The dimensions of Highway's metrics, from the one list the handlers write
// them with.
const (
	dimApp      = telemetry.DimApp
	dimEnv      = telemetry.DimEnv
	dimWindow   = telemetry.DimWindow
	dimSeverity = telemetry.DimSeverity
)

// hourly is the period of the metrics written once an hour or less often
// (gate decisions, drift checks, the DORA metrics).
const hourly = 3600

// namedFunction is a function of the hub and its name in functions/.
type namedFunction struct {
	name string
	fn   awslambda.Function
}

// addHealth ends the overview dashboard with Highway's own health, over the
// self-watch period: every function's invocations, errors, p99 duration and
// throttles; the depth of every dead-letter queue; the approvals waiting; the
// gate pass rate; and the drift found (stacks, resources by severity,
// environments running what was not promoted).
//
// The functions and queues are Highway's own, as many for one app as for a
// hundred, so each is listed. What is per app or per environment is found by
// SEARCH over the metric's dimensions, so the dashboard does not grow with the
// policy's apps.
func (h *Hub) addHealth() {
	period := awscdk.Duration_Minutes(jsii.Number(selfWatchPeriodMinutes))
	perFunction := func(title, statistic string, metric func(awslambda.Function, *awscloudwatch.MetricOptions) awscloudwatch.Metric) awscloudwatch.IWidget {
		var ms []awscloudwatch.IMetric
		for _, f := range h.functions {
			ms = append(ms, metric(f.fn, &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String(statistic), Label: jsii.String(f.name)}))
		}
		return graph(title, ms...)
	}
	h.Dashboard.AddWidgets(text("## Highway's health\nEvery function, dead-letter queue, approval, gate and drift check of this hub.", 2))
	h.Dashboard.AddWidgets(
		perFunction("Invocations", "Sum", awslambda.Function.MetricInvocations),
		perFunction("Errors", "Sum", awslambda.Function.MetricErrors),
		perFunction("Duration p99, ms", "p99", awslambda.Function.MetricDuration),
		perFunction("Throttles", "Sum", awslambda.Function.MetricThrottles),
	)

	var depth []awscloudwatch.IMetric
	for _, d := range h.deadLetters {
		depth = append(depth, d.queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: period, Statistic: jsii.String("Maximum"), Label: jsii.String(d.purpose),
		}))
	}
	row := []awscloudwatch.IWidget{graph("Dead-letter queues: messages", depth...)}
	approvals, gated := false, false
	for _, a := range h.Policy.Apps {
		gated = gated || a.Gate != nil
		for _, e := range a.Environments {
			approvals = approvals || e.Approval != nil
		}
	}
	if approvals { // a policy without approvals has no graph of them
		// One series per app environment that requires approval: at most
		// apps × such environments (100 for 100 apps with one each).
		waiting := search(telemetry.MetricApprovalsWaiting, "Maximum", selfWatchPeriodMinutes*60, "", byAppEnv, dimApp, dimEnv)
		row = append(row, graph("Approvals waiting", waiting, expr("SUM(waiting)", "all apps", selfWatchPeriodMinutes*60, "waiting", waiting)))
	}
	if gated {
		// One series per gated app: at most the policy's apps.
		passed := search(telemetry.MetricGatePassed, "Average", hourly, "", byApp, dimApp)
		row = append(row, graph("Gate pass rate, % (hourly)",
			expr("100 * passed", "pass rate", hourly, "passed", passed),
			expr("100 * AVG(passed)", "mean of the apps", hourly, "passed", passed)))
	}
	drift := []awscloudwatch.IMetric{highwayMetric(telemetry.MetricDriftedStacks, "stacks drifted", "Sum", awscdk.Duration_Seconds(jsii.Number(hourly)), nil)}
	if d := h.Policy.Drift; d != nil && len(d.Terraform) > 0 {
		drift = append(drift, highwayMetric(telemetry.MetricDriftedWorkspaces, "Terraform workspaces drifted", "Sum", awscdk.Duration_Seconds(jsii.Number(hourly)), nil))
	}
	for _, s := range policy.Severities {
		drift = append(drift, highwayMetric(telemetry.MetricDriftedResources, s+" resources", "Sum", awscdk.Duration_Seconds(jsii.Number(hourly)), map[string]string{dimSeverity: s}))
	}
	// One series per app environment Highway deploys to: at most apps ×
	// environments (300 for 100 apps of three environments), next to the five
	// metrics above (six with Terraform workspaces).
	artifacts := search(telemetry.MetricArtifactDrift, "Maximum", hourly, "", byAppEnv+" not as promoted", dimApp, dimEnv)
	drift = append(drift, artifacts)
	row = append(row, graph("Drift found (hourly)", drift...))
	h.Dashboard.AddWidgets(row...)
}

// Dynamic labels naming the app, and the app and environment, of each time
// series a SEARCH returns.
const (
	byApp    = "${PROP('Dim." + dimApp + "')}"
	byAppEnv = byApp + "/${PROP('Dim." + dimEnv + "')}"
)

// search is one of Highway's metrics for every combination of values of dims
// (the dimensions the functions write it with, all of them), as one time
// series each, labelled label, over periods of seconds; filter narrows it
// (say Window="7d"). A SEARCH finds only metrics written in the last two
// weeks, and returns at most 500 time series, as many as a graph shows: every
// caller says what bounds the count.
func search(metric, statistic string, seconds int, filter, label string, dims ...string) awscloudwatch.IMetric {
	query := fmt.Sprintf(`{%s} MetricName="%s"`, strings.Join(append([]string{telemetry.Namespace}, dims...), ","), metric)
	if filter != "" {
		query += " " + filter
	}
	return awscloudwatch.NewSearchExpression(&awscloudwatch.SearchExpressionProps{
		Expression: jsii.String(fmt.Sprintf("SEARCH('%s', '%s', %d)", query, statistic, seconds)),
		Label:      jsii.String(label),
		Period:     awscdk.Duration_Seconds(jsii.Number(seconds)),
	})
}

// expr is the metric math expression over the one metric (or SEARCH) it names
// id, labelled label: where it computes one series per series of a SEARCH,
// CloudWatch labels each with label and the SEARCH's label of that series.
func expr(expression, label string, seconds int, id string, m awscloudwatch.IMetric) awscloudwatch.IMetric {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(expression),
		UsingMetrics: &map[string]awscloudwatch.IMetric{id: m},
		Label:        jsii.String(label),
		Period:       awscdk.Duration_Seconds(jsii.Number(seconds)),
	})
}

// highwayMetric is one of Highway's own metrics (telemetry.Namespace).
func highwayMetric(name, label, statistic string, period awscdk.Duration, dims map[string]string) awscloudwatch.IMetric {
	var dm *map[string]*string
	if len(dims) > 0 {
		m := map[string]*string{}
		for k, v := range dims {
			m[k] = jsii.String(v)
		}
		dm = &m
	}
	var l *string
	if label != "" {
		l = jsii.String(label)
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(telemetry.Namespace), MetricName: jsii.String(name), DimensionsMap: dm,
		Statistic: jsii.String(statistic), Period: period, Label: l,
	})
}

// graph is a quarter-width graph of metrics.
func graph(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
	return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String(title), Width: jsii.Number(6), Height: jsii.Number(6), Left: &metrics,
	})
}

// text is a full-width text widget of markdown, height rows high.
func text(markdown string, height float64) awscloudwatch.IWidget {
	return awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String(markdown), Width: jsii.Number(24), Height: jsii.Number(height),
	})
}
