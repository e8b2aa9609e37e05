package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Highway watches itself: every function the hub creates alarms on its errors
// and throttles, the approval workflow on its failed and timed-out executions,
// and every dead-letter queue on its first message (newDeadLetterQueue), each
// alarm notifying people through the topic. An alarm fires on the first
// occurrence in a period: Highway's functions run rarely, and one failure is
// a promotion, a gate or an incident that did not happen.
const selfWatchPeriodMinutes = 5

// watchFunction creates the alarms on fn's errors and throttles under scope,
// the construct of function name.
func (h *Hub) watchFunction(scope constructs.Construct, name string, fn awslambda.Function) {
	h.functions = append(h.functions, namedFunction{name, fn})
	opts := selfWatchMetric()
	h.alarm(scope, "ErrorsAlarm", "Highway function "+name+" failed an invocation: see its logs.", fn.MetricErrors(opts))
	h.alarm(scope, "ThrottlesAlarm", "Highway function "+name+" was throttled: the account's Lambda concurrency is exhausted.", fn.MetricThrottles(opts))
}

// watchStateMachine creates the alarms on machine's failed and timed-out
// executions under scope.
func (h *Hub) watchStateMachine(scope constructs.Construct, machine awsstepfunctions.StateMachine) {
	opts := selfWatchMetric()
	h.alarm(scope, "FailedAlarm", "A promotion of the approval workflow failed: the ledger records which step.", machine.MetricFailed(opts))
	h.alarm(scope, "TimedOutAlarm", "A promotion of the approval workflow timed out.", machine.MetricTimedOut(opts))
}

// alarm creates an alarm that fires when metric is above zero in a period,
// treats a period without data as healthy, and notifies people.
func (h *Hub) alarm(scope constructs.Construct, id, description string, metric awscloudwatch.IMetric) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(h.alarmAction)
	return a
}

// selfWatchMetric sums a metric over the self-watch period.
func selfWatchMetric() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(selfWatchPeriodMinutes)),
		Statistic: jsii.String("Sum"),
	}
}
