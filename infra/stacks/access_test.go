package stacks

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// accessPolicies are the policies whose access roles the tests check: every
// kind of delivery, deployment, drift and runbook Highway has.
var accessPolicies = []struct {
	name string
	give func(t *testing.T) *policy.Policy
}{
	{name: "example policy", give: examplePolicy},
	{name: "hub and spoke deliveries", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, gatingPolicyYAML) }},
	{name: "pipelines in the hub account", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, hubGatingPolicyYAML) }},
	{name: "drift with prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, driftPolicyYAML) }},
	{name: "drift without prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, anyStackDriftPolicyYAML) }},
	{name: "alarm response", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, alarmPolicyYAML) }},
	{name: "App Runner, EKS and GitOps", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, targetsPolicyYAML) }},
}

// apiCall is one AWS request a capability's function makes for an app: what
// the functions call, with the resource each names, as the code makes it
// (see shared/push, gating, deploy, runtimecheck, drift, remediate).
type apiCall struct {
	capability string
	app        string // empty: a call for no app, in an untagged session
	account    string
	region     string
	action     string
	resource   string
	// byTag says the resource belongs to app and carries its tag; a call on
	// a resource named in the role instead (an S3 object, a report group)
	// does not depend on tags.
	byTag bool
	// context adds request condition keys, such as iam:PassedToService.
	context map[string]any
}

func (c apiCall) String() string {
	return fmt.Sprintf("%s for %q: %s on %s", c.capability, c.app, c.action, c.resource)
}

// apiCalls lists the calls the functions make for the apps of p, by
// capability: push reads commits; the gate reads builds, report groups,
// artifacts and image scans, finds and stops pipeline executions, reads and
// answers jobs; promotion deploys; drift reads stacks and what environments
// run, and plans Terraform workspaces; respond runs the runbooks' actions.
// The calls on App Runner services, EKS clusters and GitOps repositories
// are on resources the role names (see shared/apprunner, kube, gitops).
func apiCalls(p *policy.Policy) []apiCall {
	var out []apiCall
	arn := func(service, region, account, resource string) string {
		return "arn:aws:" + service + ":" + region + ":" + account + ":" + resource
	}
	for _, a := range p.Apps {
		c := apiCall{app: a.Name, account: a.Account, region: a.Region, byTag: true}
		add := func(capability, action, resource string) {
			c.capability, c.action, c.resource = capability, action, resource
			out = append(out, c)
		}
		if a.Repository != "" { // an app built from GitHub has no commits to read here
			add(accessCommits, "codecommit:GetCommit", arn("codecommit", a.Region, a.Account, a.Repository))
		}
		if a.Gate != nil {
			for _, pr := range a.Gate.Projects {
				add(accessGate, "codebuild:BatchGetBuilds", arn("codebuild", a.Region, a.Account, "project/"+pr))
				c.byTag = false
				add(accessGate, "codebuild:BatchGetReports", arn("codebuild", a.Region, a.Account, "report-group/"+pr+"-junit"))
				add(accessGate, "codebuild:DescribeTestCases", arn("codebuild", a.Region, a.Account, "report-group/"+pr+"-junit"))
				c.byTag = true
			}
			c.byTag = false
			for _, b := range a.Gate.ArtifactBuckets {
				add(accessGate, "s3:GetObject", "arn:aws:s3:::"+b+"/"+a.Name+"/build/output.zip")
			}
			c.byTag = true
			for _, r := range a.Gate.ImageRepositories {
				add(accessGate, "ecr:DescribeImageScanFindings", arn("ecr", a.Region, a.Account, "repository/"+r))
			}
			for _, pl := range a.Pipelines {
				add(accessGate, "codepipeline:ListActionExecutions", arn("codepipeline", a.Region, a.Account, pl))
				add(accessGate, "codepipeline:StopPipelineExecution", arn("codepipeline", a.Region, a.Account, pl))
			}
			if len(a.Pipelines) > 0 {
				// gatejob reads and answers a job for no app: it knows the app
				// once GetJobDetails has described the job.
				for _, action := range []string{"codepipeline:GetJobDetails", "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"} {
					out = append(out, apiCall{capability: accessGate, account: a.Account, region: a.Region, action: action, resource: "*"})
				}
			}
		}
		for _, e := range a.Environments {
			if e.Deploy == nil {
				continue
			}
			c := apiCall{app: a.Name, account: e.Account, region: e.Region, byTag: true}
			add := func(capability, action, resource string) {
				c.capability, c.action, c.resource = capability, action, resource
				out = append(out, c)
			}
			switch d := e.Deploy; {
			case d.SSM != nil:
				name := arn("ssm", e.Region, e.Account, "parameter/"+strings.TrimPrefix(d.SSM.Parameter, "/"))
				add(accessDeploy, "ssm:PutParameter", name)
				if p.Drift != nil {
					add(accessDrift, "ssm:GetParameter", name)
				}
			case d.Pipeline != nil:
				add(accessDeploy, "codepipeline:StartPipelineExecution", arn("codepipeline", e.Region, e.Account, d.Pipeline.Name))
			case d.Lambda != nil:
				fn := arn("lambda", e.Region, e.Account, "function:"+d.Lambda.Function)
				add(accessDeploy, "lambda:ListVersionsByFunction", fn)
				add(accessDeploy, "lambda:UpdateAlias", fn+":"+d.Lambda.Alias)
				if p.Drift != nil {
					add(accessDrift, "lambda:GetAlias", fn+":"+d.Lambda.Alias)
					add(accessDrift, "lambda:GetFunction", fn+":7")
				}
			case d.ECS != nil:
				service := arn("ecs", e.Region, e.Account, "service/"+d.ECS.Cluster+"/"+d.ECS.Service)
				add(accessDeploy, "ecs:DescribeServices", service)
				add(accessDeploy, "ecs:UpdateService", service)
				c.byTag = false
				add(accessDeploy, "ecs:DescribeTaskDefinition", "*")
				add(accessDeploy, "ecs:RegisterTaskDefinition", "*")
				c.context = map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"}
				add(accessDeploy, "ecs:TagResource", arn("ecs", e.Region, e.Account, "task-definition/"+d.ECS.Service+":8"))
				c.context = map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}
				add(accessDeploy, "iam:PassRole", "arn:aws:iam::"+e.Account+":role/"+d.ECS.Service+"-task")
				c.context = nil
				if p.Drift != nil {
					add(accessDrift, "ecs:DescribeTaskDefinition", "*")
					c.byTag = true
					add(accessDrift, "ecs:DescribeServices", service)
				}
			case d.AppRunner != nil:
				c.byTag = false
				service := appRunnerServiceArn(e, d.AppRunner.Service)
				capabilities := []string{accessDeploy}
				if p.Drift != nil {
					capabilities = append(capabilities, accessDrift)
				}
				for _, capability := range capabilities {
					if !strings.HasPrefix(d.AppRunner.Service, "arn:") {
						add(capability, "apprunner:ListServices", "*")
					}
					add(capability, "apprunner:DescribeService", service)
				}
				for _, action := range []string{"apprunner:UpdateService", "apprunner:ListOperations"} {
					add(accessDeploy, action, service)
				}
				c.context = map[string]any{"iam:PassedToService": "apprunner.amazonaws.com"}
				add(accessDeploy, "iam:PassRole", "arn:aws:iam::"+e.Account+":role/AppRunnerECRAccessRole")
				c.context = nil
			case d.EKS != nil, d.GitOps != nil:
				c.byTag = false
				if g := d.GitOps; g != nil {
					repo := arn("codecommit", e.Region, e.Account, g.Repository)
					add(accessDeploy, "codecommit:GetBranch", repo)
					add(accessDeploy, "codecommit:GetFile", repo)
					c.context = map[string]any{"codecommit:References": "refs/heads/" + g.Branch}
					add(accessDeploy, "codecommit:CreateCommit", repo)
					c.context = nil
				}
				cluster := arn("eks", e.Region, e.Account, "cluster/"+d.EKSTarget().Cluster)
				add(accessDeploy, "eks:DescribeCluster", cluster)
				if p.Drift != nil {
					add(accessDrift, "eks:DescribeCluster", cluster)
				}
			}
		}
	}
	if p.Drift != nil {
		prefix := "any-"
		if len(p.Drift.Stacks.Prefixes) > 0 {
			prefix = p.Drift.Stacks.Prefixes[0]
		}
		for _, s := range reached(p) {
			stack := "arn:aws:cloudformation:" + s.Region + ":" + s.Account + ":stack/" + prefix + "network/0f3e5a40-9c1b-11ee-8c90-0242ac120002"
			for _, call := range []struct{ action, resource string }{
				{"cloudformation:DescribeStacks", "*"},
				{"cloudformation:DetectStackDrift", stack},
				{"cloudformation:DescribeStackDriftDetectionStatus", "*"},
				{"cloudformation:DescribeStackResourceDrifts", stack},
			} {
				out = append(out, apiCall{capability: accessDrift, account: s.Account, region: s.Region, action: call.action, resource: call.resource})
			}
		}
		for _, w := range p.Drift.Terraform {
			project := arn("codebuild", w.Region, w.Account, "project/"+w.Project)
			for _, call := range []struct{ action, resource string }{
				{"codebuild:StartBuild", project},
				{"codebuild:BatchGetBuilds", project},
				{"s3:GetObject", "arn:aws:s3:::" + w.ArtifactBucket + "/" + w.Project + "/Tf7Kd2W"},
				{"s3:ListBucket", "arn:aws:s3:::" + w.ArtifactBucket},
			} {
				out = append(out, apiCall{capability: accessDrift, account: w.Account, region: w.Region, action: call.action, resource: call.resource})
			}
		}
	}
	if p.Alarms != nil {
		for _, rb := range p.Alarms.Runbooks {
			env := runbookEnvironment(p, rb)
			c := apiCall{capability: accessRespond, app: rb.App, account: env.Account, region: env.Region, byTag: true}
			arnIn := func(service, resource string) string { return arn(service, env.Region, env.Account, resource) }
			if len(rb.Match.Tags) > 0 {
				out = append(out, apiCall{capability: accessRespond, account: env.Account, region: env.Region,
					action: "cloudwatch:ListTagsForResource", resource: arnIn("cloudwatch", "alarm:"+rb.Name+"-5xx")})
			}
			for _, act := range rb.Actions {
				var cluster, service string
				switch {
				case act.ECSRedeploy != nil:
					cluster, service = act.ECSRedeploy.Cluster, act.ECSRedeploy.Service
				case act.ECSScale != nil:
					cluster, service = act.ECSScale.Cluster, act.ECSScale.Service
				}
				switch {
				case act.ECSRedeploy != nil, act.ECSScale != nil:
					if env.Deploy != nil && env.Deploy.ECS != nil {
						cluster, service = cmp.Or(cluster, env.Deploy.ECS.Cluster), cmp.Or(service, env.Deploy.ECS.Service)
					}
					for _, action := range []string{"ecs:DescribeServices", "ecs:UpdateService"} {
						c.action, c.resource = action, arnIn("ecs", "service/"+cluster+"/"+service)
						out = append(out, c)
					}
				case act.LambdaAliasRollback != nil:
					fn, alias := act.LambdaAliasRollback.Function, act.LambdaAliasRollback.Alias
					if env.Deploy != nil && env.Deploy.Lambda != nil {
						fn, alias = cmp.Or(fn, env.Deploy.Lambda.Function), cmp.Or(alias, env.Deploy.Lambda.Alias)
					}
					for _, call := range []struct{ action, resource string }{
						{"lambda:GetAlias", "function:" + fn + ":" + alias},
						{"lambda:ListVersionsByFunction", "function:" + fn},
						{"lambda:UpdateAlias", "function:" + fn + ":" + alias},
					} {
						c.action, c.resource = call.action, arnIn("lambda", call.resource)
						out = append(out, c)
					}
				case act.AppRunnerRedeploy != nil, act.AppRunnerPause != nil, act.AppRunnerResume != nil:
					s, action := act.AppRunnerRedeploy, "apprunner:StartDeployment"
					if act.AppRunnerPause != nil {
						s, action = act.AppRunnerPause, "apprunner:PauseService"
					} else if act.AppRunnerResume != nil {
						s, action = act.AppRunnerResume, "apprunner:ResumeService"
					}
					service := s.Service
					if service == "" {
						service = env.Deploy.AppRunner.Service
					}
					c := c
					c.byTag = false
					if !strings.HasPrefix(service, "arn:") {
						c.action, c.resource = "apprunner:ListServices", "*"
						out = append(out, c)
					}
					for _, a := range []string{"apprunner:DescribeService", action} {
						c.action, c.resource = a, appRunnerServiceArn(*env, service)
						out = append(out, c)
					}
				case act.EKSRolloutRestart != nil, act.EKSScale != nil:
					cluster := env.Deploy.EKSTarget().Cluster
					if act.EKSRolloutRestart != nil && act.EKSRolloutRestart.Cluster != "" {
						cluster = act.EKSRolloutRestart.Cluster
					}
					if act.EKSScale != nil && act.EKSScale.Cluster != "" {
						cluster = act.EKSScale.Cluster
					}
					c := c
					c.byTag, c.action, c.resource = false, "eks:DescribeCluster", arnIn("eks", "cluster/"+cluster)
					out = append(out, c)
				case act.SSMAutomation != nil && awsOwnedDocument(act.SSMAutomation.Document):
					// An AWS-owned document's ARN names no account, which the
					// simulator's resource patterns do not accept:
					// TestAutomationArnNamesTheDocumentsOwner covers it.
				case act.SSMAutomation != nil:
					definition := strings.Replace(automationArn(env, act.SSMAutomation.Document).nag, "<AWS::Partition>", "aws", 1)
					out = append(out, apiCall{capability: accessRespond, app: rb.App, account: env.Account, region: env.Region,
						action: "ssm:StartAutomationExecution", resource: strings.TrimSuffix(definition, "*") + "$DEFAULT"})
				}
			}
		}
	}
	return out
}

// appRunnerServiceArn is the ARN App Runner gives the service that env's
// policy names: the policy's ARN, or one a name resolves to, with an id App
// Runner chose.
func appRunnerServiceArn(env policy.Environment, service string) string {
	if strings.HasPrefix(service, "arn:") {
		return service
	}
	return "arn:aws:apprunner:" + env.Region + ":" + env.Account + ":service/" + service + "/8f3c2a1b9d4e4f6a8b0c2d4e6f8a0b1c"
}

// accessRole finds the access role of capability in account: in the hub
// stack for the hub's account, else in the account's first spoke stack. It
// returns the template that holds it and its logical id ("" when absent).
func accessRole(t *testing.T, h *Highway, capability, account string) (cfnTemplate, string, awscdk.Stack) {
	t.Helper()
	name := AccessRoleName(h.Hub.Policy.Hub, capability)
	for _, stack := range stacksOf(h) {
		if *stack.Account() != account {
			continue
		}
		tpl := templateOf(t, stack)
		for id, r := range tpl.ofType("AWS::IAM::Role") {
			if r.Properties["RoleName"] == name {
				return tpl, id, stack
			}
		}
	}
	return cfnTemplate{}, "", nil
}

// identityPolicies returns the policy documents attached to role in tpl,
// inline and customer managed, with their intrinsics resolved as in stack's
// account and region. AWS managed policies are left out.
func identityPolicies(tpl cfnTemplate, role string, stack awscdk.Stack) []localaws.NamedPolicy {
	var out []localaws.NamedPolicy
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for id, pol := range tpl.ofType(typ) {
			if slices.ContainsFunc(list(pol.Properties["Roles"]), func(r any) bool { return refTo(r) == role }) {
				out = append(out, localaws.NamedPolicy{Name: id, Policy: resolve(pol.Properties["PolicyDocument"], stack)})
			}
		}
	}
	for i, pol := range list(tpl.Resources[role].Properties["Policies"]) {
		out = append(out, localaws.NamedPolicy{Name: fmt.Sprintf("%s inline %d", role, i), Policy: resolve(path(pol, "PolicyDocument"), stack)})
	}
	slices.SortFunc(out, func(a, b localaws.NamedPolicy) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// resolve replaces the intrinsics of a template value with what they are in
// stack's account and region (nil: left as references): joins joined, the partition "aws", the URL
// suffix "amazonaws.com"; a reference to a resource becomes ${id} or
// ${id.attribute}.
func resolve(v any, stack awscdk.Stack) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = resolve(e, stack)
		}
		return out
	case map[string]any:
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			var parts []string
			for _, p := range list(join[1]) {
				parts = append(parts, fmt.Sprint(resolve(p, stack)))
			}
			return strings.Join(parts, sep)
		}
		if id, ok := v["Ref"].(string); ok && len(v) == 1 {
			switch {
			case id == "AWS::Partition":
				return "aws"
			case id == "AWS::URLSuffix":
				return "amazonaws.com"
			case id == "AWS::AccountId" && stack != nil:
				return *stack.Account()
			case id == "AWS::Region" && stack != nil:
				return *stack.Region()
			}
			return "${" + id + "}"
		}
		if att := strs(v["Fn::GetAtt"]); len(att) == 2 && len(v) == 1 {
			return "${" + att[0] + "." + att[1] + "}"
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = resolve(e, stack)
		}
		return out
	}
	return v
}

// accessRequest is c as a request of capability's session for app, on a
// resource tagged for resourceApp ("" for no tag).
func accessRequest(t *testing.T, h *Highway, c apiCall, sessionApp, resourceApp string) (localaws.IAMRequest, bool) {
	t.Helper()
	tpl, role, stack := accessRole(t, h, c.capability, c.account)
	if role == "" {
		return localaws.IAMRequest{}, false
	}
	tag := h.Hub.Policy.Hub.AppTag
	name := AccessRoleName(h.Hub.Policy.Hub, c.capability)
	ctx := map[string]any{
		"aws:RequestedRegion":  c.region,
		"aws:PrincipalArn":     "arn:aws:iam::" + c.account + ":role/" + name,
		"aws:PrincipalAccount": c.account,
	}
	for k, v := range c.context {
		ctx[k] = v
	}
	if sessionApp != "" {
		ctx["aws:PrincipalTag/"+tag] = sessionApp
	}
	if resourceApp != "" {
		ctx["aws:ResourceTag/"+tag] = resourceApp
	}
	return localaws.IAMRequest{
		Name:             fmt.Sprintf("%v (session %q, resource of %q)", c, sessionApp, resourceApp),
		Principal:        "arn:aws:sts::" + c.account + ":assumed-role/" + name + "/" + FunctionName(h.Hub.Policy.Hub, accessNamed(c.capability).functions[0]),
		Action:           c.action,
		Resource:         c.resource,
		Account:          c.account,
		Context:          ctx,
		IdentityPolicies: identityPolicies(tpl, role, stack),
	}, true
}

// otherApp is an app of p other than app, or a stranger's when p has one app.
func otherApp(p *policy.Policy, app string) string {
	for _, a := range p.Apps {
		if a.Name != app {
			return a.Name
		}
	}
	return "someone-else"
}

func TestAccessRolesReachEachAppsOwnResourcesOnly(t *testing.T) {
	for _, tt := range accessPolicies {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy, synthesized
			p := tt.give(t)
			h := synth(t, p)

			// WHEN IAM decides each call the functions make for an app, through
			// the capability's access role in the call's account, in a session
			// tagged with the app, on the app's resource; on another app's
			// resource; and in an untagged session
			type check struct {
				call apiCall
				want bool
				why  string
			}
			var requests []localaws.IAMRequest
			var checks []check
			ask := func(c apiCall, session, resource string, want bool, why string) {
				req, ok := accessRequest(t, h, c, session, resource)
				if !ok {
					t.Errorf("%v: no access role %s in account %s", c, AccessRoleName(p.Hub, c.capability), c.account)
					return
				}
				requests = append(requests, req)
				checks = append(checks, check{c, want, why})
			}
			for _, c := range apiCalls(p) {
				switch {
				case c.app == "":
					ask(c, "", "", true, "a call for no app")
				case c.byTag:
					ask(c, c.app, c.app, true, "the app's own resource")
					ask(c, c.app, otherApp(p, c.app), false, "another app's resource")
					ask(c, "", c.app, false, "an untagged session")
				default:
					ask(c, c.app, "", true, "a resource the role names")
				}
				if len(c.context) > 0 {
					bare := c
					bare.context = nil
					ask(bare, c.app, "", false, "the request without the condition its grant requires")
				}
			}
			decisions := localaws.SimulateIAM(t, requests)

			// THEN IAM allows each call on the app's own resources, and denies
			// it on another app's resources and to a session tagged with no app;
			// and the app tag applies to every action it scopes
			for i, d := range decisions {
				c := checks[i]
				if d.Result == "Error" {
					t.Errorf("%s: %s", requests[i].Name, d.Errors)
					continue
				}
				if d.Allowed() != c.want {
					t.Errorf("%s: %s, want allowed=%v (%s)", requests[i].Name, d.Result, c.want, c.why)
				}
				if c.call.byTag && slices.Contains(d.IgnoredContextKeys, "aws:ResourceTag/"+p.Hub.AppTag) {
					t.Errorf("%s: IAM ignores aws:ResourceTag for %s, so the app tag cannot scope it", requests[i].Name, c.call.action)
				}
			}
		})
	}
}

func TestFunctionsActOnAppsOnlyThroughAccessRoles(t *testing.T) {
	for _, tt := range accessPolicies {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy, synthesized
			p := tt.give(t)
			h := synth(t, p)
			tpl := templateOf(t, h.Hub.Stack)

			// WHEN the delivery grants of each hub function that acts on apps
			// are read
			accounts := map[string][]string{}
			for _, c := range apiCalls(p) {
				for _, fn := range accessNamed(c.capability).functions {
					if !slices.Contains(accounts[fn], c.account) {
						accounts[fn] = append(accounts[fn], c.account)
					}
				}
			}

			// THEN a function may assume, with session tags, its capability's
			// access role in exactly the accounts where it makes calls, and
			// holds no other grant on the apps' services; the role's name is in
			// its environment
			for _, a := range accesses {
				for _, fn := range a.functions {
					if len(accounts[fn]) == 0 {
						continue
					}
					role := functionRole(t, tpl, p.Hub, fn)
					var want []string
					for _, acct := range accounts[fn] {
						want = append(want, "arn:aws:iam::"+acct+":role/"+AccessRoleName(p.Hub, a.name))
					}
					slices.Sort(want)
					got := deliveryGrants(t, tpl, role)
					assumes := got["sts:AssumeRole sts:TagSession"]
					if !slices.Equal(assumes, want) {
						t.Errorf("function %s assumes %v, want %v", fn, assumes, want)
					}
					for key, resources := range got {
						service, _, _ := strings.Cut(key, ":")
						if key != "sts:AssumeRole sts:TagSession" && !slices.Contains([]string{"sns", "kms", "states", "secretsmanager"}, service) {
							t.Errorf("function %s grants %s on %v itself, want it through its access role", fn, key, resources)
						}
					}
					if env := functionEnv(t, tpl, p.Hub, fn); env["HIGHWAY_ACCESS_ROLE"] != AccessRoleName(p.Hub, a.name) {
						t.Errorf("function %s has HIGHWAY_ACCESS_ROLE=%v, want %s", fn, env["HIGHWAY_ACCESS_ROLE"], AccessRoleName(p.Hub, a.name))
					}
				}
			}
		})
	}
}

// functionEnv returns the environment variables of the named function.
func functionEnv(t *testing.T, tpl cfnTemplate, hub policy.Hub, name string) map[string]any {
	t.Helper()
	for _, fn := range tpl.ofType("AWS::Lambda::Function") {
		if fn.Properties["FunctionName"] == FunctionName(hub, name) {
			vars, _ := path(fn.Properties, "Environment", "Variables").(map[string]any)
			return vars
		}
	}
	t.Fatalf("no function %s", FunctionName(hub, name))
	return nil
}

func TestAccessRolesTrustOnlyTheirFunctions(t *testing.T) {
	// GIVEN a policy where every capability acts, in the hub account and
	// others, synthesized
	p := parsePolicy(t, alarmPolicyYAML+strings.TrimPrefix(driftPolicyYAML, promotionPolicyYAML))
	h := synth(t, p)
	hubTpl := templateOf(t, h.Hub.Stack)

	// WHEN IAM decides whether each hub function may assume each access role,
	// with its own identity policies and the role's trust policy, tagging the
	// session with the app tag or with another key
	type check struct {
		fn, capability, account string
		tags                    []string
		want                    bool
	}
	var requests []localaws.IAMRequest
	var checks []check
	functions := []string{route.FunctionPush, route.FunctionGate, FunctionGateJob, route.FunctionPromote, route.FunctionDrift, route.FunctionRespond, FunctionApprovalRequest}
	for _, a := range accesses {
		for _, account := range a.accounts(p) {
			tpl, role, stack := accessRole(t, h, a.name, account)
			if role == "" {
				t.Errorf("no access role %s in %s", AccessRoleName(p.Hub, a.name), account)
				continue
			}
			trust := resolve(tpl.Resources[role].Properties["AssumeRolePolicyDocument"], stack)
			for _, fn := range functions {
				if !slices.ContainsFunc(slices.Collect(maps.Values(hubTpl.ofType("AWS::Lambda::Function"))), func(r cfnResource) bool {
					return r.Properties["FunctionName"] == FunctionName(p.Hub, fn)
				}) {
					continue // the policy has no such capability
				}
				fnRole := functionRole(t, hubTpl, p.Hub, fn)
				ours := slices.Contains(a.functions, fn)
				for _, ask := range []struct {
					action string
					tags   []string
					want   bool
				}{
					{"sts:AssumeRole", nil, ours},
					{"sts:TagSession", []string{p.Hub.AppTag}, ours},
					{"sts:TagSession", []string{"team"}, false},
				} {
					principal := "arn:aws:iam::" + p.Hub.Account + ":role" + functionRolePath(p.Hub) + FunctionRoleName(p.Hub, fn)
					ctx := map[string]any{"aws:PrincipalArn": principal, "aws:PrincipalAccount": p.Hub.Account}
					if ask.tags != nil {
						ctx["aws:TagKeys"] = ask.tags
						ctx["aws:RequestTag/"+ask.tags[0]] = "checkout"
					}
					requests = append(requests, localaws.IAMRequest{
						Name:             fmt.Sprintf("%s %s %s in %s with tags %v", fn, ask.action, a.name, account, ask.tags),
						Principal:        principal,
						Action:           ask.action,
						Resource:         "arn:aws:iam::" + account + ":role/" + AccessRoleName(p.Hub, a.name),
						Account:          account,
						Context:          ctx,
						IdentityPolicies: identityPolicies(hubTpl, fnRole, h.Hub.Stack),
						ResourcePolicy:   trust,
					})
					checks = append(checks, check{fn, a.name, account, ask.tags, ask.want})
				}
			}
		}
	}
	decisions := localaws.SimulateIAM(t, requests)

	// THEN only the capability's own functions may assume its role, and tag
	// the session with the app tag and nothing else
	for i, d := range decisions {
		if d.Result == "Error" {
			t.Errorf("%s: %s", requests[i].Name, d.Errors)
			continue
		}
		if d.Allowed() != checks[i].want {
			t.Errorf("%s: %s, want allowed=%v", requests[i].Name, d.Result, checks[i].want)
		}
	}
}

func TestAccessRolesOncePerAccountAndCapability(t *testing.T) {
	// GIVEN environments in two regions of one account and one of another,
	// and the example policy
	for _, p := range []*policy.Policy{
		parsePolicy(t, policyYAML(env("dev", "222222222222", "eu-west-1")+env("staging", "222222222222", "us-east-1")+env("prod", "333333333333", "eu-west-1"))),
		examplePolicy(t),
		parsePolicy(t, alarmPolicyYAML),
		parsePolicy(t, targetsPolicyYAML),
	} {
		h := synth(t, p)

		// WHEN the stacks are synthesized
		got := map[string][]string{}
		for _, stack := range stacksOf(h) {
			for _, r := range templateOf(t, stack).ofType("AWS::IAM::Role") {
				name, _ := r.Properties["RoleName"].(string)
				if capability, ok := strings.CutPrefix(name, p.Hub.Name+"-access-"); ok {
					got[*stack.Account()] = append(got[*stack.Account()], capability)
				}
			}
		}

		// THEN each account has one access role per capability that makes
		// calls there, and no other
		want := map[string][]string{}
		for _, c := range apiCalls(p) {
			if !slices.Contains(want[c.account], c.capability) {
				want[c.account] = append(want[c.account], c.capability)
			}
		}
		for acct := range want {
			slices.Sort(want[acct])
		}
		for acct := range got {
			slices.Sort(got[acct])
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("access roles by account = %v, want %v", got, want)
		}
	}
}
