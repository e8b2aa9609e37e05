package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
)

// SpokeProps configures one spoke stack.
type SpokeProps struct {
	// Policy is the validated policy.
	Policy *policy.Policy
	// Spoke is the account and region the stack deploys to.
	Spoke policy.Spoke
	// WithRoles creates the account's access roles. IAM roles are global to an
	// account, so only one stack per spoke account creates them.
	WithRoles bool
}

// NewSpoke creates the stack of one spoke account and region: a rule forwarding
// the AWS events Highway reacts to from the default bus to the hub bus and, when
// props.WithRoles, the access roles hub functions assume to act in the account
// (see newAccessRoles).
func NewSpoke(scope constructs.Construct, props SpokeProps) (awscdk.Stack, error) {
	hub, s := props.Policy.Hub, props.Spoke
	stack := awscdk.NewStack(scope, jsii.String(SpokeStackName(hub, s)), &awscdk.StackProps{
		StackName:   jsii.String(SpokeStackName(hub, s)),
		Description: jsii.String("Highway spoke: forwards this account's delivery events to the " + hub.Name + " hub."),
		Env: &awscdk.Environment{
			Account: jsii.String(s.Account),
			Region:  jsii.String(s.Region),
		},
	})
	newForwarding(stack, hub)
	if props.WithRoles {
		if err := newAccessRoles(stack, props.Policy, s.Account); err != nil {
			return nil, err
		}
	}
	return stack, nil
}

// newForwarding sends the spoke's events of the forwarded sources to the hub bus,
// through a role EventBridge assumes for that alone, keeping what it cannot
// deliver in a dead-letter queue.
func newForwarding(stack awscdk.Stack, hub policy.Hub) {
	c := constructs.NewConstruct(stack, jsii.String("Forwarding"))
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()},
			},
		}),
		Description: jsii.String("Highway: EventBridge forwards this account's events to the hub bus."),
	})
	dlq := newDeadLetterQueue(c, "Failures", "the forwarding to the "+hub.Name+" hub bus", nil)
	awsevents.NewRule(c, jsii.String("Rule"), &awsevents.RuleProps{
		Description:  jsii.String("Highway: forward delivery events to the " + hub.Name + " hub bus."),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(forwardedSources...)},
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewEventBus(
				awsevents.EventBus_FromEventBusArn(c, jsii.String("HubBus"), busArn(stack, hub)),
				&awseventstargets.EventBusProps{Role: role, DeadLetterQueue: dlq}),
		},
	})
}
