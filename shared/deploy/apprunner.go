package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/policy"
)

// appRunnerDeployer points an App Runner service at image@digest: one
// UpdateService of its image identifier, whose operation deploys it, which
// Follow then reads from ListOperations.
type appRunnerDeployer struct {
	spec   *policy.AppRunnerDeploy
	client apprunner.Client
}

// Deploy updates the service's image and returns "<service ARN>#<operation
// id>" as the Handle. A service that already runs the image is not updated:
// it is Done when RUNNING, and otherwise followed by its status, as the retry
// of a Deploy whose operation is still rolling out.
func (d appRunnerDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	image, err := imageURI(t)
	if err != nil {
		return Result{}, err
	}
	svc, op, err := apprunner.SetImage(ctx, d.client, d.spec.Service, image)
	if err != nil {
		return Result{}, appRunnerError(err)
	}
	if op != "" {
		return Result{Handle: svc.ARN + "#" + op, Detail: fmt.Sprintf("App Runner service %s deploying %s, operation %s", svc.Name, image, op)}, nil
	}
	switch svc.Status {
	case types.ServiceStatusRunning:
		return Result{Done: true, Detail: fmt.Sprintf("App Runner service %s already runs %s", svc.Name, image)}, nil
	case types.ServiceStatusOperationInProgress:
	default: // paused, failed to create, deleted: nothing runs it, and waiting would not change that
		return Result{}, fmt.Errorf("%w: App Runner service %s names %s but is %s", ErrRefused, svc.Name, image, svc.Status)
	}
	return Result{Handle: svc.ARN + "#", Detail: fmt.Sprintf("App Runner service %s names %s and is %s", svc.Name, image, svc.Status)}, nil
}

// Follow reads the operation's phase; a handle without an operation is
// followed by the service's status and image.
func (d appRunnerDeployer) Follow(ctx context.Context, t Target, handle string) (Progress, error) {
	arn, op, ok := strings.Cut(handle, "#")
	if !ok || !strings.HasPrefix(arn, "arn:") {
		return Progress{}, fmt.Errorf("%w: %q is not an App Runner deployment handle", ErrRefused, handle)
	}
	if op != "" {
		phase, status, err := apprunner.Operation(ctx, d.client, arn, op)
		if err != nil {
			return Progress{}, appRunnerError(err)
		}
		detail := fmt.Sprintf("App Runner operation %s of %s: %s", op, arn, status)
		return Progress{Done: phase != apprunner.Running, Success: phase == apprunner.Succeeded, Detail: detail}, nil
	}
	image, err := deployedImage(t)
	if err != nil {
		return Progress{}, err
	}
	svc, err := apprunner.Describe(ctx, d.client, arn)
	if err != nil {
		return Progress{}, appRunnerError(err)
	}
	detail := fmt.Sprintf("App Runner service %s is %s, running %s", svc.Name, svc.Status, svc.Image)
	switch {
	case svc.Status == types.ServiceStatusOperationInProgress:
		return Progress{Detail: detail}, nil
	case svc.Status == types.ServiceStatusRunning && svc.Image == image:
		return Progress{Done: true, Success: true, Detail: detail}, nil
	}
	return Progress{Done: true, Detail: detail}, nil
}

// Timeout bounds the wait for an operation.
func (appRunnerDeployer) Timeout() time.Duration { return followTimeout }

// appRunnerError marks App Runner's refusals as ErrRefused; a busy service
// is worth a retry.
func appRunnerError(err error) error {
	if errors.Is(err, apprunner.ErrRefused) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return classify(err)
}
