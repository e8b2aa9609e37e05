package runtimecheck

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/highwayhq/highway/shared/policy"
)

// runningLambda reads the version the alias points at and that version's
// CodeSha256, and does the same for every version the alias routes a weight
// of invocations to.
func runningLambda(ctx context.Context, spec *policy.LambdaDeploy, client LambdaClient) (Observed, error) {
	fn, alias := spec.Function, spec.Alias
	out, err := client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String(alias)})
	if err != nil {
		return Observed{}, fmt.Errorf("get alias %s of function %s: %w", alias, fn, classify(err))
	}
	version := aws.ToString(out.FunctionVersion)
	if version == "" {
		return Observed{}, fmt.Errorf("get alias %s of function %s: no version in the answer", alias, fn)
	}
	obs, err := lambdaVersion(ctx, client, fn, version)
	if err != nil {
		return Observed{}, err
	}
	obs.Target = fmt.Sprintf("lambda %s:%s → version %s", fn, alias, version)
	if rc := out.RoutingConfig; rc != nil {
		for _, v := range slices.Sorted(maps.Keys(rc.AdditionalVersionWeights)) {
			w, err := lambdaVersion(ctx, client, fn, v)
			if err != nil {
				return Observed{}, err
			}
			w.Target = fmt.Sprintf("lambda %s:%s → version %s (weight %s)", fn, alias, v,
				strconv.FormatFloat(rc.AdditionalVersionWeights[v], 'f', -1, 64))
			obs.Others = append(obs.Others, w)
		}
	}
	return obs, nil
}

// lambdaVersion reads one version's CodeSha256.
func lambdaVersion(ctx context.Context, client LambdaClient, fn, version string) (Observed, error) {
	out, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn), Qualifier: aws.String(version)})
	if err != nil {
		return Observed{}, fmt.Errorf("get function %s version %s: %w", fn, version, classify(err))
	}
	if out.Configuration == nil || aws.ToString(out.Configuration.CodeSha256) == "" {
		return Observed{}, fmt.Errorf("get function %s version %s: no CodeSha256 in the answer", fn, version)
	}
	raw := aws.ToString(out.Configuration.CodeSha256)
	digest, note := codeDigest(raw)
	return Observed{Digest: digest, Raw: raw, Note: note}, nil
}
