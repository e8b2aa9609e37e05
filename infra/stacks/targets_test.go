package stacks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
)

// targetsPolicyYAML deploys to App Runner, EKS and through GitOps: an App
// Runner service by name in the hub account and one by ARN in another, an
// EKS Deployment, a GitOps repository whose controller deploys a second
// cluster, and an SSM parameter in an account none of them is in. Drift reads
// what runs; runbooks redeploy (the environment's service and one by name),
// pause and resume services, restart and scale Deployments, and notify.
const targetsPolicyYAML = `version: 1
hub:
  account: "111111111111"
  region: eu-west-1
apps:
  - name: catalog
    repository: catalog-service
    environments:
      - name: dev
        account: "111111111111"
        region: eu-west-1
        deploy:
          apprunner: {service: catalog-dev}
      - name: prod
        account: "444444444444"
        region: eu-west-1
        deploy:
          apprunner: {service: "arn:aws:apprunner:eu-west-1:444444444444:service/catalog-prod/0123456789abcdef0123456789abcdef"}
  - name: inventory
    repository: inventory-service
    environments:
      - name: staging
        account: "333333333333"
        region: eu-west-1
        deploy:
          eks: {cluster: platform-staging, namespace: inventory, deployment: inventory, container: app}
      - name: prod
        account: "444444444444"
        region: eu-west-1
        deploy:
          gitops:
            repository: platform-gitops
            branch: main
            file: apps/inventory/prod/kustomization.yaml
            watch: {cluster: platform-prod, namespace: inventory, deployment: inventory, container: app}
  - name: legacy
    repository: legacy
    environments:
      - name: prod
        account: "555555555555"
        region: eu-west-1
        deploy:
          ssm: {parameter: /legacy/prod/image}
drift:
  schedule: rate(6 hours)
  stacks:
    prefixes: [catalog-, inventory-]
alarms:
  runbooks:
    - name: catalog-dev-errors
      app: catalog
      env: dev
      match: {names: [catalog-dev-*]}
      actions:
        - apprunner-redeploy: {}
        - apprunner-redeploy: {service: catalog-worker-dev}
    - name: catalog-prod-cost
      app: catalog
      env: prod
      match: {names: [catalog-prod-cost]}
      actions:
        - apprunner-pause: {}
    - name: catalog-prod-demand
      app: catalog
      env: prod
      match: {names: [catalog-prod-demand]}
      actions:
        - apprunner-resume: {}
    - name: inventory-staging-latency
      app: inventory
      env: staging
      match: {names: [inventory-staging-latency]}
      actions:
        - eks-rollout-restart: {}
    - name: inventory-prod-latency
      app: inventory
      env: prod
      match: {names: [inventory-prod-latency]}
      actions:
        - eks-scale: {step: 2, max: 12}
        - notify: {}
    - name: legacy-prod-errors
      app: legacy
      env: prod
      match: {names: [legacy-prod-*]}
      actions:
        - notify: {}
`

// targetStatement is one statement of an access role on App Runner, EKS or
// a GitOps repository: its actions and resources, sorted, and its condition
// as JSON ("" for none).
type targetStatement struct {
	actions, resources []string
	condition          string
}

func (s targetStatement) String() string {
	return fmt.Sprintf("%v on %v %s", s.actions, s.resources, s.condition)
}

// targetActions reports whether action is one the App Runner, EKS and
// GitOps targets need: every App Runner and EKS action, CodeCommit's but
// GetCommit (which push reads commits with), and passing roles to App
// Runner.
func targetActions(action, condition string) bool {
	service, name, _ := strings.Cut(action, ":")
	switch service {
	case "apprunner", "eks":
		return true
	case "codecommit":
		return name != "GetCommit"
	case "iam":
		return strings.Contains(condition, "apprunner")
	}
	return false
}

// targetStatements returns the statements of role in tpl that grant a
// target action, by sid.
func targetStatements(t *testing.T, tpl cfnTemplate, role string) map[string]targetStatement {
	t.Helper()
	out := map[string]targetStatement{}
	policies := tpl.ofType("AWS::IAM::Policy")
	for id, pol := range tpl.ofType("AWS::IAM::ManagedPolicy") {
		policies[id] = pol
	}
	for _, pol := range policies {
		if !slices.ContainsFunc(list(pol.Properties["Roles"]), func(r any) bool { return refTo(r) == role }) {
			continue
		}
		for _, st := range list(path(pol.Properties, "PolicyDocument", "Statement")) {
			condition := ""
			if c := path(st, "Condition"); c != nil {
				b, err := json.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				condition = string(b)
			}
			actions := slices.Sorted(slices.Values(strs(path(st, "Action"))))
			if !slices.ContainsFunc(actions, func(a string) bool { return targetActions(a, condition) }) {
				continue
			}
			sid, _ := path(st, "Sid").(string)
			if _, dup := out[sid]; dup {
				t.Errorf("role %s: two statements %s", role, sid)
			}
			out[sid] = targetStatement{actions: actions, resources: slices.Sorted(slices.Values(strs(path(st, "Resource")))), condition: condition}
		}
	}
	return out
}

func TestTargetsGrantTheirAccessRolesExactlyTheNamedResources(t *testing.T) {
	// GIVEN a policy that deploys to App Runner, EKS and through GitOps, reads
	// what runs there and answers alarms there, and an account with none of
	// them, synthesized
	p := parsePolicy(t, targetsPolicyYAML)
	h := synth(t, p)

	// WHEN the access roles of each capability in each account are read
	const (
		passRole     = `{"StringEquals":{"iam:PassedToService":"apprunner.amazonaws.com"}}`
		mainBranch   = `{"StringEquals":{"codecommit:References":["refs/heads/main"]}}`
		catalogDev   = "arn:aws:apprunner:eu-west-1:111111111111:service/catalog-dev/*"
		catalogProd  = "arn:aws:apprunner:eu-west-1:444444444444:service/catalog-prod/0123456789abcdef0123456789abcdef"
		workerDev    = "arn:aws:apprunner:eu-west-1:111111111111:service/catalog-worker-dev/*"
		stagingEKS   = "arn:aws:eks:eu-west-1:333333333333:cluster/platform-staging"
		prodEKS      = "arn:aws:eks:eu-west-1:444444444444:cluster/platform-prod"
		gitops       = "arn:aws:codecommit:eu-west-1:444444444444:platform-gitops"
		deployRunner = "apprunner:DescribeService apprunner:ListOperations apprunner:UpdateService"
	)
	st := func(actions, resource, condition string) targetStatement {
		return targetStatement{actions: strings.Fields(actions), resources: []string{resource}, condition: condition}
	}
	listing := st("apprunner:ListServices", "*", "")
	pass := func(account string) targetStatement {
		return st("iam:PassRole", "arn:aws:iam::"+account+":role/*", passRole)
	}

	// THEN promote may update, follow and redeploy the App Runner services
	// the policy names (finding one by name with ListServices, only where
	// one is named by name) and pass them their access roles, reach the EKS
	// clusters deployed to or watched, read the GitOps repository and commit
	// to its branch; drift may only describe those services and reach those
	// clusters; respond may redeploy, pause or resume each service as its
	// runbooks say, and reach the clusters they restart or scale; push and
	// the gate get none of it, and the account with an SSM parameter alone
	// gets nothing
	tests := []struct {
		capability, account string
		want                map[string]targetStatement
	}{
		{accessDeploy, "111111111111", map[string]targetStatement{
			"DeployAppRunnerServices":  st(deployRunner, catalogDev, ""),
			"PassAppRunnerAccessRoles": pass("111111111111"),
			"FindAppRunnerServices":    listing,
		}},
		{accessDeploy, "333333333333", map[string]targetStatement{
			"ReachDeployClusters": st("eks:DescribeCluster", stagingEKS, ""),
		}},
		{accessDeploy, "444444444444", map[string]targetStatement{
			"DeployAppRunnerServices":  st(deployRunner, catalogProd, ""),
			"PassAppRunnerAccessRoles": pass("444444444444"),
			"ReachDeployClusters":      st("eks:DescribeCluster", prodEKS, ""),
			"ReadGitOpsFiles":          st("codecommit:GetBranch codecommit:GetFile", gitops, ""),
			"CommitGitOpsFiles":        st("codecommit:CreateCommit", gitops, mainBranch),
		}},
		{accessDeploy, "555555555555", map[string]targetStatement{}},
		{accessDrift, "111111111111", map[string]targetStatement{
			"ReadDeployedAppRunnerServices": st("apprunner:DescribeService", catalogDev, ""),
			"FindDeployedAppRunnerServices": listing,
		}},
		{accessDrift, "333333333333", map[string]targetStatement{
			"ReachDeployedClusters": st("eks:DescribeCluster", stagingEKS, ""),
		}},
		{accessDrift, "444444444444", map[string]targetStatement{
			"ReadDeployedAppRunnerServices": st("apprunner:DescribeService", catalogProd, ""),
			"ReachDeployedClusters":         st("eks:DescribeCluster", prodEKS, ""),
		}},
		{accessDrift, "555555555555", map[string]targetStatement{}},
		{accessRespond, "111111111111", map[string]targetStatement{
			"RedeployAppRunnerServices":       {actions: []string{"apprunner:DescribeService", "apprunner:StartDeployment"}, resources: []string{catalogDev, workerDev}},
			"FindRemediatedAppRunnerServices": listing,
		}},
		{accessRespond, "333333333333", map[string]targetStatement{
			"ReachRemediatedClusters": st("eks:DescribeCluster", stagingEKS, ""),
		}},
		{accessRespond, "444444444444", map[string]targetStatement{
			"PauseAppRunnerServices":  st("apprunner:DescribeService apprunner:PauseService", catalogProd, ""),
			"ResumeAppRunnerServices": st("apprunner:DescribeService apprunner:ResumeService", catalogProd, ""),
			"ReachRemediatedClusters": st("eks:DescribeCluster", prodEKS, ""),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.capability+" in "+tt.account, func(t *testing.T) {
			tpl, role, _ := accessRole(t, h, tt.capability, tt.account)
			if role == "" {
				t.Fatalf("no %s access role in %s", tt.capability, tt.account)
			}
			if got := targetStatements(t, tpl, role); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("statements = %v, want %v", got, tt.want)
			}
		})
	}
	if _, role, _ := accessRole(t, h, accessRespond, "555555555555"); role != "" {
		t.Errorf("the account whose runbook only notifies has a respond access role")
	}
	for _, stack := range stacksOf(h) {
		tpl := templateOf(t, stack)
		for id, r := range tpl.ofType("AWS::IAM::Role") {
			name, _ := r.Properties["RoleName"].(string)
			if name == AccessRoleName(p.Hub, accessDeploy) || name == AccessRoleName(p.Hub, accessDrift) || name == AccessRoleName(p.Hub, accessRespond) {
				continue
			}
			if got := targetStatements(t, tpl, id); len(got) > 0 {
				t.Errorf("%s: role %s (%s) = %v, want no App Runner, EKS or GitOps statement", *stack.StackName(), id, name, got)
			}
		}
	}
}

func TestPoliciesWithoutTheTargetsGrantNoneOfTheirs(t *testing.T) {
	for _, tt := range accessPolicies {
		p := tt.give(t)
		if hasTargets(p) {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy that deploys to no App Runner service, EKS
			// cluster or GitOps repository, synthesized
			h := synth(t, p)

			// WHEN every role of every stack is read
			// THEN none holds a statement on App Runner, EKS or a GitOps
			// repository
			for _, stack := range stacksOf(h) {
				tpl := templateOf(t, stack)
				for id := range tpl.ofType("AWS::IAM::Role") {
					if got := targetStatements(t, tpl, id); len(got) > 0 {
						t.Errorf("%s: role %s = %v, want none", *stack.StackName(), id, got)
					}
				}
			}
		})
	}
}

// hasTargets reports whether p deploys to App Runner, EKS or through GitOps.
func hasTargets(p *policy.Policy) bool {
	for _, e := range deployedTo(p.Apps, "") {
		if e.Deploy.AppRunner != nil || e.Deploy.EKSTarget() != nil {
			return true
		}
	}
	return false
}

func TestTargetsAccessRolesReachNothingElse(t *testing.T) {
	// GIVEN the policy of App Runner, EKS and GitOps, synthesized
	p := parsePolicy(t, targetsPolicyYAML)
	h := synth(t, p)

	// WHEN IAM decides calls the policy does not ask for, each through the
	// access role that would make it, in a session tagged with the app
	arn := func(service, account, resource string) string {
		return "arn:aws:" + service + ":eu-west-1:" + account + ":" + resource
	}
	const id = "/8f3c2a1b9d4e4f6a8b0c2d4e6f8a0b1c"
	tests := []struct {
		name string
		call apiCall
	}{
		{"promote updates a service the policy does not name", apiCall{capability: accessDeploy, account: "111111111111", action: "apprunner:UpdateService", resource: arn("apprunner", "111111111111", "service/payments-dev"+id)}},
		{"promote updates a service of the name in another region", apiCall{capability: accessDeploy, account: "111111111111", action: "apprunner:UpdateService", resource: "arn:aws:apprunner:us-east-1:111111111111:service/catalog-dev" + id}},
		{"promote starts a deployment of the service it deploys (its update deploys)", apiCall{capability: accessDeploy, account: "111111111111", action: "apprunner:StartDeployment", resource: arn("apprunner", "111111111111", "service/catalog-dev"+id)}},
		{"promote pauses the service it deploys", apiCall{capability: accessDeploy, account: "111111111111", action: "apprunner:PauseService", resource: arn("apprunner", "111111111111", "service/catalog-dev"+id)}},
		{"promote passes a role to ECS tasks", apiCall{capability: accessDeploy, account: "111111111111", action: "iam:PassRole", resource: "arn:aws:iam::111111111111:role/task", context: map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
		{"promote commits to another branch", apiCall{capability: accessDeploy, account: "444444444444", action: "codecommit:CreateCommit", resource: arn("codecommit", "444444444444", "platform-gitops"), context: map[string]any{"codecommit:References": "refs/heads/dev"}}},
		{"promote commits to another repository", apiCall{capability: accessDeploy, account: "444444444444", action: "codecommit:CreateCommit", resource: arn("codecommit", "444444444444", "payments-gitops"), context: map[string]any{"codecommit:References": "refs/heads/main"}}},
		{"promote merges into the branch", apiCall{capability: accessDeploy, account: "444444444444", action: "codecommit:MergeBranchesByFastForward", resource: arn("codecommit", "444444444444", "platform-gitops"), context: map[string]any{"codecommit:References": "refs/heads/main"}}},
		{"promote reaches a cluster the policy does not name", apiCall{capability: accessDeploy, account: "333333333333", action: "eks:DescribeCluster", resource: arn("eks", "333333333333", "cluster/payments")}},
		{"promote changes the cluster it deploys to", apiCall{capability: accessDeploy, account: "333333333333", action: "eks:UpdateClusterConfig", resource: arn("eks", "333333333333", "cluster/platform-staging")}},
		{"drift updates the service it reads", apiCall{capability: accessDrift, account: "111111111111", action: "apprunner:UpdateService", resource: arn("apprunner", "111111111111", "service/catalog-dev"+id)}},
		{"drift reads the GitOps repository", apiCall{capability: accessDrift, account: "444444444444", action: "codecommit:GetFile", resource: arn("codecommit", "444444444444", "platform-gitops")}},
		{"respond pauses the service it only redeploys", apiCall{capability: accessRespond, account: "111111111111", action: "apprunner:PauseService", resource: arn("apprunner", "111111111111", "service/catalog-dev"+id)}},
		{"respond redeploys the service it only pauses and resumes", apiCall{capability: accessRespond, account: "444444444444", action: "apprunner:StartDeployment", resource: arn("apprunner", "444444444444", "service/catalog-prod/0123456789abcdef0123456789abcdef")}},
		{"respond updates a service", apiCall{capability: accessRespond, account: "111111111111", action: "apprunner:UpdateService", resource: arn("apprunner", "111111111111", "service/catalog-dev"+id)}},
		{"respond reaches a cluster no runbook names", apiCall{capability: accessRespond, account: "444444444444", action: "eks:DescribeCluster", resource: arn("eks", "444444444444", "cluster/platform-staging")}},
		{"deploy in the account of an SSM parameter alone", apiCall{capability: accessDeploy, account: "555555555555", action: "apprunner:DescribeService", resource: arn("apprunner", "555555555555", "service/catalog-dev"+id)}},
	}
	var requests []localaws.IAMRequest
	for _, tt := range tests {
		c := tt.call
		c.region = "eu-west-1"
		c.app = "catalog"
		req, ok := accessRequest(t, h, c, c.app, c.app)
		if !ok {
			t.Fatalf("%s: no %s access role in %s", tt.name, c.capability, c.account)
		}
		req.Name = tt.name + ": " + req.Name
		requests = append(requests, req)
	}

	// THEN IAM denies each, even on a resource tagged with the app
	simulate(t, requests, make([]bool, len(requests)))
}

func TestExamplePolicyDeploysThroughTheNamedResources(t *testing.T) {
	// GIVEN the example policy, whose app payments runs on App Runner in dev,
	// on EKS in staging and through GitOps in prod, with runbooks that
	// redeploy the service and restart and scale the prod Deployment
	p := examplePolicy(t)

	// WHEN it is synthesized
	h := synth(t, p)

	// THEN the access roles of each environment's account reach its target
	// by name, each capability with what it does
	for _, tt := range []struct{ capability, account, sid, resource string }{
		{accessDeploy, "222222222222", "DeployAppRunnerServices", "arn:aws:apprunner:eu-west-1:222222222222:service/payments-dev/*"},
		{accessDeploy, "333333333333", "ReachDeployClusters", "arn:aws:eks:eu-west-1:333333333333:cluster/platform-staging"},
		{accessDeploy, "444444444444", "ReachDeployClusters", "arn:aws:eks:eu-west-1:444444444444:cluster/platform-prod"},
		{accessDeploy, "444444444444", "CommitGitOpsFiles", "arn:aws:codecommit:eu-west-1:444444444444:platform-gitops"},
		{accessDrift, "222222222222", "ReadDeployedAppRunnerServices", "arn:aws:apprunner:eu-west-1:222222222222:service/payments-dev/*"},
		{accessDrift, "444444444444", "ReachDeployedClusters", "arn:aws:eks:eu-west-1:444444444444:cluster/platform-prod"},
		{accessRespond, "222222222222", "RedeployAppRunnerServices", "arn:aws:apprunner:eu-west-1:222222222222:service/payments-dev/*"},
		{accessRespond, "444444444444", "ReachRemediatedClusters", "arn:aws:eks:eu-west-1:444444444444:cluster/platform-prod"},
	} {
		tpl, role, _ := accessRole(t, h, tt.capability, tt.account)
		if role == "" {
			t.Errorf("no %s access role in %s", tt.capability, tt.account)
			continue
		}
		if got := targetStatements(t, tpl, role)[tt.sid].resources; !slices.Equal(got, []string{tt.resource}) {
			t.Errorf("%s access role of %s: %s on %v, want %s", tt.capability, tt.account, tt.sid, got, tt.resource)
		}
	}
}

// targetsPlatform is the platform of the scale test with every app on the
// new targets, none of their resources shared: its dev environment on an App
// Runner service named by name, staging on an EKS cluster of its own, prod
// through a GitOps repository of its own watching another cluster; and
// runbooks that redeploy, pause and resume the service, restart and scale
// each Deployment.
func targetsPlatform(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policytest.Build(examplePolicy(t), platform)
	if err != nil {
		t.Fatal(err)
	}
	p.Alarms.Runbooks = nil
	for i := range p.Apps {
		a := &p.Apps[i]
		if len(a.Environments) != 3 {
			t.Fatalf("app %s has %d environments, want dev, staging and prod", a.Name, len(a.Environments))
		}
		watch := &policy.EKSDeploy{Cluster: a.Name + "-prod", Namespace: a.Name, Deployment: a.Name, Container: "app"}
		for j, d := range []*policy.Deploy{
			{AppRunner: &policy.AppRunnerDeploy{Service: a.Name + "-dev"}},
			{EKS: &policy.EKSDeploy{Cluster: a.Name + "-staging", Namespace: a.Name, Deployment: a.Name, Container: "app"}},
			{GitOps: &policy.GitOpsDeploy{Repository: a.Name + "-gitops", Branch: "main", File: "prod/kustomization.yaml", Watch: watch}},
		} {
			a.Environments[j].Deploy = d
		}
		runbook := func(env, name string, actions ...policy.Action) {
			p.Alarms.Runbooks = append(p.Alarms.Runbooks, policy.Runbook{
				Name: a.Name + "-" + env + "-" + name, App: a.Name, Env: env,
				Match: policy.AlarmMatch{Names: []string{a.Name + "-" + env + "-" + name}}, Actions: actions,
			})
		}
		runbook("dev", "errors", policy.Action{AppRunnerRedeploy: &policy.AppRunnerService{}})
		runbook("dev", "cost", policy.Action{AppRunnerPause: &policy.AppRunnerService{}})
		runbook("dev", "demand", policy.Action{AppRunnerResume: &policy.AppRunnerService{}})
		runbook("staging", "latency", policy.Action{EKSRolloutRestart: &policy.EKSWorkload{}})
		runbook("prod", "latency", policy.Action{EKSScale: &policy.EKSScaleAction{Step: 2, Max: 12}})
	}
	data, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if p, err = policy.Parse(data, "targets-platform.yaml"); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTargetsAccessRolesStayWithinIAMQuotasAt100Apps(t *testing.T) {
	// GIVEN 100 apps on App Runner, EKS and GitOps, 60 of them in three
	// shared accounts, each with its own service, clusters and repository,
	// and runbooks for every action on them
	p := targetsPlatform(t)

	// WHEN the platform is synthesized
	h := synthFresh(t, p)

	// THEN every access role stays within IAM's quotas on managed policies
	// and policy sizes, and the figures nearest them are printed
	var figures []figure
	for _, stack := range stacksOf(h) {
		tpl := templateOf(t, stack)
		for id, r := range tpl.ofType("AWS::IAM::Role") {
			name, _ := r.Properties["RoleName"].(string)
			if !strings.HasPrefix(name, p.Hub.Name+"-access-") {
				continue
			}
			figures = append(figures, roleFigures(*stack.StackName(), id, r, tpl, stack)...)
		}
	}
	slices.SortFunc(figures, func(a, b figure) int {
		return strings.Compare(a.what, b.what)*4 + cmpHeadroom(a, b)
	})
	for i, f := range figures {
		if f.used > f.limit {
			t.Errorf("%v: over the quota", f)
		}
		if i == 0 || figures[i-1].what != f.what {
			t.Logf("figure: %v", f)
		}
	}
}
