package remediate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/policy"
)

// AppRunnerRedeploy starts a deployment of the image the App Runner service
// already names (StartDeployment), which replaces its instances. A paused
// service is refused: it must be resumed first. A service busy with another
// operation, found so or answered so, is a retryable error (wrapping
// apprunner.ErrBusy). The Handle is the operation id.
func AppRunnerRedeploy(ctx context.Context, c apprunner.Client, a policy.AppRunnerService, env *policy.Environment) (Outcome, error) {
	s, err := appRunnerService(ctx, c, "apprunner-redeploy", a, env)
	if err != nil {
		return Outcome{}, err
	}
	if s.Status == types.ServiceStatusPaused {
		return Outcome{}, fmt.Errorf("%w: apprunner-redeploy: App Runner service %s is paused; resume it first", ErrRefused, s.Name)
	}
	return appRunnerOperation(ctx, c, s, "deployment", apprunner.Redeploy)
}

// AppRunnerPause pauses the App Runner service: its instances stop and it
// serves nothing. A service already paused is left as it is (no call, no
// Handle). Otherwise as AppRunnerRedeploy.
func AppRunnerPause(ctx context.Context, c apprunner.Client, a policy.AppRunnerService, env *policy.Environment) (Outcome, error) {
	s, err := appRunnerService(ctx, c, "apprunner-pause", a, env)
	if err != nil {
		return Outcome{}, err
	}
	if s.Status == types.ServiceStatusPaused {
		return Outcome{Detail: fmt.Sprintf("apprunner %s: already paused, left as it is", s.Name)}, nil
	}
	return appRunnerOperation(ctx, c, s, "pause", apprunner.Pause)
}

// AppRunnerResume resumes a paused App Runner service. A service already
// running is left as it is (no call, no Handle). Otherwise as
// AppRunnerRedeploy.
func AppRunnerResume(ctx context.Context, c apprunner.Client, a policy.AppRunnerService, env *policy.Environment) (Outcome, error) {
	s, err := appRunnerService(ctx, c, "apprunner-resume", a, env)
	if err != nil {
		return Outcome{}, err
	}
	if s.Status == types.ServiceStatusRunning {
		return Outcome{Detail: fmt.Sprintf("apprunner %s: already running, left as it is", s.Name)}, nil
	}
	return appRunnerOperation(ctx, c, s, "resume", apprunner.Resume)
}

// appRunnerService resolves and describes the action's service, refusing
// one that failed to be created or was deleted. A service in the middle of
// another operation is a retryable error (apprunner.ErrBusy): App Runner
// would refuse the action until that operation ends.
func appRunnerService(ctx context.Context, c apprunner.Client, action string, a policy.AppRunnerService, env *policy.Environment) (apprunner.Service, error) {
	name, err := appRunnerTarget(action, a.Service, env)
	if err != nil {
		return apprunner.Service{}, err
	}
	s, err := apprunner.Describe(ctx, c, name)
	if err != nil {
		return apprunner.Service{}, fmt.Errorf("%s: %w", action, classify(err))
	}
	switch s.Status {
	case types.ServiceStatusCreateFailed, types.ServiceStatusDeleted, types.ServiceStatusDeleteFailed:
		return apprunner.Service{}, fmt.Errorf("%w: %s: App Runner service %s is %s", ErrRefused, action, s.Name, s.Status)
	case types.ServiceStatusOperationInProgress:
		return apprunner.Service{}, fmt.Errorf("%s: %w: App Runner service %s", action, apprunner.ErrBusy, s.Name)
	}
	return s, nil
}

// appRunnerOperation starts one operation (what names it in the Detail) on
// the service and says which.
func appRunnerOperation(ctx context.Context, c apprunner.Client, s apprunner.Service, what string, start func(context.Context, apprunner.Client, string) (string, error)) (Outcome, error) {
	id, err := start(ctx, c, s.ARN)
	if err != nil {
		return Outcome{}, fmt.Errorf("start %s of App Runner service %s: %w", what, s.Name, classify(err))
	}
	return Outcome{
		Detail: fmt.Sprintf("apprunner %s: %s started, operation %s", s.Name, what, id),
		Handle: id,
	}, nil
}
