package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// ssmDeployer writes the artifact to a String parameter that the
// environment's own infrastructure as code reads.
type ssmDeployer struct {
	spec   *policy.SSMDeploy
	client SSMClient
}

// Deploy overwrites the parameter; the change is complete when AWS accepts it.
func (d ssmDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	value, err := ssmValue(t)
	if err != nil {
		return Result{}, err
	}
	out, err := d.client.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(d.spec.Parameter),
		Value:     aws.String(value),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	})
	if err != nil {
		return Result{}, fmt.Errorf("put parameter %s: %w", d.spec.Parameter, classify(err))
	}
	return Result{
		Done:   true,
		Detail: fmt.Sprintf("parameter %s version %d = %s", d.spec.Parameter, out.Version, value),
	}, nil
}

// ssmValue is what the parameter holds: the pinned image URI
// <repository>@<digest> for an image, which a task or function definition
// can use as it is, and the digest itself ("sha256:<hex>") for an S3
// artifact, whose location the environment's stack derives from it.
func ssmValue(t Target) (string, error) {
	digest, _, err := digestOf(t)
	if err != nil {
		return "", err
	}
	if t.Artifact.Type == ledger.ArtifactImage {
		return imageURI(t)
	}
	return digest, nil
}
