package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// promotionPolicyYAML deploys with each of the four kinds, to environments of
// the hub account (in its region and another) and of three other accounts, one
// environment with approval; one environment Highway does not deploy to.
const promotionPolicyYAML = `version: 1
hub:
  account: "111111111111"
  region: eu-west-1
  logRetentionDays: 90
apps:
  - name: checkout
    repository: checkout-service
    account: "222222222222"
    region: eu-west-1
    environments:
      - name: dev
        account: "111111111111"
        region: eu-west-1
        deploy:
          ssm: {parameter: /checkout/dev/image}
      - name: staging
        account: "333333333333"
        region: eu-west-1
        soak: 30m
        deploy:
          pipeline: {name: checkout-deploy, variable: IMAGE_DIGEST}
      - name: prod
        account: "444444444444"
        region: eu-west-1
        soak: 1h
        approval:
          approvers: [ana@example.com, lee@example.com]
          quorum: 2
          timeout: 48h
          heartbeat: 12h
        deploy:
          ecs: {cluster: shop, service: checkout, container: app}
    gate:
      projects: [checkout-build]
      checks: {compile: {}}
  - name: billing
    repository: billing
    environments:
      - name: dev
        account: "111111111111"
        region: us-east-1
        deploy:
          lambda: {function: billing-api, alias: live}
      - name: qa
        account: "111111111111"
        region: eu-west-1
        deploy:
          ecs: {cluster: qa, service: billing, container: api}
      - name: prod
        account: "555555555555"
        region: eu-central-1
        deploy:
          lambda: {function: billing-api, alias: live}
      - name: dr
        account: "666666666666"
        region: eu-west-1
`

// promotionPolicies are the policies that deploy: the example and the test's.
var promotionPolicies = []struct {
	name string
	give func(t *testing.T) *policy.Policy
}{
	{name: "example policy", give: examplePolicy},
	{name: "promotion to hub and spoke accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, promotionPolicyYAML) }},
}

// envsIn returns the environments of p that Highway deploys to, in account
// (in) or in any other (!in).
func envsIn(p *policy.Policy, account string, in bool) []policy.Environment {
	var out []policy.Environment
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if e.Deploy != nil && (e.Account == account) == in {
				out = append(out, e)
			}
		}
	}
	return out
}

func TestPromotionFunctionGrantsFollowThePolicy(t *testing.T) {
	for _, tt := range promotionPolicies {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy that deploys to environments of the hub account
			// and of others
			p := tt.give(t)
			if len(envsIn(p, p.Hub.Account, false)) == 0 || len(envsIn(p, p.Hub.Account, true)) == 0 && tt.name != "example policy" {
				t.Fatal("the policy deploys to no other account, or none to the hub's")
			}

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			ref := func(typ string) string { return "${" + only(t, tpl.ofType(typ)) + "}" }
			secret := ""
			for id, r := range tpl.ofType("AWS::SecretsManager::Secret") {
				if r.Properties["Name"] == ApprovalSecretName(p.Hub) {
					secret = "${" + id + "}"
				}
			}
			topic, key := notificationTopic(t, tpl, p.Hub)
			topic, key = "${"+topic+"}", "${"+key+"}"
			var approvals, approvalsKey string
			for id, r := range tpl.ofType("AWS::SNS::Topic") {
				if r.Properties["TopicName"] == ApprovalTopicName(p.Hub) {
					approvals, approvalsKey = "${"+id+"}", "${"+refTo(r.Properties["KmsMasterKeyId"])+"}"
				}
			}

			// THEN promote may deploy through the deploy access roles of the
			// accounts deployed to, the hub's included, promote may start the
			// state machine, approvalrequest and approval may read the
			// approval key, approval may answer approval tasks, and all of
			// them notify people
			promote, request, approval := grants{}, grants{}, grants{}
			for _, e := range envsIn(p, "", false) {
				promote.add(fmt.Sprintf("arn:aws:iam::%s:role/%s", e.Account, AccessRoleName(p.Hub, accessDeploy)), "sts:AssumeRole", "sts:TagSession")
			}
			promote.add(machineArn(p), "states:StartExecution")
			request.add(secret, "secretsmanager:GetSecretValue")
			approval.add(secret, "secretsmanager:GetSecretValue")
			approval.add("*", "states:SendTaskSuccess", "states:SendTaskFailure")
			approval.add(fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:*", p.Hub.Region, p.Hub.Account, PromotionStateMachineName(p.Hub)), "states:DescribeExecution")
			request.add(approvals, "sns:Publish")
			request.add(approvalsKey, "kms:Decrypt", "kms:GenerateDataKey")
			for _, g := range []grants{promote, request, approval} {
				g.add(topic, "sns:Publish")
				g.add(key, "kms:Decrypt", "kms:GenerateDataKey")
			}
			want := map[string]grants{route.FunctionPromote: promote, FunctionApprovalRequest: request, FunctionApproval: approval}
			for name, w := range want {
				role := functionRole(t, tpl, p.Hub, name)
				if got := deliveryGrants(t, tpl, role); !reflect.DeepEqual(got, w) {
					t.Errorf("function %s grants %v, want %v", name, got, w)
				}
			}

			// AND each writes the ledger and publishes on the bus
			table, bus := ref("AWS::DynamoDB::Table"), ref("AWS::Events::EventBus")
			for name := range want {
				var writes, publishes bool
				for _, st := range statementsOf(tpl, functionRole(t, tpl, p.Hub, name)) {
					writes = writes || slices.Contains(st.actions, "dynamodb:PutItem") && slices.Contains(st.resources, table)
					publishes = publishes || slices.Contains(st.actions, "events:PutEvents") && slices.Contains(st.resources, bus)
				}
				if !writes {
					t.Errorf("function %s cannot write the ledger", name)
				}
				if !publishes {
					t.Errorf("function %s cannot publish on the bus", name)
				}
			}
		})
	}
}

// asl is the part of an Amazon States Language definition the tests read.
type asl struct {
	StartAt string
	States  map[string]map[string]any
}

// definitionOf returns the definition of the one state machine of tpl, with
// references rendered as ${logical id}, and the machine's resource.
func definitionOf(t *testing.T, tpl cfnTemplate) (asl, cfnResource) {
	t.Helper()
	machine := tpl.Resources[only(t, tpl.ofType("AWS::StepFunctions::StateMachine"))]
	var def asl
	if err := json.Unmarshal([]byte(flat(machine.Properties["DefinitionString"])), &def); err != nil {
		t.Fatalf("definition: %v", err)
	}
	return def, machine
}

// stateCatch is one catcher of a state: the errors, the next state, and where
// the error goes in its input.
type stateCatch struct {
	errors     []string
	next       string
	resultPath string
}

// check is one property of a template, as found and as wanted.
type check struct {
	name string
	got  any
	want any
}

func TestPromotionStateMachineFollowsTheFlow(t *testing.T) {
	// GIVEN a policy with an environment that needs approval
	p := parsePolicy(t, promotionPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	def, machine := definitionOf(t, tpl)
	step := "${" + functionID(t, tpl, p.Hub, route.FunctionPromote) + "}"
	request := "${" + functionID(t, tpl, p.Hub, FunctionApprovalRequest) + "}"

	// THEN the promotion runs Preconditions, RequestApproval, Deploy, then
	// waits and looks at the deployment until it ends
	var order []string
	for name := def.StartAt; name != "" && len(order) < 10; name, _ = def.States[name]["Next"].(string) {
		order = append(order, name)
	}
	wantOrder := []string{"Preconditions", "RequestApproval", "Deploy", "WaitForDeployment", "Status", "DeploymentStatus"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("states from StartAt = %v, want %v", order, wantOrder)
	}
	wantStates := append(slices.Clone(wantOrder), "ExpireApproval", "RecordSucceeded", "RecordFailed", "RecordExpired", "RecordRejected", "RecordRefused", "Failed")
	if got := slices.Sorted(maps.Keys(def.States)); !slices.Equal(got, slices.Sorted(slices.Values(wantStates))) {
		t.Errorf("states = %v, want %v", got, slices.Sorted(slices.Values(wantStates)))
	}
	if got := path(def.States["WaitForDeployment"], "Seconds"); got != 30.0 {
		t.Errorf("WaitForDeployment seconds = %v, want 30", got)
	}
	checkChoices(t, def.States["DeploymentStatus"])

	// AND each Lambda task invokes its function with its payload, keeps its
	// result where the next steps read it, retries the Lambda service's
	// errors and catches the errors of its step; the approval request also
	// retries its own errors, with backoff, but never an answer (Rejected), a
	// timeout or bad input, which go on to their catchers
	const invoke, waitForToken = "arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken"
	id := map[string]any{"step": "", "promotionId.$": "$.promotionId", "app.$": "$.app", "env.$": "$.env"}
	payload := func(step string, extra ...string) map[string]any {
		out := maps.Clone(id)
		out["step"] = step
		for i := 0; i+1 < len(extra); i += 2 {
			out[extra[i]] = extra[i+1]
		}
		return out
	}
	all := []string{"States.ALL"}
	catch := func(next string, errors ...string) stateCatch { return stateCatch{errors, next, "$.error"} }
	lambdaRetry := map[string]any{
		"ErrorEquals":     []any{"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"},
		"MaxAttempts":     2.0,
		"BackoffRate":     2.0,
		"IntervalSeconds": 2.0,
	}
	lambdaOnly := []any{lambdaRetry}
	// The promotion function's steps are retried on their own errors, but
	// never on a refused precondition.
	stepRetries := []any{
		lambdaRetry,
		map[string]any{"ErrorEquals": []any{"PreconditionFailed"}, "MaxAttempts": 0.0},
		map[string]any{"ErrorEquals": []any{"States.ALL"}, "MaxAttempts": 3.0, "BackoffRate": 2.0, "IntervalSeconds": 2.0, "JitterStrategy": "FULL"},
	}
	approvalRetries := []any{
		lambdaRetry,
		map[string]any{"ErrorEquals": []any{"Rejected", "InputError", "States.Timeout", "States.HeartbeatTimeout"}, "MaxAttempts": 0.0},
		map[string]any{"ErrorEquals": []any{"States.ALL"}, "MaxAttempts": 3.0, "BackoffRate": 2.0, "IntervalSeconds": 5.0, "JitterStrategy": "FULL"},
	}
	tests := []struct {
		name       string
		resource   string
		function   string
		payload    map[string]any
		resultPath any
		next       string // "" ends the execution
		retries    []any
		catches    []stateCatch
	}{
		{
			name: "Preconditions", resource: invoke, retries: stepRetries, function: step, payload: payload("preconditions"), resultPath: "$.preconditions", next: "RequestApproval",
			catches: []stateCatch{catch("RecordRefused", "PreconditionFailed"), catch("RecordFailed", all...)},
		},
		{
			name: "RequestApproval", resource: waitForToken, function: request, resultPath: "$.approval", next: "Deploy",
			payload: map[string]any{
				"taskToken.$": "$$.Task.Token", "promotionId.$": "$.promotionId", "app.$": "$.app", "env.$": "$.env",
				"digest.$": "$.digest", "commit.$": "$.commit", "summary.$": "$.preconditions.Payload.summary",
			},
			retries: approvalRetries,
			catches: []stateCatch{catch("ExpireApproval", "States.Timeout", "States.HeartbeatTimeout"), catch("RecordRejected", "Rejected"), catch("RecordFailed", all...)},
		},
		{
			// An expired request is marked so, and people told, by approvalrequest.
			name: "ExpireApproval", resource: invoke, retries: lambdaOnly, function: request, resultPath: "$.expired", next: "RecordExpired",
			payload: map[string]any{"promotionId.$": "$.promotionId", "digest.$": "$.digest", "error.$": "$.error.Error", "cause.$": "$.error.Cause"},
			catches: []stateCatch{catch("RecordExpired", all...)},
		},
		{name: "Deploy", resource: invoke, retries: stepRetries, function: step, payload: payload("deploy"), next: "WaitForDeployment", catches: []stateCatch{catch("RecordFailed", all...)}},
		{name: "Status", resource: invoke, retries: stepRetries, function: step, payload: payload("status"), resultPath: "$.status", next: "DeploymentStatus", catches: []stateCatch{catch("RecordFailed", all...)}},
		{name: "RecordSucceeded", resource: invoke, retries: stepRetries, function: step, payload: payload("record", "outcome", "succeeded")},
		{name: "RecordFailed", resource: invoke, retries: stepRetries, function: step, payload: payload("record", "outcome", "failed"), next: "Failed"},
		{name: "RecordExpired", resource: invoke, retries: stepRetries, function: step, payload: payload("record", "outcome", "expired")},
		{name: "RecordRejected", resource: invoke, retries: stepRetries, function: step, payload: payload("record", "outcome", "rejected")},
		{name: "RecordRefused", resource: invoke, retries: stepRetries, function: step, payload: payload("record", "outcome", "refused")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := def.States[tt.name]
			checks := []check{
				{"type", s["Type"], "Task"},
				{"resource", s["Resource"], tt.resource},
				{"function", path(s, "Parameters", "FunctionName"), tt.function},
				{"payload", path(s, "Parameters", "Payload"), tt.payload},
				{"result path", s["ResultPath"], tt.resultPath},
				{"keeps the result path", hasKey(s, "ResultPath"), true}, // absent: the result would replace the input
				{"next", s["Next"], orNil(tt.next != "", tt.next)},
				{"end", s["End"], orNil(tt.next == "", true)},
				{"retry", s["Retry"], tt.retries},
				{"catch", catchesOf(s), tt.catches},
			}
			if tt.resource == waitForToken {
				checks = append(checks,
					check{"timeout path", s["TimeoutSecondsPath"], "$.timeoutSeconds"},
					check{"heartbeat path", s["HeartbeatSecondsPath"], "$.heartbeatSeconds"})
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s %s = %v, want %v", tt.name, c.name, c.got, c.want)
				}
			}
		})
	}
	if got := def.States["Failed"]["Type"]; got != "Fail" {
		t.Errorf("Failed type = %v, want Fail", got)
	}
	for _, name := range []string{"Preconditions", "Status"} {
		if got := path(def.States[name], "ResultSelector"); !reflect.DeepEqual(got, map[string]any{"Payload.$": "$.Payload"}) {
			t.Errorf("%s result selector = %v, want the payload", name, got)
		}
	}

	// AND the machine is standard, traced, and logs every event, without
	// execution data, to a log group kept as long as the policy says
	props := machine.Properties
	group := tpl.Resources[refTo(path(list(path(props, "LoggingConfiguration", "Destinations"))[0], "CloudWatchLogsLogGroup", "LogGroupArn"))]
	checks := []check{
		{"type", props["StateMachineType"], "STANDARD"},
		{"name", props["StateMachineName"], PromotionStateMachineName(p.Hub)},
		{"tracing", path(props, "TracingConfiguration", "Enabled"), true},
		{"log level", path(props, "LoggingConfiguration", "Level"), "ALL"},
		{"execution data", path(props, "LoggingConfiguration", "IncludeExecutionData"), false},
		{"log group", group.Type, "AWS::Logs::LogGroup"},
		{"log retention", group.Properties["RetentionInDays"], float64(p.Hub.LogRetentionDays)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("state machine %s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// AND it may invoke promote (its steps) and approvalrequest, and no other function
	invokes := grants{}
	for _, st := range statementsOf(tpl, refTo(props["RoleArn"])) {
		if slices.Contains(st.actions, "lambda:InvokeFunction") {
			for _, r := range st.resources {
				invokes.add(r, st.actions...)
			}
		}
	}
	wantInvokes := grants{}
	for _, fn := range []string{step, request} {
		wantInvokes.add(fn, "lambda:InvokeFunction")
		wantInvokes.add(fn+":*", "lambda:InvokeFunction")
	}
	if !reflect.DeepEqual(invokes, wantInvokes) {
		t.Errorf("state machine invokes %v, want %v", invokes, wantInvokes)
	}
}

// checkChoices checks that the deployment's status loops while deploying and
// records how it ended.
func checkChoices(t *testing.T, s map[string]any) {
	t.Helper()
	got := map[string]string{}
	for _, c := range list(s["Choices"]) {
		if v := path(c, "Variable"); v != "$.status.Payload.status" {
			t.Errorf("choice on %v, want $.status.Payload.status", v)
		}
		got[flat(path(c, "StringEquals"))] = flat(path(c, "Next"))
	}
	want := map[string]string{"deploying": "WaitForDeployment", "succeeded": "RecordSucceeded", "failed": "RecordFailed"}
	if s["Type"] != "Choice" || !reflect.DeepEqual(got, want) {
		t.Errorf("DeploymentStatus %v choices = %v, want Choice %v", s["Type"], got, want)
	}
	if s["Default"] != "RecordFailed" {
		t.Errorf("DeploymentStatus default = %v, want RecordFailed", s["Default"])
	}
}

// catchesOf returns a state's catchers.
func catchesOf(s map[string]any) []stateCatch {
	var out []stateCatch
	for _, c := range list(s["Catch"]) {
		out = append(out, stateCatch{errors: strs(path(c, "ErrorEquals")), next: flat(path(c, "Next")), resultPath: flat(path(c, "ResultPath"))})
	}
	return out
}

// hasKey reports whether m has key k, even with a null value.
func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// orNil is v when ok, else nil: a property the template leaves out.
func orNil(ok bool, v any) any {
	if !ok {
		return nil
	}
	return v
}

// functionID returns the logical id of the named function.
func functionID(t *testing.T, tpl cfnTemplate, hub policy.Hub, name string) string {
	t.Helper()
	for id, fn := range tpl.ofType("AWS::Lambda::Function") {
		if fn.Properties["FunctionName"] == FunctionName(hub, name) {
			return id
		}
	}
	t.Fatalf("no function %s", FunctionName(hub, name))
	return ""
}

func TestApprovalLinksReachTheApprovalFunction(t *testing.T) {
	// GIVEN a policy with an environment that needs approval
	p := parsePolicy(t, promotionPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	approval := functionID(t, tpl, p.Hub, FunctionApproval)
	urlID := only(t, tpl.ofType("AWS::Lambda::Url"))
	url := tpl.Resources[urlID]
	urlRef := map[string]any{"Fn::GetAtt": []any{urlID, "FunctionUrl"}}

	// THEN the approval function has a URL anyone may call without AWS
	// credentials, which is an output
	if got := []any{refTo(url.Properties["TargetFunctionArn"]), url.Properties["AuthType"]}; !reflect.DeepEqual(got, []any{approval, "NONE"}) {
		t.Errorf("function URL (function, auth) = %v, want %v", got, []any{approval, "NONE"})
	}
	public := false
	for _, perm := range tpl.ofType("AWS::Lambda::Permission") {
		if refTo(perm.Properties["FunctionName"]) == approval && perm.Properties["Principal"] == "*" &&
			perm.Properties["Action"] == "lambda:InvokeFunctionUrl" && perm.Properties["FunctionUrlAuthType"] == "NONE" {
			public = true
		}
	}
	if !public {
		t.Error("no permission lets anyone invoke the approval function's URL")
	}
	var outputs []string
	for id, o := range tpl.Outputs {
		if reflect.DeepEqual(o.Value, urlRef) {
			outputs = append(outputs, id)
		}
	}
	if len(outputs) != 1 {
		t.Errorf("outputs of the approval URL = %v, want one", outputs)
	}

	// AND the functions find the URL, the approval key and the state machine
	// in their environment, each only what it uses
	secret := map[string]any{"Ref": only(t, tpl.ofType("AWS::SecretsManager::Secret"))}
	machine := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
		fmt.Sprintf(":states:%s:%s:stateMachine:%s", p.Hub.Region, p.Hub.Account, PromotionStateMachineName(p.Hub))}}}
	tests := []struct {
		name string
		want map[string]any
	}{
		{name: FunctionApprovalRequest, want: map[string]any{EnvApprovalSecret: secret, EnvApprovalURL: urlRef}},
		{name: FunctionApproval, want: map[string]any{EnvApprovalSecret: secret, EnvApprovalStateMachine: machine}},
		{name: route.FunctionPromote, want: map[string]any{EnvApprovalStateMachine: machine}},
	}
	for _, tt := range tests {
		vars, _ := path(tpl.Resources[functionID(t, tpl, p.Hub, tt.name)].Properties, "Environment", "Variables").(map[string]any)
		got := map[string]any{}
		for _, k := range []string{EnvApprovalSecret, EnvApprovalURL, EnvApprovalStateMachine} {
			if v, ok := vars[k]; ok {
				got[k] = v
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("function %s environment = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestApprovalKeyIsGeneratedAndItsRotationExplained(t *testing.T) {
	// GIVEN a policy with an environment that needs approval
	p := parsePolicy(t, promotionPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	secret := tpl.Resources[only(t, tpl.ofType("AWS::SecretsManager::Secret"))]
	gen := secret.Properties["GenerateSecretString"]

	// THEN the key is generated into {"current": ...} with at least 256
	// random bits, encrypted with the AWS-managed key, and the missing
	// rotation is suppressed with why
	charset := 94.0
	if path(gen, "ExcludePunctuation") == true {
		charset = 62
	}
	length, _ := path(gen, "PasswordLength").(float64)
	checks := []check{
		{"name", secret.Properties["Name"], ApprovalSecretName(p.Hub)},
		{"template", path(gen, "SecretStringTemplate"), "{}"},
		{"key", path(gen, "GenerateStringKey"), "current"},
		{"at least 256 bits", length*math.Log2(charset) >= 256, true},
		{"KMS key", secret.Properties["KmsKeyId"], nil},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("secret %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	var reasons []string
	for _, s := range list(path(secret.Metadata, "cdk_nag", "rules_to_suppress")) {
		if path(s, "id") == "AwsSolutions-SMG4" {
			reasons = append(reasons, flat(path(s, "reason")))
		}
	}
	if len(reasons) != 1 || !strings.Contains(reasons[0], "previous") || !strings.Contains(reasons[0], "manual") {
		t.Errorf("rotation suppression reasons = %q, want one naming the manual rotation through previous", reasons)
	}
}

func TestPromoteTicksEveryMinute(t *testing.T) {
	// GIVEN a policy that deploys
	p := parsePolicy(t, promotionPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	promote := functionID(t, tpl, p.Hub, route.FunctionPromote)

	// THEN one rule of the default bus invokes promote every minute, with
	// bounded retries and a dead-letter queue
	var ticks []string
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		targets := list(r.Properties["Targets"])
		if r.Properties["ScheduleExpression"] == nil || len(targets) == 0 || refTo(path(targets[0], "Arn")) != promote {
			continue // another capability's schedule
		}
		ticks = append(ticks, id)
		checks := []check{
			{"schedule", r.Properties["ScheduleExpression"], "rate(1 minute)"},
			{"bus", r.Properties["EventBusName"], nil},
			{"targets", len(targets), 1},
			{"function", refTo(path(targets[0], "Arn")), promote},
			{"dead-letter queue", tpl.Resources[refTo(path(targets[0], "DeadLetterConfig", "Arn"))].Type, "AWS::SQS::Queue"},
			{"retries", path(targets[0], "RetryPolicy", "MaximumRetryAttempts"), float64(ruleRetryAttempts)},
			{"event age", path(targets[0], "RetryPolicy", "MaximumEventAgeInSeconds"), float64(ruleMaxEventAgeHours * 3600)},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("rule %s %s = %v, want %v", id, c.name, c.got, c.want)
			}
		}
	}
	if len(ticks) != 1 {
		t.Errorf("scheduled rules = %v, want one", ticks)
	}
}

func TestPolicyWithoutDeploysHasNoPromotion(t *testing.T) {
	// GIVEN a policy that deploys nowhere
	p := parsePolicy(t, gatingPolicyYAML)
	if envs := envsIn(p, "", false); len(envs) != 0 {
		t.Fatalf("the policy deploys to %v", envs)
	}

	// WHEN the app is synthesized
	h := synth(t, p)

	for _, stack := range stacksOf(h) {
		tpl := templateOf(t, stack)

		// THEN no stack has a promotion function, state machine, secret,
		// function URL or schedule, nor any grant to deploy or answer
		// approvals
		for id, fn := range tpl.ofType("AWS::Lambda::Function") {
			for _, name := range promotionFunctions {
				if fn.Properties["FunctionName"] == FunctionName(p.Hub, name) {
					t.Errorf("%s: function %s is %s", *stack.StackName(), id, name)
				}
			}
		}
		for _, typ := range []string{"AWS::StepFunctions::StateMachine", "AWS::SecretsManager::Secret", "AWS::Lambda::Url"} {
			if rs := tpl.ofType(typ); len(rs) != 0 {
				t.Errorf("%s: %s = %v, want none", *stack.StackName(), typ, slices.Collect(maps.Keys(rs)))
			}
		}
		for id, r := range tpl.ofType("AWS::Events::Rule") {
			if r.Properties["ScheduleExpression"] == nil {
				continue
			}
			for _, target := range list(r.Properties["Targets"]) {
				fn := tpl.Resources[refTo(path(target, "Arn"))].Properties["FunctionName"]
				for _, name := range promotionFunctions {
					if fn == FunctionName(p.Hub, name) {
						t.Errorf("%s: schedule %s invokes %s", *stack.StackName(), id, name)
					}
				}
			}
		}
		for id := range tpl.ofType("AWS::IAM::Role") {
			for _, st := range statementsOf(tpl, id) {
				for _, a := range st.actions {
					service, _, _ := strings.Cut(a, ":")
					if slices.Contains([]string{"ssm", "ecs", "iam", "states", "secretsmanager"}, service) || a == "lambda:UpdateAlias" || a == "codepipeline:StartPipelineExecution" {
						t.Errorf("%s: role %s grants %s", *stack.StackName(), id, a)
					}
				}
			}
		}
	}
}

// machineArn is the promotion state machine's ARN as promote's grant and
// environment name it: derived from its name, not referenced.
func machineArn(p *policy.Policy) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", p.Hub.Region, p.Hub.Account, PromotionStateMachineName(p.Hub))
}
