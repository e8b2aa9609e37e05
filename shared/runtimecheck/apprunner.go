package runtimecheck

import (
	"context"
	"errors"
	"fmt"

	"github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/policy"
)

// runningAppRunner reads the image identifier of the App Runner service the
// policy names, by name or ARN. A service that does not exist, or deploys
// from a code repository rather than an image, is ErrMissing.
func runningAppRunner(ctx context.Context, spec *policy.AppRunnerDeploy, client apprunner.Client) (Observed, error) {
	s, err := apprunner.Describe(ctx, client, spec.Service)
	if errors.Is(err, apprunner.ErrRefused) {
		return Observed{}, fmt.Errorf("%w: %w", ErrMissing, err)
	}
	if err != nil {
		return Observed{}, err
	}
	obs := Observed{Target: "apprunner " + s.Name, Digest: s.Digest, Raw: s.Image}
	if obs.Digest == "" {
		_, obs.Note = imageref.Digest(s.Image)
	}
	return obs, nil
}
