package stacks

import (
	"slices"

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
	// WithRole creates the account's spoke role. IAM roles are global to an
	// account, so only one stack per spoke account creates it.
	WithRole bool
}

// NewSpoke creates the stack of one spoke account and region: a rule forwarding
// the AWS events Highway reacts to from the default bus to the hub bus and, when
// props.WithRole, the role hub functions assume to act in the account.
func NewSpoke(scope constructs.Construct, props SpokeProps) awscdk.Stack {
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
	if props.WithRole {
		newSpokeRole(stack, props.Policy, s.Account)
	}
	return stack
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

// newSpokeRole creates the role hub functions assume in a spoke account. Only the
// hub account may assume it, and only with a role under the hub functions' IAM
// path. It may do to the apps delivered from the account, to the environments
// of the account Highway deploys to, to the account's stacks when the policy
// detects drift, and to the alarms and targets of its environments' runbooks,
// what the hub functions do to those of the hub account, and nothing else:
// nothing at all when no app is delivered from it, Highway deploys to none of
// its environments, detects no drift and runs no runbook there. IAM roles are
// global, so its statements name each app's, environment's and stack's own
// region.
func newSpokeRole(stack awscdk.Stack, p *policy.Policy, account string) awsiam.Role {
	hub := p.Hub
	role := awsiam.NewRole(stack, jsii.String("SpokeRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(hub.SpokeRoleName()),
		Description: jsii.String("Highway: the " + hub.Name + " hub's functions act in this account through this role."),
		AssumedBy: awsiam.NewPrincipalWithConditions(
			awsiam.NewAccountPrincipal(jsii.String(hub.Account)),
			&map[string]interface{}{
				"ArnLike": map[string]interface{}{"aws:PrincipalArn": functionRoleArns(stack, hub)},
			}),
	})
	allow(role, role, spokePermissions(p, account))
	if answersJobs(p, account) {
		allowJobAnswers(role, role)
	}
	if p.Drift != nil && account != hub.Account {
		allowResourceReads(role)
	}
	return role
}

// spokePermissions are the statements of an account's spoke role: what hub
// functions do to the apps delivered from that account, to the environments of
// that account Highway deploys to, to its stacks when the policy detects
// drift, and to its alarms and runbook targets when the policy responds to
// alarms, in any region. The hub account's own apps, environments and stacks are
// reached with the functions' roles, so its spoke role, if any, gets nothing.
func spokePermissions(p *policy.Policy, account string) []permission {
	if account == p.Hub.Account {
		return nil
	}
	apps := deliveredFrom(p.Apps, account)
	return slices.Concat(commitReads(apps), gateReads(apps), deploys(deployedTo(p.Apps, account)), driftChecks(p, account), remediations(p, account))
}

// answersJobs reports whether pipelines of account call the gatejob function,
// which then answers their jobs through the account's spoke role.
func answersJobs(p *policy.Policy, account string) bool {
	return slices.Contains(jobAccounts(p), account)
}
