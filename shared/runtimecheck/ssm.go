package runtimecheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/policy"
)

// runningSSM reads the parameter the environment's infrastructure takes its
// artifact from. The deploy adapter writes "<repository>@<digest>" for an
// image and the bare digest for any other artifact; both are understood.
func runningSSM(ctx context.Context, spec *policy.SSMDeploy, client SSMClient) (Observed, error) {
	name := spec.Parameter
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return Observed{}, fmt.Errorf("get parameter %s: %w", name, classify(err))
	}
	if out.Parameter == nil {
		return Observed{}, fmt.Errorf("get parameter %s: no parameter in the answer", name)
	}
	raw := aws.ToString(out.Parameter.Value)
	obs := Observed{Target: "ssm " + name, Raw: raw}
	switch {
	case strings.HasPrefix(raw, "sha256:"):
		d, ok := imageref.SHA256(raw)
		if !ok {
			obs.Note = fmt.Sprintf("value %q is not sha256:<64 hex>", raw)
		}
		obs.Digest = d
	case strings.Contains(raw, "@"):
		obs.Digest, obs.Note = imageref.Digest(raw)
	default:
		obs.Note = "value pins no digest (an image by tag, or another reference): what it runs cannot be verified"
	}
	return obs, nil
}
