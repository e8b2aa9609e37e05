package runtimecheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/policy"
)

// runningECS reads the image of the policy's container in the task
// definition of the service's PRIMARY deployment: the one the service runs,
// or rolls out, now. service.taskDefinition is not used: the PRIMARY
// deployment is what ECS keeps the tasks on, and it is what a circuit
// breaker's rollback changes.
func runningECS(ctx context.Context, spec *policy.ECSDeploy, client ECSClient) (Observed, error) {
	cluster, service, container := spec.Cluster, spec.Service, spec.Container
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
	})
	if err != nil {
		return Observed{}, fmt.Errorf("describe service %s in cluster %s: %w", service, cluster, classify(err))
	}
	if len(out.Services) == 0 {
		reason := "not found"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return Observed{}, fmt.Errorf("%w: service %s in cluster %s: %s", ErrMissing, service, cluster, reason)
	}
	svc := out.Services[0]
	if status := aws.ToString(svc.Status); status != "ACTIVE" {
		return Observed{}, fmt.Errorf("%w: service %s in cluster %s is %s", ErrMissing, service, cluster, status)
	}
	td := primaryTaskDefinition(svc.Deployments, svc.TaskSets)
	if td == "" {
		return Observed{}, fmt.Errorf("service %s in cluster %s has no PRIMARY deployment", service, cluster)
	}

	def, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		return Observed{}, fmt.Errorf("describe task definition %s: %w", td, classify(err))
	}
	if def.TaskDefinition == nil {
		return Observed{}, fmt.Errorf("describe task definition %s: no task definition in the answer", td)
	}
	target := fmt.Sprintf("ecs %s/%s task definition %s container %s", cluster, service, revision(td), container)
	var names []string
	for _, c := range def.TaskDefinition.ContainerDefinitions {
		if aws.ToString(c.Name) != container {
			names = append(names, aws.ToString(c.Name))
			continue
		}
		raw := aws.ToString(c.Image)
		digest, note := imageref.Digest(raw)
		return Observed{Target: target, Digest: digest, Raw: raw, Note: note}, nil
	}
	return Observed{}, fmt.Errorf("%w: task definition %s of service %s has no container %q (it has %s)",
		ErrMissing, revision(td), service, container, strings.Join(names, ", "))
}

// primaryTaskDefinition is the task definition of the PRIMARY deployment or,
// for a service deployed by CodeDeploy or an external controller, of the
// PRIMARY task set; "" when there is none.
func primaryTaskDefinition(deps []ecstypes.Deployment, sets []ecstypes.TaskSet) string {
	for _, d := range deps {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.TaskDefinition)
		}
	}
	for _, s := range sets {
		if aws.ToString(s.Status) == "PRIMARY" {
			return aws.ToString(s.TaskDefinition)
		}
	}
	return ""
}

// revision shortens a task definition ARN to family:revision.
func revision(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
