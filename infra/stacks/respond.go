package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/route"
)

// respondTimeoutSeconds bounds one alarm response: reading the alarm's tags,
// the guards in the ledger and a few remediation calls.
const respondTimeoutSeconds = 60

// Why the alarm response's wildcards are there, for cdk-nag.
const (
	whyAlarmTags   = "A runbook matches an alarm by tags, read when the alarm changes state; the alarm is one the runbook's name patterns select (alarm:* when it names none, or a pattern IAM cannot express) in the account and region of the runbook's environment."
	whyAutomations = "Systems Manager authorizes StartAutomationExecution on the automation definition <document>:<version>; the runbooks run the default version of the documents they name, whatever its number."
)

// newRespond answers CloudWatch alarms with the policy's runbooks, when the
// policy has an alarms section. The respond function receives every alarm
// state change of the accounts Highway reaches through its route, reads the
// alarm's tags when a runbook matches by tags, records incidents and the
// guards' state in the ledger, and runs the runbooks' actions: it redeploys or
// scales the ECS services, moves back the Lambda aliases, redeploys, pauses or
// resumes the App Runner services, restarts or scales the EKS Deployments and
// starts the SSM Automation documents the runbooks name, and nothing else. A
// rollback is asked of the promote function with an event on the bus, so the
// respond function holds no deploy permission. It acts in the hub account with
// its own role and in the other accounts through their spoke roles.
func newRespond(hub *Hub) error {
	p := hub.Policy
	if p.Alarms == nil {
		return nil
	}
	scope := constructs.NewConstruct(hub.Stack, jsii.String("Respond"))
	fn, err := hub.Function(scope, route.FunctionRespond, FunctionProps{
		Description: "Highway: answers CloudWatch alarms with the policy's runbooks, within their guards, and records incidents.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(respondTimeoutSeconds)),
	})
	if err != nil {
		return err
	}
	hub.grantDecisions(fn)
	if err := hub.actsThrough(scope, accessRespond, fn); err != nil {
		return err
	}
	return hub.Route(scope, route.FunctionRespond, fn)
}
