package stacks

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// driftPolicyYAML detects drift of the stacks of two prefixes, in every account
// the promotion policy reaches: the hub account in two regions, delivery and
// deployment accounts, and an account Highway reaches but deploys nothing to.
const driftPolicyYAML = promotionPolicyYAML + `drift:
  schedule: cron(0 6 * * ? *)
  stacks:
    prefixes: [checkout-, billing-]
  severities:
    - {type: "AWS::IAM::*", severity: high}
  suppressions:
    - {type: "AWS::ECS::Service", property: /DesiredCount, until: 2026-12-31, reason: autoscaling}
`

// anyStackDriftPolicyYAML detects drift of every stack with a tag, whatever its
// name, in the same accounts.
const anyStackDriftPolicyYAML = promotionPolicyYAML + `drift:
  schedule: rate(1 day)
  stacks:
    tags: {team: payments}
`

// securityAuditArn is the managed policy drift detection reads resources with:
// the configuration reads of every service, without ReadOnlyAccess's data reads.
const securityAuditArn = "arn:aws:iam::aws:policy/SecurityAudit"

// driftPolicies are the policies that detect drift.
var driftPolicies = []struct {
	name string
	give func(t *testing.T) *policy.Policy
}{
	{name: "example policy", give: examplePolicy},
	{name: "drift with prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, driftPolicyYAML) }},
	{name: "drift without prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, anyStackDriftPolicyYAML) }},
}

func TestDriftFunctionGrantsFollowThePolicy(t *testing.T) {
	for _, tt := range driftPolicies {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy that detects drift in the hub account and others
			p := tt.give(t)

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			role := functionRole(t, tpl, p.Hub, route.FunctionDrift)
			ref := func(typ string) string { return "${" + only(t, tpl.ofType(typ)) + "}" }

			// THEN drift may act, through its access roles, in every account
			// Highway reaches (stacks and what environments run are read
			// there, the hub's included), and notify people; it holds no
			// managed policy itself: the access roles read the stacks'
			// resources with SecurityAudit
			want := grants{}
			for _, s := range reached(p) {
				want.add(fmt.Sprintf("arn:aws:iam::%s:role/%s", s.Account, AccessRoleName(p.Hub, accessDrift)), "sts:AssumeRole", "sts:TagSession")
			}
			if len(want["sts:AssumeRole sts:TagSession"]) < 2 {
				t.Fatal("the policy reaches no account but the hub's")
			}
			topic, key := notificationTopic(t, tpl, p.Hub)
			want.add("${"+topic+"}", "sns:Publish")
			want.add("${"+key+"}", "kms:Decrypt", "kms:GenerateDataKey")
			if got := deliveryGrants(t, tpl, role); !reflect.DeepEqual(got, want) {
				t.Errorf("drift grants %v, want %v", got, want)
			}
			if got := tpl.Resources[role].Properties["ManagedPolicyArns"]; got != nil {
				t.Errorf("drift function managed policies = %v, want none", got)
			}
			h := synth(t, p)
			for _, s := range reached(p) {
				atpl, arole, _ := accessRole(t, h, accessDrift, s.Account)
				if got := strs(atpl.Resources[arole].Properties["ManagedPolicyArns"]); !slices.Equal(got, []string{securityAuditArn}) {
					t.Errorf("drift access role in %s: managed policies = %v, want %v", s.Account, got, []string{securityAuditArn})
				}
			}

			// AND it writes the ledger, publishes on the bus, and sends to and
			// consumes the drift queue
			table, bus := ref("AWS::DynamoDB::Table"), ref("AWS::Events::EventBus")
			queue := "${" + driftQueue(t, tpl) + "}"
			wantActions := map[string]string{
				"dynamodb:PutItem":            table,
				"events:PutEvents":            bus,
				"sqs:SendMessage":             queue,
				"sqs:ReceiveMessage":          queue,
				"sqs:DeleteMessage":           queue,
				"sqs:ChangeMessageVisibility": queue,
				"sqs:GetQueueAttributes":      queue,
			}
			for action, resource := range wantActions {
				found := false
				for _, st := range statementsOf(tpl, role) {
					found = found || slices.Contains(st.actions, action) && slices.Contains(st.resources, resource)
				}
				if !found {
					t.Errorf("drift cannot %s on %s", action, resource)
				}
			}
		})
	}
}

// driftQueue returns the logical id of the queue the drift function consumes.
func driftQueue(t *testing.T, tpl cfnTemplate) string {
	t.Helper()
	m := tpl.Resources[only(t, tpl.ofType("AWS::Lambda::EventSourceMapping"))]
	return refTo(m.Properties["EventSourceArn"])
}

func TestDriftQueueIsEncryptedTLSOnlyAndRedriven(t *testing.T) {
	// GIVEN a policy that detects drift
	p := parsePolicy(t, driftPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	fn := tpl.Resources[functionID(t, tpl, p.Hub, route.FunctionDrift)]
	id := driftQueue(t, tpl)
	queue := tpl.Resources[id]

	// THEN the queue the drift function consumes is encrypted, hides a
	// message for at least six function timeouts, and moves a message that
	// failed five receives to a dead-letter queue; the function finds it in
	// its environment
	timeout, _ := fn.Properties["Timeout"].(float64)
	visibility, _ := queue.Properties["VisibilityTimeout"].(float64)
	if timeout != driftTimeoutMinutes*60 {
		t.Errorf("drift timeout = %v, want %v", timeout, driftTimeoutMinutes*60)
	}
	if visibility < 6*timeout {
		t.Errorf("drift queue visibility = %vs, want at least 6 × the function's %vs", visibility, timeout)
	}
	dlq := refTo(path(queue.Properties, "RedrivePolicy", "deadLetterTargetArn"))
	checks := []check{
		{"type", queue.Type, "AWS::SQS::Queue"},
		{"encrypted", queue.Properties["SqsManagedSseEnabled"] == true || queue.Properties["KmsMasterKeyId"] != nil, true},
		{"max receives", path(queue.Properties, "RedrivePolicy", "maxReceiveCount"), 5.0},
		{"dead-letter queue", tpl.Resources[dlq].Type, "AWS::SQS::Queue"},
		{"environment", refTo(path(fn.Properties, "Environment", "Variables", EnvDriftQueue)), id},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("drift queue %s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// AND it and its dead-letter queue deny requests without TLS
	for _, q := range []string{id, dlq} {
		denied := false
		for _, qp := range tpl.ofType("AWS::SQS::QueuePolicy") {
			if !slices.ContainsFunc(list(qp.Properties["Queues"]), func(v any) bool { return refTo(v) == q }) {
				continue
			}
			for _, st := range list(path(qp.Properties, "PolicyDocument", "Statement")) {
				denied = denied || path(st, "Effect") == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false"
			}
		}
		if !denied {
			t.Errorf("queue %s accepts requests without TLS", q)
		}
	}

	// AND the dead-letter queue alarms on its first message, notifying people
	topic, _ := notificationTopic(t, tpl, p.Hub)
	alarms := 0
	for _, a := range tpl.ofType("AWS::CloudWatch::Alarm") {
		dims := list(a.Properties["Dimensions"])
		if len(dims) != 1 || refTo(path(dims[0], "Value")) != dlq {
			continue
		}
		alarms++
		got := []any{a.Properties["MetricName"], a.Properties["ComparisonOperator"], a.Properties["Threshold"], refTo(list(a.Properties["AlarmActions"])[0])}
		want := []any{"ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0.0, topic}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dead-letter alarm (metric, operator, threshold, action) = %v, want %v", got, want)
		}
	}
	if alarms != 1 {
		t.Errorf("alarms on the drift dead-letter queue = %d, want 1", alarms)
	}
}

func TestDriftConsumesItsQueueInBatches(t *testing.T) {
	// GIVEN a policy that detects drift
	p := parsePolicy(t, driftPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	m := tpl.Resources[only(t, tpl.ofType("AWS::Lambda::EventSourceMapping"))]

	// THEN the drift function takes ten detections at a time, reports the
	// ones it failed alone, and runs at most twice at once
	checks := []check{
		{"function", refTo(m.Properties["FunctionName"]), functionID(t, tpl, p.Hub, route.FunctionDrift)},
		{"batch size", m.Properties["BatchSize"], 10.0},
		{"response types", strs(m.Properties["FunctionResponseTypes"]), []string{"ReportBatchItemFailures"}},
		{"maximum concurrency", path(m.Properties, "ScalingConfig", "MaximumConcurrency"), 2.0},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("event source mapping %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDriftScheduleComesFromThePolicy(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{name: "rate", give: "rate(6 hours)"},
		{name: "cron", give: "cron(0 6 * * ? *)"},
		{name: "rate in minutes", give: "rate(30 minutes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy that detects drift on this schedule
			p := parsePolicy(t, strings.Replace(driftPolicyYAML, "schedule: cron(0 6 * * ? *)", "schedule: "+tt.give, 1))
			if p.Drift.Schedule != tt.give {
				t.Fatalf("drift schedule = %q, want %q", p.Drift.Schedule, tt.give)
			}

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			drift := functionID(t, tpl, p.Hub, route.FunctionDrift)

			// THEN one rule of the default bus invokes drift on that schedule,
			// with bounded retries and a dead-letter queue
			var got []string
			for id, r := range tpl.ofType("AWS::Events::Rule") {
				targets := list(r.Properties["Targets"])
				if r.Properties["ScheduleExpression"] == nil || len(targets) != 1 || refTo(path(targets[0], "Arn")) != drift {
					continue
				}
				got = append(got, id)
				checks := []check{
					{"schedule", r.Properties["ScheduleExpression"], tt.give},
					{"bus", r.Properties["EventBusName"], nil},
					{"dead-letter queue", tpl.Resources[refTo(path(targets[0], "DeadLetterConfig", "Arn"))].Type, "AWS::SQS::Queue"},
					{"retries", path(targets[0], "RetryPolicy", "MaximumRetryAttempts"), float64(ruleRetryAttempts)},
				}
				for _, c := range checks {
					if !reflect.DeepEqual(c.got, c.want) {
						t.Errorf("rule %s %s = %v, want %v", id, c.name, c.got, c.want)
					}
				}
			}
			if len(got) != 1 {
				t.Errorf("drift schedules = %v, want one", got)
			}
		})
	}
}

func TestDriftRouteReceivesDetectionResults(t *testing.T) {
	for _, tt := range driftPolicies {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy that detects drift
			p := tt.give(t)

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			drift := functionID(t, tpl, p.Hub, route.FunctionDrift)

			// THEN drift receives CloudFormation's drift detection results
			// from the hub bus, where spokes forward theirs, and from the
			// default bus, where the hub account's own arrive
			checkAWSRouteRules(t, tpl, drift, "aws.cloudformation", "CloudFormation Drift Detection Status Change")
			checkRouteRules(t, p, tpl)
		})
	}
}

func TestDriftRouteReceivesTheTerraformWorkspacesBuilds(t *testing.T) {
	// GIVEN the example policy, whose Terraform workspace is planned by a
	// project of the prod account
	p := examplePolicy(t)
	w := p.Drift.Terraform[0]

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	drift := functionID(t, tpl, p.Hub, route.FunctionDrift)

	// THEN drift receives the finished CodeBuild builds of that account, on
	// the hub bus where the spoke forwards them
	var accounts []string
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		pattern := r.Properties["EventPattern"]
		targets := list(r.Properties["Targets"])
		if !slices.Equal(strs(path(pattern, "source")), []string{"aws.codebuild"}) || len(targets) != 1 || refTo(path(targets[0], "Arn")) != drift {
			continue
		}
		if got := strs(path(pattern, "detail", "build-status")); !slices.Equal(got, []string{"SUCCEEDED", "FAILED", "STOPPED"}) {
			t.Errorf("rule %s build-status = %v, want the finished builds", id, got)
		}
		if r.Properties["EventBusName"] == nil {
			t.Errorf("rule %s is on the default bus, want the hub bus: the project is in %s", id, w.Account)
		}
		accounts = append(accounts, strs(path(pattern, "account"))...)
	}
	if !slices.Equal(accounts, []string{w.Account}) {
		t.Errorf("drift receives builds of accounts %v, want %s's alone", accounts, w.Account)
	}
	checkRouteRules(t, p, tpl)
}

func TestDriftAccessPlansTheTerraformWorkspacesOnly(t *testing.T) {
	// GIVEN the example policy, whose workspace's project and artifact
	// bucket are in the prod account
	p := examplePolicy(t)
	h := synth(t, p)
	w := p.Drift.Terraform[0]
	project := func(name string) string {
		return "arn:aws:codebuild:" + w.Region + ":" + w.Account + ":project/" + name
	}

	// WHEN IAM decides the drift access role's CodeBuild and S3 calls in
	// that account, for no app
	tests := []struct {
		action, resource string
		want             bool
	}{
		{"codebuild:StartBuild", project(w.Project), true},
		{"codebuild:BatchGetBuilds", project(w.Project), true},
		{"s3:GetObject", "arn:aws:s3:::" + w.ArtifactBucket + "/" + w.Project + "/Tf7Kd2W", true},
		{"s3:ListBucket", "arn:aws:s3:::" + w.ArtifactBucket, true},
		{"s3:ListBucket", "arn:aws:s3:::codepipeline-eu-west-1-444444444444", false},
		{"codebuild:StartBuild", project("checkout-build"), false},
		{"codebuild:BatchGetBuilds", project("checkout-build"), false},
		{"s3:GetObject", "arn:aws:s3:::codepipeline-eu-west-1-444444444444/checkout/output.zip", false},
		{"s3:PutObject", "arn:aws:s3:::" + w.ArtifactBucket + "/" + w.Project + "/Tf7Kd2W", false},
		{"codebuild:StopBuild", project(w.Project), false},
	}
	var requests []localaws.IAMRequest
	for _, tt := range tests {
		req, ok := accessRequest(t, h, apiCall{capability: accessDrift, account: w.Account, region: w.Region, action: tt.action, resource: tt.resource}, "", "")
		if !ok {
			t.Fatalf("no drift access role in %s", w.Account)
		}
		requests = append(requests, req)
	}
	decisions := localaws.SimulateIAM(t, requests)

	// THEN it may start and read the workspace's builds and read (and list)
	// their artifacts, and nothing of any other project or bucket
	for i, d := range decisions {
		if d.Allowed() != tests[i].want {
			t.Errorf("%s on %s: %s, want allowed=%v", tests[i].action, tests[i].resource, d.Result, tests[i].want)
		}
	}

	// AND the accounts without a workspace grant no CodeBuild call
	for _, s := range reached(p) {
		if s.Account == w.Account {
			continue
		}
		atpl, role, _ := accessRole(t, h, accessDrift, s.Account)
		for _, st := range statementsOf(atpl, role) {
			if slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "codebuild:") }) {
				t.Errorf("drift access role in %s grants %v on %v, want no CodeBuild call", s.Account, st.actions, st.resources)
			}
		}
	}
}

func TestPolicyWithoutDriftHasNoDrift(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{name: "hub and spoke deliveries", give: gatingPolicyYAML},
		{name: "promotion to hub and spoke accounts", give: promotionPolicyYAML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy without a drift section
			p := parsePolicy(t, tt.give)
			if p.Drift != nil {
				t.Fatal("the policy detects drift")
			}

			// WHEN the app is synthesized
			h := synth(t, p)

			for _, stack := range stacksOf(h) {
				tpl := templateOf(t, stack)

				// THEN no stack has a drift function, a queue a function
				// consumes, a rule for drift results, a grant to check stacks
				// or read deployed environments, nor a managed policy
				for id, fn := range tpl.ofType("AWS::Lambda::Function") {
					if fn.Properties["FunctionName"] == FunctionName(p.Hub, route.FunctionDrift) {
						t.Errorf("%s: function %s is drift", *stack.StackName(), id)
					}
				}
				if ms := tpl.ofType("AWS::Lambda::EventSourceMapping"); len(ms) != 0 {
					t.Errorf("%s: event source mappings = %v, want none", *stack.StackName(), slices.Collect(maps.Keys(ms)))
				}
				for id, r := range tpl.ofType("AWS::Events::Rule") {
					if slices.Contains(strs(path(r.Properties, "EventPattern", "detail-type")), "CloudFormation Drift Detection Status Change") {
						t.Errorf("%s: rule %s routes drift results", *stack.StackName(), id)
					}
				}
				for id, r := range tpl.ofType("AWS::IAM::Role") {
					if m := r.Properties["ManagedPolicyArns"]; m != nil {
						t.Errorf("%s: role %s managed policies = %v, want none", *stack.StackName(), id, strs(m))
					}
					for _, st := range statementsOf(tpl, id) {
						for _, a := range st.actions {
							if strings.HasPrefix(a, "cloudformation:") || slices.Contains([]string{"ssm:GetParameter", "lambda:GetAlias", "lambda:GetFunction"}, a) {
								t.Errorf("%s: role %s grants %s", *stack.StackName(), id, a)
							}
						}
					}
				}
			}
		})
	}
}

// checkAWSRouteRules checks that fn alone receives source's detailType
// events, from the hub bus, where spokes forward theirs, and from the default
// bus, where the hub account's own arrive, each rule with a dead-letter queue.
func checkAWSRouteRules(t *testing.T, tpl cfnTemplate, fn, source, detailType string) {
	t.Helper()
	buses := map[bool]int{} // on the hub bus -> rules
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		pattern := r.Properties["EventPattern"]
		if !slices.Contains(strs(path(pattern, "detail-type")), detailType) {
			continue
		}
		buses[r.Properties["EventBusName"] != nil]++
		targets := list(r.Properties["Targets"])
		if len(targets) != 1 || refTo(path(targets[0], "Arn")) != fn {
			t.Errorf("rule %s targets %v, want %s alone", id, targets, fn)
			continue
		}
		if got := strs(path(pattern, "source")); !slices.Equal(got, []string{source}) {
			t.Errorf("rule %s source = %v, want %s", id, got, source)
		}
		if dlq := refTo(path(targets[0], "DeadLetterConfig", "Arn")); tpl.Resources[dlq].Type != "AWS::SQS::Queue" {
			t.Errorf("rule %s dead-letter queue = %v, want a queue", id, dlq)
		}
	}
	if buses[true] != 1 || buses[false] != 1 {
		t.Errorf("%q rules on the hub bus, default bus = %d, %d; want 1, 1", detailType, buses[true], buses[false])
	}
}
