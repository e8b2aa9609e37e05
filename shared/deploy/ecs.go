package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/highwayhq/highway/shared/policy"
)

// ecsDeployer registers a revision of the service's task definition that
// runs image@digest in the policy's container, and updates the service to it.
type ecsDeployer struct {
	spec   *policy.ECSDeploy
	client ECSClient
}

// Deploy starts an ECS deployment and returns its id as the Handle. When the
// service's task definition already runs the image, nothing is registered or
// updated: the Handle is the service's PRIMARY deployment, Done when that
// deployment has finished, so a retried promotion does not roll the service
// again.
func (d ecsDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	image, err := imageURI(t)
	if err != nil {
		return Result{}, err
	}
	cluster, service, container := d.spec.Cluster, d.spec.Service, d.spec.Container

	svc, err := d.service(ctx)
	if err != nil {
		return Result{}, err
	}
	current := aws.ToString(svc.TaskDefinition)
	td, err := d.client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(current),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return Result{}, fmt.Errorf("describe task definition %s: %w", current, classify(err))
	}
	if td.TaskDefinition == nil {
		return Result{}, fmt.Errorf("describe task definition %s: no task definition in the answer", current)
	}
	containers := slices.Clone(td.TaskDefinition.ContainerDefinitions)
	i := slices.IndexFunc(containers, func(c ecstypes.ContainerDefinition) bool { return aws.ToString(c.Name) == container })
	if i < 0 {
		var names []string
		for _, c := range containers {
			names = append(names, aws.ToString(c.Name))
		}
		return Result{}, fmt.Errorf("%w: task definition %s of service %s has no container %q (it has %s)",
			ErrRefused, current, service, container, strings.Join(names, ", "))
	}

	if aws.ToString(containers[i].Image) == image {
		dep := primary(svc.Deployments)
		if dep == nil {
			return Result{}, fmt.Errorf("service %s in cluster %s runs %s but has no PRIMARY deployment", service, cluster, image)
		}
		return Result{
			Handle: aws.ToString(dep.Id),
			Done:   settled(dep, svc.Deployments),
			Detail: fmt.Sprintf("service %s in cluster %s already runs %s with task definition %s, deployment %s",
				service, cluster, image, current, aws.ToString(dep.Id)),
		}, nil
	}

	containers[i].Image = aws.String(image)
	reg, err := d.client.RegisterTaskDefinition(ctx, registration(td.TaskDefinition, containers, td.Tags))
	if err != nil {
		return Result{}, fmt.Errorf("register task definition %s: %w", aws.ToString(td.TaskDefinition.Family), classify(err))
	}
	if reg.TaskDefinition == nil || aws.ToString(reg.TaskDefinition.TaskDefinitionArn) == "" {
		return Result{}, fmt.Errorf("register task definition %s: no ARN in the answer", aws.ToString(td.TaskDefinition.Family))
	}
	next := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)

	up, err := d.client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:        aws.String(cluster),
		Service:        aws.String(service),
		TaskDefinition: aws.String(next),
	})
	if err != nil {
		return Result{}, fmt.Errorf("update service %s in cluster %s to %s: %w", service, cluster, next, classify(err))
	}
	var dep *ecstypes.Deployment
	if up.Service != nil {
		dep = primary(up.Service.Deployments)
	}
	if dep == nil || aws.ToString(dep.Id) == "" {
		// The update took; a retry finds the image running and reads the
		// deployment from DescribeServices.
		return Result{}, fmt.Errorf("update service %s in cluster %s to %s: no PRIMARY deployment in the answer", service, cluster, next)
	}
	return Result{
		Handle: aws.ToString(dep.Id),
		Detail: fmt.Sprintf("service %s in cluster %s deploying %s with task definition %s, deployment %s",
			service, cluster, image, next, aws.ToString(dep.Id)),
	}, nil
}

// service describes the policy's service, refusing one that is missing,
// inactive, or deployed by a controller other than ECS's own (CodeDeploy and
// external controllers do not take a task definition from UpdateService).
func (d ecsDeployer) service(ctx context.Context) (ecstypes.Service, error) {
	cluster, service := d.spec.Cluster, d.spec.Service
	out, err := d.client.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
	})
	if err != nil {
		return ecstypes.Service{}, fmt.Errorf("describe service %s in cluster %s: %w", service, cluster, classify(err))
	}
	if len(out.Services) == 0 {
		reason := "not found"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return ecstypes.Service{}, fmt.Errorf("%w: service %s in cluster %s: %s", ErrRefused, service, cluster, reason)
	}
	svc := out.Services[0]
	if status := aws.ToString(svc.Status); status != "ACTIVE" {
		return ecstypes.Service{}, fmt.Errorf("%w: service %s in cluster %s is %s", ErrRefused, service, cluster, status)
	}
	if c := svc.DeploymentController; c != nil && c.Type != "" && c.Type != ecstypes.DeploymentControllerTypeEcs {
		return ecstypes.Service{}, fmt.Errorf("%w: service %s in cluster %s uses the %s deployment controller; only ECS's own takes a task definition from UpdateService",
			ErrRefused, service, cluster, c.Type)
	}
	if aws.ToString(svc.TaskDefinition) == "" {
		return ecstypes.Service{}, fmt.Errorf("%w: service %s in cluster %s has no task definition", ErrRefused, service, cluster)
	}
	return svc, nil
}

// registration copies every registrable field of td into a new revision with
// the given containers. Fields ECS sets itself (ARN, revision, status,
// compatibilities, required attributes, registration times) are left out,
// and so are tags under the reserved aws: prefix.
func registration(td *ecstypes.TaskDefinition, containers []ecstypes.ContainerDefinition, tags []ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
	var own []ecstypes.Tag
	for _, tag := range tags {
		if !strings.HasPrefix(strings.ToLower(aws.ToString(tag.Key)), "aws:") {
			own = append(own, tag)
		}
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family:                        td.Family,
		ContainerDefinitions:          containers,
		Cpu:                           td.Cpu,
		Memory:                        td.Memory,
		EnableFaultInjection:          td.EnableFaultInjection,
		EphemeralStorage:              td.EphemeralStorage,
		ExecutionRoleArn:              td.ExecutionRoleArn,
		TaskRoleArn:                   td.TaskRoleArn,
		IpcMode:                       td.IpcMode,
		PidMode:                       td.PidMode,
		NetworkMode:                   td.NetworkMode,
		PlacementConstraints:          td.PlacementConstraints,
		ProxyConfiguration:            td.ProxyConfiguration,
		RequiresCompatibilities:       td.RequiresCompatibilities,
		RuntimePlatform:               td.RuntimePlatform,
		TrustedExecutionConfiguration: td.TrustedExecutionConfiguration,
		Volumes:                       td.Volumes,
		Tags:                          own,
	}
}

// primary returns the PRIMARY deployment, the one rolling out the service's
// current task definition, or nil.
func primary(deps []ecstypes.Deployment) *ecstypes.Deployment {
	for i := range deps {
		if aws.ToString(deps[i].Status) == "PRIMARY" {
			return &deps[i]
		}
	}
	return nil
}

// settled reports whether the primary deployment has finished: its rollout
// state is COMPLETED or, for services that report no rollout state, it is the
// only deployment left and runs its desired count.
func settled(dep *ecstypes.Deployment, all []ecstypes.Deployment) bool {
	if dep.RolloutState != "" {
		return dep.RolloutState == ecstypes.DeploymentRolloutStateCompleted
	}
	return len(all) == 1 && dep.RunningCount == dep.DesiredCount
}
