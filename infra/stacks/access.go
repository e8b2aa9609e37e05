package stacks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// Hub functions never act on an app's resources with their own roles. Each
// capability that does (reading commits, gating builds, deploying, checking
// drift, answering alarms) has an access role in every account where it acts,
// the hub's included, trusted by that capability's function roles alone. A
// function assumes it in a session tagged with the app it acts for (the
// policy's hub.appTag, default highway:app), and the role reaches a resource
// of an app only when the resource carries the same tag: what is done for one
// app cannot touch another's, and the role's size does not grow with the
// number of apps. Grants that AWS cannot scope by tag (S3 objects, CodeBuild's
// report groups, KMS through S3, task definitions, stacks by prefix,
// automation documents) name their resources, or say why not. So do the
// grants on App Runner services, EKS clusters and GitOps repositories, which
// the policy names and several apps may share (one tag cannot say whose a
// cluster is): they grow with the number of those resources, and grant packs
// them into managed policies within IAM's limits.

// An access is one capability's role: its name, the hub functions that
// assume it, the statements it holds in an account, and the AWS managed
// policies it needs there.
type access struct {
	name      string
	functions []string
	grants    func(p *policy.Policy, account string) []permission
	managed   func(p *policy.Policy, account string) []string
}

// The capabilities that act in the apps' accounts.
const (
	accessCommits = "commits"
	accessGate    = "gate"
	accessDeploy  = "deploy"
	accessDrift   = "drift"
	accessRespond = "respond"
)

// accesses are the capabilities' roles, in the order stacks create them.
var accesses = []access{
	{name: accessCommits, functions: []string{route.FunctionPush}, grants: commitAccess},
	{name: accessGate, functions: []string{route.FunctionGate, FunctionGateJob}, grants: gateAccess},
	{name: accessDeploy, functions: []string{route.FunctionPromote}, grants: deployAccess},
	{name: accessDrift, functions: []string{route.FunctionDrift}, grants: driftAccess, managed: driftManaged},
	{name: accessRespond, functions: []string{route.FunctionRespond}, grants: respondAccess},
}

// accessNamed returns the capability called name.
func accessNamed(name string) access {
	for _, a := range accesses {
		if a.name == name {
			return a
		}
	}
	panic("stacks: no access " + name)
}

// accounts returns the accounts where a's role holds any statement, sorted:
// the hub's and the spokes'.
func (a access) accounts(p *policy.Policy) []string {
	var out []string
	for _, acct := range append([]string{p.Hub.Account}, spokeAccounts(p)...) {
		if len(a.grants(p, acct)) > 0 && !slices.Contains(out, acct) {
			out = append(out, acct)
		}
	}
	slices.Sort(out)
	return out
}

// actsThrough gives the functions of capability name the right to act through
// its access role in every account where it holds a statement, tells them the
// role's name, and creates the hub account's role under scope. The spoke
// stacks create the others (newAccessRoles).
func (h *Hub) actsThrough(scope constructs.Construct, name string, fns ...awslambda.Function) error {
	a := accessNamed(name)
	p := h.Policy
	accounts := a.accounts(p)
	var roles []resourceArn
	for _, acct := range accounts {
		roles = append(roles, arnOf("iam", "", acct, "role/"+AccessRoleName(p.Hub, a.name)))
	}
	for _, fn := range fns {
		fn.AddEnvironment(jsii.String(function.EnvAccessRole), jsii.String(AccessRoleName(p.Hub, a.name)), nil)
		allow(fn, fn.Role(), nonEmpty(permission{
			sid:       "ActThroughAccessRoles",
			actions:   []string{"sts:AssumeRole", "sts:TagSession"},
			resources: roles,
		}))
	}
	if slices.Contains(accounts, p.Hub.Account) {
		return newAccessRole(scope, p, a, p.Hub.Account)
	}
	return nil
}

// newAccessRoles creates in a spoke stack the access roles of account, one per
// capability that acts there. The hub account's are the hub stack's.
func newAccessRoles(stack awscdk.Stack, p *policy.Policy, account string) error {
	if account == p.Hub.Account {
		return nil
	}
	c := constructs.NewConstruct(stack, jsii.String("Access"))
	for _, a := range accesses {
		if len(a.grants(p, account)) == 0 {
			continue
		}
		if err := newAccessRole(c, p, a, account); err != nil {
			return err
		}
	}
	return nil
}

// newAccessRole creates a's role in account under scope: only the roles of a's
// hub functions may assume it, in a session tagged with nothing but the app
// tag.
func newAccessRole(scope constructs.Construct, p *policy.Policy, a access, account string) error {
	hub := p.Hub
	var principals []string
	for _, fn := range a.functions {
		principals = append(principals, "arn:"+*awscdk.Aws_PARTITION()+":iam::"+hub.Account+":role"+functionRolePath(hub)+FunctionRoleName(hub, fn))
	}
	id := pascal(a.name)
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		RoleName:    jsii.String(AccessRoleName(hub, a.name)),
		Description: jsii.String(fmt.Sprintf("Highway: the %s hub's %s functions act for one app at a time on its resources in this account.", hub.Name, strings.Join(a.functions, " and "))),
		AssumedBy: awsiam.NewPrincipalWithConditions(
			awsiam.NewAccountPrincipal(jsii.String(hub.Account)),
			&map[string]any{
				"ArnEquals":                 map[string]any{"aws:PrincipalArn": principals},
				"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{hub.AppTag}},
			}).WithSessionTags(),
	})
	var managed []string
	if a.managed != nil {
		managed = a.managed(p, account)
	}
	for _, m := range managed {
		role.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String(m)))
	}
	if slices.Contains(managed, resourceReadPolicy) {
		suppress(role, true, rule("AwsSolutions-IAM4", whyResourceReads,
			"Policy::arn:<AWS::Partition>:iam::aws:policy/"+resourceReadPolicy))
	}
	n, err := grant(scope, id, role, a.grants(p, account))
	if err != nil {
		return fmt.Errorf("access role %s in account %s: %w", AccessRoleName(hub, a.name), account, err)
	}
	if total := n + len(managed); total > maxManagedPolicies {
		return fmt.Errorf("access role %s in account %s needs %d managed policies, more than the %d IAM attaches to a role", AccessRoleName(hub, a.name), account, total, maxManagedPolicies)
	}
	return nil
}

// tagged is what ABAC adds to a statement: the resource carries the app tag of
// the session that acts on it.
func tagged(hub policy.Hub) map[string]any {
	return map[string]any{"StringEquals": map[string]any{
		"aws:ResourceTag/" + hub.AppTag: "${aws:PrincipalTag/" + hub.AppTag + "}",
	}}
}

// byTag is a permission on every resource of one type in the regions of an
// account, for the session's app only.
func byTag(hub policy.Hub, sid string, actions []string, service, account, resource string, regions []string) permission {
	var arns []resourceArn
	for _, r := range regions {
		arns = appendArn(arns, arnOf(service, r, account, resource))
	}
	return permission{
		sid: sid, actions: actions, resources: arns, conditions: tagged(hub),
		why: fmt.Sprintf(whyByTag, hub.AppTag),
	}
}

// whyByTag is why a statement scoped by the app tag names every resource of a
// type; %s is the tag key.
const whyByTag = "Scoped by attribute, not by name: the statement reaches a resource only when its %s tag names the app of the session (aws:ResourceTag equal to aws:PrincipalTag), and each session is tagged with the one app a function acts for, so the grant stays the same size however many apps the account holds."

// regionsOf returns the distinct regions of items, sorted.
func regionsOf[T any](items []T, region func(T) string) []string {
	var out []string
	for _, it := range items {
		if r := region(it); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// commitAccess lets push read the commits of the apps delivered from account.
func commitAccess(p *policy.Policy, account string) []permission {
	apps := deliveredFrom(p.Apps, account)
	if len(apps) == 0 {
		return nil
	}
	regions := regionsOf(apps, func(a policy.App) string { return a.Region })
	return []permission{byTag(p.Hub, "ReadCommits", []string{"codecommit:GetCommit"}, "codecommit", account, "*", regions)}
}

// gateAccess lets the gate judge the builds of the gated apps delivered from
// account: read the build, its test reports, its output artifacts and its image
// scans, find the pipeline execution that ran a failed build among the app's
// pipelines' action executions and stop it, and read and answer the jobs of
// their invoke actions.
func gateAccess(p *policy.Policy, account string) []permission {
	apps := gated(deliveredFrom(p.Apps, account))
	if len(apps) == 0 {
		return nil
	}
	regions := regionsOf(apps, func(a policy.App) string { return a.Region })
	var reports []resourceArn
	scans, stops := false, false
	for _, a := range apps {
		for _, pr := range a.Gate.Projects {
			reports = appendArn(reports, arnOf("codebuild", a.Region, a.Account, "report-group/"+pr+"-*"))
		}
		scans = scans || len(a.Gate.ImageRepositories) > 0
		stops = stops || len(a.Pipelines) > 0
	}
	perms := []permission{
		byTag(p.Hub, "ReadGatedBuilds", []string{"codebuild:BatchGetBuilds"}, "codebuild", account, "project/*", regions),
		{sid: "ReadGatedBuildReports", actions: []string{"codebuild:BatchGetReports", "codebuild:DescribeTestCases"}, resources: reports, why: whyReportGroups},
		artifactReads(apps),
	}
	if scans {
		perms = append(perms, byTag(p.Hub, "ReadImageScans", []string{"ecr:DescribeImageScanFindings"}, "ecr", account, "repository/*", regions))
	}
	if stops {
		perms = append(perms, byTag(p.Hub, "StopGatedPipelines", []string{"codepipeline:ListActionExecutions", "codepipeline:StopPipelineExecution"}, "codepipeline", account, "*", regions))
	}
	if len(jobApps(apps)) > 0 {
		// The gatejob function reads a job in the account its caller claims,
		// and acts on what CodePipeline says of it, not on the caller's word.
		const whyJobDetails = "CodePipeline GetJobDetails accepts no resource narrower than \"*\" (the Service Authorization Reference gives it no resource type); the job id in the request names the job, and the gatejob function checks the job it describes against the policy before acting."
		perms = append(perms, jobAnswers(), permission{
			sid: "ReadPipelineJobs", actions: []string{"codepipeline:GetJobDetails"}, resources: []resourceArn{anyResource}, why: whyJobDetails,
		})
	}
	return nonEmpty(perms...)
}

// deployAccess lets promotion deploy to the environments of account, each the
// way its policy says: write its SSM parameter, start its pipeline, move its
// Lambda alias to a version of the function, register a task definition
// revision and update its ECS service to it (with the current revision's tags
// and roles), point its App Runner service at the image and follow the
// operation, reach its EKS cluster (the cluster's RBAC, not IAM, lets the
// role patch the Deployment), or commit the image to its GitOps repository's
// branch and reach the cluster it watches.
func deployAccess(p *policy.Policy, account string) []permission {
	envs := deployedTo(p.Apps, account)
	if len(envs) == 0 {
		return nil
	}
	kind := func(has func(*policy.Deploy) bool) []string {
		var in []policy.Environment
		for _, e := range envs {
			if has(e.Deploy) {
				in = append(in, e)
			}
		}
		return regionsOf(in, func(e policy.Environment) string { return e.Region })
	}
	var perms []permission
	if r := kind(func(d *policy.Deploy) bool { return d.SSM != nil }); len(r) > 0 {
		perms = append(perms, byTag(p.Hub, "DeployParameters", []string{"ssm:PutParameter"}, "ssm", account, "parameter/*", r))
	}
	if r := kind(func(d *policy.Deploy) bool { return d.Pipeline != nil }); len(r) > 0 {
		perms = append(perms, byTag(p.Hub, "DeployPipelines", []string{"codepipeline:StartPipelineExecution"}, "codepipeline", account, "*", r))
	}
	if r := kind(func(d *policy.Deploy) bool { return d.Lambda != nil }); len(r) > 0 {
		perms = append(perms, byTag(p.Hub, "DeployFunctionAliases", []string{"lambda:ListVersionsByFunction", "lambda:UpdateAlias"}, "lambda", account, "function:*", r))
	}
	if r := kind(func(d *policy.Deploy) bool { return d.ECS != nil }); len(r) > 0 {
		var taskTags []resourceArn
		for _, region := range r {
			taskTags = appendArn(taskTags, arnOf("ecs", region, account, "task-definition/*"))
		}
		perms = append(perms,
			byTag(p.Hub, "DeployServices", []string{"ecs:DescribeServices", "ecs:UpdateService"}, "ecs", account, "service/*", r),
			permission{sid: "DeployTaskDefinitions", actions: []string{"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"}, resources: []resourceArn{anyResource}, why: whyTaskDefs},
			permission{
				sid:        "TagTaskDefinitions",
				actions:    []string{"ecs:TagResource"},
				resources:  taskTags,
				why:        whyTaskTags,
				conditions: map[string]any{"StringEquals": map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"}},
			},
			permission{
				sid:        "PassTaskRoles",
				actions:    []string{"iam:PassRole"},
				resources:  []resourceArn{arnOf("iam", "", account, "role/*")},
				why:        whyTaskRoles,
				conditions: map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
			})
	}
	if services, byName := appRunnerServices(envs); len(services) > 0 {
		perms = append(perms,
			permission{
				sid:       "DeployAppRunnerServices",
				actions:   []string{"apprunner:DescribeService", "apprunner:ListOperations", "apprunner:UpdateService"},
				resources: services,
				why:       whyServiceIDs,
			},
			permission{
				sid:        "PassAppRunnerAccessRoles",
				actions:    []string{"iam:PassRole"},
				resources:  []resourceArn{arnOf("iam", "", account, "role/*")},
				why:        whyAccessRoles,
				conditions: map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "apprunner.amazonaws.com"}},
			})
		if byName {
			perms = append(perms, findServices("FindAppRunnerServices"))
		}
	}
	perms = append(perms, nonEmpty(permission{sid: "ReachDeployClusters", actions: []string{"eks:DescribeCluster"}, resources: clusters(envs)})...)
	return append(perms, gitOpsCommits(envs)...)
}

// appRunnerServices returns the App Runner services the apprunner targets of
// envs name, and whether one of them is named by name rather than ARN.
func appRunnerServices(envs []policy.Environment) ([]resourceArn, bool) {
	var arns []resourceArn
	byName := false
	for _, e := range envs {
		if d := e.Deploy.AppRunner; d != nil {
			arns = appendArn(arns, appRunnerArn(e, d.Service))
			byName = byName || !strings.HasPrefix(d.Service, "arn:")
		}
	}
	return arns, byName
}

// appRunnerArn is the ARN of the App Runner service that env's policy names:
// the ARN it gives (the policy's validation keeps it in env's account and
// region), or, for a name, every service of that name there, whatever the id
// App Runner ends its ARN with.
func appRunnerArn(env policy.Environment, service string) resourceArn {
	if strings.HasPrefix(service, "arn:") {
		if parts := strings.SplitN(service, ":", 6); len(parts) == 6 {
			return arnOf("apprunner", parts[3], parts[4], parts[5])
		}
	}
	return arnOf("apprunner", env.Region, env.Account, "service/"+service+"/*")
}

// findServices lets a role list the App Runner services of its account, to
// find a service the policy names by name.
func findServices(sid string) permission {
	return permission{sid: sid, actions: []string{"apprunner:ListServices"}, resources: []resourceArn{anyResource}, why: whyServiceList}
}

// clusters returns the EKS clusters envs deploy to or watch.
func clusters(envs []policy.Environment) []resourceArn {
	var arns []resourceArn
	for _, e := range envs {
		if d := e.Deploy.EKSTarget(); d != nil {
			arns = appendArn(arns, clusterArn(e, d.Cluster))
		}
	}
	return arns
}

// clusterArn is the ARN of env's EKS cluster called name.
func clusterArn(env policy.Environment, name string) resourceArn {
	return arnOf("eks", env.Region, env.Account, "cluster/"+name)
}

// gitOpsCommits lets promotion read the GitOps repositories of envs and
// commit to the branches the policy gives, and no other.
func gitOpsCommits(envs []policy.Environment) []permission {
	var repos []resourceArn
	var branches []string
	for _, e := range envs {
		if d := e.Deploy.GitOps; d != nil {
			repos = appendArn(repos, arnOf("codecommit", e.Region, e.Account, d.Repository))
			if ref := "refs/heads/" + d.Branch; !slices.Contains(branches, ref) {
				branches = append(branches, ref)
			}
		}
	}
	if len(repos) == 0 {
		return nil
	}
	slices.Sort(branches)
	return []permission{
		{sid: "ReadGitOpsFiles", actions: []string{"codecommit:GetBranch", "codecommit:GetFile"}, resources: repos},
		{
			sid:        "CommitGitOpsFiles",
			actions:    []string{"codecommit:CreateCommit"},
			resources:  repos,
			conditions: map[string]any{"StringEquals": map[string]any{"codecommit:References": branches}},
		},
	}
}

// driftAccess lets the drift function check account in every region of it
// Highway reaches: list its stacks, detect and read the drift of those the
// policy selects (by name prefix), read, for each app, what runs in the
// account's environments Highway deploys to (an App Runner service's image;
// the EKS cluster, whose RBAC lets the role get the Deployment), and plan its
// Terraform workspaces. DetectStackDrift also reads each
// resource of a stack with the caller's credentials: driftManaged grants that.
// Without a drift section, nothing.
func driftAccess(p *policy.Policy, account string) []permission {
	if p.Drift == nil {
		return nil
	}
	prefixes, why := p.Drift.Stacks.Prefixes, whyStackNames
	if len(prefixes) == 0 {
		prefixes, why = []string{""}, whyAnyStack
	}
	var stacks []resourceArn
	for _, s := range reached(p) {
		if s.Account != account {
			continue
		}
		for _, prefix := range prefixes {
			stacks = appendArn(stacks, arnOf("cloudformation", s.Region, s.Account, "stack/"+prefix+"*/*"))
		}
	}
	if len(stacks) == 0 {
		return nil
	}
	perms := []permission{
		{
			sid:       "FindStacks",
			actions:   []string{"cloudformation:DescribeStacks", "cloudformation:DescribeStackDriftDetectionStatus"},
			resources: []resourceArn{anyResource},
			why:       whyStackListing,
		},
		{
			sid:       "DetectStackDrift",
			actions:   []string{"cloudformation:DetectStackDrift", "cloudformation:DetectStackResourceDrift", "cloudformation:DescribeStackResourceDrifts"},
			resources: stacks,
			why:       why,
		},
	}
	envs := deployedTo(p.Apps, account)
	kind := func(has func(*policy.Deploy) bool) []string {
		var in []policy.Environment
		for _, e := range envs {
			if has(e.Deploy) {
				in = append(in, e)
			}
		}
		return regionsOf(in, func(e policy.Environment) string { return e.Region })
	}
	if r := kind(func(d *policy.Deploy) bool { return d.SSM != nil }); len(r) > 0 {
		perms = append(perms, byTag(p.Hub, "ReadDeployedParameters", []string{"ssm:GetParameter"}, "ssm", account, "parameter/*", r))
	}
	if r := kind(func(d *policy.Deploy) bool { return d.Lambda != nil }); len(r) > 0 {
		perms = append(perms, byTag(p.Hub, "ReadDeployedFunctions", []string{"lambda:GetAlias", "lambda:GetFunction"}, "lambda", account, "function:*", r))
	}
	if r := kind(func(d *policy.Deploy) bool { return d.ECS != nil }); len(r) > 0 {
		perms = append(perms,
			byTag(p.Hub, "ReadDeployedServices", []string{"ecs:DescribeServices"}, "ecs", account, "service/*", r),
			permission{sid: "ReadDeployedTaskDefinitions", actions: []string{"ecs:DescribeTaskDefinition"}, resources: []resourceArn{anyResource}, why: whyTaskDefReads})
	}
	if services, byName := appRunnerServices(envs); len(services) > 0 {
		perms = append(perms, permission{sid: "ReadDeployedAppRunnerServices", actions: []string{"apprunner:DescribeService"}, resources: services, why: whyServiceIDs})
		if byName {
			perms = append(perms, findServices("FindDeployedAppRunnerServices"))
		}
	}
	perms = append(perms, nonEmpty(permission{sid: "ReachDeployedClusters", actions: []string{"eks:DescribeCluster"}, resources: clusters(envs)})...)
	return append(perms, terraformAccess(p, account)...)
}

// terraformAccess lets the drift function plan the Terraform workspaces of
// account: start the builds of their CodeBuild projects and read them (a
// build whose event never came), and read the plans the builds leave in
// their artifact buckets. Listing a bucket makes S3 answer a missing object
// with NoSuchKey rather than AccessDenied, which tells a zipped artifact from
// a folder of files. It names each project and bucket.
func terraformAccess(p *policy.Policy, account string) []permission {
	var projects, buckets, plans []resourceArn
	for _, w := range p.Drift.Terraform {
		if w.Account == account {
			projects = appendArn(projects, arnOf("codebuild", w.Region, w.Account, "project/"+w.Project))
			buckets = appendArn(buckets, arnOf("s3", "", "", w.ArtifactBucket))
			plans = appendArn(plans, arnOf("s3", "", "", w.ArtifactBucket+"/*"))
		}
	}
	return nonEmpty(
		permission{sid: "PlanTerraformWorkspaces", actions: []string{"codebuild:StartBuild", "codebuild:BatchGetBuilds"}, resources: projects},
		permission{sid: "FindTerraformPlans", actions: []string{"s3:ListBucket"}, resources: buckets},
		permission{sid: "ReadTerraformPlans", actions: []string{"s3:GetObject"}, resources: plans, why: whyTerraformPlans},
	)
}

// driftManaged is the AWS managed policy with which DetectStackDrift reads the
// resources of the stacks of account.
func driftManaged(p *policy.Policy, account string) []string {
	if len(driftAccess(p, account)) == 0 {
		return nil
	}
	return []string{resourceReadPolicy}
}

// respondAccess lets the respond function do in account what the runbooks of
// its environments need: read the tags of its alarms when a runbook matches
// by tags, describe and update the ECS services of ecs-redeploy and
// ecs-scale, read and move the Lambda aliases of lambda-alias-rollback,
// describe the App Runner services of apprunner-redeploy, -pause and -resume
// and start a deployment of, pause or resume each as its actions say, reach
// the EKS clusters of eks-rollout-restart and eks-scale (the cluster's RBAC
// lets the role patch the Deployment), and start the documents of
// ssm-automation. Rollback and notify act through the hub alone. Without an
// alarms section, nothing.
func respondAccess(p *policy.Policy, account string) []permission {
	if p.Alarms == nil {
		return nil
	}
	var tags, services, functions []string
	var automations, redeploys, pauses, resumes, eksClusters []resourceArn
	findByName := false
	appRunner := func(env *policy.Environment, s *policy.AppRunnerService, to []resourceArn) []resourceArn {
		service := s.Service
		if d := env.Deploy; service == "" && d != nil && d.AppRunner != nil {
			service = d.AppRunner.Service
		}
		findByName = findByName || !strings.HasPrefix(service, "arn:")
		return appendArn(to, appRunnerArn(*env, service))
	}
	cluster := func(env *policy.Environment, name string) {
		if name == "" {
			name = env.Deploy.EKSTarget().Cluster
		}
		eksClusters = appendArn(eksClusters, clusterArn(*env, name))
	}
	for _, rb := range p.Alarms.Runbooks {
		env := runbookEnvironment(p, rb)
		if env == nil || env.Account != account {
			continue
		}
		if len(rb.Match.Tags) > 0 && !slices.Contains(tags, env.Region) {
			tags = append(tags, env.Region)
		}
		for _, a := range rb.Actions {
			switch {
			case a.ECSRedeploy != nil, a.ECSScale != nil:
				if !slices.Contains(services, env.Region) {
					services = append(services, env.Region)
				}
			case a.LambdaAliasRollback != nil:
				if !slices.Contains(functions, env.Region) {
					functions = append(functions, env.Region)
				}
			case a.AppRunnerRedeploy != nil:
				redeploys = appRunner(env, a.AppRunnerRedeploy, redeploys)
			case a.AppRunnerPause != nil:
				pauses = appRunner(env, a.AppRunnerPause, pauses)
			case a.AppRunnerResume != nil:
				resumes = appRunner(env, a.AppRunnerResume, resumes)
			case a.EKSRolloutRestart != nil:
				cluster(env, a.EKSRolloutRestart.Cluster)
			case a.EKSScale != nil:
				cluster(env, a.EKSScale.Cluster)
			case a.SSMAutomation != nil:
				automations = appendArn(automations, automationArn(env, a.SSMAutomation.Document))
			}
		}
	}
	var perms []permission
	if len(tags) > 0 {
		slices.Sort(tags)
		var alarms []resourceArn
		for _, r := range tags {
			alarms = appendArn(alarms, arnOf("cloudwatch", r, account, "alarm:*"))
		}
		perms = append(perms, permission{sid: "ReadAlarmTags", actions: []string{"cloudwatch:ListTagsForResource"}, resources: alarms, why: whyAlarmTags})
	}
	if len(services) > 0 {
		slices.Sort(services)
		perms = append(perms, byTag(p.Hub, "RemediateServices", []string{"ecs:DescribeServices", "ecs:UpdateService"}, "ecs", account, "service/*", services))
	}
	if len(functions) > 0 {
		slices.Sort(functions)
		perms = append(perms, byTag(p.Hub, "RemediateFunctionAliases", []string{"lambda:GetAlias", "lambda:ListVersionsByFunction", "lambda:UpdateAlias"}, "lambda", account, "function:*", functions))
	}
	perms = append(perms,
		permission{sid: "RedeployAppRunnerServices", actions: []string{"apprunner:DescribeService", "apprunner:StartDeployment"}, resources: redeploys, why: whyServiceIDs},
		permission{sid: "PauseAppRunnerServices", actions: []string{"apprunner:DescribeService", "apprunner:PauseService"}, resources: pauses, why: whyServiceIDs},
		permission{sid: "ResumeAppRunnerServices", actions: []string{"apprunner:DescribeService", "apprunner:ResumeService"}, resources: resumes, why: whyServiceIDs})
	if findByName {
		perms = append(perms, findServices("FindRemediatedAppRunnerServices"))
	}
	perms = append(perms, permission{sid: "ReachRemediatedClusters", actions: []string{"eks:DescribeCluster"}, resources: eksClusters})
	return nonEmpty(append(perms, permission{sid: "StartAutomations", actions: []string{"ssm:StartAutomationExecution"}, resources: automations, why: whyAutomations})...)
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
