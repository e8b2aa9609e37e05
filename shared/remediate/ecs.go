package remediate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/highwayhq/highway/shared/policy"
)

// ECSRedeploy forces a new deployment of the service, which replaces its
// tasks with fresh ones of the same task definition. The Handle is the new
// PRIMARY deployment's id, or empty if the answer names none.
func ECSRedeploy(ctx context.Context, c ECSClient, a policy.ECSService, env *policy.Environment) (Outcome, error) {
	cluster, service, err := ecsTarget("ecs-redeploy", a.Cluster, a.Service, env)
	if err != nil {
		return Outcome{}, err
	}
	out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:            aws.String(cluster),
		Service:            aws.String(service),
		ForceNewDeployment: true,
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("force new deployment of ecs %s/%s: %w", cluster, service, classify(err))
	}
	var id string
	if out.Service != nil {
		for _, d := range out.Service.Deployments {
			if aws.ToString(d.Status) == "PRIMARY" {
				id = aws.ToString(d.Id)
			}
		}
	}
	if id == "" {
		// The deployment was forced; only its id is unknown. Failing would
		// make a retry force another one.
		return Outcome{Detail: fmt.Sprintf("ecs %s/%s: new deployment forced (no PRIMARY deployment in the answer)", cluster, service)}, nil
	}
	return Outcome{
		Detail: fmt.Sprintf("ecs %s/%s: new deployment %s forced", cluster, service, id),
		Handle: id,
	}, nil
}

// ECSScale adds a.Step to the service's desired count, kept within
// [a.Min, a.Max]. A service already at the bound Step moves towards, or
// beyond it, is left as it is: the action never moves against its Step.
func ECSScale(ctx context.Context, c ECSClient, a policy.ECSScaleAction, env *policy.Environment) (Outcome, error) {
	cluster, service, err := ecsTarget("ecs-scale", a.Cluster, a.Service, env)
	if err != nil {
		return Outcome{}, err
	}
	if a.Min < 0 || a.Min > a.Max {
		return Outcome{}, fmt.Errorf("%w: ecs-scale of %s/%s: bounds %d..%d are not 0 ≤ min ≤ max", ErrRefused, cluster, service, a.Min, a.Max)
	}
	svc, err := describe(ctx, c, cluster, service)
	if err != nil {
		return Outcome{}, err
	}
	current := int(svc.DesiredCount)
	next := scaled(current, a.Step, a.Min, a.Max)
	if next == current {
		return Outcome{Detail: fmt.Sprintf("ecs %s/%s: desired count %d left as it is, at its bound (bounds %d..%d)",
			cluster, service, current, a.Min, a.Max)}, nil
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:      aws.String(cluster),
		Service:      aws.String(service),
		DesiredCount: aws.Int32(int32(next)),
	}); err != nil {
		return Outcome{}, fmt.Errorf("set desired count of ecs %s/%s to %d: %w", cluster, service, next, classify(err))
	}
	return Outcome{Detail: fmt.Sprintf("ecs %s/%s: desired count %d → %d (bounds %d..%d)",
		cluster, service, current, next, a.Min, a.Max)}, nil
}

// scaled is current+step clamped to [lo, hi], or current when the clamp
// would move it against step.
func scaled(current, step, lo, hi int) int {
	next := min(max(current+step, lo), hi)
	if (step > 0 && next < current) || (step < 0 && next > current) {
		return current
	}
	return next
}

// describe returns the service, refusing one that is missing or not ACTIVE.
func describe(ctx context.Context, c ECSClient, cluster, service string) (ecstypes.Service, error) {
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
	})
	if err != nil {
		return ecstypes.Service{}, fmt.Errorf("describe ecs %s/%s: %w", cluster, service, classify(err))
	}
	if len(out.Services) == 0 {
		reason := "not found"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return ecstypes.Service{}, fmt.Errorf("%w: ecs %s/%s: %s", ErrRefused, cluster, service, reason)
	}
	svc := out.Services[0]
	if status := aws.ToString(svc.Status); status != "ACTIVE" {
		return ecstypes.Service{}, fmt.Errorf("%w: ecs %s/%s is %s", ErrRefused, cluster, service, status)
	}
	return svc, nil
}
