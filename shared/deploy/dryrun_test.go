package deploy_test

import (
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/policy"
)

// The dry run of an adapter promotion follows reports the deployment
// started, not done, and its Follow prints the read that finds it finished.
func TestDryRunOfAFollowedAdapter(t *testing.T) {
	for name, d := range map[string]*policy.Deploy{
		"apprunner": {AppRunner: &policy.AppRunnerDeploy{Service: "storefront-staging"}},
		"eks":       {EKS: eksSpec},
		"gitops":    {GitOps: &policy.GitOpsDeploy{Repository: "platform-config", Branch: "main", File: "kustomization.yaml", Watch: eksSpec}},
	} {
		var out strings.Builder
		dr, err := deploy.DryRun(d, &out)
		if err != nil {
			t.Fatal(err)
		}
		res, err := dr.Deploy(t.Context(), target(imageArtifact()))
		if err != nil || res.Done || res.Handle == "" {
			t.Fatalf("%s: %+v, %v; want started", name, res, err)
		}
		printed := strings.Count(out.String(), "\n")
		f, ok := dr.(deploy.Follower)
		if !ok {
			t.Fatalf("%s: the dry run is not a Follower", name)
		}
		p, err := f.Follow(t.Context(), target(imageArtifact()), res.Handle)
		if err != nil || !p.Done || !p.Success || strings.Count(out.String(), "\n") != printed+1 {
			t.Errorf("%s: %+v, %v; printed:\n%s", name, p, err, out.String())
		}
		if !strings.HasPrefix(out.String(), "[123456789012/us-east-1] ") || !strings.Contains(out.String(), imageDigest) {
			t.Errorf("%s printed:\n%s", name, out.String())
		}
	}
}
