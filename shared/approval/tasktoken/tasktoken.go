// Package tasktoken completes the Step Functions tasks that wait for a task
// token (.waitForTaskToken): the adapter behind approval.Tasks. It is a
// package of its own so that only the functions that complete tasks link the
// Step Functions client.
package tasktoken

import (
	"context"
	"errors"
	"fmt"

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
