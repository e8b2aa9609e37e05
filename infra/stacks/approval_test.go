package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// approvalPolicyYAML is promotionPolicyYAML with a second environment that
// needs approval, of another app, whose approvers share one with the first:
// ana and lee approve checkout's prod, lee and kim billing's.
var approvalPolicyYAML = strings.Replace(promotionPolicyYAML, `        region: eu-central-1
        deploy:`, `        region: eu-central-1
        approval:
          approvers: [lee@example.com, kim@example.com]
        deploy:`, 1)

// approvalPolicy parses approvalPolicyYAML.
func approvalPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p := parsePolicy(t, approvalPolicyYAML)
	if got := policyApprovers(p); !slices.Equal(got, []string{"ana@example.com", "kim@example.com", "lee@example.com"}) {
		t.Fatalf("approvers = %v, want ana, kim and lee", got)
	}
	return p
}

// hubArns maps the references of the hub template's tables, buses, topics,
// roles, keys and secrets, as resolve renders them (${id} and ${id.Arn}), to
// the ARNs they are in the hub's account and region.
func hubArns(tpl cfnTemplate, hub policy.Hub) map[string]string {
	in := func(service, resource string) string {
		return "arn:aws:" + service + ":" + hub.Region + ":" + hub.Account + ":" + resource
	}
	out := map[string]string{}
	for id, r := range tpl.Resources {
		p := r.Properties
		switch r.Type {
		case "AWS::DynamoDB::Table":
			out["${"+id+".Arn}"] = in("dynamodb", "table/"+flat(p["TableName"]))
		case "AWS::Events::EventBus":
			out["${"+id+".Arn}"] = in("events", "event-bus/"+flat(p["Name"]))
		case "AWS::SNS::Topic":
			out["${"+id+"}"] = in("sns", flat(p["TopicName"]))
		case "AWS::IAM::Role":
			out["${"+id+".Arn}"] = "arn:aws:iam::" + hub.Account + ":role" + cmpOr(flat(p["Path"]), "/") + flat(p["RoleName"])
		case "AWS::KMS::Key":
			out["${"+id+".Arn}"] = in("kms", "key/"+strings.ToLower(id))
		case "AWS::SecretsManager::Secret":
			out["${"+id+"}"] = in("secretsmanager", "secret:"+flat(p["Name"])+"-AbCdEf")
		}
	}
	return out
}

// cmpOr is s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withArns replaces, in a resolved policy document, each reference that arns
// names with its ARN.
func withArns(v any, arns map[string]string) any {
	switch v := v.(type) {
	case string:
		for ref, arn := range arns {
			v = strings.ReplaceAll(v, ref, arn)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withArns(e, arns)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = withArns(e, arns)
		}
		return out
	}
	return v
}

// roleRequest is a request of the named hub function's role, with its
// identity policies as synthesized and the ARNs of the hub's resources.
func roleRequest(t *testing.T, h *Highway, tpl cfnTemplate, fn, action, resource string, ctx map[string]any) localaws.IAMRequest {
	t.Helper()
	hub := h.Hub.Policy.Hub
	arns := hubArns(tpl, hub)
	role := functionRole(t, tpl, hub, fn)
	var policies []localaws.NamedPolicy
	for _, p := range identityPolicies(tpl, role, h.Hub.Stack) {
		policies = append(policies, localaws.NamedPolicy{Name: p.Name, Policy: withArns(p.Policy, arns)})
	}
	context := map[string]any{
		"aws:PrincipalArn":     arns["${"+role+".Arn}"],
		"aws:PrincipalAccount": hub.Account,
		"aws:SecureTransport":  "true",
	}
	maps.Copy(context, ctx)
	return localaws.IAMRequest{
		Name:             fmt.Sprintf("%s: %s on %s with %v", fn, action, resource, ctx),
		Principal:        "arn:aws:sts::" + hub.Account + ":assumed-role/" + FunctionRoleName(hub, fn) + "/" + FunctionName(hub, fn),
		Action:           action,
		Resource:         resource,
		Account:          hub.Account,
		Context:          context,
		IdentityPolicies: policies,
	}
}

// topicPolicy returns the resource policy of the topic named name, with the
// ARNs of the hub's resources, and the topic's ARN.
func topicPolicy(t *testing.T, h *Highway, tpl cfnTemplate, name string) (any, string) {
	t.Helper()
	arns := hubArns(tpl, h.Hub.Policy.Hub)
	for id, topic := range tpl.ofType("AWS::SNS::Topic") {
		if topic.Properties["TopicName"] != name {
			continue
		}
		for _, tp := range tpl.ofType("AWS::SNS::TopicPolicy") {
			if slices.Contains(refs(tp.Properties["Topics"]), id) {
				return withArns(resolve(tp.Properties["PolicyDocument"], h.Hub.Stack), arns), arns["${"+id+"}"]
			}
		}
		t.Fatalf("topic %s has no policy", name)
	}
	t.Fatalf("no topic %s", name)
	return nil, ""
}

// simulate asks IAM to decide requests and checks each against want.
func simulate(t *testing.T, requests []localaws.IAMRequest, want []bool) {
	t.Helper()
	for i, d := range localaws.SimulateIAM(t, requests) {
		switch {
		case d.Result == "Error":
			t.Errorf("%s: %s", requests[i].Name, d.Errors)
		case d.Allowed() != want[i]:
			t.Errorf("%s: %s, want allowed=%v", requests[i].Name, d.Result, want[i])
		}
	}
}

func TestApprovalFunctionRoleReachesOnlyWhatDecidingNeeds(t *testing.T) {
	// GIVEN a policy with approvals, synthesized
	p := approvalPolicy(t)
	h := synth(t, p)
	tpl := templateOf(t, h.Hub.Stack)
	in := func(service, resource string) string {
		return "arn:aws:" + service + ":" + p.Hub.Region + ":" + p.Hub.Account + ":" + resource
	}
	table, bus := in("dynamodb", "table/"+TableName(p.Hub)), in("events", "event-bus/"+BusName(p.Hub))
	approvals, approvalsArn := topicPolicy(t, h, tpl, ApprovalTopicName(p.Hub))
	keys := func(k ...string) map[string]any { return map[string]any{"dynamodb:LeadingKeys": k} }
	event := func(source string, detailTypes ...string) map[string]any {
		return map[string]any{"events:source": []string{source}, "events:detail-type": detailTypes}
	}

	// WHEN IAM decides the calls deciding makes, and others, by the approval
	// function's role
	tests := []struct {
		action, resource string
		context          map[string]any
		resourcePolicy   any
		want             bool
	}{
		// the ledger: its own items, by partition key, with the actions it takes
		{"dynamodb:Query", table, keys("approvalRequest#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"), nil, true},
		{"dynamodb:PutItem", table, keys("approvalRequest#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"), nil, true},
		{"dynamodb:PutItem", table, keys("approval#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e/ana@example.com"), nil, true},
		{"dynamodb:PutItem", table, keys("once#approval-decision:apr-7f3cq2xk5mzd4wrn6t2ybhvj3e:ana@example.com"), nil, true},
		{"dynamodb:Query", table, keys("approval#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e/ana@example.com"), nil, true},
		{"dynamodb:PutItem", table, keys("promotion#prm-1"), nil, false},
		{"dynamodb:Query", table, keys("commit#9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b"), nil, false},
		{"dynamodb:PutItem", table, keys("once#alarm:checkout-p99:ALARM:2026-11-17T08:00:00Z"), nil, false},
		{"dynamodb:PutItem", table, keys("approvalRequest#apr-1", "lock#checkout#prod"), nil, false},
		{"dynamodb:Query", table + "/index/byDigest", keys("digest#sha256:5f70bf18"), nil, false},
		{"dynamodb:GetItem", table, keys("approvalRequest#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"), nil, false},
		{"dynamodb:Scan", table, nil, nil, false},
		{"dynamodb:DeleteItem", table, keys("approvalRequest#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"), nil, false},
		{"dynamodb:BatchWriteItem", table, keys("approvalRequest#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"), nil, false},
		{"dynamodb:UpdateItem", table, keys("approvalRequest#apr-7f3cq2xk5mzd4wrn6t2ybhvj3e"), nil, false},
		// the bus: its own events alone
		{"events:PutEvents", bus, event("highway", approval.DetailTypeApprovalDecided), nil, true},
		{"events:PutEvents", bus, event("highway", "Gate Decided"), nil, false},
		{"events:PutEvents", bus, event("highway", approval.DetailTypeApprovalRequested), nil, false},
		{"events:PutEvents", bus, event("highway", approval.DetailTypeApprovalDecided, "Artifact Promoted"), nil, false},
		{"events:PutEvents", bus, event("aws.codepipeline", approval.DetailTypeApprovalDecided), nil, false},
		{"events:PutEvents", bus, nil, nil, false},
		// the workflow: the promotion's executions, and the answers to its tasks
		{"states:DescribeExecution", in("states", "execution:"+PromotionStateMachineName(p.Hub)+":prm-1"), nil, nil, true},
		{"states:DescribeExecution", in("states", "execution:someone-elses-machine:prm-1"), nil, nil, false},
		{"states:StartExecution", in("states", "stateMachine:"+PromotionStateMachineName(p.Hub)), nil, nil, false},
		{"states:SendTaskSuccess", "*", nil, nil, true},
		{"states:SendTaskFailure", "*", nil, nil, true},
		// notices without links on the notification topic, never links
		{"sns:Publish", in("sns", TopicName(p.Hub)), nil, nil, true},
		{"sns:Publish", approvalsArn, nil, approvals, false},
	}
	var requests []localaws.IAMRequest
	var want []bool
	for _, tt := range tests {
		r := roleRequest(t, h, tpl, FunctionApproval, tt.action, tt.resource, tt.context)
		r.ResourcePolicy = tt.resourcePolicy
		requests = append(requests, r)
		want = append(want, tt.want)
	}

	// THEN it may take the actions deciding takes on its own ledger items, put
	// its own events, read the promotion's executions and answer tasks, and
	// nothing else
	simulate(t, requests, want)
}

func TestApprovalFunctionHasReservedConcurrency(t *testing.T) {
	// GIVEN a policy with approvals
	p := approvalPolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)

	// THEN the approval function, which anyone can reach through its URL, runs
	// at most approvalConcurrency at a time, and no other function reserves
	// any; it knows the promotion state machine
	for _, fn := range tpl.ofType("AWS::Lambda::Function") {
		name := flat(fn.Properties["FunctionName"])
		got := fn.Properties["ReservedConcurrentExecutions"]
		var want any
		if name == FunctionName(p.Hub, FunctionApproval) {
			want = float64(approvalConcurrency)
		}
		if got != want {
			t.Errorf("function %s reserved concurrency = %v, want %v", name, got, want)
		}
	}
	env := functionEnv(t, tpl, p.Hub, FunctionApproval)
	if got, want := fmt.Sprint(resolve(env[function.EnvApprovalStateMachine], synth(t, p).Hub.Stack)),
		"arn:aws:states:"+p.Hub.Region+":"+p.Hub.Account+":stateMachine:"+PromotionStateMachineName(p.Hub); got != want {
		t.Errorf("approval %s = %s, want %s", function.EnvApprovalStateMachine, got, want)
	}
}
