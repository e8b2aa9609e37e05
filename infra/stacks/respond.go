package stacks

import (
	"cmp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
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
// scales the ECS services, moves back the Lambda aliases and starts the SSM
// Automation documents the runbooks name, and nothing else. A rollback is
// asked of the promote function with an event on the bus, so the respond
// function holds no deploy permission. It acts in the hub account with its own
// role and in the other accounts through their spoke roles.
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
	allow(fn, fn.Role(), append(remediations(p, p.Hub.Account), assumeSpokeRoles(p.Hub, respondAccounts(p))...))
	return hub.Route(scope, route.FunctionRespond, fn)
}

// respondAccounts returns the accounts other than the hub's where a runbook
// reads alarm tags or acts, sorted: the respond function reaches them through
// their spoke roles.
func respondAccounts(p *policy.Policy) []string {
	var out []string
	for _, a := range spokeAccounts(p) {
		if a != p.Hub.Account && len(remediations(p, a)) > 0 {
			out = append(out, a)
		}
	}
	return out
}

// remediations lets a role do in account what the runbooks of its
// environments need: read the tags of the alarms runbooks match by tags,
// describe and update the ECS services of ecs-redeploy and ecs-scale, read and
// move the Lambda aliases of lambda-alias-rollback, and start the documents of
// ssm-automation, each target named by the action or defaulting to the
// environment's deploy target. Rollback and notify act through the hub alone.
// The respond function holds them for the hub account, and each spoke role for
// its own account; without an alarms section, nothing.
func remediations(p *policy.Policy, account string) []permission {
	if p.Alarms == nil {
		return nil
	}
	var alarms, services, functions, automations []resourceArn
	for _, rb := range p.Alarms.Runbooks {
		env := runbookEnvironment(p, rb)
		if env == nil || env.Account != account {
			continue
		}
		var deploy policy.Deploy
		if env.Deploy != nil {
			deploy = *env.Deploy
		}
		if len(rb.Match.Tags) > 0 {
			for _, a := range alarmArns(env, rb.Match.Names) {
				alarms = appendArn(alarms, a)
			}
		}
		for _, a := range rb.Actions {
			switch {
			case a.ECSRedeploy != nil:
				services = appendArn(services, ecsServiceArn(env, deploy.ECS, a.ECSRedeploy.Cluster, a.ECSRedeploy.Service))
			case a.ECSScale != nil:
				services = appendArn(services, ecsServiceArn(env, deploy.ECS, a.ECSScale.Cluster, a.ECSScale.Service))
			case a.LambdaAliasRollback != nil:
				name := a.LambdaAliasRollback.Function
				if deploy.Lambda != nil {
					name = cmp.Or(name, deploy.Lambda.Function)
				}
				fn := "function:" + name
				functions = appendArn(appendArn(functions, arnOf("lambda", env.Region, env.Account, fn)), arnOf("lambda", env.Region, env.Account, fn+":*"))
			case a.SSMAutomation != nil:
				automations = appendArn(automations, automationArn(env, a.SSMAutomation.Document))
			}
		}
	}
	return nonEmpty(
		permission{sid: "ReadAlarmTags", actions: []string{"cloudwatch:ListTagsForResource"}, resources: alarms, why: whyAlarmTags},
		permission{sid: "RemediateServices", actions: []string{"ecs:DescribeServices", "ecs:UpdateService"}, resources: services},
		permission{sid: "RemediateFunctionAliases", actions: []string{"lambda:GetAlias", "lambda:ListVersionsByFunction", "lambda:UpdateAlias"}, resources: functions, why: whyAliases},
		permission{sid: "StartAutomations", actions: []string{"ssm:StartAutomationExecution"}, resources: automations, why: whyAutomations},
	)
}

// runbookEnvironment is the environment a runbook acts in; the policy's
// validation guarantees it exists.
func runbookEnvironment(p *policy.Policy, rb policy.Runbook) *policy.Environment {
	app, ok := p.App(rb.App)
	if !ok {
		return nil
	}
	env, _ := app.Environment(rb.Env)
	return env
}

// alarmArns are the alarms of env whose names match one of patterns: alarm:*
// without patterns, or when one uses path.Match syntax IAM has no equivalent
// for (character classes, escapes). IAM's * also matches "/", where
// path.Match's does not, so the ARNs may reach more alarms, never fewer.
func alarmArns(env *policy.Environment, patterns []string) []resourceArn {
	if len(patterns) == 0 || slices.ContainsFunc(patterns, func(n string) bool { return strings.ContainsAny(n, `[\`) }) {
		return []resourceArn{arnOf("cloudwatch", env.Region, env.Account, "alarm:*")}
	}
	var out []resourceArn
	for _, n := range patterns {
		out = appendArn(out, arnOf("cloudwatch", env.Region, env.Account, "alarm:"+n))
	}
	return out
}

// ecsServiceArn is the ECS service an action names, its empty cluster or
// service defaulting to the environment's ecs deploy target.
func ecsServiceArn(env *policy.Environment, d *policy.ECSDeploy, cluster, service string) resourceArn {
	if d != nil {
		cluster, service = cmp.Or(cluster, d.Cluster), cmp.Or(service, d.Service)
	}
	return arnOf("ecs", env.Region, env.Account, "service/"+cluster+"/"+service)
}

// automationArn is the automation definition, any version, of document as
// StartAutomationExecution in env runs it. A document given by ARN is shared
// from the account the ARN names. Documents whose names start with AWS, Amazon
// or AMZN are owned by AWS (Systems Manager reserves those prefixes), and their
// ARNs name no account.
func automationArn(env *policy.Environment, document string) resourceArn {
	region, account, name := env.Region, env.Account, document
	if strings.HasPrefix(document, "arn:") {
		if parts := strings.SplitN(document, ":", 6); len(parts) == 6 {
			region, account, name = parts[3], parts[4], strings.TrimPrefix(parts[5], "document/")
		}
	} else if awsOwnedDocument(name) {
		account = ""
	}
	return arnOf("ssm", region, account, "automation-definition/"+name+":*")
}

// awsOwnedDocument reports whether an SSM document name is one of AWS's.
func awsOwnedDocument(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "amazon") || strings.HasPrefix(lower, "amzn")
}
