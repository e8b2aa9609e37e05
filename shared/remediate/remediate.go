// Package remediate carries out the AWS actions of alarm runbooks: force a
// new deployment of an ECS service, scale an ECS service within bounds,
// redeploy, pause or resume an App Runner service, restart or scale a
// Kubernetes Deployment in an EKS cluster, point a Lambda alias back at its
// previous version, and start an SSM Automation document with parameters
// drawn from the alarm.
//
// Each action is one function over a small client interface, called with the
// clients of the environment's account and region. The guards every action
// passes (dry-run, cooldown, rate limit, circuit breaker) are the caller's;
// this package only acts and says what it did.
package remediate

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/awserr"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
)

// ErrRefused marks an action that cannot succeed on retry: its target cannot
// be resolved, there is nothing to roll back to, a parameter template does
// not render, or AWS or the cluster refused the request as made. Errors
// without it are transient (throttling, 5xx after the SDK's retries, a
// service or Deployment busy with another change) and worth a retry.
var ErrRefused = errors.New("remediation refused")

// Alarm is what an action's templates and notes see of the alarm.
type Alarm struct {
	// Name and ARN identify the alarm.
	Name, ARN string
	// Account and Region are where the alarm is.
	Account, Region string
	// State and Reason are the alarm's new state (ALARM) and why it entered it.
	State, Reason string
	// Namespace and Metric are a metric alarm's metric; empty for a
	// composite alarm.
	Namespace, Metric string
	// Dimensions are the metric's dimensions, such as InstanceId.
	Dimensions map[string]string
}

// AlarmName is the alarm's name, under the name the policy documents for
// parameter templates ({{.AlarmName}}).
func (a Alarm) AlarmName() string { return a.Name }

// Outcome says what an action did, in one line, for the ledger and logs.
type Outcome struct {
	// Detail says what was done, for example
	// "ecs prod/checkout: new deployment ecs-svc/123 forced".
	Detail string
	// Handle is an id to follow the action by: an ECS deployment id, an App
	// Runner operation id, the generation a Deployment's restart rolls out,
	// an automation execution id, the alias version rolled back to. Empty if
	// there is none.
	Handle string
}

// ECSClient is the part of the ECS API the ECS actions call.
type ECSClient interface {
	DescribeServices(ctx context.Context, params *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, params *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// LambdaClient is the part of the Lambda API the alias rollback calls.
type LambdaClient interface {
	GetAlias(ctx context.Context, params *lambda.GetAliasInput, optFns ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	ListVersionsByFunction(ctx context.Context, params *lambda.ListVersionsByFunctionInput, optFns ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error)
	UpdateAlias(ctx context.Context, params *lambda.UpdateAliasInput, optFns ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
}

// SSMClient is the part of the SSM API the automation action calls.
type SSMClient interface {
	StartAutomationExecution(ctx context.Context, params *ssm.StartAutomationExecutionInput, optFns ...func(*ssm.Options)) (*ssm.StartAutomationExecutionOutput, error)
}

var (
	_ ECSClient    = (*ecs.Client)(nil)
	_ LambdaClient = (*lambda.Client)(nil)
	_ SSMClient    = (*ssm.Client)(nil)
)

// Clients are the AWS clients of one environment's account and region. Only
// the ones the runbook's actions need must be set.
type Clients struct {
	ECS       ECSClient
	AppRunner apprunner.Client
	// Kube reaches the EKS clusters of the account and region by name.
	Kube   kube.Connector
	Lambda LambdaClient
	SSM    SSMClient
}

// ecsTarget resolves an action's cluster and service, defaulting empty ones
// to the environment's ecs deploy target.
func ecsTarget(action, cluster, service string, env *policy.Environment) (string, string, error) {
	if env != nil && env.Deploy != nil && env.Deploy.ECS != nil {
		cluster, service = cmp.Or(cluster, env.Deploy.ECS.Cluster), cmp.Or(service, env.Deploy.ECS.Service)
	}
	if cluster == "" || service == "" {
		return "", "", unresolved(action, "cluster and service", "ECS", env)
	}
	return cluster, service, nil
}

// lambdaTarget resolves an action's function and alias, defaulting empty
// ones to the environment's lambda deploy target.
func lambdaTarget(action, fn, alias string, env *policy.Environment) (string, string, error) {
	if env != nil && env.Deploy != nil && env.Deploy.Lambda != nil {
		fn, alias = cmp.Or(fn, env.Deploy.Lambda.Function), cmp.Or(alias, env.Deploy.Lambda.Alias)
	}
	if fn == "" || alias == "" {
		return "", "", unresolved(action, "function and alias", "a Lambda alias", env)
	}
	return fn, alias, nil
}

// appRunnerTarget resolves an action's App Runner service (name or ARN),
// defaulting an empty one to the environment's apprunner deploy target.
func appRunnerTarget(action, service string, env *policy.Environment) (string, error) {
	if env != nil && env.Deploy != nil && env.Deploy.AppRunner != nil {
		service = cmp.Or(service, env.Deploy.AppRunner.Service)
	}
	if service == "" {
		return "", unresolved(action, "service", "App Runner", env)
	}
	return service, nil
}

// eksTarget resolves an action's cluster, namespace and Deployment,
// defaulting empty ones to the environment's eks deploy target or gitops
// watch.
func eksTarget(action string, w policy.EKSWorkload, env *policy.Environment) (policy.EKSWorkload, error) {
	if env != nil {
		if d := env.Deploy.EKSTarget(); d != nil {
			w.Cluster, w.Namespace, w.Deployment = cmp.Or(w.Cluster, d.Cluster), cmp.Or(w.Namespace, d.Namespace), cmp.Or(w.Deployment, d.Deployment)
		}
	}
	if w.Cluster == "" || w.Namespace == "" || w.Deployment == "" {
		return policy.EKSWorkload{}, unresolved(action, "cluster, namespace and deployment", "EKS", env)
	}
	return w, nil
}

// unresolved refuses an action whose target is neither named nor the
// environment's deploy target.
func unresolved(action, what, deployedTo string, env *policy.Environment) error {
	if env == nil {
		return fmt.Errorf("%w: %s: name the %s: there is no environment to default them from", ErrRefused, action, what)
	}
	return fmt.Errorf("%w: %s: name the %s: environment %q is not deployed to %s", ErrRefused, action, what, env.Name, deployedTo)
}

// classify marks err with ErrRefused when AWS or a cluster answered in a way
// a retry cannot fix (an AWS refusal code, App Runner's or the kube
// package's refusals, a Kubernetes request forbidden or invalid); other
// errors, App Runner's ErrBusy and kube's ErrConflict among them, pass
// unchanged.
func classify(err error) error {
	if awserr.Refused(err) || errors.Is(err, apprunner.ErrRefused) || kube.Refused(err) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return err
}
