package stacks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
)

// An app's delivery account holds its repository, builds and pipelines, and each
// environment's account what Highway deploys to. Hub functions act on them
// through the access roles of those accounts (access.go); the statements of
// every role are derived here and there, from the policy alone.

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
	whyTaskDefs     = "ECS DescribeTaskDefinition and RegisterTaskDefinition accept no resource narrower than \"*\": a task definition revision has no ARN before it is registered."
	whyTaskTags     = "A new task definition revision keeps the tags of the service's current one, and ECS authorizes tags on RegisterTaskDefinition as ecs:TagResource on the new revision, whose family the policy does not name; tagging is allowed only while registering."
	whyTaskRoles    = "A deployment registers a revision of the service's task definition with the task and execution roles of its current one, which the policy does not name; the roles may be passed to ECS tasks only, and only roles of the environment's own account."
	whyStackListing = "CloudFormation DescribeStacks without a stack name and DescribeStackDriftDetectionStatus accept no resource narrower than \"*\": the drift function lists the stacks of an account and region to select them by name prefix and tags, and a drift detection id has no ARN."
	whyStackNames   = "A stack's ARN ends in an id CloudFormation assigns when it creates the stack; stack/<prefix>*/* reaches only the stacks whose names start with one of the policy's drift prefixes, in the accounts and regions Highway reaches."
	whyAnyStack     = "The policy's drift section names no stack prefix, so any stack of the accounts and regions Highway reaches may be checked (the drift function selects them by tags at run time); a stack's ARN ends in an id CloudFormation assigns when it creates the stack."
	whyTaskDefReads = "ECS DescribeTaskDefinition accepts no resource narrower than \"*\"; the drift function reads only the task definitions that the services the policy deploys to run."
	whyServiceIDs   = "App Runner ends a service's ARN with an id it assigns when it creates the service; service/<name>/* reaches only the services of the names the policy gives, in the account and region of their environments."
	whyServiceList  = "App Runner ListServices accepts no resource narrower than \"*\" (the Service Authorization Reference gives it no resource type); Highway lists the services of an account and region only to find the ARN of a service the policy names by name."
	whyAccessRoles  = "A deployment updates an App Runner service's image with the ECR access role the service already has, which the policy does not name; the roles may be passed to App Runner only, and only roles of the environment's own account."
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
// pipelines call the gatejob function, sorted: their pipelines invoke it
// through the invoke role.
func jobAccounts(p *policy.Policy) []string {
	var out []string
	for _, a := range jobApps(p.Apps) {
		if a.Account != p.Hub.Account && !slices.Contains(out, a.Account) {
			out = append(out, a.Account)
		}
	}
	slices.Sort(out)
	return out
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

// reached returns every account and region pair Highway reaches: the hub's
// own, then the spokes'. Drift detection checks the stacks of each.
func reached(p *policy.Policy) []policy.Spoke {
	return append([]policy.Spoke{{Account: p.Hub.Account, Region: p.Hub.Region}}, p.Spokes()...)
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

// IAM's limits on what a role holds
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
// managed policies attached to a role (the default quota), and the characters
// of one managed policy, white space not counted.
const (
	maxManagedPolicies = 10
	managedPolicySize  = 6144
)

// grant attaches perms to role: each permission on every resource ("*") in an
// inline policy of its own, whose one suppression gives its reason (as
// allowAnywhere), and the others packed, in order, into as few customer
// managed policies as hold them within IAM's size limit, a permission too
// large for one policy split over several. Each managed policy carries the
// suppressions of its own wildcards, with their reasons. It returns how many
// managed policies it attached. Construct ids start with id.
func grant(scope constructs.Construct, id string, role awsiam.IRole, perms []permission) (int, error) {
	var packs [][]permission
	size := 0
	for _, p := range perms {
		if slices.Contains(p.resources, anyResource) {
			allowAnywhere(scope, id+p.sid, role, p)
			continue
		}
		for _, part := range p.split(managedPolicySize - policyOverhead) {
			n := part.size()
			if n > managedPolicySize-policyOverhead {
				return 0, fmt.Errorf("statement %s is %d characters, more than a managed policy holds", part.sid, n)
			}
			if len(packs) == 0 || size+n+1 > managedPolicySize-policyOverhead {
				packs, size = append(packs, nil), 0
			}
			packs[len(packs)-1] = append(packs[len(packs)-1], part)
			size += n + 1
		}
	}
	for i, pack := range packs {
		statements := make([]awsiam.PolicyStatement, len(pack))
		for j, p := range pack {
			statements[j] = p.statement()
		}
		pol := awsiam.NewManagedPolicy(scope, jsii.String(fmt.Sprintf("%sPolicy%d", id, i+1)), &awsiam.ManagedPolicyProps{
			Description: jsii.String(fmt.Sprintf("Highway: %s, part %d of %d.", *role.RoleName(), i+1, len(packs))),
			Roles:       &[]awsiam.IRole{role},
			Statements:  &statements,
		})
		for _, p := range pack {
			if findings := p.wildcards(); len(findings) > 0 {
				suppress(pol, false, rule("AwsSolutions-IAM5", p.why, findings...))
			}
		}
	}
	return len(packs), nil
}

// policyOverhead is the characters of a policy document around its
// statements: {"Version":"2012-10-17","Statement":[]}.
const policyOverhead = len(`{"Version":"2012-10-17","Statement":[]}`)

// longestPartition stands for the partition in size estimates: the longest
// IAM may substitute for AWS::Partition.
const longestPartition = "aws-us-gov"

// size is how many characters p takes in a policy document, as IAM counts
// them (no white space), with the longest partition in its ARNs. Tokens in
// conditions count as their placeholder text, which is longer than what they
// resolve to.
func (p permission) size() int {
	resources := make([]string, len(p.resources))
	for i, r := range p.resources {
		resources[i] = strings.ReplaceAll(r.nag, "<AWS::Partition>", longestPartition)
	}
	doc := map[string]any{"Sid": p.sid, "Effect": "Allow", "Action": p.actions, "Resource": resources}
	if p.conditions != nil {
		doc["Condition"] = p.conditions
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(err) // strings and maps of strings always encode
	}
	return len(strings.TrimSpace(b.String()))
}

// split returns p as statements of at most limit characters each, its
// resources divided in order; parts after the first number their sids.
func (p permission) split(limit int) []permission {
	if p.size() <= limit || len(p.resources) < 2 {
		return []permission{p}
	}
	var out []permission
	part := p
	part.resources = nil
	for _, r := range p.resources {
		next := part
		next.resources = append(slices.Clip(part.resources), r)
		if len(part.resources) > 0 && next.size() > limit {
			out = append(out, part)
			part.resources = []resourceArn{r}
			part.sid = fmt.Sprintf("%s%d", p.sid, len(out)+1)
			continue
		}
		part = next
	}
	return append(out, part)
}
