package stacks

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
)

// An app's delivery account holds its repository, builds and pipelines, and each
// environment's account what Highway deploys to. Hub functions act on those of
// the hub account with their own roles, and on those of any other account
// through that account's spoke role, which holds the same statements: both are
// derived here, from the policy alone.

// permission is one IAM statement derived from the policy. A resource with a
// wildcard needs why: cdk-nag reports it, and the suppression records the reason.
type permission struct {
	sid       string
	actions   []string
	resources []resourceArn
	why       string
	// conditions narrow the statement: operator, then key, then value.
	conditions map[string]any
}

// resourceArn is a resource's ARN as the template holds it (text, with the
// partition as a token) and as cdk-nag names it in a finding (nag).
type resourceArn struct {
	text string
	nag  string
}

// anyResource is "*", for the actions that accept no narrower resource.
var anyResource = resourceArn{text: "*", nag: "*"}

// arnOf builds the ARN arn:<partition>:service:region:account:resource.
func arnOf(service, region, account, resource string) resourceArn {
	rest := ":" + service + ":" + region + ":" + account + ":" + resource
	return resourceArn{text: "arn:" + *awscdk.Aws_PARTITION() + rest, nag: "arn:<AWS::Partition>" + rest}
}

// Why the policy-derived wildcards are there, for cdk-nag.
const (
	whyReportGroups = "CodeBuild names the report groups of a project <project>-<report group>; the pattern reaches only the reports of the policy's gated projects."
	whyArtifacts    = "Gated builds write their output artifacts under keys known only at build time; the gate reads objects of the policy's artifact buckets only."
	whyJobAnswers   = "CodePipeline PutJobSuccessResult and PutJobFailureResult accept no resource narrower than \"*\"; the job id in the request names the job."
	whyArtifactKeys = "A cross-account pipeline encrypts its artifacts with a KMS key of its own account, which the policy does not name; decryption is allowed only through S3, and only with keys of the accounts whose pipelines call the gate."
	whyAliases      = "Lambda names a function's aliases and versions <function ARN>:<alias or version>; the pattern reaches only the functions the policy deploys to."
	whyTaskDefs     = "ECS DescribeTaskDefinition and RegisterTaskDefinition accept no resource narrower than \"*\": a task definition revision has no ARN before it is registered."
	whyTaskTags     = "A new task definition revision keeps the tags of the service's current one, and ECS authorizes tags on RegisterTaskDefinition as ecs:TagResource on the new revision, whose family the policy does not name; tagging is allowed only while registering."
	whyTaskRoles    = "A deployment registers a revision of the service's task definition with the task and execution roles of its current one, which the policy does not name; the roles may be passed to ECS tasks only, and only roles of the environment's own account."
	whyStackListing = "CloudFormation DescribeStacks without a stack name, ListStacks and DescribeStackDriftDetectionStatus accept no resource narrower than \"*\": the drift function lists the stacks of an account and region to select them by name prefix and tags, and a drift detection id has no ARN."
	whyStackNames   = "A stack's ARN ends in an id CloudFormation assigns when it creates the stack; stack/<prefix>*/* reaches only the stacks whose names start with one of the policy's drift prefixes, in the accounts and regions Highway reaches."
	whyAnyStack     = "The policy's drift section names no stack prefix, so any stack of the accounts and regions Highway reaches may be checked (the drift function selects them by tags at run time); a stack's ARN ends in an id CloudFormation assigns when it creates the stack."
	whyTaskDefReads = "ECS DescribeTaskDefinition accepts no resource narrower than \"*\"; the drift function reads only the task definitions that the services the policy deploys to run."
)

// deliveredFrom returns the apps whose delivery account is account.
func deliveredFrom(apps []policy.App, account string) []policy.App {
	var out []policy.App
	for _, a := range apps {
		if a.Account == account {
			out = append(out, a)
		}
	}
	return out
}

// gated returns the apps that have a gate.
func gated(apps []policy.App) []policy.App {
	var out []policy.App
	for _, a := range apps {
		if a.Gate != nil {
			out = append(out, a)
		}
	}
	return out
}

// jobApps returns the gated apps that have pipelines: the apps whose pipelines
// call the gatejob function from an invoke action.
func jobApps(apps []policy.App) []policy.App {
	var out []policy.App
	for _, a := range gated(apps) {
		if len(a.Pipelines) > 0 {
			out = append(out, a)
		}
	}
	return out
}

// jobAccounts returns the delivery accounts other than the hub's whose
// pipelines call the gatejob function, sorted: their pipelines invoke it through
// the invoke role, and it answers their jobs through their spoke roles.
func jobAccounts(p *policy.Policy) []string {
	return otherDeliveryAccounts(jobApps(p.Apps), p.Hub)
}

// otherDeliveryAccounts returns the distinct delivery accounts of apps other than
// the hub's, sorted: the accounts whose spoke role a function must assume.
func otherDeliveryAccounts(apps []policy.App, hub policy.Hub) []string {
	var out []string
	for _, a := range apps {
		if a.Account != hub.Account && !slices.Contains(out, a.Account) {
			out = append(out, a.Account)
		}
	}
	slices.Sort(out)
	return out
}

// commitReads lets the push function read the commits of the apps' repositories.
func commitReads(apps []policy.App) []permission {
	var repos []resourceArn
	for _, a := range apps {
		repos = appendArn(repos, arnOf("codecommit", a.Region, a.Account, a.Repository))
	}
	return nonEmpty(permission{sid: "ReadCommits", actions: []string{"codecommit:GetCommit"}, resources: repos})
}

// gateReads lets the gate judge the builds of the apps' gated projects: read the
// build, its test reports, its output artifacts and its image scans, and stop
// the app's pipelines when the build fails. Apps without a gate get nothing.
func gateReads(apps []policy.App) []permission {
	var projects, reports, images, pipelines []resourceArn
	for _, a := range gated(apps) {
		for _, p := range a.Gate.Projects {
			projects = appendArn(projects, arnOf("codebuild", a.Region, a.Account, "project/"+p))
			reports = appendArn(reports, arnOf("codebuild", a.Region, a.Account, "report-group/"+p+"-*"))
		}
		for _, r := range a.Gate.ImageRepositories {
			images = appendArn(images, arnOf("ecr", a.Region, a.Account, "repository/"+r))
		}
		for _, p := range a.Pipelines {
			pipelines = appendArn(pipelines, arnOf("codepipeline", a.Region, a.Account, p))
		}
	}
	return nonEmpty(
		permission{sid: "ReadGatedBuilds", actions: []string{"codebuild:BatchGetBuilds"}, resources: projects},
		permission{sid: "ReadGatedBuildReports", actions: []string{"codebuild:BatchGetReports", "codebuild:DescribeTestCases"}, resources: reports, why: whyReportGroups},
		artifactReads(apps),
		permission{sid: "ReadImageScans", actions: []string{"ecr:DescribeImageScanFindings"}, resources: images},
		permission{sid: "StopGatedPipelines", actions: []string{"codepipeline:GetPipelineState", "codepipeline:StopPipelineExecution"}, resources: pipelines},
	)
}

// artifactReads lets a role read the objects of the artifact buckets of the
// apps' gates, where their gated builds write their output artifacts.
func artifactReads(apps []policy.App) permission {
	var objects []resourceArn
	for _, a := range gated(apps) {
		for _, b := range a.Gate.ArtifactBuckets {
			objects = appendArn(objects, arnOf("s3", "", "", b+"/*"))
		}
	}
	return permission{sid: "ReadGatedBuildArtifacts", actions: []string{"s3:GetObject", "s3:GetObjectVersion"}, resources: objects, why: whyArtifacts}
}

// artifactDecrypts lets a role decrypt, through S3 in region only, the
// artifacts that pipelines of the accounts encrypt with their own KMS keys, as
// every cross-account pipeline must.
func artifactDecrypts(region string, accounts []string) permission {
	var keys []resourceArn
	for _, a := range accounts {
		keys = appendArn(keys, arnOf("kms", region, a, "key/*"))
	}
	return permission{
		sid:       "DecryptPipelineArtifacts",
		actions:   []string{"kms:Decrypt"},
		resources: keys,
		why:       whyArtifactKeys,
		conditions: map[string]any{
			"StringEquals": map[string]any{"kms:ViaService": "s3." + region + "." + *awscdk.Aws_URL_SUFFIX()},
		},
	}
}

// jobAnswers lets the gate answer the CodePipeline jobs of its invoke action.
func jobAnswers() permission {
	return permission{
		sid:       "AnswerPipelineJobs",
		actions:   []string{"codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"},
		resources: []resourceArn{anyResource},
		why:       whyJobAnswers,
	}
}

// deployedTo returns the environments of apps that Highway deploys to, in the
// order of the policy; account, when not empty, keeps those of that account only.
func deployedTo(apps []policy.App, account string) []policy.Environment {
	var out []policy.Environment
	for _, a := range apps {
		for _, e := range a.Environments {
			if e.Deploy != nil && (account == "" || e.Account == account) {
				out = append(out, e)
			}
		}
	}
	return out
}

// deployAccounts returns the accounts other than the hub's that Highway deploys
// to, sorted: the promotion functions deploy there through their spoke roles.
func deployAccounts(p *policy.Policy) []string {
	var out []string
	for _, e := range deployedTo(p.Apps, "") {
		if e.Account != p.Hub.Account && !slices.Contains(out, e.Account) {
			out = append(out, e.Account)
		}
	}
	slices.Sort(out)
	return out
}

// deploys lets a role deploy an artifact to the environments envs, each the way
// its policy says: write its SSM parameter, start its pipeline, move its Lambda
// alias to a version of the function, or register a task definition revision and
// update its ECS service to it (with the current revision's tags and roles).
// The promotion functions hold them for the hub account's environments, and each
// spoke role for its own account's.
func deploys(envs []policy.Environment) []permission {
	var parameters, pipelines, functions, services, taskDefs, taskTags, taskRoles []resourceArn
	for _, e := range envs {
		switch d := e.Deploy; {
		case d.SSM != nil:
			parameters = appendArn(parameters, arnOf("ssm", e.Region, e.Account, "parameter/"+strings.TrimPrefix(d.SSM.Parameter, "/")))
		case d.Pipeline != nil:
			pipelines = appendArn(pipelines, arnOf("codepipeline", e.Region, e.Account, d.Pipeline.Name))
		case d.Lambda != nil:
			fn := "function:" + d.Lambda.Function
			functions = appendArn(appendArn(functions, arnOf("lambda", e.Region, e.Account, fn)), arnOf("lambda", e.Region, e.Account, fn+":*"))
		case d.ECS != nil:
			services = appendArn(services, arnOf("ecs", e.Region, e.Account, "service/"+d.ECS.Cluster+"/"+d.ECS.Service))
			taskDefs = appendArn(taskDefs, anyResource)
			taskTags = appendArn(taskTags, arnOf("ecs", e.Region, e.Account, "task-definition/*"))
			taskRoles = appendArn(taskRoles, arnOf("iam", "", e.Account, "role/*"))
		}
	}
	return nonEmpty(
		permission{sid: "DeployParameters", actions: []string{"ssm:PutParameter"}, resources: parameters},
		permission{sid: "DeployPipelines", actions: []string{"codepipeline:StartPipelineExecution"}, resources: pipelines},
		permission{sid: "DeployFunctionAliases", actions: []string{"lambda:ListVersionsByFunction", "lambda:UpdateAlias"}, resources: functions, why: whyAliases},
		permission{sid: "DeployServices", actions: []string{"ecs:DescribeServices", "ecs:UpdateService"}, resources: services},
		permission{sid: "DeployTaskDefinitions", actions: []string{"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"}, resources: taskDefs, why: whyTaskDefs},
		permission{
			sid:        "TagTaskDefinitions",
			actions:    []string{"ecs:TagResource"},
			resources:  taskTags,
			why:        whyTaskTags,
			conditions: map[string]any{"StringEquals": map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"}},
		},
		permission{
			sid:       "PassTaskRoles",
			actions:   []string{"iam:PassRole"},
			resources: taskRoles,
			why:       whyTaskRoles,
			conditions: map[string]any{
				"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
			},
		},
	)
}

// reached returns every account and region pair Highway reaches: the hub's
// own, then the spokes'. Drift detection checks the stacks of each.
func reached(p *policy.Policy) []policy.Spoke {
	return append([]policy.Spoke{{Account: p.Hub.Account, Region: p.Hub.Region}}, p.Spokes()...)
}

// driftAccounts returns the accounts other than the hub's that Highway reaches,
// sorted: the drift function checks their stacks and environments through
// their spoke roles.
func driftAccounts(p *policy.Policy) []string {
	var out []string
	for _, a := range spokeAccounts(p) {
		if a != p.Hub.Account {
			out = append(out, a)
		}
	}
	return out
}

// driftChecks lets a role check account for drift, in every region of it
// Highway reaches: list its stacks, detect and read the drift of those the
// policy selects, and read what runs in the account's environments Highway
// deploys to. The drift function holds them for the hub account, and each
// spoke role for its own account; without a drift section, nothing.
// DetectStackDrift also reads each resource of the stack with the caller's
// credentials: allowResourceReads grants that.
func driftChecks(p *policy.Policy, account string) []permission {
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
	return append([]permission{
		{
			sid:       "FindStacks",
			actions:   []string{"cloudformation:DescribeStacks", "cloudformation:ListStacks", "cloudformation:DescribeStackDriftDetectionStatus"},
			resources: []resourceArn{anyResource},
			why:       whyStackListing,
		},
		{
			sid:       "DetectStackDrift",
			actions:   []string{"cloudformation:DetectStackDrift", "cloudformation:DetectStackResourceDrift", "cloudformation:DescribeStackResourceDrifts"},
			resources: stacks,
			why:       why,
		},
	}, runtimeReads(deployedTo(p.Apps, account))...)
}

// runtimeReads lets a role read what runs in the environments envs, to compare
// it with the artifact promoted there: the SSM parameter, the Lambda alias and
// the version it points to, or the ECS service and the task definition it
// runs. An environment deployed by its own pipeline has nothing to read.
func runtimeReads(envs []policy.Environment) []permission {
	var parameters, functions, services, taskDefs []resourceArn
	for _, e := range envs {
		switch d := e.Deploy; {
		case d.SSM != nil:
			parameters = appendArn(parameters, arnOf("ssm", e.Region, e.Account, "parameter/"+strings.TrimPrefix(d.SSM.Parameter, "/")))
		case d.Lambda != nil:
			fn := "function:" + d.Lambda.Function
			functions = appendArn(appendArn(functions, arnOf("lambda", e.Region, e.Account, fn)), arnOf("lambda", e.Region, e.Account, fn+":*"))
		case d.ECS != nil:
			services = appendArn(services, arnOf("ecs", e.Region, e.Account, "service/"+d.ECS.Cluster+"/"+d.ECS.Service))
			taskDefs = appendArn(taskDefs, anyResource)
		}
	}
	return nonEmpty(
		permission{sid: "ReadDeployedParameters", actions: []string{"ssm:GetParameter"}, resources: parameters},
		permission{sid: "ReadDeployedFunctions", actions: []string{"lambda:GetAlias", "lambda:GetFunction"}, resources: functions, why: whyAliases},
		permission{sid: "ReadDeployedServices", actions: []string{"ecs:DescribeServices"}, resources: services},
		permission{sid: "ReadDeployedTaskDefinitions", actions: []string{"ecs:DescribeTaskDefinition"}, resources: taskDefs, why: whyTaskDefReads},
	)
}

// assumeSpokeRoles lets a hub function act in the accounts through their spoke
// roles.
func assumeSpokeRoles(hub policy.Hub, accounts []string) []permission {
	var roles []resourceArn
	for _, a := range accounts {
		roles = appendArn(roles, arnOf("iam", "", a, "role/"+hub.SpokeRoleName()))
	}
	return nonEmpty(permission{sid: "ActInDeliveryAccounts", actions: []string{"sts:AssumeRole"}, resources: roles})
}

// allow adds perms to role's default policy, and records with cdk-nag why each
// wildcard resource among them is needed. A permission on every resource ("*")
// gets a policy of its own under scope, named by its sid instead: the role's
// default policy already suppresses "*" for X-Ray, and each "*" must be
// suppressed with its own reason and no other.
func allow(scope constructs.Construct, role awsiam.IRole, perms []permission) {
	var named []permission
	for _, p := range perms {
		if slices.Contains(p.resources, anyResource) {
			allowAnywhere(scope, p.sid, role, p)
			continue
		}
		named = append(named, p)
		role.AddToPrincipalPolicy(p.statement())
	}
	for _, p := range named {
		if findings := p.wildcards(); len(findings) > 0 {
			suppress(role, true, rule("AwsSolutions-IAM5", p.why, findings...))
		}
	}
}

// allowJobAnswers gives role the right to answer pipeline jobs in a policy of its
// own, so that its "*" is suppressed with its own reason and no other.
func allowJobAnswers(scope constructs.Construct, role awsiam.IRole) awsiam.Policy {
	return allowAnywhere(scope, "PipelineJobAnswers", role, jobAnswers())
}

// allowAnywhere attaches p to role in a policy of its own, called id, whose one
// suppression gives p's reason.
func allowAnywhere(scope constructs.Construct, id string, role awsiam.IRole, p permission) awsiam.Policy {
	pol := awsiam.NewPolicy(scope, jsii.String(id), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{p.statement()},
	})
	suppress(pol, false, rule("AwsSolutions-IAM5", p.why, p.wildcards()...))
	return pol
}

// statement is p as an IAM statement.
func (p permission) statement() awsiam.PolicyStatement {
	resources := make([]*string, len(p.resources))
	for i, r := range p.resources {
		resources[i] = jsii.String(r.text)
	}
	props := &awsiam.PolicyStatementProps{
		Sid:       jsii.String(p.sid),
		Actions:   jsii.Strings(p.actions...),
		Resources: &resources,
	}
	if p.conditions != nil {
		props.Conditions = &p.conditions
	}
	return awsiam.NewPolicyStatement(props)
}

// wildcards are the cdk-nag findings of p's wildcard resources.
func (p permission) wildcards() []string {
	var out []string
	for _, r := range p.resources {
		if strings.Contains(r.nag, "*") {
			out = append(out, "Resource::"+r.nag)
		}
	}
	return out
}

// appendArn adds a to list unless it is there already.
func appendArn(list []resourceArn, a resourceArn) []resourceArn {
	if slices.Contains(list, a) {
		return list
	}
	return append(list, a)
}

// nonEmpty drops the permissions that name no resource.
func nonEmpty(perms ...permission) []permission {
	out := perms[:0]
	for _, p := range perms {
		if len(p.resources) > 0 {
			out = append(out, p)
		}
	}
	return out
}
