package stacks

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/promotion"
	"github.com/highwayhq/highway/shared/route"
)

// The functions of promotion that no EventBridge route reaches.
const (
	// FunctionApprovalRequest sends the approvers their signed links; the state
	// machine waits on it with a task token.
	FunctionApprovalRequest = "approvalrequest"
	// FunctionApproval serves the approval links people open, through its
	// function URL, and answers the waiting task.
	FunctionApproval = "approval"
)

// promotionFunctions are the functions newPromotion creates.
var promotionFunctions = []string{route.FunctionPromote, FunctionApprovalRequest, FunctionApproval}

// Environment variables of the promotion functions, beyond those every function
// gets.
// The approval functions' environment, named where the functions read it.
const (
	EnvApprovalSecret       = function.EnvApprovalSecret
	EnvApprovalURL          = function.EnvApprovalURL
	EnvApprovalStateMachine = function.EnvApprovalStateMachine
)

// Promotion's timing: the promote function's tick, which starts promotions whose
// soak has ended, and how long the state machine waits between two looks at a
// deployment.
const (
	promotionTickMinutes     = 1
	deploymentPollSeconds    = int(promotion.StatusPoll / time.Second)
	promotionStepTimeoutSecs = 60
)

// Retries of the state machine's Lambda tasks: the errors of the Lambda service
// itself, never the function's own.
var (
	lambdaTransientErrors = []string{"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"}
	lambdaRetryAttempts   = 2.0
	lambdaRetryBackoff    = 2.0
	lambdaRetryInterval   = 2.0 // seconds
)

// Retries of the approval request on its own errors (an SNS throttle, a
// DynamoDB blip), after which the promotion is recorded failed: a few, with
// backoff and full jitter, so one throttle does not keep a digest from prod.
var (
	approvalRetryAttempts = float64(promotion.ApprovalRequestRetries)
	approvalRetryBackoff  = 2.0
	approvalRetryInterval = 5.0 // seconds
)

// Errors the state machine catches, named once in Go: a refused precondition
// (the Lambda error name of promotion's *PreconditionFailed), a rejection (the
// error of the approval function's SendTaskFailure), and bad input to
// approvalrequest (the Lambda error name of approval's *InputError), which no
// retry fixes.
const (
	ErrPreconditionFailed = promotion.ErrorPreconditionFailed
	ErrRejected           = approval.ErrorRejected
	ErrInputError         = approval.ErrorInputError
)

// Why the promotion's forced wildcards are there, for cdk-nag.
const (
	whyTaskTokens      = "Step Functions SendTaskSuccess and SendTaskFailure accept no resource narrower than \"*\": a task token has no ARN; the token in the request names the one approval task it answers."
	whyMachineServices = "X-Ray trace writes and CloudWatch Logs log delivery, which the state machine's tracing and logging need, accept no resource narrower than \"*\"."
	whyMachineVersions = "Step Functions' Lambda tasks may invoke the function's versions and aliases (<function ARN>:*) with the function; the pattern reaches the promotion functions alone."
	whyApprovalKey     = "Approval links in flight are signed with the current key; rotation is manual and documented: put the new key as current and the old one as previous, which the approval function still accepts, and drop previous once the longest approval timeout has passed."
)

// newPromotion moves one artifact, by digest, through the environments Highway
// deploys to. The promote function starts promotions when a gate passes, or on
// its tick once a soak has ended, deploys to environments without approval and
// records finished deployments. For an environment with approval, it starts the
// promotion state machine, whose steps promotionstep runs: it checks the
// preconditions, has approvalrequest send the approvers their signed links,
// waits for their answer through the approval function's URL, deploys and
// watches the deployment. Promote and promotionstep deploy to the hub account's
// environments with their own roles and to other accounts' through their spoke
// roles. A policy that deploys nowhere gets none of it.
func newPromotion(hub *Hub) error {
	p := hub.Policy
	if len(deployedTo(p.Apps, "")) == 0 {
		return nil
	}
	scope := constructs.NewConstruct(hub.Stack, jsii.String("Promotion"))
	secret := newApprovalSecret(scope, hub)

	url, err := newApproval(scope, hub, secret)
	if err != nil {
		return err
	}
	request, err := newApprovalRequest(scope, hub, secret, url)
	if err != nil {
		return err
	}

	// promote also runs the state machine's steps (it tells a step from an event
	// by its payload); it reaches the state machine by its ARN, derived from the
	// name, which keeps the function and the machine free of a reference cycle.
	promote, err := hub.Function(scope, route.FunctionPromote, FunctionProps{
		Description: "Highway: promotes passed artifacts through their environments, records finished deployments, and runs the approval workflow's steps.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(promotionStepTimeoutSecs)),
	})
	if err != nil {
		return err
	}
	hub.grantDecisions(promote)
	if err := hub.actsThrough(scope, accessDeploy, promote); err != nil {
		return err
	}
	newPromotionMachine(scope, hub, promote, request)
	machineArn := awscdk.Arn_Format(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: jsii.String(PromotionStateMachineName(p.Hub)),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	}, hub.Stack)
	promote.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("StartApprovalWorkflow"),
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &[]*string{machineArn},
	}))
	promote.AddEnvironment(jsii.String(EnvApprovalStateMachine), machineArn, nil)
	if err := hub.Route(scope, route.FunctionPromote, promote); err != nil {
		return err
	}
	hub.Schedule(scope, "Tick",
		"Highway: every minute, promote starts the promotions whose soak has ended and whose environment is free.",
		awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(promotionTickMinutes))), promote)
	return nil
}

// newPromotionMachine creates the standard state machine that promotes an
// artifact into an environment with approval. Its execution is named by the
// promotion id, and its input is
//
//	{"promotionId", "app", "env", "digest", "commit", "timeoutSeconds", "heartbeatSeconds"}
//
// with both durations positive integers (Step Functions requires them; without a
// heartbeat, the caller passes the timeout). It checks the preconditions, asks
// for approval and waits for the answer at most timeoutSeconds (and
// heartbeatSeconds between heartbeats), deploys, looks at the deployment every
// 30 seconds until it ends, and records the outcome: succeeded, failed,
// expired, rejected or refused. A failure of any step is recorded as failed and
// fails the execution; the other outcomes end it successfully. Each task
// retries the Lambda service's errors; the approval request also retries its
// own (promotion.ApprovalRequestRetries times, with backoff), but never a
// rejection, a timeout or bad input. A new attempt at a promotion has a new
// promotion id, so it runs a new execution.
//
// promotionstep receives {"step", "promotionId", "app", "env"} (and "outcome"
// for the record step) and answers {"summary"} to preconditions and {"status":
// deploying, succeeded or failed} to status; a refused precondition is a
// Lambda error of type PreconditionFailed. approvalrequest receives {"taskToken",
// "promotionId", "app", "env", "digest", "commit", "summary"}; the approval
// function answers with SendTaskSuccess, or SendTaskFailure with the error
// Rejected.
//
// The machine logs every event, without execution data (the approval task's
// input holds its task token), is traced, and alarms on failed and timed-out
// executions.
func newPromotionMachine(scope constructs.Construct, hub *Hub, step, request awslambda.Function) awsstepfunctions.StateMachine {
	c := constructs.NewConstruct(scope, jsii.String("Flow"))
	promotionID := awsstepfunctions.JsonPath_StringAt(jsii.String("$.promotionId"))
	app := awsstepfunctions.JsonPath_StringAt(jsii.String("$.app"))
	env := awsstepfunctions.JsonPath_StringAt(jsii.String("$.env"))
	stepOf := func(name string, extra map[string]any) map[string]any {
		payload := map[string]any{"step": name, "promotionId": promotionID, "app": app, "env": env}
		for k, v := range extra {
			payload[k] = v
		}
		return payload
	}
	record := func(id, outcome string) awsstepfunctionstasks.LambdaInvoke {
		return lambdaTask(c, id, step, stepOf(promotion.StepRecord, map[string]any{"outcome": outcome}), "", nil)
	}
	recordSucceeded := record(promotion.StateRecordSucceeded, promotion.OutcomeSucceeded)
	recordFailed := record(promotion.StateRecordFailed, promotion.OutcomeFailed)
	recordExpired := record(promotion.StateRecordExpired, promotion.OutcomeExpired)
	recordRejected := record(promotion.StateRecordRejected, promotion.OutcomeRejected)
	recordRefused := record(promotion.StateRecordRefused, promotion.OutcomeRefused)
	recordFailed.Next(awsstepfunctions.NewFail(c, jsii.String(promotion.StateFailed), &awsstepfunctions.FailProps{
		Error: jsii.String(promotion.ErrorPromotionFailed),
		Cause: jsii.String("A step of the promotion or its deployment failed; the ledger records which."),
	}))

	preconditions := lambdaTask(c, promotion.StatePreconditions, step, stepOf(promotion.StepPreconditions, nil), "$.preconditions", nil)
	retrySteps(preconditions, recordSucceeded, recordFailed, recordExpired, recordRejected, recordRefused)
	catch(preconditions, recordRefused, ErrPreconditionFailed)
	catch(preconditions, recordFailed, *awsstepfunctions.Errors_ALL())

	approval := lambdaTask(c, promotion.StateRequestApproval, request, map[string]any{
		"taskToken":   awsstepfunctions.JsonPath_TaskToken(),
		"promotionId": promotionID,
		"app":         app,
		"env":         env,
		"digest":      awsstepfunctions.JsonPath_StringAt(jsii.String("$.digest")),
		"commit":      awsstepfunctions.JsonPath_StringAt(jsii.String("$.commit")),
		"summary":     awsstepfunctions.JsonPath_ObjectAt(jsii.String("$.preconditions.Payload.summary")),
	}, "$.approval", &awsstepfunctionstasks.LambdaInvokeProps{
		IntegrationPattern: awsstepfunctions.IntegrationPattern_WAIT_FOR_TASK_TOKEN,
		TaskTimeout:        awsstepfunctions.Timeout_At(jsii.String("$.timeoutSeconds")),
		HeartbeatTimeout:   awsstepfunctions.Timeout_At(jsii.String("$.heartbeatSeconds")),
	})
	// A request nobody answered in time is marked expired and people told, by
	// approvalrequest, before the promotion is recorded expired.
	expire := lambdaTask(c, promotion.StateExpireApproval, request, map[string]any{
		"promotionId": promotionID,
		"digest":      awsstepfunctions.JsonPath_StringAt(jsii.String("$.digest")),
		"error":       awsstepfunctions.JsonPath_StringAt(jsii.String("$.error.Error")),
		"cause":       awsstepfunctions.JsonPath_StringAt(jsii.String("$.error.Cause")),
	}, "$.expired", nil)
	catch(expire, recordExpired, *awsstepfunctions.Errors_ALL())
	expire.Next(recordExpired)
	// Retriers apply in order, the first whose errors match: the answers and
	// bad input are final, anything else is asked again before it is caught.
	approval.AddRetry(&awsstepfunctions.RetryProps{
		Errors:      jsii.Strings(ErrRejected, ErrInputError, *awsstepfunctions.Errors_TIMEOUT(), *awsstepfunctions.Errors_HEARTBEAT_TIMEOUT()),
		MaxAttempts: jsii.Number(0),
	})
	approval.AddRetry(&awsstepfunctions.RetryProps{
		Errors:         jsii.Strings(*awsstepfunctions.Errors_ALL()),
		MaxAttempts:    jsii.Number(approvalRetryAttempts),
		BackoffRate:    jsii.Number(approvalRetryBackoff),
		Interval:       awscdk.Duration_Seconds(jsii.Number(approvalRetryInterval)),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	})
	catch(approval, expire, *awsstepfunctions.Errors_TIMEOUT(), *awsstepfunctions.Errors_HEARTBEAT_TIMEOUT())
	catch(approval, recordRejected, ErrRejected)
	catch(approval, recordFailed, *awsstepfunctions.Errors_ALL())

	deploy := lambdaTask(c, promotion.StateDeploy, step, stepOf(promotion.StepDeploy, nil), "", nil)
	retrySteps(deploy)
	catch(deploy, recordFailed, *awsstepfunctions.Errors_ALL())
	wait := awsstepfunctions.NewWait(c, jsii.String(promotion.StateWaitForDeployment), &awsstepfunctions.WaitProps{
		Time: awsstepfunctions.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(deploymentPollSeconds))),
	})
	status := lambdaTask(c, promotion.StateStatus, step, stepOf(promotion.StepStatus, nil), "$.status", nil)
	retrySteps(status)
	catch(status, recordFailed, *awsstepfunctions.Errors_ALL())
	const statusPath = "$.status.Payload.status"
	deployed := awsstepfunctions.NewChoice(c, jsii.String(promotion.StateDeploymentStatus), nil).
		When(awsstepfunctions.Condition_StringEquals(jsii.String(statusPath), jsii.String(promotion.StatusDeploying)), wait, nil).
		When(awsstepfunctions.Condition_StringEquals(jsii.String(statusPath), jsii.String(promotion.StatusSucceeded)), recordSucceeded, nil).
		When(awsstepfunctions.Condition_StringEquals(jsii.String(statusPath), jsii.String(promotion.StatusFailed)), recordFailed, nil).
		Otherwise(recordFailed)

	definition := awsstepfunctions.Chain_Start(preconditions).Next(approval).Next(deploy).Next(wait).Next(status).Next(deployed)
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{Retention: hub.retention})
	machine := awsstepfunctions.NewStateMachine(c, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(PromotionStateMachineName(hub.Policy.Hub)),
		Comment:          jsii.String("Highway: promotes one artifact into an environment with approval."),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(definition),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	hub.watchStateMachine(c, machine)
	suppress(machine.Role(), true,
		rule("AwsSolutions-IAM5", whyMachineServices, "Resource::*"),
		rule("AwsSolutions-IAM5", whyMachineVersions,
			"Resource::<"+logicalID(step)+".Arn>:*", "Resource::<"+logicalID(request)+".Arn>:*"))
	return machine
}

// lambdaTask invokes fn with payload, keeping its payload at resultPath ("": the
// state's input passes on unchanged), and retries what the Lambda service
// failed. props, when set, carries the integration pattern and timeouts.
func lambdaTask(scope constructs.Construct, id string, fn awslambda.IFunction, payload map[string]any, resultPath string, props *awsstepfunctionstasks.LambdaInvokeProps) awsstepfunctionstasks.LambdaInvoke {
	if props == nil {
		props = &awsstepfunctionstasks.LambdaInvokeProps{}
	}
	props.LambdaFunction = fn
	props.Payload = awsstepfunctions.TaskInput_FromObject(&payload)
	props.RetryOnServiceExceptions = jsii.Bool(false)
	switch {
	case resultPath == "":
		props.ResultPath = awsstepfunctions.JsonPath_DISCARD()
	case props.IntegrationPattern == awsstepfunctions.IntegrationPattern_WAIT_FOR_TASK_TOKEN:
		props.ResultPath = jsii.String(resultPath) // the output SendTaskSuccess sent
	default:
		props.ResultPath = jsii.String(resultPath)
		props.ResultSelector = &map[string]any{"Payload.$": "$.Payload"}
	}
	task := awsstepfunctionstasks.NewLambdaInvoke(scope, jsii.String(id), props)
	task.AddRetry(&awsstepfunctions.RetryProps{
		Errors:      jsii.Strings(lambdaTransientErrors...),
		MaxAttempts: jsii.Number(lambdaRetryAttempts),
		BackoffRate: jsii.Number(lambdaRetryBackoff),
		Interval:    awscdk.Duration_Seconds(jsii.Number(lambdaRetryInterval)),
	})
	return task
}

// retrySteps has each step of the promotion function run again when it fails
// for a reason a retry can fix (promotion.StepRetries times, backing off),
// and never for a refused precondition.
func retrySteps(tasks ...awsstepfunctionstasks.LambdaInvoke) {
	for _, t := range tasks {
		t.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings(ErrPreconditionFailed), MaxAttempts: jsii.Number(0)})
		t.AddRetry(&awsstepfunctions.RetryProps{
			Errors:         jsii.Strings(*awsstepfunctions.Errors_ALL()),
			MaxAttempts:    jsii.Number(float64(promotion.StepRetries)),
			BackoffRate:    jsii.Number(approvalRetryBackoff),
			Interval:       awscdk.Duration_Seconds(jsii.Number(lambdaRetryInterval)),
			JitterStrategy: awsstepfunctions.JitterType_FULL,
		})
	}
}

// catch sends the errors of task to handler, with the error at $.error beside
// the task's input.
func catch(task awsstepfunctionstasks.LambdaInvoke, handler awsstepfunctions.IChainable, errors ...string) {
	task.AddCatch(handler, &awsstepfunctions.CatchProps{
		Errors:     jsii.Strings(errors...),
		ResultPath: jsii.String("$.error"),
	})
}
