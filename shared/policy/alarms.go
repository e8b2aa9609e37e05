package policy

import "time"

// Alarms configures alarm response: runbooks map CloudWatch alarms to ordered
// actions, and every action passes the same guards (dry-run, cooldown, rate
// limit, circuit breaker).
type Alarms struct {
	// DryRun records what every runbook would do and does nothing.
	DryRun bool `yaml:"dryRun,omitempty" json:"dryRun,omitempty"`
	// MaxActionsPerHour bounds the actions taken in one environment in any
	// hour; default 6.
	MaxActionsPerHour int `yaml:"maxActionsPerHour,omitempty" json:"maxActionsPerHour,omitempty"`
	// Cooldown is how long after an action runs for an alarm the same action
	// is not run again for it; default 15m. A runbook may set its own.
	Cooldown time.Duration `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// Breaker stops acting after repeated failed remediations.
	Breaker Breaker `yaml:"breaker,omitempty" json:"breaker,omitzero"`
	// IncidentWindow is how long after a deployment to an environment an
	// alarm there is blamed on it (the deployment counts as a failed
	// change); default 2h.
	IncidentWindow time.Duration `yaml:"incidentWindow,omitempty" json:"incidentWindow,omitempty"`
	// Runbooks are tried in order; every runbook that matches an alarm runs.
	Runbooks []Runbook `yaml:"runbooks" json:"runbooks" policy:"required"`
}

// Breaker is a circuit breaker on remediations: after Failures failed
// actions in one environment within Window, Highway stops acting there and
// asks for a human.
type Breaker struct {
	// Failures opens the breaker; default 3.
	Failures int `yaml:"failures,omitempty" json:"failures,omitempty"`
	// Window is how far back failures count; default 1h.
	Window time.Duration `yaml:"window,omitempty" json:"window,omitempty"`
}

// Defaults of the alarms section, as its documentation states them.
const (
	DefaultMaxActionsPerHour = 6
	DefaultAlarmCooldown     = 15 * time.Minute
	DefaultBreakerFailures   = 3
	DefaultBreakerWindow     = time.Hour
	DefaultIncidentWindow    = 2 * time.Hour
)

// Runbook maps the alarms it matches, for one app and environment, to
// ordered actions.
type Runbook struct {
	// Name identifies the runbook in the ledger, events and metrics.
	Name string `yaml:"name" json:"name" policy:"required"`
	// App and Env are where the alarm's incident is opened and the actions
	// act.
	App string `yaml:"app" json:"app" policy:"required"`
	Env string `yaml:"env" json:"env" policy:"required"`
	// Match selects the alarms; an alarm must meet every part that is set.
	Match AlarmMatch `yaml:"match" json:"match" policy:"required"`
	// DryRun records what this runbook would do and does nothing.
	DryRun bool `yaml:"dryRun,omitempty" json:"dryRun,omitempty"`
	// Cooldown overrides the section's cooldown for this runbook's actions.
	Cooldown time.Duration `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// Actions run in order; an action that fails stops the ones after it.
	Actions []Action `yaml:"actions" json:"actions" policy:"required"`
}

// AlarmMatch selects alarms by name, tags and metric.
type AlarmMatch struct {
	// Names are alarm name patterns (path.Match syntax: checkout-prod-*);
	// the alarm's name must match one.
	Names []string `yaml:"names,omitempty" json:"names,omitempty"`
	// Tags must all be on the alarm (key: value).
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Metric must be the alarm's metric (a metric alarm's; a composite alarm
	// has none and never matches).
	Metric *MetricMatch `yaml:"metric,omitempty" json:"metric,omitempty"`
}

// MetricMatch selects a metric alarm by its metric.
type MetricMatch struct {
	// Namespace is the metric's namespace, for example AWS/ApplicationELB.
	Namespace string `yaml:"namespace" json:"namespace" policy:"required"`
	// Name is the metric's name; empty matches any metric of the namespace.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Dimensions must all be on the metric; values are path.Match patterns.
	Dimensions map[string]string `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
}

// Action is one step of a runbook; exactly one field is set.
type Action struct {
	// Rollback promotes the previous verified artifact of the runbook's
	// environment, through promotion, and quarantines the current one.
	Rollback *RollbackAction `yaml:"rollback,omitempty" json:"rollback,omitempty"`
	// ECSRedeploy forces a new deployment of an ECS service.
	ECSRedeploy *ECSService `yaml:"ecs-redeploy,omitempty" json:"ecs-redeploy,omitempty"`
	// ECSScale changes an ECS service's desired count, within bounds.
	ECSScale *ECSScaleAction `yaml:"ecs-scale,omitempty" json:"ecs-scale,omitempty"`
	// AppRunnerRedeploy starts a deployment of an App Runner service's
	// current image (StartDeployment).
	AppRunnerRedeploy *AppRunnerService `yaml:"apprunner-redeploy,omitempty" json:"apprunner-redeploy,omitempty"`
	// AppRunnerPause pauses an App Runner service.
	AppRunnerPause *AppRunnerService `yaml:"apprunner-pause,omitempty" json:"apprunner-pause,omitempty"`
	// AppRunnerResume resumes a paused App Runner service.
	AppRunnerResume *AppRunnerService `yaml:"apprunner-resume,omitempty" json:"apprunner-resume,omitempty"`
	// EKSRolloutRestart rolls every pod of a Kubernetes Deployment, as
	// kubectl rollout restart does.
	EKSRolloutRestart *EKSWorkload `yaml:"eks-rollout-restart,omitempty" json:"eks-rollout-restart,omitempty"`
	// EKSScale changes a Kubernetes Deployment's replicas, within bounds.
	EKSScale *EKSScaleAction `yaml:"eks-scale,omitempty" json:"eks-scale,omitempty"`
	// LambdaAliasRollback points a Lambda alias back at its previous version.
	LambdaAliasRollback *LambdaAlias `yaml:"lambda-alias-rollback,omitempty" json:"lambda-alias-rollback,omitempty"`
	// SSMAutomation starts an SSM Automation document.
	SSMAutomation *SSMAutomationAction `yaml:"ssm-automation,omitempty" json:"ssm-automation,omitempty"`
	// Notify tells people: the alarm, the incident, recent deployments to the
	// environment and the actions taken.
	Notify *NotifyAction `yaml:"notify,omitempty" json:"notify,omitempty"`
}

// RollbackAction has no settings: the environment's deploy says how.
type RollbackAction struct{}

// NotifyAction has no settings: it publishes to Highway's topic.
type NotifyAction struct{}

// ECSService names an ECS service; empty fields default to the environment's
// ecs deploy target.
type ECSService struct {
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
}

// ECSScaleAction adds Step (negative: removes) to a service's desired count,
// kept within [Min, Max].
// Cluster and Service default to the environment's ecs deploy target.
type ECSScaleAction struct {
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	Step    int    `yaml:"step" json:"step" policy:"required"`
	Min     int    `yaml:"min,omitempty" json:"min,omitempty"`
	Max     int    `yaml:"max" json:"max" policy:"required"`
}

// AppRunnerService names an App Runner service by ARN or name; empty, the
// environment's apprunner deploy target.
type AppRunnerService struct {
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
}

// EKSWorkload names a Deployment in an EKS cluster; empty fields default to
// the environment's eks deploy target (or its gitops watch).
type EKSWorkload struct {
	Cluster    string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Namespace  string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Deployment string `yaml:"deployment,omitempty" json:"deployment,omitempty"`
}

// EKSScaleAction adds Step (negative: removes) to a Deployment's replicas,
// kept within [Min, Max]. The workload defaults as EKSWorkload's does.
type EKSScaleAction struct {
	Cluster    string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Namespace  string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Deployment string `yaml:"deployment,omitempty" json:"deployment,omitempty"`
	Step       int    `yaml:"step" json:"step" policy:"required"`
	Min        int    `yaml:"min,omitempty" json:"min,omitempty"`
	Max        int    `yaml:"max" json:"max" policy:"required"`
}

// EKSTarget is the Deployment the environment's deploy target changes or
// watches: its eks target, or its gitops watch; nil for other targets.
func (d *Deploy) EKSTarget() *EKSDeploy {
	switch {
	case d == nil:
		return nil
	case d.EKS != nil:
		return d.EKS
	case d.GitOps != nil:
		return d.GitOps.Watch
	}
	return nil
}

// LambdaAlias names a Lambda alias; empty fields default to the
// environment's lambda deploy target.
type LambdaAlias struct {
	Function string `yaml:"function,omitempty" json:"function,omitempty"`
	Alias    string `yaml:"alias,omitempty" json:"alias,omitempty"`
}

// SSMAutomationAction starts Document with Parameters, each value a Go
// text/template over the alarm ({{.AlarmName}}, {{.Dimensions.InstanceId}},
// {{.Account}}, {{.Region}}).
type SSMAutomationAction struct {
	Document   string              `yaml:"document" json:"document" policy:"required"`
	Parameters map[string][]string `yaml:"parameters,omitempty" json:"parameters,omitempty"`
}
