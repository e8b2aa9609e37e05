package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/gitops"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/policy"
)

// GitOps commits are signed with this name and address.
const (
	CommitAuthor = "Highway"
	CommitEmail  = "highway@noreply.invalid"
)

// gitOpsDeployer commits image@digest into the file a GitOps controller
// deploys from, on the branch's head, and follows the watched Deployment
// until it runs the digest.
type gitOpsDeployer struct {
	spec    *policy.GitOpsDeploy
	client  gitops.Client
	connect kube.Connector
}

// Deploy commits the image and returns the commit as the Handle; when the
// file already holds it, the Handle is the head that does.
func (d gitOpsDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	digest, _, err := digestOf(t)
	if err != nil {
		return Result{}, err
	}
	if _, err := imageURI(t); err != nil {
		return Result{}, err
	}
	s := d.spec
	res, err := gitops.Commit(ctx, d.client, gitops.Change{
		Repository: s.Repository, Branch: s.Branch, File: s.File, Key: s.Key,
		Image: t.Artifact.Repository, Digest: digest,
		Message: fmt.Sprintf("%s/%s runs %s\n\nPromoted by Highway from the gated commit %s (promotion %s).",
			t.App, t.Env, digest, t.Artifact.Commit, cmp.Or(t.Promotion, "none")),
		Author: CommitAuthor, Email: CommitEmail,
	})
	switch {
	case errors.Is(err, gitops.ErrNoPlace), errors.Is(err, gitops.ErrConflict):
		return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
	case err != nil:
		return Result{}, classify(err)
	}
	verb := "committed"
	if !res.Committed {
		verb = "already held by the head"
	}
	return Result{
		Handle: res.Commit,
		Detail: fmt.Sprintf("%s in %s@%s %s as commit %s; waiting for Deployment %s/%s in cluster %s",
			s.File, s.Repository, s.Branch, verb, res.Commit, s.Watch.Namespace, s.Watch.Deployment, s.Watch.Cluster),
	}, nil
}

// Follow reads the watched Deployment: done once its container runs the
// digest and the rollout of its latest generation completed.
func (d gitOpsDeployer) Follow(ctx context.Context, t Target, _ string) (Progress, error) {
	return rollout(ctx, d.connect, d.spec.Watch, t, 0)
}

// Timeout is the policy's, by default policy.DefaultGitOpsTimeout.
func (d gitOpsDeployer) Timeout() time.Duration {
	return cmp.Or(d.spec.Timeout, policy.DefaultGitOpsTimeout)
}
