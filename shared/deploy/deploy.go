// Package deploy puts one immutable artifact, by digest, into an environment.
//
// How an environment is deployed is one of seven adapters chosen by the
// policy: an SSM parameter the environment's own infrastructure reads, a
// CodePipeline (V2) started with the digest as a variable, a Lambda alias
// moved to the published version whose code is the artifact, an ECS
// service updated to a task definition revision that runs image@digest, an
// App Runner service whose image identifier becomes image@digest, a
// Kubernetes Deployment in an EKS cluster patched to run it, or a commit of
// it to the file a GitOps controller deploys an EKS cluster from.
// Promotion code calls them all through Deployer, and follows the last three
// through Follower; DryRun prints what they would call, for the local demo.
package deploy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/awserr"
	"github.com/highwayhq/highway/shared/gitops"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// ErrRefused marks a deployment that cannot ever work as asked: a bad policy
// or artifact, or a target that does not fit the artifact (no Lambda version
// with its code, no such ECS container). Retrying does not help; the
// promotion fails with the error as its reason. Errors without it are
// transient and worth a retry.
var ErrRefused = errors.New("deployment refused")

// Target is one artifact to deploy into one environment.
type Target struct {
	// App and Env name the application and the environment.
	App, Env string
	// Artifact is what to deploy; its Header.Digest ("sha256:<hex>") is the
	// identity every adapter deploys by.
	Artifact *ledger.Artifact
	// Promotion identifies the promotion deploying the artifact. It is part of
	// the pipeline's idempotency token, so that retries of one promotion start
	// one execution while a later promotion of the same digest starts anew.
	// Empty, the token depends on App, Env and the digest alone.
	Promotion string
	// Account and Region say where the environment lives. The clients given
	// to For must already act there; DryRun prints them.
	Account, Region string
}

// Result says what a deployment started.
type Result struct {
	// Handle identifies the started deployment so its completion event can be
	// matched: a pipeline execution id or an ECS service deployment id. Empty
	// when the change took effect immediately.
	Handle string
	// Done says the deployment is complete, as confirmed by the adapter (an
	// SSM parameter written, a Lambda alias moved): no completion event comes.
	Done bool
	// Detail says what was done, in one line, for the ledger and the logs.
	Detail string
}

// Deployer deploys an artifact into an environment. Calling it again with
// the same Target is safe.
type Deployer interface {
	// Deploy starts (or completes) the deployment of t. Errors wrapping
	// ErrRefused cannot succeed on retry; other errors can.
	Deploy(ctx context.Context, t Target) (Result, error)
}

// SSMClient is the part of the SSM API the SSM adapter calls.
type SSMClient interface {
	PutParameter(ctx context.Context, params *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// PipelineClient is the part of the CodePipeline API the pipeline adapter calls.
type PipelineClient interface {
	StartPipelineExecution(ctx context.Context, params *codepipeline.StartPipelineExecutionInput, optFns ...func(*codepipeline.Options)) (*codepipeline.StartPipelineExecutionOutput, error)
}

// LambdaClient is the part of the Lambda API the Lambda adapter calls.
type LambdaClient interface {
	ListVersionsByFunction(ctx context.Context, params *lambda.ListVersionsByFunctionInput, optFns ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error)
	UpdateAlias(ctx context.Context, params *lambda.UpdateAliasInput, optFns ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
}

// ECSClient is the part of the ECS API the ECS adapter calls.
type ECSClient interface {
	DescribeServices(ctx context.Context, params *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, params *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, params *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	UpdateService(ctx context.Context, params *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

var (
	_ SSMClient      = (*ssm.Client)(nil)
	_ PipelineClient = (*codepipeline.Client)(nil)
	_ LambdaClient   = (*lambda.Client)(nil)
	_ ECSClient      = (*ecs.Client)(nil)
)

// Clients are the AWS clients of one environment's account and region. Only
// the one the policy's adapter needs must be set.
type Clients struct {
	SSM      SSMClient
	Pipeline PipelineClient
	Lambda   LambdaClient
	ECS      ECSClient
	// AppRunner serves the apprunner adapter.
	AppRunner apprunner.Client
	// CodeCommit serves the gitops adapter's commit.
	CodeCommit gitops.Client
	// Kube reaches the EKS clusters of the eks and gitops adapters.
	Kube kube.Connector
}

// For returns the adapter d names, calling AWS through c. A policy that does
// not name exactly one complete adapter, or a missing client, is refused.
func For(d *policy.Deploy, c Clients) (Deployer, error) {
	if err := check(d); err != nil {
		return nil, err
	}
	switch {
	case d.SSM != nil:
		if c.SSM != nil {
			return ssmDeployer{spec: d.SSM, client: c.SSM}, nil
		}
	case d.Pipeline != nil:
		if c.Pipeline != nil {
			return pipelineDeployer{spec: d.Pipeline, client: c.Pipeline}, nil
		}
	case d.Lambda != nil:
		if c.Lambda != nil {
			return lambdaDeployer{spec: d.Lambda, client: c.Lambda}, nil
		}
	case d.ECS != nil:
		if c.ECS != nil {
			return ecsDeployer{spec: d.ECS, client: c.ECS}, nil
		}
	case d.AppRunner != nil:
		if c.AppRunner != nil {
			return appRunnerDeployer{spec: d.AppRunner, client: c.AppRunner}, nil
		}
	case d.EKS != nil:
		if c.Kube != nil {
			return eksDeployer{spec: d.EKS, connect: c.Kube}, nil
		}
	default:
		if c.CodeCommit != nil && c.Kube != nil {
			return gitOpsDeployer{spec: d.GitOps, client: c.CodeCommit, connect: c.Kube}, nil
		}
	}
	return nil, fmt.Errorf("%w: no client for the %s adapter", ErrRefused, kind(d))
}

// check refuses a policy that does not name exactly one adapter with its
// required fields. The policy package validates the same at load; this keeps
// a hand-built policy from reaching AWS half-filled.
func check(d *policy.Deploy) error {
	if d == nil {
		return fmt.Errorf("%w: no deploy policy", ErrRefused)
	}
	var set []string
	if d.SSM != nil {
		set = append(set, "ssm")
	}
	if d.Pipeline != nil {
		set = append(set, "pipeline")
	}
	if d.Lambda != nil {
		set = append(set, "lambda")
	}
	if d.ECS != nil {
		set = append(set, "ecs")
	}
	if d.AppRunner != nil {
		set = append(set, "apprunner")
	}
	if d.EKS != nil {
		set = append(set, "eks")
	}
	if d.GitOps != nil {
		set = append(set, "gitops")
	}
	if len(set) != 1 {
		return fmt.Errorf("%w: deploy policy must set exactly one of ssm, pipeline, lambda, ecs, apprunner, eks, gitops; it sets %d %v", ErrRefused, len(set), set)
	}
	var empty []string
	need := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			empty = append(empty, set[0]+"."+field)
		}
	}
	switch {
	case d.SSM != nil:
		need("parameter", d.SSM.Parameter)
	case d.Pipeline != nil:
		need("name", d.Pipeline.Name)
	case d.Lambda != nil:
		need("function", d.Lambda.Function)
		need("alias", d.Lambda.Alias)
	case d.ECS != nil:
		need("cluster", d.ECS.Cluster)
		need("service", d.ECS.Service)
		need("container", d.ECS.Container)
	case d.AppRunner != nil:
		need("service", d.AppRunner.Service)
	case d.EKS != nil:
		needEKS(need, "", d.EKS)
	default:
		need("repository", d.GitOps.Repository)
		need("branch", d.GitOps.Branch)
		need("file", d.GitOps.File)
		if d.GitOps.Watch == nil {
			empty = append(empty, "gitops.watch")
		} else {
			needEKS(need, "watch.", d.GitOps.Watch)
		}
	}
	if len(empty) > 0 {
		return fmt.Errorf("%w: deploy policy lacks %s", ErrRefused, strings.Join(empty, ", "))
	}
	return nil
}

// needEKS asks need for each field of a Deployment's place.
func needEKS(need func(field, v string), prefix string, e *policy.EKSDeploy) {
	need(prefix+"cluster", e.Cluster)
	need(prefix+"namespace", e.Namespace)
	need(prefix+"deployment", e.Deployment)
	need(prefix+"container", e.Container)
}

// kind names the adapter d selects; d must have passed check.
func kind(d *policy.Deploy) string {
	switch {
	case d.SSM != nil:
		return "ssm"
	case d.Pipeline != nil:
		return "pipeline"
	case d.Lambda != nil:
		return "lambda"
	case d.ECS != nil:
		return "ecs"
	case d.AppRunner != nil:
		return "apprunner"
	case d.EKS != nil:
		return "eks"
	}
	return "gitops"
}

// digestOf returns the target artifact's digest and its SHA-256 bytes. It
// refuses a missing or quarantined artifact and a digest that is not
// "sha256:" followed by 64 lowercase hex digits.
func digestOf(t Target) (string, []byte, error) {
	if a := t.Artifact; a != nil && a.Quarantined {
		return "", nil, fmt.Errorf("%w: artifact %s is quarantined", ErrRefused, a.Digest)
	}
	return deployedDigest(t)
}

// deployedDigest is digestOf for a deployment already started: following
// one only observes it, so an artifact quarantined since (a failure
// elsewhere) is followed to its end all the same, and what it ends running
// is recorded.
func deployedDigest(t Target) (string, []byte, error) {
	a := t.Artifact
	if a == nil {
		return "", nil, fmt.Errorf("%w: no artifact to deploy to %s/%s", ErrRefused, t.App, t.Env)
	}
	h, ok := strings.CutPrefix(a.Digest, "sha256:")
	sum, err := hex.DecodeString(h)
	if !ok || err != nil || len(sum) != 32 || h != strings.ToLower(h) {
		return "", nil, fmt.Errorf("%w: artifact digest %q is not sha256:<64 lowercase hex>", ErrRefused, a.Digest)
	}
	return a.Digest, sum, nil
}

// imageURI is the pinned reference of an image artifact, <repository>@<digest>.
// Other artifacts, and quarantined ones, are refused.
func imageURI(t Target) (string, error) {
	if _, _, err := digestOf(t); err != nil {
		return "", err
	}
	return deployedImage(t)
}

// deployedImage is imageURI for a deployment already started (see
// deployedDigest).
func deployedImage(t Target) (string, error) {
	digest, _, err := deployedDigest(t)
	if err != nil {
		return "", err
	}
	a := t.Artifact
	if a.Type != ledger.ArtifactImage || a.Repository == "" {
		return "", fmt.Errorf("%w: artifact %s is not an image with a repository (type %q)", ErrRefused, digest, a.Type)
	}
	if strings.Contains(a.Repository, "@") {
		return "", fmt.Errorf("%w: artifact repository %q already holds a digest", ErrRefused, a.Repository)
	}
	return a.Repository + "@" + digest, nil
}

// classify marks err with ErrRefused when AWS answered with a code that a
// retry cannot fix; other errors pass unchanged.
func classify(err error) error {
	if awserr.Refused(err) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return err
}
