// Package tasktoken completes the Step Functions tasks that wait for a task
// token (.waitForTaskToken), and reads the status of the executions that wait:
// the adapters behind approval.Tasks and approval.Workflows. It is a package
// of its own so that only the functions that complete tasks link the Step
// Functions client.
package tasktoken

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/highwayhq/highway/shared/approval"
)

// API is the part of the Step Functions client a Sender uses.
type API interface {
	SendTaskSuccess(ctx context.Context, params *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, params *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

var _ API = (*sfn.Client)(nil)

// Sender ends waiting tasks through Step Functions.
type Sender struct {
	API API
}

var _ approval.Tasks = Sender{}

// Succeed sends SendTaskSuccess with output. A task that no longer waits is
// approval.ErrTaskGone.
func (s Sender) Succeed(ctx context.Context, token, output string) error {
	_, err := s.API.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(output)})
	return wrap("send task success", err)
}

// Fail sends SendTaskFailure with the error name and cause. A task that no
// longer waits is approval.ErrTaskGone.
func (s Sender) Fail(ctx context.Context, token, errorName, cause string) error {
	_, err := s.API.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
		TaskToken: aws.String(token), Error: aws.String(errorName), Cause: aws.String(cause),
	})
	return wrap("send task failure", err)
}

// wrap names the operation and marks the answers that say the task is gone.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	_, timedOut := errors.AsType[*sfntypes.TaskTimedOut](err)
	_, invalid := errors.AsType[*sfntypes.InvalidToken](err)
	_, missing := errors.AsType[*sfntypes.TaskDoesNotExist](err)
	if timedOut || invalid || missing {
		return fmt.Errorf("%s: %w: %w", op, approval.ErrTaskGone, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ExecutionsAPI is the part of the Step Functions client Executions uses.
type ExecutionsAPI interface {
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

var _ ExecutionsAPI = (*sfn.Client)(nil)

// Executions reads the status of the promotion workflows: the executions of
// one state machine, each named by its promotion's id, as promote starts them.
type Executions struct {
	API ExecutionsAPI
	// StateMachine is the ARN of the promotion state machine.
	StateMachine string
}

var _ approval.Workflows = Executions{}

// Status returns the status of the execution of promotion promotionID.
func (e Executions) Status(ctx context.Context, promotionID string) (approval.WorkflowStatus, error) {
	arn, err := ExecutionArn(e.StateMachine, promotionID)
	if err != nil {
		return "", err
	}
	out, err := e.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("describe execution %s: %w", arn, err)
	}
	return approval.WorkflowStatus(out.Status), nil
}

// ExecutionArn is the ARN of the execution called name of the state machine
// stateMachine (arn:<partition>:states:<region>:<account>:stateMachine:<machine>):
// arn:<partition>:states:<region>:<account>:execution:<machine>:<name>.
func ExecutionArn(stateMachine, name string) (string, error) {
	prefix, machine, ok := strings.Cut(stateMachine, ":stateMachine:")
	if !ok || machine == "" || strings.Contains(machine, ":") || !strings.HasPrefix(prefix, "arn:") || name == "" {
		return "", fmt.Errorf("execution %q of state machine %q: not a state machine ARN and execution name", name, stateMachine)
	}
	return prefix + ":execution:" + machine + ":" + name, nil
}
