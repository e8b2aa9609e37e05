package remediate

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/highwayhq/highway/shared/policy"
)

// LambdaAliasRollback points the alias at the function's previous version:
// the highest published version below the one the alias points at. Any
// weighted routing to another version is cleared, so the alias goes wholly
// back. The update is conditional on the alias's revision, so an alias moved
// by someone else meanwhile is not overwritten (the error is retryable). The
// Handle is the version rolled back to.
func LambdaAliasRollback(ctx context.Context, c LambdaClient, a policy.LambdaAlias, env *policy.Environment) (Outcome, error) {
	fn, alias, err := lambdaTarget("lambda-alias-rollback", a.Function, a.Alias, env)
	if err != nil {
		return Outcome{}, err
	}
	cur, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String(alias)})
	if err != nil {
		return Outcome{}, fmt.Errorf("get alias %s of function %s: %w", alias, fn, classify(err))
	}
	current := aws.ToString(cur.FunctionVersion)
	n, err := strconv.Atoi(current)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: alias %s of function %s points at %q, not a published version", ErrRefused, alias, fn, current)
	}
	previous, err := previousVersion(ctx, c, fn, n)
	if err != nil {
		return Outcome{}, err
	}
	if previous == "" {
		return Outcome{}, fmt.Errorf("%w: alias %s of function %s points at version %s and no published version precedes it", ErrRefused, alias, fn, current)
	}
	out, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName:    aws.String(fn),
		Name:            aws.String(alias),
		FunctionVersion: aws.String(previous),
		RoutingConfig:   &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
		RevisionId:      cur.RevisionId,
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("point alias %s of function %s at version %s: %w", alias, fn, previous, classify(err))
	}
	if got := aws.ToString(out.FunctionVersion); got != previous {
		return Outcome{}, fmt.Errorf("point alias %s of function %s at version %s: alias points at %q", alias, fn, previous, got)
	}
	return Outcome{
		Detail: fmt.Sprintf("lambda %s:%s: version %s → %s", fn, alias, current, previous),
		Handle: previous,
	}, nil
}

// previousVersion pages through the function's versions and returns the
// highest published one below below, or "" when there is none.
func previousVersion(ctx context.Context, c LambdaClient, fn string, below int) (string, error) {
	best := 0
	in := &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fn)}
	seen := map[string]bool{}
	for {
		out, err := c.ListVersionsByFunction(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list versions of function %s: %w", fn, classify(err))
		}
		for _, v := range out.Versions {
			n, err := strconv.Atoi(aws.ToString(v.Version))
			if err != nil { // $LATEST: not published
				continue
			}
			if n < below && n > best {
				best = n
			}
		}
		next := aws.ToString(out.NextMarker)
		if next == "" {
			break
		}
		if seen[next] {
			return "", fmt.Errorf("list versions of function %s: marker %q repeated", fn, next)
		}
		seen[next] = true
		in.Marker = aws.String(next)
	}
	if best == 0 {
		return "", nil
	}
	return strconv.Itoa(best), nil
}
