package stacks

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// alarmPolicyYAML answers alarms in the hub account and in two spoke
// accounts: an ECS service named by the environment's deploy, Lambda aliases
// by default and by name, an AWS-owned and an own automation document, alarms
// matched by name patterns and by tags alone.
const alarmPolicyYAML = promotionPolicyYAML + `alarms:
  cooldown: 20m
  runbooks:
    - name: checkout-prod-errors
      app: checkout
      env: prod
      match:
        names: [checkout-prod-*]
        tags: {team: payments}
      actions:
        - rollback: {}
        - ecs-scale: {step: 2, min: 2, max: 10}
        - ssm-automation: {document: AWS-RestartEC2Instance, parameters: {InstanceId: ["{{.Dimensions.InstanceId}}"]}}
        - notify: {}
    - name: billing-dev-latency
      app: billing
      env: dev
      match: {names: [billing-dev-latency]}
      actions:
        - lambda-alias-rollback: {}
        - ssm-automation: {document: billing-restart}
    - name: billing-prod-errors
      app: billing
      env: prod
      match: {tags: {team: billing}}
      actions:
        - lambda-alias-rollback: {function: billing-worker, alias: live}
        - ecs-redeploy: {cluster: billing, service: api}
    - name: checkout-staging-errors
      app: checkout
      env: staging
      match: {names: [checkout-staging-*]}
      actions:
        - notify: {}
`

// notifyingPolicyYAML only tells people about alarms.
const notifyingPolicyYAML = promotionPolicyYAML + `alarms:
  runbooks:
    - name: checkout-prod-errors
      app: checkout
      env: prod
      match: {names: [checkout-prod-*]}
      actions:
        - notify: {}
        - rollback: {}
`

// respondSids are the statements alarm response adds to a role.
var respondSids = []string{"ReadAlarmTags", "RemediateServices", "RemediateFunctionAliases", "RedeployAppRunnerServices",
	"PauseAppRunnerServices", "ResumeAppRunnerServices", "FindRemediatedAppRunnerServices", "ReachRemediatedClusters", "StartAutomations"}

// sidStatement is one statement of a role's policies, by its actions and
// resources.
type sidStatement struct {
	actions, resources []string
}

// statementsBySid returns the statements of role's policies with one of sids.
func statementsBySid(tpl cfnTemplate, role string, sids []string) map[string]sidStatement {
	out := map[string]sidStatement{}
	policies := tpl.ofType("AWS::IAM::Policy")
	for id, pol := range tpl.ofType("AWS::IAM::ManagedPolicy") {
		policies[id] = pol
	}
	for _, pol := range policies {
		if !slices.ContainsFunc(list(pol.Properties["Roles"]), func(r any) bool { return refTo(r) == role }) {
			continue
		}
		for _, st := range list(path(pol.Properties, "PolicyDocument", "Statement")) {
			sid, _ := path(st, "Sid").(string)
			if slices.Contains(sids, sid) {
				out[sid] = sidStatement{
					actions:   slices.Sorted(slices.Values(strs(path(st, "Action")))),
					resources: slices.Sorted(slices.Values(strs(path(st, "Resource")))),
				}
			}
		}
	}
	return out
}

func TestRespondActsThroughTheRunbooksAccounts(t *testing.T) {
	// GIVEN a policy whose runbooks act in the hub account and in spoke accounts
	p := parsePolicy(t, alarmPolicyYAML)

	// WHEN the app is synthesized
	h := synth(t, p)
	tpl := templateOf(t, h.Hub.Stack)
	role := functionRole(t, tpl, p.Hub, route.FunctionRespond)
	ref := func(typ string) string { return "${" + only(t, tpl.ofType(typ)) + "}" }

	// THEN respond may assume the respond access roles of the accounts where
	// runbooks act (the hub's, for billing's dev alias and its own
	// automation; the prod accounts of checkout and billing) and notify
	// people; nothing for rollback (promote performs it) nor for the
	// environments whose runbooks only notify
	want := grants{}
	for _, a := range []string{"111111111111", "444444444444", "555555555555"} {
		want.add("arn:aws:iam::"+a+":role/"+AccessRoleName(p.Hub, accessRespond), "sts:AssumeRole", "sts:TagSession")
	}
	topic, key := notificationTopic(t, tpl, p.Hub)
	want.add("${"+topic+"}", "sns:Publish")
	want.add("${"+key+"}", "kms:Decrypt", "kms:GenerateDataKey")
	if got := respondGrants(t, tpl, role); !reflect.DeepEqual(got, want) {
		t.Errorf("respond grants %v, want %v", got, want)
	}

	// AND it writes the ledger and publishes on the bus
	table, bus := ref("AWS::DynamoDB::Table"), ref("AWS::Events::EventBus")
	for action, resource := range map[string]string{"dynamodb:PutItem": table, "dynamodb:Query": table, "events:PutEvents": bus} {
		if !slices.ContainsFunc(statementsOf(tpl, role), func(st iamStatement) bool {
			return slices.Contains(st.actions, action) && slices.Contains(st.resources, resource)
		}) {
			t.Errorf("respond cannot %s on %s", action, resource)
		}
	}

	// AND the access role of each account holds exactly the kinds of
	// statements its runbooks need: alarm tags where a runbook matches by
	// tags, services where one redeploys or scales, aliases where one rolls
	// an alias back, the automation documents it names (an AWS-owned one
	// under no account)
	wantSids := map[string][]string{
		"111111111111": {"RemediateFunctionAliases", "StartAutomations"},
		"444444444444": {"ReadAlarmTags", "RemediateServices", "StartAutomations"},
		"555555555555": {"ReadAlarmTags", "RemediateFunctionAliases", "RemediateServices"},
	}
	for account, want := range wantSids {
		atpl, arole, _ := accessRole(t, h, accessRespond, account)
		got := slices.Sorted(maps.Keys(statementsBySid(atpl, arole, respondSids)))
		if !slices.Equal(got, want) {
			t.Errorf("respond access role of %s: statements %v, want %v", account, got, want)
		}
	}
	atpl, arole, _ := accessRole(t, h, accessRespond, "444444444444")
	if got := statementsBySid(atpl, arole, respondSids)["StartAutomations"].resources; !slices.Equal(got, []string{"arn:aws:ssm:eu-west-1::automation-definition/AWS-RestartEC2Instance:*"}) {
		t.Errorf("automations of 444444444444 = %v, want the AWS-owned document under no account", got)
	}
}

// respondGrants returns the statements of role on the delivery services and
// CloudWatch, as deliveryGrants does.
func respondGrants(t *testing.T, tpl cfnTemplate, role string) grants {
	t.Helper()
	got := grants{}
	for _, st := range statementsOf(tpl, role) {
		service, _, _ := strings.Cut(st.actions[0], ":")
		if !slices.Contains(deliveryServices, service) && service != "cloudwatch" {
			continue
		}
		key := strings.Join(st.actions, " ")
		if _, dup := got[key]; dup {
			t.Errorf("role %s: two statements grant %s", role, key)
		}
		got[key] = st.resources
	}
	return got
}

func TestRespondWithoutRemediationsActsNowhere(t *testing.T) {
	// GIVEN a policy whose runbooks only notify and roll back
	p := parsePolicy(t, notifyingPolicyYAML)

	// WHEN the app is synthesized
	h := synth(t, p)
	tpl := templateOf(t, h.Hub.Stack)
	role := functionRole(t, tpl, p.Hub, route.FunctionRespond)

	// THEN respond may notify people and nothing else in any account: no
	// respond access role anywhere, none to assume
	want := grants{}
	topic, key := notificationTopic(t, tpl, p.Hub)
	want.add("${"+topic+"}", "sns:Publish")
	want.add("${"+key+"}", "kms:Decrypt", "kms:GenerateDataKey")
	if got := respondGrants(t, tpl, role); !reflect.DeepEqual(got, want) {
		t.Errorf("respond grants %v, want %v", got, want)
	}
	for _, stack := range stacksOf(h) {
		for _, r := range templateOf(t, stack).ofType("AWS::IAM::Role") {
			if r.Properties["RoleName"] == AccessRoleName(p.Hub, accessRespond) {
				t.Errorf("%s has a respond access role, want none", *stack.StackName())
			}
		}
	}
}

func TestRespondRouteReceivesAlarmStateChanges(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{name: "runbooks that act", give: alarmPolicyYAML},
		{name: "runbooks that notify", give: notifyingPolicyYAML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy with an alarms section
			p := parsePolicy(t, tt.give)

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			respond := functionID(t, tpl, p.Hub, route.FunctionRespond)

			// THEN respond receives CloudWatch's alarm state changes from the
			// hub bus, where spokes forward theirs, and from the default bus,
			// where the hub account's own arrive; each rule has a dead-letter
			// queue
			checkAWSRouteRules(t, tpl, respond, "aws.cloudwatch", "CloudWatch Alarm State Change")

			// AND its function answers within a minute
			if got := tpl.Resources[respond].Properties["Timeout"]; got != float64(respondTimeoutSeconds) {
				t.Errorf("respond timeout = %v, want %v", got, respondTimeoutSeconds)
			}
			checkRouteRules(t, p, tpl)
		})
	}
}

func TestPolicyWithoutAlarmsHasNoRespond(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *policy.Policy
	}{
		{name: "promotion to hub and spoke accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, promotionPolicyYAML) }},
		{name: "drift with prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, driftPolicyYAML) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy without an alarms section
			p := tt.give(t)
			if p.Alarms != nil {
				t.Fatal("the policy responds to alarms")
			}

			// WHEN the app is synthesized
			h := synth(t, p)

			for _, stack := range stacksOf(h) {
				tpl := templateOf(t, stack)

				// THEN no stack has a respond function, a rule for alarm
				// state changes, nor a remediation statement in any role
				for id, fn := range tpl.ofType("AWS::Lambda::Function") {
					if fn.Properties["FunctionName"] == FunctionName(p.Hub, route.FunctionRespond) {
						t.Errorf("%s: function %s is respond", *stack.StackName(), id)
					}
				}
				for id, r := range tpl.ofType("AWS::Events::Rule") {
					if slices.Contains(strs(path(r.Properties, "EventPattern", "detail-type")), "CloudWatch Alarm State Change") {
						t.Errorf("%s: rule %s routes alarm state changes", *stack.StackName(), id)
					}
				}
				for id := range tpl.ofType("AWS::IAM::Role") {
					if got := statementsBySid(tpl, id, respondSids); len(got) != 0 {
						t.Errorf("%s: role %s alarm response statements %v, want none", *stack.StackName(), id, got)
					}
				}
			}
		})
	}
}

func TestAutomationArnNamesTheDocumentsOwner(t *testing.T) {
	env := &policy.Environment{Account: "444444444444", Region: "eu-west-1"}
	tests := []struct {
		name string
		give string
		want string
	}{
		{name: "own document", give: "restart-checkout", want: "arn:<AWS::Partition>:ssm:eu-west-1:444444444444:automation-definition/restart-checkout:*"},
		{name: "AWS document", give: "AWS-RestartEC2Instance", want: "arn:<AWS::Partition>:ssm:eu-west-1::automation-definition/AWS-RestartEC2Instance:*"},
		{name: "AWS support document", give: "AWSSupport-TroubleshootSSH", want: "arn:<AWS::Partition>:ssm:eu-west-1::automation-definition/AWSSupport-TroubleshootSSH:*"},
		{name: "shared document", give: "arn:aws:ssm:eu-west-1:777777777777:document/restart", want: "arn:<AWS::Partition>:ssm:eu-west-1:777777777777:automation-definition/restart:*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := automationArn(env, tt.give).nag; got != tt.want {
				t.Errorf("automationArn(%q) = %s, want %s", tt.give, got, tt.want)
			}
		})
	}
}
