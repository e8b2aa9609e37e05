package policy

import (
	"fmt"
	"net/mail"
	"path"
	"strings"
	"time"
)

// Bounds of the approval workflow's timings: Step Functions waits at most a
// year for a task token.
const (
	DefaultApprovalTimeout = 24 * time.Hour
	maxApprovalTimeout     = 365 * 24 * time.Hour
)

var (
	ssmParameterPattern = lazy(`^/?[A-Za-z0-9_.\-/]+$`)
	lambdaNamePattern   = lazyLength(`^[A-Za-z0-9_-]+$`, 1, 64)
	aliasPattern        = lazyLength(`^[A-Za-z][A-Za-z0-9_-]*$`, 1, 128)
	ecsNamePattern      = lazyLength(`^[A-Za-z0-9][A-Za-z0-9_-]*$`, 1, 255)
	// App Runner's ServiceName, and a service ARN (its id is 32 hex digits).
	appRunnerNamePattern = lazy(`^[A-Za-z0-9][A-Za-z0-9_-]{3,39}$`)
	appRunnerARNPattern  = lazy(`^arn:aws[a-z-]*:apprunner:([a-z0-9-]+):([0-9]{12}):service/([A-Za-z0-9][A-Za-z0-9_-]{3,39})/[0-9a-f]{32}$`)
	eksClusterPattern    = lazyLength(`^[0-9A-Za-z][A-Za-z0-9_-]*$`, 1, 100)
	// Kubernetes names: a namespace and a container are DNS-1123 labels, a
	// Deployment a DNS-1123 subdomain.
	dnsLabelPattern       = lazyLength(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, 1, 63)
	dnsSubdomainPattern   = lazyLength(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, 1, 253)
	codecommitRepoPattern = lazyLength(`^[A-Za-z0-9_.-]+$`, 1, 100)
	// A branch as git check-ref-format allows it, in the plain characters
	// Highway accepts.
	branchPattern    = lazyLength(`^[A-Za-z0-9_][A-Za-z0-9_./-]*$`, 1, 256)
	repoPathPattern  = lazyLength(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`, 1, 1024)
	valuesKeyPattern = lazyLength(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`, 1, 256)
	imageNamePattern = lazyLength(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$|^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$`, 1, 256)
)

// maxGitOpsTimeout is the longest a GitOps deployment may wait for its
// cluster: well inside the environment's lock (2h), so the deployment is
// ended as late, on a tick, before the lock could be taken by another.
const maxGitOpsTimeout = 110 * time.Minute

// IsKustomization says whether a file is a kustomization, by its name, as
// kustomize finds one in a directory; any other file is a Helm values file.
func IsKustomization(file string) bool {
	switch path.Base(file) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// checkPromotion checks each environment's approval, soak and deploy settings,
// and that no two environments deploy to one App Runner service, Kubernetes
// Deployment or GitOps file: promotion into one would change the other
// without its approval or soak.
func checkPromotion(c *checker, p *Policy) {
	targets := map[string]string{} // target → the deploy path that has it first
	type shared struct {
		at        string
		defaulted bool
	}
	files := map[string]shared{} // GitOps file → the first environment deploying through it
	for i, app := range p.Apps {
		for j, env := range app.Environments {
			path := fmt.Sprintf("apps[%d].environments[%d]", i, j)
			checkDuration(c, path+".soak", env.Soak)
			if env.Approval != nil {
				checkApproval(c, path+".approval", env.Approval)
			}
			if env.Deploy != nil {
				checkDeploy(c, path+".deploy", env.Deploy, &app.Environments[j])
				if g := env.Deploy.GitOps; g != nil {
					// The default key is the artifact's repository, known only
					// when it deploys: a file shared by environments needs each
					// to name its own key.
					f := fmt.Sprintf("GitOps file %s in %s@%s in %s/%s", g.File, g.Repository, g.Branch, env.Account, env.Region)
					if first, ok := files[f]; !ok {
						files[f] = shared{path + ".deploy.gitops", g.Key == ""}
					} else if first.defaulted || g.Key == "" {
						c.errorf(path+".deploy.gitops.key", "%s is deployed to by %s already: environments sharing a file must each name their own key", f, first.at)
					}
				}
				for at, target := range sharedTargets(path+".deploy", env.Deploy, &env) {
					if first, ok := targets[target]; ok {
						c.errorf(at, "%s is deployed to by %s already: each environment needs its own, or promotion into one changes the other without its approval and soak", target, first)
						continue
					}
					targets[target] = at
				}
			}
		}
	}
}

// sharedTargets names, by their policy path, the targets of d that no other
// environment may have: an App Runner service, a Kubernetes Deployment
// (deployed or watched), a GitOps file's image entry named by its key.
func sharedTargets(at string, d *Deploy, env *Environment) map[string]string {
	out := map[string]string{}
	where := env.Account + "/" + env.Region
	if s := d.AppRunner; s != nil {
		name := s.Service
		if m := appRunnerARNPattern.FindStringSubmatch(name); m != nil {
			name = m[3]
		}
		out[at+".apprunner.service"] = fmt.Sprintf("App Runner service %s in %s", name, where)
	}
	if e := d.EKSTarget(); e != nil {
		key := at + ".eks"
		if d.GitOps != nil {
			key = at + ".gitops.watch"
		}
		out[key] = fmt.Sprintf("Deployment %s/%s of cluster %s in %s", e.Namespace, e.Deployment, e.Cluster, where)
	}
	if g := d.GitOps; g != nil && g.Key != "" {
		out[at+".gitops.key"] = fmt.Sprintf("image %s of %s in %s@%s in %s", g.Key, g.File, g.Repository, g.Branch, where)
	}
	return out
}

func checkApproval(c *checker, path string, a *Approval) {
	if len(a.Approvers) == 0 {
		c.errorf(path+".approvers", "an approval needs at least one approver")
	}
	seen := map[string]bool{}
	for i, who := range a.Approvers {
		p := fmt.Sprintf("%s.approvers[%d]", path, i)
		addr, err := mail.ParseAddress(who)
		switch {
		case err != nil || addr.Address != who:
			c.errorf(p, "approver %q is not a bare e-mail address", who)
		case seen[who]:
			c.errorf(p, "duplicate approver %q", who)
		}
		seen[who] = true
	}
	if a.Quorum < 0 || a.Quorum > len(a.Approvers) {
		c.errorf(path+".quorum", "quorum %d must be between 1 and the %d approvers", a.Quorum, len(a.Approvers))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", a.Timeout}, {"heartbeat", a.Heartbeat}} {
		if d.v != 0 && (d.v < time.Minute || d.v > maxApprovalTimeout) {
			c.errorf(path+"."+d.key, "%s %s must be between 1m and 8760h (Step Functions waits at most a year)", d.key, d.v)
		}
	}
	timeout := a.Timeout
	if timeout == 0 {
		timeout = DefaultApprovalTimeout
	}
	if a.Heartbeat > timeout {
		c.errorf(path+".heartbeat", "heartbeat %s is longer than the timeout %s", a.Heartbeat, timeout)
	}
}

func checkDeploy(c *checker, path string, d *Deploy, env *Environment) {
	set := 0
	if s := d.SSM; s != nil {
		set++
		if !ssmParameterPattern.MatchString(s.Parameter) || len(s.Parameter) > 2048 {
			c.errorf(path+".ssm.parameter", "%q is not an SSM parameter name", s.Parameter)
		}
	}
	if s := d.Pipeline; s != nil {
		set++
		checkNames(c, path+".pipeline.name", []string{s.Name}, pipelineNames)
		if s.Variable != "" && !aliasPattern.MatchString(s.Variable) {
			c.errorf(path+".pipeline.variable", "%q is not a pipeline variable name", s.Variable)
		}
	}
	if s := d.Lambda; s != nil {
		set++
		if !lambdaNamePattern.MatchString(s.Function) {
			c.errorf(path+".lambda.function", "%q is not a Lambda function name", s.Function)
		}
		if !aliasPattern.MatchString(s.Alias) {
			c.errorf(path+".lambda.alias", "%q is not a Lambda alias name", s.Alias)
		}
	}
	if s := d.ECS; s != nil {
		set++
		for key, v := range map[string]string{"cluster": s.Cluster, "service": s.Service, "container": s.Container} {
			if !ecsNamePattern.MatchString(v) {
				c.errorf(path+".ecs."+key, "%q is not an ECS %s name", v, key)
			}
		}
	}
	if s := d.AppRunner; s != nil {
		set++
		checkAppRunnerService(c, path+".apprunner.service", s.Service, env)
	}
	if s := d.EKS; s != nil {
		set++
		checkEKS(c, path+".eks", s)
	}
	if s := d.GitOps; s != nil {
		set++
		checkGitOps(c, path+".gitops", s)
	}
	if set != 1 {
		c.errorf(path, "deploy must say exactly one of ssm, pipeline, lambda, ecs, apprunner, eks or gitops (it says %d)", set)
	}
}

// checkAppRunnerService checks a service named by name, or by an ARN that
// must be in the environment's own account and region: Highway acts there
// with that account's role, and a service elsewhere is not the
// environment's.
func checkAppRunnerService(c *checker, at, service string, env *Environment) {
	if strings.HasPrefix(service, "arn:") {
		m := appRunnerARNPattern.FindStringSubmatch(service)
		switch {
		case m == nil:
			c.errorf(at, "%q is not an App Runner service ARN (arn:aws:apprunner:<region>:<account>:service/<name>/<32 hex id>)", service)
		case env != nil && (m[1] != env.Region || m[2] != env.Account):
			c.errorf(at, "service %q is in %s %s, not in the environment's account %s and region %s", service, m[2], m[1], env.Account, env.Region)
		}
		return
	}
	if !appRunnerNamePattern.MatchString(service) {
		c.errorf(at, "%q is not an App Runner service name (4 to 40 letters, digits, '-' and '_') or ARN", service)
	}
}

// checkEKS checks a Deployment's place in a cluster.
func checkEKS(c *checker, at string, s *EKSDeploy) {
	checkKubeNames(c, at, true, s.Cluster, s.Namespace, s.Deployment, s.Container)
}

// checkKubeNames checks the names of a Deployment's place: all of them when
// required, else those set.
func checkKubeNames(c *checker, at string, required bool, cluster, namespace, deployment, container string) {
	for _, n := range []struct {
		key, v, what string
		p            *pattern
	}{
		{"cluster", cluster, "an EKS cluster name", eksClusterPattern},
		{"namespace", namespace, "a Kubernetes namespace (a DNS-1123 label: lowercase letters, digits and '-', at most 63)", dnsLabelPattern},
		{"deployment", deployment, "a Kubernetes Deployment name (a DNS-1123 subdomain)", dnsSubdomainPattern},
		{"container", container, "a Kubernetes container name (a DNS-1123 label)", dnsLabelPattern},
	} {
		if (required || n.v != "") && !n.p.MatchString(n.v) {
			c.errorf(at+"."+n.key, "%q is not %s", n.v, n.what)
		}
	}
}

// checkGitOps checks where a GitOps commit goes and what it waits for.
func checkGitOps(c *checker, at string, s *GitOpsDeploy) {
	if !codecommitRepoPattern.MatchString(s.Repository) || strings.HasSuffix(s.Repository, ".git") {
		c.errorf(at+".repository", "%q is not a CodeCommit repository name", s.Repository)
	}
	if !branchPattern.MatchString(s.Branch) || strings.Contains(s.Branch, "..") || strings.Contains(s.Branch, "//") ||
		strings.HasSuffix(s.Branch, "/") || strings.HasSuffix(s.Branch, ".lock") || strings.HasSuffix(s.Branch, ".") {
		c.errorf(at+".branch", "%q is not a branch name", s.Branch)
	}
	validFile := repoPathPattern.MatchString(s.File)
	for seg := range strings.SplitSeq(s.File, "/") {
		validFile = validFile && seg != "." && seg != ".." && seg != ".git"
	}
	if !validFile {
		c.errorf(at+".file", "%q is not a path inside the repository (relative, without '.', '..' or .git)", s.File)
	}
	last := s.Key[strings.LastIndex(s.Key, ".")+1:]
	switch {
	case IsKustomization(s.File):
		name := s.Key[strings.LastIndex(s.Key, "/")+1:]
		switch {
		case strings.Contains(name, "@") || strings.Contains(name, ":"):
			c.errorf(at+".key", "%q names a tag or digest: the key is the image's name alone, Highway writes the digest", s.Key)
		case s.Key != "" && !imageNamePattern.MatchString(s.Key):
			c.errorf(at+".key", "%q is not an image name a kustomization's images entry matches", s.Key)
		}
	case s.Key == "":
		c.errorf(at+".key", "a Helm values file needs the key that holds the image (for example image.digest); %q is not a kustomization", s.File)
	case !valuesKeyPattern.MatchString(s.Key):
		c.errorf(at+".key", "%q is not a dotted values key (for example image.digest)", s.Key)
	case strings.EqualFold(last, "tag"):
		c.errorf(at+".key", "%q is a tag: Highway deploys by digest; name the key that holds the digest (image.digest) or the whole image reference (image.ref)", s.Key)
	}
	if s.Watch != nil {
		checkEKS(c, at+".watch", s.Watch)
	}
	if s.Timeout != 0 && (s.Timeout < time.Minute || s.Timeout > maxGitOpsTimeout) {
		c.errorf(at+".timeout", "timeout %s must be between 1m and 1h50m (the environment's lock lasts 2h)", s.Timeout)
	}
}
