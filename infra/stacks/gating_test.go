package stacks

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// gatingPolicyYAML delivers apps from the hub account in two regions, gated and
// not, and from two other accounts, one gated with pipelines and one neither.
const gatingPolicyYAML = `version: 1
hub:
  account: "111111111111"
  region: eu-west-1
apps:
  - name: checkout
    repository: checkout-service
    pipelines: [checkout-pipeline, checkout-hotfix]
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
    gate:
      projects: [checkout-build, checkout-lint]
      artifactBuckets: [checkout-artifacts, shared-artifacts]
      imageRepositories: [checkout]
      checks: {compile: {}}
  - name: catalog
    repository: catalog
    region: us-east-1
    environments:
      - {name: dev, account: "111111111111", region: us-east-1}
    gate:
      projects: [catalog-build]
      artifactBuckets: [shared-artifacts]
      checks: {compile: {}}
  - name: docs
    repository: docs
    pipelines: [docs-pipeline]
    environments:
      - {name: prod, account: "222222222222", region: eu-west-1}
  - name: billing
    repository: billing
    account: "555555555555"
    region: eu-central-1
    pipelines: [billing-pipeline]
    environments:
      - {name: dev, account: "555555555555", region: us-east-1}
    gate:
      projects: [billing-build]
      artifactBuckets: [billing-artifacts]
      imageRepositories: [billing, billing-worker]
      checks: {compile: {}}
  - name: search
    repository: search
    account: "666666666666"
    region: eu-west-1
    environments:
      - {name: dev, account: "666666666666", region: eu-west-1}
`

// deliveryServices are the services whose grants the policy or a capability
// decides; every other statement of a function role is one of Highway's
// defaults (logs, tracing, dead-letter queue, ledger, bus).
var deliveryServices = []string{"cloudformation", "codecommit", "codebuild", "codepipeline", "ecr", "ecs", "iam", "kms", "lambda", "s3", "secretsmanager", "sns", "ssm", "states", "sts"}

// grants maps a statement's sorted actions, joined by spaces, to its sorted
// resources.
type grants map[string][]string

// add grants actions on resource.
func (g grants) add(resource string, actions ...string) {
	a := slices.Sorted(slices.Values(actions))
	key := strings.Join(a, " ")
	if !slices.Contains(g[key], resource) {
		g[key] = append(g[key], resource)
		sort.Strings(g[key])
	}
}

// iamStatement is one statement of a policy of a template.
type iamStatement struct {
	policy    string
	actions   []string
	resources []string
	condition any
}

// statementsOf returns the statements of every policy attached to role,
// inline and customer managed.
func statementsOf(tpl cfnTemplate, role string) []iamStatement {
	var out []iamStatement
	policies := tpl.ofType("AWS::IAM::Policy")
	for id, pol := range tpl.ofType("AWS::IAM::ManagedPolicy") {
		policies[id] = pol
	}
	for id, pol := range policies {
		if !slices.ContainsFunc(list(pol.Properties["Roles"]), func(r any) bool { return refTo(r) == role }) {
			continue
		}
		for _, st := range list(path(pol.Properties, "PolicyDocument", "Statement")) {
			out = append(out, iamStatement{
				policy:    id,
				actions:   slices.Sorted(slices.Values(strs(path(st, "Action")))),
				resources: slices.Sorted(slices.Values(strs(path(st, "Resource")))),
				condition: path(st, "Condition"),
			})
		}
	}
	return out
}

// deliveryGrants returns the statements of role on the delivery services, and
// reports any other statement that is not one of Highway's defaults on the
// stack's own resources.
func deliveryGrants(t *testing.T, tpl cfnTemplate, role string) grants {
	t.Helper()
	got := grants{}
	for _, st := range statementsOf(tpl, role) {
		service, _, _ := strings.Cut(st.actions[0], ":")
		if slices.Contains(deliveryServices, service) {
			key := strings.Join(st.actions, " ")
			if _, dup := got[key]; dup {
				t.Errorf("role %s: two statements grant %s", role, key)
			}
			got[key] = st.resources
			continue
		}
		for _, r := range st.resources {
			if (service == "xray") != (r == "*") || (service != "xray" && !strings.Contains(r, "${")) {
				t.Errorf("role %s grants %v on %s, want a default grant on a resource of the stack", role, st.actions, r)
			}
		}
	}
	return got
}

// functionRole returns the logical id of the role of the named function.
func functionRole(t *testing.T, tpl cfnTemplate, hub policy.Hub, name string) string {
	t.Helper()
	for _, fn := range tpl.ofType("AWS::Lambda::Function") {
		if fn.Properties["FunctionName"] == FunctionName(hub, name) {
			return refTo(fn.Properties["Role"])
		}
	}
	t.Fatalf("no function %s", FunctionName(hub, name))
	return ""
}

// jobbing returns the gated apps with pipelines, whose invoke actions call the
// gatejob function.
func jobbing(apps []policy.App) []policy.App {
	var out []policy.App
	for _, a := range apps {
		if a.Gate != nil && len(a.Pipelines) > 0 {
			out = append(out, a)
		}
	}
	return out
}

func TestGateRuleWatchesTheGatedAppsDeliveryAccounts(t *testing.T) {
	// GIVEN a policy gating projects of apps delivered from the hub account
	// and others
	p := parsePolicy(t, gatingPolicyYAML)
	var want []string
	for _, a := range gated(p.Apps) {
		if !slices.Contains(want, a.Account) {
			want = append(want, a.Account)
		}
	}
	slices.Sort(want)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)

	// THEN the gate function is invoked from the hub bus and the default bus
	// by rules for finished builds in exactly those accounts, whatever the
	// project: the gate itself keeps to the policy's projects, so the rule
	// does not grow with the apps
	gate := FunctionName(p.Hub, route.FunctionGate)
	buses := map[bool]bool{} // on the hub bus -> seen
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		for _, target := range list(r.Properties["Targets"]) {
			if tpl.Resources[refTo(path(target, "Arn"))].Properties["FunctionName"] != gate {
				continue
			}
			buses[r.Properties["EventBusName"] != nil] = true
			pattern := r.Properties["EventPattern"]
			checks := []struct {
				name string
				got  []string
				want []string
			}{
				{"source", strs(path(pattern, "source")), []string{"aws.codebuild"}},
				{"detail-type", strs(path(pattern, "detail-type")), []string{"CodeBuild Build State Change"}},
				{"account", slices.Sorted(slices.Values(strs(path(pattern, "account")))), want},
				{"project-name", strs(path(pattern, "detail", "project-name")), nil},
			}
			for _, c := range checks {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("rule %s %s = %v, want %v", id, c.name, c.got, c.want)
				}
			}
		}
	}
	if !buses[true] || !buses[false] {
		t.Errorf("gate rules on the hub bus, default bus = %v, %v; want both", buses[true], buses[false])
	}
}

func TestGateJobIsInvokedByHubPipelines(t *testing.T) {
	// GIVEN the example policy, which gates an app
	p := examplePolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)

	// THEN CodePipeline may invoke the gatejob function for the hub account
	// only, and the function's ARN is an output
	var job string
	for id, fn := range tpl.ofType("AWS::Lambda::Function") {
		if fn.Properties["FunctionName"] == FunctionName(p.Hub, FunctionGateJob) {
			job = id
		}
	}
	if job == "" {
		t.Fatalf("no function %s", FunctionName(p.Hub, FunctionGateJob))
	}
	invokes := 0
	for id, perm := range tpl.ofType("AWS::Lambda::Permission") {
		if perm.Properties["Principal"] != "codepipeline.amazonaws.com" {
			continue
		}
		invokes++
		got := []any{refTo(perm.Properties["FunctionName"]), perm.Properties["Action"], perm.Properties["SourceAccount"]}
		want := []any{job, "lambda:InvokeFunction", p.Hub.Account}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("permission %s (function, action, source account) = %v, want %v", id, got, want)
		}
	}
	if invokes == 0 {
		t.Error("no permission lets codepipeline.amazonaws.com invoke a function")
	}
	var outputs []string
	for id, o := range tpl.Outputs {
		if refTo(o.Value) == job && reflect.DeepEqual(path(o.Value, "Fn::GetAtt"), []any{job, "Arn"}) {
			outputs = append(outputs, id)
		}
	}
	if len(outputs) != 1 {
		t.Errorf("outputs of the gatejob ARN = %v, want one", outputs)
	}
}

func TestPolicyWithoutGatesHasNoGating(t *testing.T) {
	// GIVEN a policy whose app has pipelines but no gate
	p := parsePolicy(t, strings.Replace(policyYAML(env("dev", "222222222222", "eu-west-1")),
		"    repository: shop\n", "    repository: shop\n    pipelines: [shop-pipeline]\n", 1))
	if len(gated(p.Apps)) != 0 {
		t.Fatal("the policy has a gated app")
	}

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)

	// THEN there is neither gate function nor gate rule, nothing may invoke a
	// function for CodePipeline, and no role may touch builds or pipelines
	for id, fn := range tpl.ofType("AWS::Lambda::Function") {
		if name := fn.Properties["FunctionName"]; name == FunctionName(p.Hub, route.FunctionGate) || name == FunctionName(p.Hub, FunctionGateJob) {
			t.Errorf("function %s is %v, want no gating function", id, name)
		}
	}
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		if slices.Contains(strs(path(r.Properties, "EventPattern", "source")), "aws.codebuild") {
			t.Errorf("rule %s listens to aws.codebuild, want no gate rule", id)
		}
	}
	for id, perm := range tpl.ofType("AWS::Lambda::Permission") {
		if perm.Properties["Principal"] == "codepipeline.amazonaws.com" {
			t.Errorf("permission %s lets CodePipeline invoke a function", id)
		}
	}
	if len(tpl.Outputs) != 0 {
		t.Errorf("outputs = %v, want none", tpl.Outputs)
	}
	for id := range tpl.ofType("AWS::IAM::Role") {
		for _, st := range statementsOf(tpl, id) {
			for _, a := range st.actions {
				if strings.HasPrefix(a, "codebuild:") || strings.HasPrefix(a, "codepipeline:") {
					t.Errorf("role %s grants %s", id, a)
				}
			}
		}
	}
}

// ledgerAppYAML is one more gated app with a pipeline, delivered from an
// account of its own, to append to gatingPolicyYAML's apps.
const ledgerAppYAML = `  - name: ledger
    repository: ledger
    account: "777777777777"
    pipelines: [ledger-pipeline]
    environments:
      - {name: dev, account: "777777777777", region: eu-west-1}
    gate:
      projects: [ledger-build]
      artifactBuckets: [ledger-artifacts]
      checks: {compile: {}}
`

// hubGatingPolicyYAML gates an app with pipelines delivered from the hub
// account, and one without pipelines delivered from another account.
const hubGatingPolicyYAML = `version: 1
hub:
  account: "111111111111"
  region: eu-west-1
apps:
  - name: shop
    repository: shop
    pipelines: [shop-pipeline]
    environments:
      - {name: prod, account: "333333333333", region: eu-west-1}
    gate:
      projects: [shop-build]
      artifactBuckets: [shop-artifacts]
      checks: {compile: {}}
  - name: batch
    repository: batch
    account: "444444444444"
    environments:
      - {name: prod, account: "444444444444", region: eu-west-1}
    gate:
      projects: [batch-build]
      artifactBuckets: [batch-artifacts]
      checks: {compile: {}}
`

func TestPipelineInvokeRoleServesOtherDeliveryAccounts(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *policy.Policy
		want []string // accounts whose pipelines invoke gatejob through the role
	}{
		{name: "example policy", give: examplePolicy, want: []string{"222222222222"}},
		{name: "hub and spoke deliveries", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, gatingPolicyYAML) }, want: []string{"555555555555"}},
		{name: "pipelines in the hub account", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, hubGatingPolicyYAML) }},
		{name: "two delivery accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, gatingPolicyYAML+ledgerAppYAML) }, want: []string{"555555555555", "777777777777"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy whose gated apps with pipelines are delivered from
			// the accounts tt.want, or from the hub account alone
			p := tt.give(t)

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			jobRole := functionRole(t, tpl, p.Hub, FunctionGateJob)
			var job string
			for id, fn := range tpl.ofType("AWS::Lambda::Function") {
				if fn.Properties["FunctionName"] == FunctionName(p.Hub, FunctionGateJob) {
					job = id
				}
			}

			// THEN gatejob may assume the gate access role of every account
			// that delivers a gated app, to answer their jobs
			var wantAssume []string
			for _, a := range gated(p.Apps) {
				if r := fmt.Sprintf("arn:aws:iam::%s:role/%s", a.Account, AccessRoleName(p.Hub, accessGate)); !slices.Contains(wantAssume, r) {
					wantAssume = append(wantAssume, r)
				}
			}
			slices.Sort(wantAssume)
			if got := deliveryGrants(t, tpl, jobRole)["sts:AssumeRole sts:TagSession"]; !slices.Equal(got, wantAssume) {
				t.Errorf("gatejob assumes %v, want %v", got, wantAssume)
			}

			// AND each of them has its own invoke role, and no other account
			// has one: only that account may assume it, it may invoke
			// gatejob and read and decrypt, through S3, the artifacts of that
			// account's gated builds and no other's, and its ARN is an output
			roles := map[string]string{} // account -> role id
			for id, r := range tpl.ofType("AWS::IAM::Role") {
				if name, _ := r.Properties["RoleName"].(string); strings.HasPrefix(name, p.Hub.Name+"-pipeline-invoke-") {
					roles[strings.TrimPrefix(name, p.Hub.Name+"-pipeline-invoke-")] = id
				}
			}
			if got := slices.Sorted(maps.Keys(roles)); !slices.Equal(got, tt.want) {
				t.Fatalf("invoke roles for accounts %v, want %v", got, tt.want)
			}
			for _, account := range tt.want {
				role := roles[account]
				r := tpl.Resources[role]
				if r.Properties["Path"] != nil {
					t.Errorf("invoke role path = %v, want none: access roles trust the function roles by path", r.Properties["Path"])
				}
				checkInvokeRoleTrust(t, p, tpl, role, account)

				want := grants{}
				want.add("${"+job+"}", "lambda:InvokeFunction")
				want.add("${"+job+"}:*", "lambda:InvokeFunction")
				for _, a := range jobbing(p.Apps) {
					if a.Account == account {
						for _, b := range a.Gate.ArtifactBuckets {
							want.add("arn:aws:s3:::"+b+"/*", "s3:GetObject", "s3:GetObjectVersion")
						}
					}
				}
				want.add(fmt.Sprintf("arn:aws:kms:%s:%s:key/*", p.Hub.Region, account), "kms:Decrypt")
				got := grants{}
				for _, st := range statementsOf(tpl, role) {
					key := strings.Join(st.actions, " ")
					if _, dup := got[key]; dup {
						t.Errorf("two statements grant %s", key)
					}
					got[key] = st.resources
					wantCondition := any(nil)
					if key == "kms:Decrypt" {
						wantCondition = map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + p.Hub.Region + ".${AWS::URLSuffix}"}}
					}
					if c := flatten(st.condition); !reflect.DeepEqual(c, wantCondition) {
						t.Errorf("%s condition = %v, want %v", key, c, wantCondition)
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("invoke role of %s grants %v, want %v", account, got, want)
				}
				var outputs []string
				for id, o := range tpl.Outputs {
					if reflect.DeepEqual(path(o.Value, "Fn::GetAtt"), []any{role, "Arn"}) {
						outputs = append(outputs, id)
					}
				}
				if len(outputs) != 1 {
					t.Errorf("outputs of the invoke role ARN of %s = %v, want one", account, outputs)
				}
			}
		})
	}
}

// checkInvokeRoleTrust checks, with the IAM simulator, that only the roles
// of account that carry the app tag (its pipelines' service roles) may assume
// its invoke role: not an untagged role of that account, nor a tagged role of
// another account.
func checkInvokeRoleTrust(t *testing.T, p *policy.Policy, tpl cfnTemplate, role, account string) {
	t.Helper()
	trust := resolve(tpl.Resources[role].Properties["AssumeRolePolicyDocument"], nil)
	var requests []localaws.IAMRequest
	var want []bool
	ask := func(principal string, tagged, allowed bool) {
		ctx := map[string]any{"aws:PrincipalArn": principal, "aws:PrincipalAccount": accountOf(principal)}
		if tagged {
			ctx["aws:PrincipalTag/"+p.Hub.AppTag] = "checkout"
		}
		requests = append(requests, localaws.IAMRequest{
			Name: fmt.Sprintf("%s (tagged %v) assumes the invoke role of %s", principal, tagged, account), Principal: principal,
			Action: "sts:AssumeRole", Resource: "arn:aws:iam::" + p.Hub.Account + ":role/" + PipelineInvokeRoleName(p.Hub, account),
			Account: p.Hub.Account, Context: ctx,
			// The caller's own policy lets it assume any role: the trust
			// policy alone decides.
			IdentityPolicies: []localaws.NamedPolicy{{Name: "any", Policy: map[string]any{"Version": "2012-10-17",
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}}}},
			ResourcePolicy: trust,
		})
		want = append(want, allowed)
	}
	ask("arn:aws:iam::"+account+":role/service-role/checkout-pipeline", true, true)
	ask("arn:aws:iam::"+account+":role/service-role/checkout-pipeline", false, false)
	ask("arn:aws:iam::999999999999:role/service-role/checkout-pipeline", true, false)
	ask("arn:aws:iam::"+account+":user/ci", true, false)
	for i, d := range localaws.SimulateIAM(t, requests) {
		if d.Allowed() != want[i] {
			t.Errorf("%s: %s, want allowed=%v", requests[i].Name, d.Result, want[i])
		}
	}
}

// flatten renders the intrinsic-built strings of a condition as text.
func flatten(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if _, join := m["Fn::Join"]; join {
		return flat(m)
	}
	out := map[string]any{}
	for k, e := range m {
		out[k] = flatten(e)
	}
	return out
}
