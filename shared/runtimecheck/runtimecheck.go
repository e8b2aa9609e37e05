// Package runtimecheck finds artifact drift: an environment Highway deploys to
// that runs something other than the digest the ledger says was promoted
// there, that is, something that did not pass the gate.
//
// Running reads what an environment's deploy target runs (the version a
// Lambda alias points at, the image of an ECS service's PRIMARY deployment,
// the value of an SSM parameter, the image of an App Runner service, the
// images of an EKS Deployment's pod template, deployed directly or through
// GitOps) and normalises it to "sha256:<hex>". Check compares that with the
// environment's latest successful deployment and files a DriftReport on the
// ledger. Publishing "Artifact Drift" is the caller's.
package runtimecheck

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
)

// Sentinel errors, wrapped with context; test with errors.Is.
var (
	// ErrNoTarget means the environment has nothing to read at runtime: it is
	// deployed by a pipeline, or not by Highway at all. The caller skips it.
	ErrNoTarget = errors.New("runtimecheck: no runtime target")
	// ErrNotPromoted means the ledger holds no successful deployment of the
	// app into the environment, so there is no digest to compare with. No
	// report is filed; the caller skips the environment.
	ErrNotPromoted = errors.New("runtimecheck: nothing promoted")
	// ErrMissing means the target the policy names does not exist: no such
	// function or alias, cluster or service, container, parameter, App Runner
	// service (or one that runs no image), EKS cluster or Deployment. A retry
	// does not help; the environment or the policy needs a look.
	ErrMissing = errors.New("runtimecheck: target missing")
)

// LambdaClient is the part of the Lambda API Running calls for a Lambda target.
type LambdaClient interface {
	GetAlias(ctx context.Context, params *lambda.GetAliasInput, optFns ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	GetFunction(ctx context.Context, params *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
}

// ECSClient is the part of the ECS API Running calls for an ECS target.
type ECSClient interface {
	DescribeServices(ctx context.Context, params *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, params *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// SSMClient is the part of the SSM API Running calls for an SSM target.
type SSMClient interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var (
	_ LambdaClient = (*lambda.Client)(nil)
	_ ECSClient    = (*ecs.Client)(nil)
	_ SSMClient    = (*ssm.Client)(nil)
)

// Clients are the AWS clients of one environment's account and region. Only
// the one its deploy target needs must be set.
type Clients struct {
	Lambda    LambdaClient
	ECS       ECSClient
	SSM       SSMClient
	AppRunner apprunner.Client
	// Kube reaches the EKS cluster of an eks target, or of a gitops
	// target's watch.
	Kube kube.Connector
}

// Observed is what an environment's deploy target runs.
type Observed struct {
	// Target says what was read, for example "lambda checkout-api:live →
	// version 7" or "ssm /checkout/dev/image".
	Target string
	// Digest is what runs as "sha256:<64 lowercase hex>"; empty when Raw
	// names no digest (an image by tag), and Note says why.
	Digest string
	// Raw is the value as read: a CodeSha256, an image reference, a
	// parameter value.
	Raw string
	// Note explains an empty Digest; in what a report shows, it also says
	// why an Unsettled target could not be verified.
	Note string
	// Unsettled, when set, says why what runs may differ from Raw although
	// Raw names a digest: an EKS Deployment some of whose pods may still be
	// of another template. Such a target cannot be shown to run the
	// promoted digest.
	Unsettled string
	// Others run the app beside Target, so each is checked too: the versions
	// a Lambda alias routes a share of invocations to, the other containers
	// of a Deployment that run an image of the app's repository.
	Others []Observed
}

// Running reads what env's deploy target runs; a gitops target is read in
// the Deployment it watches. A pipeline-deployed environment, or one Highway
// does not deploy, fails with ErrNoTarget; a target that does not exist fails
// with ErrMissing.
func Running(ctx context.Context, env *policy.Environment, c Clients) (Observed, error) {
	if env == nil || env.Deploy == nil || env.Deploy.Pipeline != nil {
		return Observed{}, ErrNoTarget
	}
	d := env.Deploy
	switch {
	case d.Lambda != nil:
		if c.Lambda == nil {
			return Observed{}, fmt.Errorf("environment %s: no Lambda client", env.Name)
		}
		return runningLambda(ctx, d.Lambda, c.Lambda)
	case d.ECS != nil:
		if c.ECS == nil {
			return Observed{}, fmt.Errorf("environment %s: no ECS client", env.Name)
		}
		return runningECS(ctx, d.ECS, c.ECS)
	case d.SSM != nil:
		if c.SSM == nil {
			return Observed{}, fmt.Errorf("environment %s: no SSM client", env.Name)
		}
		return runningSSM(ctx, d.SSM, c.SSM)
	case d.AppRunner != nil:
		if c.AppRunner == nil {
			return Observed{}, fmt.Errorf("environment %s: no App Runner client to read service %s", env.Name, d.AppRunner.Service)
		}
		return runningAppRunner(ctx, d.AppRunner, c.AppRunner)
	case d.EKSTarget() != nil:
		if c.Kube == nil {
			return Observed{}, fmt.Errorf("environment %s: no connector to EKS cluster %s", env.Name, d.EKSTarget().Cluster)
		}
		return runningEKS(ctx, d.EKSTarget(), c.Kube)
	}
	return Observed{}, ErrNoTarget
}

// codeDigest returns the digest of a Lambda CodeSha256: the standard base64
// of the SHA-256 of a .zip package, or the hex image digest of a container
// image function.
func codeDigest(codeSha256 string) (digest, note string) {
	if d, ok := imageref.SHA256("sha256:" + codeSha256); ok {
		return d, ""
	}
	sum, err := base64.StdEncoding.DecodeString(codeSha256)
	if err != nil || len(sum) != 32 {
		return "", fmt.Sprintf("CodeSha256 %q is neither base64 nor hex of a SHA-256", codeSha256)
	}
	return "sha256:" + hex.EncodeToString(sum), ""
}

// missingCodes are the AWS error codes that mean the resource read does not
// exist.
var missingCodes = map[string]bool{
	"ResourceNotFoundException": true, // Lambda: no such function, version or alias; EKS: no such cluster
	"ParameterNotFound":         true, // SSM
	"ParameterVersionNotFound":  true, // SSM
	"ClusterNotFoundException":  true, // ECS
	"ServiceNotFoundException":  true, // ECS
}

// classify marks err with ErrMissing when AWS says the resource does not
// exist; other errors pass unchanged.
func classify(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && missingCodes[ae.ErrorCode()] {
		return fmt.Errorf("%w: %w", ErrMissing, err)
	}
	return err
}
