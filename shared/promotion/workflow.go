package promotion

import "reflect"

// The names the approval workflow's state machine and the Go code share,
// defined here once: the CDK app builds the state machine from them
// (infra/stacks/promotion.go), the promotion function answers with them, and
// the demo's workflow runner follows them.

// The states of the approval workflow, in the order an approved promotion
// enters them (the Record states end the others).
const (
	StatePreconditions     = "Preconditions"
	StateRequestApproval   = "RequestApproval"
	StateExpireApproval    = "ExpireApproval"
	StateDeploy            = "Deploy"
	StateWaitForDeployment = "WaitForDeployment"
	StateStatus            = "Status"
	StateDeploymentStatus  = "DeploymentStatus"
	StateRecordSucceeded   = "RecordSucceeded"
	StateRecordFailed      = "RecordFailed"
	StateRecordExpired     = "RecordExpired"
	StateRecordRejected    = "RecordRejected"
	StateRecordRefused     = "RecordRefused"
	// StateFailed fails the execution after the promotion is recorded failed.
	StateFailed = "Failed"
)

// The status a deploy or status step answers, which the workflow's
// DeploymentStatus choice reads.
const (
	StatusDeploying = "deploying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// The outcomes the record step takes.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeExpired   = "expired"
	OutcomeRejected  = "rejected"
	OutcomeRefused   = "refused"
)

// Error names the workflow catches or raises.
const (
	// ErrorPreconditionFailed is the Lambda error name of *PreconditionFailed
	// (ErrorName), which the Preconditions state catches to record the
	// promotion refused.
	ErrorPreconditionFailed = "PreconditionFailed"
	// ErrorPromotionFailed is the error the Failed state ends an execution
	// with.
	ErrorPromotionFailed = "PromotionFailed"
)

// ErrorName is the name the Lambda Go runtime (aws-lambda-go) gives an error a
// handler returns, which Step Functions' Retry and Catch match: the name of
// its type, less the pointer.
func ErrorName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
