package main

import (
	"slices"

	"github.com/highwayhq/highway/shared/route"
)

// A sample is an events/ file that is an event: what a function receives,
// in the shape AWS delivers it.
type sample struct {
	// File is its path under events/.
	File string
	// Functions are the functions it is meant for.
	Functions []string
	// Rule is whether an EventBridge rule delivers it, whose pattern is a
	// route of shared/route; otherwise Via says what invokes the function.
	Rule bool
	// Via is what it is and how it reaches them once deployed.
	Via string
}

// The functions no route of shared/route names: a function URL, a state
// machine, a pipeline, a schedule or a dashboard invokes them.
const (
	functionApproval        = "approval"
	functionApprovalRequest = "approvalrequest"
	functionDORA            = "dora"
	functionGateJob         = "gatejob"
	functionHeatmap         = "heatmap"
	functionWebhook         = "webhook"
)

// samples maps every event of events/ to the functions it is meant for: the
// one place that says so. For the events a rule delivers, the routes of
// shared/route decide, and TestSamplesAgreeWithTheRoutes holds this table
// to them.
var samples = []sample{
	{"approval-link-post.json", []string{functionApproval}, false, "the approval function URL: a signed approve link, posted"},
	{"approval-request.json", []string{functionApprovalRequest}, false, "the approval state machine's task"},
	{"aws-docs/cloudwatch-alarm-state-change-composite.json", []string{route.FunctionRespond}, false, "AWS's documentation sample of a composite alarm, from an account Highway does not reach"},
	{"cloudformation-drift-detection.json", []string{route.FunctionDrift}, true, "a stack's drift detection completed"},
	{"cloudwatch-alarm-state-change-ok.json", []string{route.FunctionRespond}, true, "an alarm back to OK"},
	{"cloudwatch-alarm-state-change.json", []string{route.FunctionRespond}, true, "an alarm in ALARM"},
	{"cloudwatch-custom-widget.json", []string{functionHeatmap}, false, "the dashboard's custom widget"},
	{"codebuild-build-failed.json", []string{route.FunctionGate}, true, "a gated build that failed to compile"},
	{"codebuild-build-storefront.json", []string{route.FunctionGate}, true, "a gated build of an app on GitHub"},
	{"codebuild-build-succeeded.json", []string{route.FunctionGate}, true, "a gated build that passed"},
	{"codebuild-build-vulnerable.json", []string{route.FunctionGate}, true, "a gated build with vulnerable dependencies"},
	{"codebuild-terraform-drift.json", []string{route.FunctionDrift}, true, "a build that planned a Terraform workspace"},
	{"codecommit-push-2.json", []string{route.FunctionPush}, true, "a second push to main"},
	{"codecommit-push.json", []string{route.FunctionPush}, true, "a push to main"},
	{"codepipeline-execution-succeeded.json", []string{route.FunctionPromote}, true, "a pipeline execution Highway did not start"},
	{"codepipeline-job.json", []string{functionGateJob}, false, "a pipeline's invoke action"},
	{"dora-scheduled.json", []string{functionDORA}, false, "the hourly schedule"},
	{"drift-scheduled.json", []string{route.FunctionDrift}, false, "the drift sweep's schedule"},
	{"ecs-deployment-completed.json", []string{route.FunctionPromote}, true, "an ECS deployment finished"},
	{"gate-decided.json", []string{route.FunctionPromote}, true, "a passed gate on Highway's bus"},
	{"github-ping.json", []string{functionWebhook}, false, "the webhook function URL: GitHub's ping of a new webhook"},
	{"github-push.json", []string{functionWebhook}, false, "the webhook function URL: a push to GitHub, signed"},
	{"highway-rollback-requested.json", []string{route.FunctionPromote}, true, "a runbook's rollback on Highway's bus"},
	{"ping/approval.json", []string{functionApproval}, false, "the approval function URL: a browser opening it bare, refused before any ledger read (a ping: see events/ping/README.md)"},
	{"ping/approvalrequest.json", []string{functionApprovalRequest}, false, "the approval state machine's expiry of a promotion that filed no request (a ping)"},
	{"ping/dora.json", []string{functionDORA}, false, "the hourly schedule (a ping)"},
	{"ping/drift.json", []string{route.FunctionDrift}, false, "the drift queue: a stack of an account the policy no longer reaches, dropped (a ping)"},
	{"ping/gate.json", []string{route.FunctionGate}, true, "a build of a project no app gates, ignored (a ping)"},
	{"ping/gatejob.json", []string{functionGateJob}, false, "a pipeline's invoke action from an account without gated pipelines, ignored (a ping)"},
	{"ping/heatmap.json", []string{functionHeatmap}, false, "the dashboard asking the custom widget for its documentation (a ping)"},
	{"ping/promote.json", []string{route.FunctionPromote}, true, "a deployment of a service no environment deploys to, ignored (a ping)"},
	{"ping/push.json", []string{route.FunctionPush}, true, "a push to a repository no app names, ignored (a ping)"},
	{"ping/respond.json", []string{route.FunctionRespond}, true, "an alarm no runbook matches (a ping)"},
	{"ping/webhook.json", []string{functionWebhook}, false, "the webhook function URL: GitHub's ping of a webhook without a secret, refused (a ping)"},
	{"sqs-drift-detections.json", []string{route.FunctionDrift}, false, "the drift queue: stacks to detect"},
}

// An answer is an events/ file that is not an event but AWS's answer to a
// call a function makes: the wire-level fake serves it (see answers.go).
type answer struct {
	// File is its path under events/ (a folder for artifacts).
	File string
	// Service and Operation are the call it answers.
	Service, Operation string
}

// answers are the events/ files the fake answers from.
var answers = []answer{
	{"artifacts", "s3", "GetObject"},
	{"cloudformation-describestackresourcedrifts.xml", "cloudformation", "DescribeStackResourceDrifts"},
	{"cloudformation-describestacks.xml", "cloudformation", "DescribeStacks"},
	{"codecommit-getcommit.json", "codecommit", "GetCommit"},
	{"ecr-image-scan-c3a97e0.json", "ecr", "DescribeImageScanFindings"},
	{"ecr-image-scan.json", "ecr", "DescribeImageScanFindings"},
	{"secretsmanager-github-webhook.json", "secretsmanager", "GetSecretValue"},
}

// samplesOf returns the samples meant for function, in the table's order.
func samplesOf(function string) []sample {
	var out []sample
	for _, s := range samples {
		if slices.Contains(s.Functions, function) {
			out = append(out, s)
		}
	}
	return out
}

// sampleNamed returns the sample whose file is name (a path under events/).
func sampleNamed(name string) (sample, bool) {
	i := slices.IndexFunc(samples, func(s sample) bool { return s.File == name })
	if i < 0 {
		return sample{}, false
	}
	return samples[i], true
}

// answersTo returns the files that answer operation.
func answersTo(operation string) []string {
	var out []string
	for _, a := range answers {
		if a.Operation == operation {
			out = append(out, a.File)
		}
	}
	return out
}
