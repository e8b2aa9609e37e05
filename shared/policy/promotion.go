package policy

import "time"

// Approval configures the people who must approve a promotion.
type Approval struct {
	// Approvers are the people who may decide (e-mail addresses); each gets
	// their own signed links. At least one.
	Approvers []string `yaml:"approvers" json:"approvers" policy:"required"`
	// Quorum is how many approvals promote; default 1. One rejection rejects.
	Quorum int `yaml:"quorum,omitempty" json:"quorum,omitempty"`
	// Timeout ends an unanswered request as expired; default 24h.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Heartbeat, when set, is the Step Functions heartbeat of the waiting task.
	Heartbeat time.Duration `yaml:"heartbeat,omitempty" json:"heartbeat,omitempty"`
}

// Deploy says how an artifact is deployed to an environment; exactly one of its
// fields is set. The artifact's digest is the same everywhere: nothing is rebuilt.
type Deploy struct {
	// SSM writes the digest (or image URI) to a parameter the environment's own
	// infrastructure as code reads.
	SSM *SSMDeploy `yaml:"ssm,omitempty" json:"ssm,omitempty"`
	// Pipeline starts the environment's CodePipeline (V2) with the digest as a
	// pipeline variable.
	Pipeline *PipelineDeploy `yaml:"pipeline,omitempty" json:"pipeline,omitempty"`
	// Lambda points an alias at the published version whose CodeSha256 is the
	// artifact's.
	Lambda *LambdaDeploy `yaml:"lambda,omitempty" json:"lambda,omitempty"`
	// ECS registers a task definition revision with image@digest and updates the
	// service to it.
	ECS *ECSDeploy `yaml:"ecs,omitempty" json:"ecs,omitempty"`
	// AppRunner points an App Runner service's image at image@digest.
	AppRunner *AppRunnerDeploy `yaml:"apprunner,omitempty" json:"apprunner,omitempty"`
	// EKS patches a Deployment's container image in an EKS cluster through the
	// Kubernetes API.
	EKS *EKSDeploy `yaml:"eks,omitempty" json:"eks,omitempty"`
	// GitOps commits image@digest into the file a GitOps controller (Argo CD,
	// Flux) deploys an EKS cluster from, and waits until the cluster runs it.
	GitOps *GitOpsDeploy `yaml:"gitops,omitempty" json:"gitops,omitempty"`
}

// SSMDeploy writes the artifact to an SSM parameter.
type SSMDeploy struct {
	// Parameter is the parameter's name, for example /checkout/prod/image.
	Parameter string `yaml:"parameter" json:"parameter" policy:"required"`
}

// PipelineDeploy starts an environment's pipeline.
type PipelineDeploy struct {
	// Name is the CodePipeline (V2) pipeline.
	Name string `yaml:"name" json:"name" policy:"required"`
	// Variable is the pipeline variable that receives the digest; default
	// ARTIFACT_DIGEST.
	Variable string `yaml:"variable,omitempty" json:"variable,omitempty"`
}

// LambdaDeploy moves a Lambda alias.
type LambdaDeploy struct {
	// Function is the function's name.
	Function string `yaml:"function" json:"function" policy:"required"`
	// Alias is the alias that serves the environment, for example live.
	Alias string `yaml:"alias" json:"alias" policy:"required"`
}

// ECSDeploy updates an ECS service.
type ECSDeploy struct {
	// Cluster is the cluster's name.
	Cluster string `yaml:"cluster" json:"cluster" policy:"required"`
	// Service is the service's name.
	Service string `yaml:"service" json:"service" policy:"required"`
	// Container is the container of the task definition that runs the image.
	Container string `yaml:"container" json:"container" policy:"required"`
}

// AppRunnerDeploy updates an App Runner service.
type AppRunnerDeploy struct {
	// Service is the service's ARN, or its name in the environment's account
	// and region.
	Service string `yaml:"service" json:"service" policy:"required"`
}

// EKSDeploy patches one container of a Kubernetes Deployment in an EKS
// cluster.
type EKSDeploy struct {
	// Cluster is the EKS cluster's name.
	Cluster string `yaml:"cluster" json:"cluster" policy:"required"`
	// Namespace is the Deployment's namespace.
	Namespace string `yaml:"namespace" json:"namespace" policy:"required"`
	// Deployment is the Deployment's name.
	Deployment string `yaml:"deployment" json:"deployment" policy:"required"`
	// Container is the pod template's container that runs the image.
	Container string `yaml:"container" json:"container" policy:"required"`
}

// GitOpsDeploy commits the image into a CodeCommit repository a GitOps
// controller deploys from; Watch says where it runs once rolled out.
type GitOpsDeploy struct {
	// Repository is the CodeCommit repository's name.
	Repository string `yaml:"repository" json:"repository" policy:"required"`
	// Branch is the branch the controller follows.
	Branch string `yaml:"branch" json:"branch" policy:"required"`
	// File is the path, from the repository's root, of a kustomization or a
	// Helm values file.
	File string `yaml:"file" json:"file" policy:"required"`
	// Key is where in File: a kustomization's images entry name (default:
	// the artifact's repository), or a values file's dotted key, required
	// there ("image.digest" takes the digest, any other key image@digest).
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Watch is the Deployment the controller rolls out; the deployment
	// finishes when its container runs the digest and the rollout completes.
	Watch *EKSDeploy `yaml:"watch" json:"watch" policy:"required"`
	// Timeout fails the deployment when the cluster does not run the digest
	// this long after the commit; default 30m, at most 2h.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// DefaultGitOpsTimeout is how long a GitOps deployment may take when the
// policy says nothing.
const DefaultGitOpsTimeout = 30 * time.Minute

// String says in one line where d deploys: its target's kind and names, as
// the dashboards and reports show it.
func (d *Deploy) String() string {
	switch {
	case d == nil:
		return "not deployed by Highway"
	case d.SSM != nil:
		return "SSM parameter " + d.SSM.Parameter
	case d.Pipeline != nil:
		return "pipeline " + d.Pipeline.Name
	case d.Lambda != nil:
		return "Lambda " + d.Lambda.Function + ":" + d.Lambda.Alias
	case d.ECS != nil:
		return "ECS " + d.ECS.Cluster + "/" + d.ECS.Service + " container " + d.ECS.Container
	case d.AppRunner != nil:
		return "App Runner " + d.AppRunner.Service
	case d.EKS != nil:
		return "EKS " + d.EKS.String()
	case d.GitOps != nil:
		g := d.GitOps
		s := "GitOps " + g.Repository + "@" + g.Branch + ":" + g.File
		if g.Watch != nil {
			s += " → EKS " + g.Watch.String()
		}
		return s
	}
	return "no target"
}

// String names the Deployment and container: cluster namespace/deployment
// container c.
func (e *EKSDeploy) String() string {
	return e.Cluster + " " + e.Namespace + "/" + e.Deployment + " container " + e.Container
}
