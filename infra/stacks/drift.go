package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/route"
)

// EnvDriftQueue is the URL of the drift queue, where the drift function queues
// one message per stack to check.
const EnvDriftQueue = function.EnvDriftQueue

// Drift detection's timing and pace. One invocation selects the stacks of every
// account, or starts the detections of a batch, within the timeout; the queue
// hides a message for six timeouts, as Lambda advises for an SQS event source,
// so that a batch in flight is not handed out twice. The event source
// mapping's batch size and concurrency bound how fast detections start, the
// policy's rate bounds the CloudFormation calls within them, and a detection
// that fails this many receives goes to the dead-letter queue.
const (
	driftTimeoutMinutes   = 5
	driftVisibilityFactor = 6
	driftBatchSize        = 10
	driftMaxConcurrency   = 2
	driftMaxReceives      = 5
)

// resourceReadPolicy is the AWS managed policy with which DetectStackDrift
// reads the resources of the stacks it checks.
const resourceReadPolicy = "SecurityAudit"

// Why the drift capability's findings are accepted, for cdk-nag.
const (
	whyResourceReads      = "DetectStackDrift reads every resource of a stack with the caller's credentials (ec2:DescribeSecurityGroups for a security group, iam:GetRole and iam:GetRolePolicy for a role, and so on), and the stacks checked are selected at run time by name prefix and tags, so their resource types are not known here. SecurityAudit, maintained by AWS, reads the configuration of every service but not the data resources hold (objects, items, secret values), unlike ReadOnlyAccess; ViewOnlyAccess lists resources but lacks the Get actions drift detection calls, such as iam:GetRole. A resource SecurityAudit cannot read is reported by CloudFormation as a failed detection."
	whyNoQueueDestination = "Lambda accepts no on-failure destination for an SQS event source: the drift queue's redrive policy moves a detection that failed five receives to its dead-letter queue, which alarms."
	whyTerraformPlans     = "A build's artifact key ends in the build id CodeBuild assigns when the build starts; the statement reaches only the buckets the policy names as the artifact buckets of its Terraform workspaces' projects, whose builds leave the plans there."
)

// newDrift detects drift, when the policy has a drift section. On the policy's
// schedule the drift function selects the stacks of every account and region
// Highway reaches and queues one detection per stack, compares what runs in
// the environments Highway deploys to with what was promoted there, and sweeps
// stale detections. It consumes the drift queue, starting each stack's drift
// detection, and receives CloudFormation's completion events through its route
// to read the drifted resources. It records drift in the ledger, announces it
// on the bus and notifies people. It reaches the hub account's stacks and
// environments with its own role and the other accounts' through their spoke
// roles.
func newDrift(hub *Hub) error {
	p := hub.Policy
	if p.Drift == nil {
		return nil
	}
	scope := constructs.NewConstruct(hub.Stack, jsii.String("Drift"))
	timeout := awscdk.Duration_Minutes(jsii.Number(driftTimeoutMinutes))
	fn, err := hub.Function(scope, route.FunctionDrift, FunctionProps{
		Description: "Highway: detects drift of the stacks and environments Highway reaches, on schedule and stack by stack.",
		Timeout:     timeout,
	})
	if err != nil {
		return err
	}
	hub.grantDecisions(fn)
	if err := hub.actsThrough(scope, accessDrift, fn); err != nil {
		return err
	}

	queue := newDriftQueue(scope, hub)
	queue.GrantSendMessages(fn)
	queue.GrantConsumeMessages(fn)
	fn.AddEnvironment(jsii.String(EnvDriftQueue), queue.QueueUrl(), nil)
	consumer := awslambda.NewEventSourceMapping(scope, jsii.String("Consumer"), &awslambda.EventSourceMappingProps{
		Target:                  fn,
		EventSourceArn:          queue.QueueArn(),
		BatchSize:               jsii.Number(driftBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(driftMaxConcurrency),
	})
	suppress(consumer, true, rule("Serverless-LambdaEventSourceMappingDestination", whyNoQueueDestination))

	hub.Schedule(scope, "Sweep",
		"Highway: on the policy's drift schedule, drift queues a detection for each selected stack, checks what runs in the deployed environments and sweeps stale detections.",
		awsevents.Schedule_Expression(jsii.String(p.Drift.Schedule)), fn)
	return hub.Route(scope, route.FunctionDrift, fn)
}

// newDriftQueue creates the queue of detections to start: encrypted with an
// SQS-managed key, TLS-only, hiding a message for six function timeouts, and
// moving one that failed five receives to a dead-letter queue that alarms.
func newDriftQueue(scope constructs.Construct, hub *Hub) awssqs.Queue {
	failures := hub.deadLetterQueue(scope, "QueueFailures", "the drift function from the drift queue")
	return awssqs.NewQueue(scope, jsii.String("Queue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Minutes(jsii.Number(driftTimeoutMinutes * driftVisibilityFactor)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           failures,
			MaxReceiveCount: jsii.Number(driftMaxReceives),
		},
	})
}
