package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/route"
)

// FunctionGateJob is the function a CodePipeline Lambda invoke action calls to
// gate a build's output artifact. No EventBridge route reaches it.
const FunctionGateJob = "gatejob"

// gateTimeoutSeconds bounds one judgement: a gate reads the build's reports,
// artifacts and image scans before it decides.
const gateTimeoutSeconds = 60

// newGating judges the builds of the policy's gated apps, in two ways: the gate
// function receives every finished build of a gated project and stops the app's
// pipelines when it fails, and the gatejob function answers the jobs of a
// pipeline's Lambda invoke action. Both record their decisions in the ledger,
// announce them on the bus and notify people of failures. A policy without gates
// gets neither.
func newGating(hub *Hub) error {
	p := hub.Policy
	apps := gated(p.Apps)
	if len(apps) == 0 {
		return nil
	}
	scope := constructs.NewConstruct(hub.Stack, jsii.String("Gating"))
	gate, err := hub.Function(scope, route.FunctionGate, FunctionProps{
		Description: "Highway: judges finished builds of gated CodeBuild projects and stops failed pipelines.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(gateTimeoutSeconds)),
	})
	if err != nil {
		return err
	}
	hub.grantDecisions(gate)
	if err := hub.Route(scope, route.FunctionGate, gate); err != nil {
		return err
	}
	job, err := newGateJob(scope, hub)
	if err != nil {
		return err
	}
	return hub.actsThrough(scope, accessGate, gate, job)
}

// newGateJob creates the function of the pipeline invoke action: CodePipeline of
// the hub account may invoke it, pipelines of other delivery accounts through
// the invoke role, and its ARN is an output, for the action's FunctionName. It
// reads each job (GetJobDetails) and answers it through the gate access role
// of the account the job claims, and reads the job's artifact with the
// credentials GetJobDetails returns, so it has no S3 permission.
func newGateJob(scope constructs.Construct, hub *Hub) (awslambda.Function, error) {
	fn, err := hub.Function(scope, FunctionGateJob, FunctionProps{
		Description: "Highway: gates a build's output artifact for a CodePipeline invoke action.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(gateTimeoutSeconds)),
	})
	if err != nil {
		return nil, err
	}
	hub.grantDecisions(fn)
	fn.AddPermission(jsii.String("CodePipelineInvokes"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String("codepipeline.amazonaws.com"), nil),
		Action:        jsii.String("lambda:InvokeFunction"),
		SourceAccount: jsii.String(hub.Policy.Hub.Account),
	})
	awscdk.NewCfnOutput(scope, jsii.String("GateJobFunctionArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("FunctionName of a CodePipeline Lambda invoke action that gates its input artifact (UserParameters {\"app\": \"<app>\"})."),
		Value:       fn.FunctionArn(),
	})
	return fn, newPipelineInvokeRole(scope, hub, fn)
}

// newPipelineInvokeRole creates, for each delivery account other than the
// hub's whose pipelines call the gate, the role those pipelines name as the
// RoleArn of their invoke action: the pipeline's service role assumes it to
// invoke fn, and CodePipeline hands the function a session of it as the job's
// artifact credentials, so it may also read, and decrypt through S3, the
// artifacts of that account's gated builds, and no other account's. Only the
// roles of that account that carry the app tag may assume it: a pipeline's
// service role is tagged with its app, like every resource Highway acts on,
// and the trust stays the same size however many pipelines the account runs.
// Each role's ARN is an output. When every pipeline that calls the gate is in
// the hub account, there is none.
func newPipelineInvokeRole(scope constructs.Construct, hub *Hub, fn awslambda.Function) error {
	p := hub.Policy
	for _, account := range jobAccounts(p) {
		name := PipelineInvokeRoleName(p.Hub, account)
		role := awsiam.NewRole(scope, jsii.String("PipelineInvokeRole"+account), &awsiam.RoleProps{
			RoleName:    jsii.String(name),
			Description: jsii.String("Highway: pipelines of account " + account + " invoke the gatejob function through this role."),
			AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewAccountPrincipal(jsii.String(account)), &map[string]any{
				"ArnLike": map[string]any{"aws:PrincipalArn": "arn:" + *awscdk.Aws_PARTITION() + ":iam::" + account + ":role/*"},
				"Null":    map[string]any{"aws:PrincipalTag/" + p.Hub.AppTag: "false"},
			}),
		})
		fn.GrantInvoke(role)
		suppress(role, true, rule("AwsSolutions-IAM5", whyFunctionVersions, "Resource::<"+logicalID(fn)+".Arn>:*"))
		perms := nonEmpty(artifactReads(deliveredFrom(jobApps(p.Apps), account)), artifactDecrypts(p.Hub.Region, []string{account}))
		if _, err := grant(scope, "PipelineInvoke"+account, role, perms); err != nil {
			return fmt.Errorf("role %s: %w", name, err)
		}
		awscdk.NewCfnOutput(scope, jsii.String("PipelineInvokeRoleArn"+account), &awscdk.CfnOutputProps{
			Description: jsii.String("RoleArn of the gatejob invoke action of a pipeline in account " + account + "; a pipeline of the hub account needs none."),
			Value:       role.RoleArn(),
		})
	}
	return nil
}

// whyFunctionVersions is why the invoke role may invoke <function ARN>:*.
const whyFunctionVersions = "Lambda's grantInvoke covers the function's versions and aliases (<function ARN>:*) with the function itself; the pattern reaches the gatejob function alone."

// logicalID is the logical id of fn's CloudFormation resource in its stack.
func logicalID(fn awslambda.Function) string {
	return *awscdk.Stack_Of(fn).GetLogicalId(fn.Node().DefaultChild().(awscdk.CfnElement))
}

// grantDecisions lets fn record gate decisions in the ledger, announce them on the
// bus and notify people.
func (h *Hub) grantDecisions(fn awslambda.IFunction) {
	h.GrantLedgerReadWrite(fn)
	h.Bus.GrantPutEventsTo(fn, nil)
	h.GrantPublish(fn)
}
