package stacks

import (
	"slices"
	"strings"
	"testing"
)

func TestSpokeRoleTrustsOnlyHubFunctions(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))
	hub := h.Hub.Policy.Hub
	hubTpl := templateOf(t, h.Hub.Stack)
	if len(h.Spokes) == 0 {
		t.Fatal("the example policy has no spokes")
	}

	for _, stack := range h.Spokes {
		// WHEN a spoke is synthesized
		tpl := templateOf(t, stack)

		// THEN its spoke role may be assumed by the hub account alone, only by
		// roles under the hub functions' path, and holds no permissions unless
		// an app is delivered from its account, Highway deploys to one of its
		// environments or detects drift; only drift detection attaches a
		// managed policy, the one that reads the stacks' resources
		var role cfnResource
		for _, r := range tpl.ofType("AWS::IAM::Role") {
			if r.Properties["RoleName"] == hub.SpokeRoleName() {
				role = r
			}
		}
		if role.Type == "" {
			t.Fatalf("%s: no role %s", *stack.StackName(), hub.SpokeRoleName())
		}
		statements := list(path(role.Properties, "AssumeRolePolicyDocument", "Statement"))
		if len(statements) != 1 {
			t.Fatalf("trust statements = %d, want 1", len(statements))
		}
		st := statements[0]
		principals := strs(path(st, "Principal", "AWS"))
		if len(principals) != 1 || accountOf(principals[0]) != hub.Account || !strings.HasSuffix(principals[0], ":root") {
			t.Errorf("trusted principals = %v, want the hub account %s", principals, hub.Account)
		}
		if path(st, "Principal", "Service") != nil || path(st, "Effect") != "Allow" {
			t.Errorf("trust statement = %v, want Allow for the hub account only", st)
		}
		arns := strs(path(st, "Condition", "ArnLike", "aws:PrincipalArn"))
		wantArn := ":iam::" + hub.Account + ":role" + functionRolePath(hub) + "*"
		if len(arns) != 1 || !strings.HasSuffix(arns[0], wantArn) {
			t.Errorf("aws:PrincipalArn = %v, want ...%s", arns, wantArn)
		}
		detects := h.Hub.Policy.Drift != nil && *stack.Account() != hub.Account
		var wantManaged []string
		if detects {
			wantManaged = []string{securityAuditArn}
		}
		if got := strs(role.Properties["ManagedPolicyArns"]); !slices.Equal(got, wantManaged) || role.Properties["Policies"] != nil {
			t.Errorf("spoke role policies = %v %v, want managed %v and no inline", got, role.Properties["Policies"], wantManaged)
		}
		delivers := detects || len(remediations(h.Hub.Policy, *stack.Account())) > 0
		for _, a := range h.Hub.Policy.Apps {
			delivers = delivers || (a.Account == *stack.Account() && a.Account != hub.Account)
			for _, e := range a.Environments {
				delivers = delivers || (e.Deploy != nil && e.Account == *stack.Account() && e.Account != hub.Account)
			}
		}
		for id, pol := range tpl.ofType("AWS::IAM::Policy") {
			for _, r := range list(pol.Properties["Roles"]) {
				if tpl.Resources[refTo(r)].Properties["RoleName"] == hub.SpokeRoleName() && !delivers {
					t.Errorf("policy %s is attached to the spoke role of %s, which delivers no app, is deployed to by none and detects no drift", id, *stack.Account())
				}
			}
		}
	}

	// AND every hub function runs as a role under the path the spoke roles trust
	for id, fn := range hubTpl.ofType("AWS::Lambda::Function") {
		role := hubTpl.Resources[refTo(fn.Properties["Role"])]
		if got := role.Properties["Path"]; got != functionRolePath(hub) {
			t.Errorf("function %s role path = %v, want %s", id, got, functionRolePath(hub))
		}
	}
}

func TestSpokeRoleOncePerAccount(t *testing.T) {
	// GIVEN environments in two regions of one account and one of another
	p := parsePolicy(t, policyYAML(env("dev", "222222222222", "eu-west-1")+
		env("staging", "222222222222", "us-east-1")+env("prod", "333333333333", "eu-west-1")))
	h := synth(t, p)

	// WHEN the spokes are synthesized
	roles := map[string]int{}
	for _, stack := range h.Spokes {
		for _, r := range templateOf(t, stack).ofType("AWS::IAM::Role") {
			if r.Properties["RoleName"] == p.Hub.SpokeRoleName() {
				roles[*stack.Account()]++
			}
		}
	}

	// THEN there is a stack per account and region, and one spoke role per account
	if len(h.Spokes) != len(p.Spokes()) {
		t.Errorf("spoke stacks = %d, want %d", len(h.Spokes), len(p.Spokes()))
	}
	want := map[string]int{"222222222222": 1, "333333333333": 1}
	if len(roles) != len(want) || roles["222222222222"] != 1 || roles["333333333333"] != 1 {
		t.Errorf("spoke roles per account = %v, want %v", roles, want)
	}
}

func TestSpokeForwardsExactlyTheSevenSources(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))
	hub := h.Hub.Policy.Hub
	want := []string{"aws.cloudformation", "aws.cloudwatch", "aws.codebuild", "aws.codecommit", "aws.codepipeline", "aws.ecr", "aws.ecs"}

	for _, stack := range h.Spokes {
		// WHEN a spoke is synthesized
		tpl := templateOf(t, stack)

		// THEN its default bus forwards the seven sources, and nothing else, to
		// the hub bus through a role, with a dead-letter queue
		var sources []string
		for id, r := range tpl.ofType("AWS::Events::Rule") {
			if r.Properties["EventBusName"] != nil {
				t.Errorf("rule %s is on bus %v, want the default bus", id, r.Properties["EventBusName"])
			}
			sources = append(sources, strs(path(r.Properties, "EventPattern", "source"))...)
			if len(r.Properties["EventPattern"].(map[string]any)) != 1 {
				t.Errorf("rule %s pattern = %v, want sources only", id, r.Properties["EventPattern"])
			}
			for _, target := range list(r.Properties["Targets"]) {
				wantBus := ":events:" + hub.Region + ":" + hub.Account + ":event-bus/" + BusName(hub)
				if arn := flat(path(target, "Arn")); !strings.HasSuffix(arn, wantBus) {
					t.Errorf("rule %s target = %s, want ...%s", id, arn, wantBus)
				}
				if tpl.Resources[refTo(path(target, "RoleArn"))].Type != "AWS::IAM::Role" {
					t.Errorf("rule %s target role = %v, want a role of the stack", id, path(target, "RoleArn"))
				}
			}
		}
		slices.Sort(sources)
		if !slices.Equal(sources, want) {
			t.Errorf("%s forwards %v, want %v", *stack.StackName(), sources, want)
		}
	}

	// AND the hub bus accepts exactly those sources from the spokes
	got := slices.Sorted(slices.Values(forwardedSources))
	if !slices.Equal(got, want) {
		t.Errorf("hub bus accepts %v, want %v", got, want)
	}
}
