package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// namedFunction is a function of the hub and its name in functions/.
type namedFunction struct {
	name string
	fn   awslambda.Function
}

// addHealth ends the Highway dashboard with Highway's own health, over the
// self-watch period: every function's invocations, errors, p99 duration and
// throttles; the depth of every dead-letter queue; the approvals waiting in
// each environment that requires one; each gated app's gate pass rate; and
// the drift found (stacks, resources by severity, environments running what
// was not promoted).
func (h *Hub) addHealth() {
	period := awscdk.Duration_Minutes(jsii.Number(selfWatchPeriodMinutes))
	perFunction := func(title, statistic string, metric func(awslambda.Function, *awscloudwatch.MetricOptions) awscloudwatch.Metric) awscloudwatch.IWidget {
		var ms []awscloudwatch.IMetric
		for _, f := range h.functions {
			ms = append(ms, metric(f.fn, &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String(statistic), Label: jsii.String(f.name)}))
		}
		return graph(title, ms...)
	}
	h.Dashboard.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String("## Highway's health\nEvery function, dead-letter queue, approval, gate and drift check of this hub."),
		Width:    jsii.Number(24), Height: jsii.Number(2),
	}))
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
	var waiting, passRate, artifacts []awscloudwatch.IMetric
	for i, a := range h.Policy.Apps {
		if a.Gate != nil {
			passed := highwayMetric(telemetry.MetricGatePassed, "", "Average", awscdk.Duration_Hours(jsii.Number(1)), map[string]string{"App": a.Name})
			id := fmt.Sprintf("passed%d", i) // an id per expression of the widget
			passRate = append(passRate, awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression:   jsii.String("100 * " + id),
				UsingMetrics: &map[string]awscloudwatch.IMetric{id: passed},
				Label:        jsii.String(a.Name),
				Period:       awscdk.Duration_Hours(jsii.Number(1)),
			}))
		}
		for _, e := range a.Environments {
			dims := map[string]string{"App": a.Name, "Env": e.Name}
			if e.Approval != nil {
				waiting = append(waiting, highwayMetric(telemetry.MetricApprovalsWaiting, a.Name+"/"+e.Name, "Maximum", period, dims))
			}
			artifacts = append(artifacts, highwayMetric(telemetry.MetricArtifactDrift, a.Name+"/"+e.Name+" not as promoted", "Maximum", awscdk.Duration_Hours(jsii.Number(1)), dims))
		}
	}
	drift := []awscloudwatch.IMetric{highwayMetric(telemetry.MetricDriftedStacks, "stacks drifted", "Sum", awscdk.Duration_Hours(jsii.Number(1)), nil)}
	for _, s := range policy.Severities {
		drift = append(drift, highwayMetric(telemetry.MetricDriftedResources, s+" resources", "Sum", awscdk.Duration_Hours(jsii.Number(1)), map[string]string{"Severity": s}))
	}
	var row []awscloudwatch.IWidget
	for _, g := range []struct {
		title   string
		metrics []awscloudwatch.IMetric
	}{
		{"Dead-letter queues: messages", depth},
		{"Approvals waiting", waiting},
		{"Gate pass rate, % (hourly)", passRate},
		{"Drift found (hourly)", append(drift, artifacts...)},
	} {
		if len(g.metrics) > 0 { // a policy without approvals or gates
			row = append(row, graph(g.title, g.metrics...))
		}
	}
	h.Dashboard.AddWidgets(row...)
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
