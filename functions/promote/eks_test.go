package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
)

// eksEnvironment is the example policy's first environment deployed to EKS
// directly.
func eksEnvironment(t *testing.T, p *policy.Policy) (*policy.App, *policy.Environment) {
	t.Helper()
	for i := range p.Apps {
		for j := range p.Apps[i].Environments {
			if env := &p.Apps[i].Environments[j]; env.Deploy != nil && env.Deploy.EKS != nil {
				return &p.Apps[i], env
			}
		}
	}
	t.Fatal("the example policy has no environment deployed to EKS")
	return nil, nil
}

// TestEKSUnderEmulator runs promote as built, under the Lambda Runtime
// Interface Emulator, against the example policy's EKS environment: a
// rollback asked for by an alarm's runbook patches the Deployment's
// container, through the cluster's Kubernetes API (a wire-level fake, its
// endpoint and certificate from EKS DescribeCluster, its token a presigned
// STS call), to the digest that ran before; the scheduled tick then finds
// the rollout complete and finishes the promotion.
func TestEKSUnderEmulator(t *testing.T) {
	d := deployment(t)
	app, env := eksEnvironment(t, d.Policy)
	spec := env.Deploy.EKS
	repo := "222222222222.dkr.ecr.eu-west-1.amazonaws.com/" + app.Name
	const (
		before  = "sha256:3a9f1c7e5b2d8a4c6e0f9b1d3a5c7e2f4b6d8a0c1e3f5a7b9d2c4e6f8a0b1c3d"
		current = "sha256:9b2e4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1b3d5f7a9c0e2b"
	)

	// The cluster runs current, rolled out.
	cluster := kubefake.New(t)
	cluster.Put(kubefake.RolledOut(spec.Namespace, spec.Deployment, spec.Container, repo+"@"+current, 2, 7))
	d.AWS.Route("DescribeCluster", "GET /clusters/{name}")
	d.AWS.On("DescribeCluster", awsfake.JSON(200, fmt.Sprintf(`{"cluster":{"name":%q,"arn":"arn:aws:eks:%s:%s:cluster/%s","endpoint":%q,"status":"ACTIVE","version":"1.31","certificateAuthority":{"data":%q}}}`,
		spec.Cluster, env.Region, env.Account, spec.Cluster, cluster.Config("").Host, base64.StdEncoding.EncodeToString(cluster.CA()))))

	// The ledger says the environment ran before, then current.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)
	at := time.Now().Add(-48 * time.Hour)
	for i, digest := range []string{before, current} {
		commit := strings.Repeat(fmt.Sprint(i+1), 40)
		if err := l.Put(ctx, &ledger.Artifact{Header: ledger.Header{ID: digest, App: app.Name, Commit: commit, Digest: digest, At: at}, Type: ledger.ArtifactImage, Repository: repo}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Hour)
		if err := l.Put(ctx, &ledger.Deployment{Header: ledger.Header{ID: fmt.Sprintf("dep-%d", i), App: app.Name, Env: env.Name, Commit: commit, Digest: digest, At: at},
			Commits: []string{commit}, Status: ledger.DeploymentSuccess, FinishedAt: at.Add(5 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}

	// The incident the rollback answers, open.
	if err := l.Put(ctx, &ledger.Incident{Header: ledger.Header{ID: "inc-eks-1", App: app.Name, Env: env.Name, At: time.Now().Add(-time.Minute)}, Alarm: "payments-5xx"}); err != nil {
		t.Fatal(err)
	}

	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	invoke := func(detailType, source, detail string) promotion.Result {
		t.Helper()
		ev := fmt.Sprintf(`{"version":"0","id":"%d","detail-type":%q,"source":%q,"account":"111111111111","time":%q,"region":"eu-west-1","resources":[],"detail":%s}`,
			time.Now().UnixNano(), detailType, source, time.Now().UTC().Format(time.RFC3339), detail)
		body, err := emu.Invoke(ctx, []byte(ev))
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", detailType, err, emu.Log())
		}
		var got promotion.Result
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: response %s: %v", detailType, body, err)
		}
		return got
	}
	got := invoke("Rollback Requested", "highway", fmt.Sprintf(`{"app":%q,"env":%q,"reason":"alarm payments-5xx","incident":"inc-eks-1"}`, app.Name, env.Name))
	if got.Outcome != "rollback" || got.Digest != before {
		t.Fatalf("rollback: %+v, want a rollback to %s\nlog:\n%s", got, before, emu.Log())
	}
	dep := cluster.Get(spec.Namespace, spec.Deployment)
	if image := dep.Spec.Template.Spec.Containers[0].Image; image != repo+"@"+before || dep.Generation != 8 {
		t.Fatalf("the cluster runs %s at generation %d, want %s@%s at 8", image, dep.Generation, repo, before)
	}
	var auth string
	for _, r := range cluster.Requests() {
		auth = r.Authorization
	}
	if !strings.HasPrefix(auth, "Bearer k8s-aws-v1.") {
		t.Errorf("the cluster was called with %q, want an EKS token", auth)
	}
	if role, want := d.RoleOf(d.AWS.Invocations("DescribeCluster")[0]), d.AccessRole(env.Account); role != want {
		t.Errorf("DescribeCluster through role %q, want the access role of %s", role, want)
	}

	// The controller finishes the rollout; the next tick records it.
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: 8, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	cluster.Put(dep)
	if got := invoke("Scheduled Event", "aws.events", "{}"); got.Outcome != "tick" {
		t.Fatalf("tick: %+v\nlog:\n%s", got, emu.Log())
	}
	deps, err := l.Deployments(ctx, app.Name, env.Name, time.Time{}, time.Now().Add(time.Hour))
	if err != nil || len(deps) != 3 || deps[2].Digest != before || deps[2].Status != ledger.DeploymentSuccess {
		t.Errorf("deployments %+v, %v; want the rollback's success last\nlog:\n%s", deps, err, emu.Log())
	}
}
