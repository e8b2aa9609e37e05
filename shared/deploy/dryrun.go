package deploy

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/policy"
)

// dryRun prints the AWS calls the policy's adapter would make instead of
// making them.
type dryRun struct {
	spec *policy.Deploy
	w    io.Writer
}

// DryRun returns a Deployer that writes to w, one line per AWS call, what the
// adapter d names would call, with the same parameters, and reports the
// deployment done. Values only AWS knows (a Lambda version, a task definition
// revision) are described in angle brackets. The local demo deploys with it.
//
// For the adapters promotion follows (apprunner, eks, gitops) it returns a
// Follower: Deploy reports the deployment started, and Follow prints the
// read that would find it finished, and reports it so.
func DryRun(d *policy.Deploy, w io.Writer) (Deployer, error) {
	if err := check(d); err != nil {
		return nil, err
	}
	if d.AppRunner != nil || d.EKS != nil || d.GitOps != nil {
		return dryRunFollower{dryRun{spec: d, w: w}}, nil
	}
	return dryRun{spec: d, w: w}, nil
}

// dryRunFollower is the dry run of an adapter promotion follows.
type dryRunFollower struct{ dryRun }

// Deploy prints the calls and reports the deployment started.
func (d dryRunFollower) Deploy(ctx context.Context, t Target) (Result, error) {
	res, err := d.dryRun.Deploy(ctx, t)
	if err != nil {
		return Result{}, err
	}
	return Result{Handle: "dry-run", Detail: res.Detail}, nil
}

// Follow prints the read that finds the deployment finished.
func (d dryRunFollower) Follow(_ context.Context, t Target, _ string) (Progress, error) {
	digest, _, err := deployedDigest(t)
	if err != nil {
		return Progress{}, err
	}
	var line, detail string
	switch s := d.spec; {
	case s.AppRunner != nil:
		line = fmt.Sprintf("apprunner:ListOperations ServiceArn=<the ARN of %s> → the UPDATE_SERVICE operation SUCCEEDED", s.AppRunner.Service)
		detail = "App Runner service " + s.AppRunner.Service + ": operation SUCCEEDED (dry run)"
	default:
		e := s.EKSTarget()
		line = fmt.Sprintf("kubernetes: GET /apis/apps/v1/namespaces/%s/deployments/%s → container %s runs %s, rollout complete", e.Namespace, e.Deployment, e.Container, digest)
		detail = fmt.Sprintf("Deployment %s/%s in cluster %s: rollout complete (dry run)", e.Namespace, e.Deployment, e.Cluster)
	}
	if _, err := fmt.Fprintf(d.w, "%s%s\n", prefixOf(t), line); err != nil {
		return Progress{}, fmt.Errorf("dry run: %w", err)
	}
	return Progress{Done: true, Success: true, Detail: detail}, nil
}

// Timeout is the longest the adapter waits.
func (d dryRunFollower) Timeout() time.Duration {
	if g := d.spec.GitOps; g != nil {
		return cmp.Or(g.Timeout, policy.DefaultGitOpsTimeout)
	}
	return followTimeout
}

// prefixOf names the target's account and region, as each printed call
// starts.
func prefixOf(t Target) string {
	if t.Account == "" && t.Region == "" {
		return ""
	}
	return "[" + strings.Trim(t.Account+"/"+t.Region, "/") + "] "
}

// Deploy prints the calls; it refuses what the real adapter would refuse
// before calling AWS.
func (d dryRun) Deploy(_ context.Context, t Target) (Result, error) {
	calls, err := d.plan(t)
	if err != nil {
		return Result{}, err
	}
	prefix := prefixOf(t)
	for _, c := range calls {
		if _, err := fmt.Fprintf(d.w, "%s%s\n", prefix, c); err != nil {
			return Result{}, fmt.Errorf("dry run: %w", err)
		}
	}
	return Result{
		Done:   true,
		Detail: fmt.Sprintf("dry run of the %s adapter: %d AWS %s printed", kind(d.spec), len(calls), plural(len(calls), "call")),
	}, nil
}

// plan lists the calls the real adapter would make for t.
func (d dryRun) plan(t Target) ([]string, error) {
	digest, sum, err := digestOf(t)
	if err != nil {
		return nil, err
	}
	switch s := d.spec; {
	case s.SSM != nil:
		value, err := ssmValue(t)
		if err != nil {
			return nil, err
		}
		return []string{
			fmt.Sprintf("ssm:PutParameter Name=%s Value=%s Type=String Overwrite=true", s.SSM.Parameter, value),
		}, nil
	case s.Pipeline != nil:
		return []string{
			fmt.Sprintf("codepipeline:StartPipelineExecution Name=%s Variables=%s=%s ClientRequestToken=%s",
				s.Pipeline.Name, variableOf(s.Pipeline), digest, pipelineToken(t, digest)),
		}, nil
	case s.Lambda != nil:
		code := codeSha256(t, sum)
		return []string{
			fmt.Sprintf("lambda:ListVersionsByFunction FunctionName=%s (all pages, looking for CodeSha256=%s)", s.Lambda.Function, code),
			fmt.Sprintf("lambda:UpdateAlias FunctionName=%s Name=%s FunctionVersion=<newest version with CodeSha256=%s> RoutingConfig={}",
				s.Lambda.Function, s.Lambda.Alias, code),
		}, nil
	}
	image, err := imageURI(t)
	if err != nil {
		return nil, err
	}
	switch s := d.spec; {
	case s.AppRunner != nil:
		return []string{
			fmt.Sprintf("apprunner:DescribeService Service=%s (by name: ListServices first)", s.AppRunner.Service),
			fmt.Sprintf("apprunner:UpdateService ServiceArn=<its ARN> SourceConfiguration.ImageRepository.ImageIdentifier=%s (port, variables, access role kept)", image),
			"apprunner:ListOperations ServiceArn=<its ARN> (each minute, until the operation ends)",
		}, nil
	case s.EKS != nil:
		e := s.EKS
		return []string{
			fmt.Sprintf("eks:DescribeCluster Name=%s (endpoint and certificate authority; token: presigned sts:GetCallerIdentity)", e.Cluster),
			fmt.Sprintf("kubernetes: PATCH /apis/apps/v1/namespaces/%s/deployments/%s (strategic merge: container %s image=%s, resourceVersion as read)", e.Namespace, e.Deployment, e.Container, image),
			fmt.Sprintf("kubernetes: GET /apis/apps/v1/namespaces/%s/deployments/%s (each minute, until the rollout completes)", e.Namespace, e.Deployment),
		}, nil
	case s.GitOps != nil:
		g, w := s.GitOps, s.GitOps.Watch
		return []string{
			fmt.Sprintf("codecommit:GetBranch RepositoryName=%s BranchName=%s", g.Repository, g.Branch),
			fmt.Sprintf("codecommit:GetFile RepositoryName=%s CommitSpecifier=<head> FilePath=%s", g.Repository, g.File),
			fmt.Sprintf("codecommit:CreateCommit RepositoryName=%s BranchName=%s ParentCommitId=<head> PutFiles=%s (%s set to %s)", g.Repository, g.Branch, g.File, cmp.Or(g.Key, t.Artifact.Repository), image),
			fmt.Sprintf("eks:DescribeCluster Name=%s, then kubernetes: GET /apis/apps/v1/namespaces/%s/deployments/%s (each minute, until container %s runs %s)", w.Cluster, w.Namespace, w.Deployment, w.Container, digest),
		}, nil
	}
	s := d.spec.ECS
	return []string{
		fmt.Sprintf("ecs:DescribeServices Cluster=%s Services=%s", s.Cluster, s.Service),
		fmt.Sprintf("ecs:DescribeTaskDefinition TaskDefinition=<task definition of service %s> Include=TAGS", s.Service),
		fmt.Sprintf("ecs:RegisterTaskDefinition Family=<its family> ContainerDefinitions=<its containers, %s with Image=%s> (other fields copied)", s.Container, image),
		fmt.Sprintf("ecs:UpdateService Cluster=%s Service=%s TaskDefinition=<the new revision>", s.Cluster, s.Service),
	}, nil
}

// plural is word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
