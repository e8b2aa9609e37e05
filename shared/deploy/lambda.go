package deploy

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// lambdaDeployer points an alias at the published version whose code is the
// artifact. Nothing is uploaded or published: the version must exist.
type lambdaDeployer struct {
	spec   *policy.LambdaDeploy
	client LambdaClient
}

// Deploy finds the version and moves the alias to it, alone: any weighted
// routing to a second version is cleared, so the environment runs one digest.
func (d lambdaDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	digest, sum, err := digestOf(t)
	if err != nil {
		return Result{}, err
	}
	fn, alias := d.spec.Function, d.spec.Alias
	version, err := d.findVersion(ctx, fn, sum)
	if err != nil {
		return Result{}, err
	}
	if version == "" {
		return Result{}, fmt.Errorf("%w: no published version of function %s has CodeSha256 %s (artifact %s)",
			ErrRefused, fn, codeSha256(t, sum), digest)
	}
	out, err := d.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName:    aws.String(fn),
		Name:            aws.String(alias),
		FunctionVersion: aws.String(version),
		RoutingConfig:   &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
	})
	if err != nil {
		return Result{}, fmt.Errorf("update alias %s of function %s: %w", alias, fn, classify(err))
	}
	if got := aws.ToString(out.FunctionVersion); got != version {
		return Result{}, fmt.Errorf("update alias %s of function %s: alias points at version %q, want %q", alias, fn, got, version)
	}
	return Result{
		Done:   true,
		Detail: fmt.Sprintf("alias %s of function %s points at version %s (%s)", alias, fn, version, digest),
	}, nil
}

// findVersion pages through the function's versions and returns the newest
// published one whose code has SHA-256 sum, or "" when none has.
func (d lambdaDeployer) findVersion(ctx context.Context, fn string, sum []byte) (string, error) {
	var best string
	var bestN int
	in := &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fn)}
	seen := map[string]bool{}
	for {
		out, err := d.client.ListVersionsByFunction(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list versions of function %s: %w", fn, classify(err))
		}
		for _, v := range out.Versions {
			n, err := strconv.Atoi(aws.ToString(v.Version))
			if err != nil { // $LATEST: not published, not immutable
				continue
			}
			if codeMatches(aws.ToString(v.CodeSha256), sum) && n > bestN {
				best, bestN = aws.ToString(v.Version), n
			}
		}
		next := aws.ToString(out.NextMarker)
		if next == "" {
			return best, nil
		}
		if seen[next] {
			return "", fmt.Errorf("list versions of function %s: marker %q repeated", fn, next)
		}
		seen[next] = true
		in.Marker = aws.String(next)
	}
}

// codeSha256 is the CodeSha256 Lambda reports for the target's artifact: the
// hex digest for an image, base64 for a .zip package.
func codeSha256(t Target, sum []byte) string {
	if t.Artifact.Type == ledger.ArtifactImage {
		return hex.EncodeToString(sum)
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// codeMatches reports whether Lambda's CodeSha256 is the SHA-256 sum. Lambda
// reports a .zip package's sum in standard base64, and a container image
// function's image digest in hex; the two forms cannot be confused.
func codeMatches(codeSha256 string, sum []byte) bool {
	return codeSha256 == base64.StdEncoding.EncodeToString(sum) ||
		strings.EqualFold(codeSha256, hex.EncodeToString(sum))
}
