package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// deadLetterRetention keeps failed events long enough to inspect and redrive them:
// the longest retention SQS allows.
const deadLetterRetentionDays = 14

// newDeadLetterQueue creates the SQS queue that receives what one asynchronous
// target could not process, and an alarm that fires as soon as it holds a message.
// action is nil where no topic is reachable (spokes); the alarm's state change is
// still an aws.cloudwatch event, which spokes forward to the hub.
func newDeadLetterQueue(scope constructs.Construct, id, purpose string, action awscloudwatch.IAlarmAction) awssqs.Queue {
	c := constructs.NewConstruct(scope, jsii.String(id))
	q := awssqs.NewQueue(c, jsii.String("Queue"), &awssqs.QueueProps{
		// SQS-managed keys: EventBridge, SNS and Lambda can all write to the queue
		// without a key policy naming them.
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(deadLetterRetentionDays)),
	})
	suppress(q, false,
		rule("AwsSolutions-SQS3", "This queue is itself the dead-letter queue of "+purpose+"; a queue behind it would only hold the same messages."),
		rule("Serverless-SQSRedrivePolicy", "This queue is itself the dead-letter queue of "+purpose+"; its messages are inspected and redriven by hand."),
	)
	alarm := awscloudwatch.NewAlarm(c, jsii.String("Alarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("Events failed delivery to " + purpose + ": see the dead-letter queue."),
		Metric: q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(1)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if action != nil {
		alarm.AddAlarmAction(action)
	}
	return q
}

// deadLetter is a dead-letter queue of the hub and what it holds.
type deadLetter struct {
	purpose string
	queue   awssqs.Queue
}

// deadLetterQueue is newDeadLetterQueue in the hub: its alarm notifies
// people, and the dashboard shows its depth.
func (h *Hub) deadLetterQueue(scope constructs.Construct, id, purpose string) awssqs.Queue {
	q := newDeadLetterQueue(scope, id, purpose, h.alarmAction)
	h.deadLetters = append(h.deadLetters, deadLetter{purpose, q})
	return q
}
