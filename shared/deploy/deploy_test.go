package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// The digests of the test artifacts: sha256("checkout lambda package") and
// sha256("checkout image manifest"). testdata's CodeSha256 values are the
// same sums in base64 (zip) and hex (image).
const (
	zipDigest   = "sha256:d1f0a99cb7026db6fcf14ae49175a8f289b4d1cde2f84450ed93b3c501435876"
	imageDigest = "sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3"
	repository  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout"
)

func zipArtifact() *ledger.Artifact {
	return &ledger.Artifact{
		Header: ledger.Header{ID: zipDigest, App: "checkout", Digest: zipDigest},
		Type:   ledger.ArtifactS3, Bucket: "highway-artifacts", Key: "checkout/" + zipDigest + ".zip",
	}
}

func imageArtifact() *ledger.Artifact {
	return &ledger.Artifact{
		Header: ledger.Header{ID: imageDigest, App: "checkout", Digest: imageDigest},
		Type:   ledger.ArtifactImage, Repository: repository, Tag: "1.4.2",
	}
}

func target(a *ledger.Artifact) deploy.Target {
	return deploy.Target{App: "checkout", Env: "prod", Artifact: a, Promotion: "p-0001", Account: "123456789012", Region: "us-east-1"}
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recorder stands in for all four clients and records which operations the
// adapter called; every call fails, so an adapter stops at its first call.
type recorder struct{ calls []string }

var errRecorded = errors.New("recorded")

func (r *recorder) PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	r.calls = append(r.calls, "PutParameter")
	return nil, errRecorded
}

func (r *recorder) StartPipelineExecution(context.Context, *codepipeline.StartPipelineExecutionInput, ...func(*codepipeline.Options)) (*codepipeline.StartPipelineExecutionOutput, error) {
	r.calls = append(r.calls, "StartPipelineExecution")
	return nil, errRecorded
}

func (r *recorder) ListVersionsByFunction(context.Context, *lambda.ListVersionsByFunctionInput, ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error) {
	r.calls = append(r.calls, "ListVersionsByFunction")
	return nil, errRecorded
}

func (r *recorder) UpdateAlias(context.Context, *lambda.UpdateAliasInput, ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error) {
	r.calls = append(r.calls, "UpdateAlias")
	return nil, errRecorded
}

func (r *recorder) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	r.calls = append(r.calls, "DescribeServices")
	return nil, errRecorded
}

func (r *recorder) DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	r.calls = append(r.calls, "DescribeTaskDefinition")
	return nil, errRecorded
}

func (r *recorder) RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	r.calls = append(r.calls, "RegisterTaskDefinition")
	return nil, errRecorded
}

func (r *recorder) UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	r.calls = append(r.calls, "UpdateService")
	return nil, errRecorded
}

func (r *recorder) all() deploy.Clients {
	return deploy.Clients{SSM: r, Pipeline: r, Lambda: r, ECS: r}
}

var (
	ssmPolicy      = &policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/image"}}
	pipelinePolicy = &policy.Deploy{Pipeline: &policy.PipelineDeploy{Name: "checkout-prod"}}
	lambdaPolicy   = &policy.Deploy{Lambda: &policy.LambdaDeploy{Function: "checkout", Alias: "live"}}
	ecsPolicy      = &policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "prod", Service: "checkout", Container: "web"}}
)

func TestForCallsTheAdapterThePolicyNames(t *testing.T) {
	tests := []struct {
		name string
		give *policy.Deploy
		want string // the first operation called
	}{
		{"ssm", ssmPolicy, "PutParameter"},
		{"pipeline", pipelinePolicy, "StartPipelineExecution"},
		{"lambda", lambdaPolicy, "ListVersionsByFunction"},
		{"ecs", ecsPolicy, "DescribeServices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			d, err := deploy.For(tt.give, rec.all())
			if err != nil {
				t.Fatalf("For(%s) error = %v", tt.name, err)
			}
			_, err = d.Deploy(context.Background(), target(imageArtifact()))
			if !errors.Is(err, errRecorded) || errors.Is(err, deploy.ErrRefused) {
				t.Errorf("Deploy error = %v, want the client's error, not refused", err)
			}
			if len(rec.calls) != 1 || rec.calls[0] != tt.want {
				t.Errorf("calls = %v, want [%s]", rec.calls, tt.want)
			}
		})
	}
}

func TestForRefusesIncompletePolicyOrMissingClient(t *testing.T) {
	rec := &recorder{}
	tests := []struct {
		name    string
		give    *policy.Deploy
		clients deploy.Clients
	}{
		{"nil policy", nil, rec.all()},
		{"no adapter", &policy.Deploy{}, rec.all()},
		{"two adapters", &policy.Deploy{SSM: ssmPolicy.SSM, ECS: ecsPolicy.ECS}, rec.all()},
		{"ssm without parameter", &policy.Deploy{SSM: &policy.SSMDeploy{}}, rec.all()},
		{"lambda without alias", &policy.Deploy{Lambda: &policy.LambdaDeploy{Function: "checkout"}}, rec.all()},
		{"ecs without container", &policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "prod", Service: "checkout"}}, rec.all()},
		{"ssm without client", ssmPolicy, deploy.Clients{Pipeline: rec, Lambda: rec, ECS: rec}},
		{"pipeline without client", pipelinePolicy, deploy.Clients{SSM: rec, Lambda: rec, ECS: rec}},
		{"lambda without client", lambdaPolicy, deploy.Clients{SSM: rec, Pipeline: rec, ECS: rec}},
		{"ecs without client", ecsPolicy, deploy.Clients{SSM: rec, Pipeline: rec, Lambda: rec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := deploy.For(tt.give, tt.clients)
			if !errors.Is(err, deploy.ErrRefused) || d != nil {
				t.Errorf("For(%+v) = %v, %v; want nil, ErrRefused", tt.give, d, err)
			}
		})
	}
	if len(rec.calls) != 0 {
		t.Errorf("calls = %v, want none", rec.calls)
	}
}

func TestDeployRefusesBadArtifactsBeforeCallingAWS(t *testing.T) {
	quarantined := imageArtifact()
	quarantined.Quarantined = true
	upper := imageArtifact()
	upper.Digest = "sha256:D8C5C612EF808548AE6F6CEFE6F3B0E181E57ADB0F81E9E8A6F867CC425AADC3"
	short := imageArtifact()
	short.Digest = "sha256:d8c5c612"
	unprefixed := imageArtifact()
	unprefixed.Digest = "d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3"
	pinned := imageArtifact()
	pinned.Repository = repository + "@" + zipDigest

	tests := []struct {
		name   string
		policy *policy.Deploy
		give   *ledger.Artifact
	}{
		{"no artifact", ssmPolicy, nil},
		{"quarantined", pipelinePolicy, quarantined},
		{"uppercase digest", lambdaPolicy, upper},
		{"short digest", ssmPolicy, short},
		{"digest without algorithm", pipelinePolicy, unprefixed},
		{"ecs with an s3 artifact", ecsPolicy, zipArtifact()},
		{"ecs with a pinned repository", ecsPolicy, pinned},
		{"ssm with a pinned repository", ssmPolicy, pinned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			d, err := deploy.For(tt.policy, rec.all())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Deploy(context.Background(), target(tt.give)); !errors.Is(err, deploy.ErrRefused) {
				t.Errorf("Deploy(%+v) error = %v, want ErrRefused", tt.give, err)
			}
			if len(rec.calls) != 0 {
				t.Errorf("calls = %v, want none", rec.calls)
			}
			dry, err := deploy.DryRun(tt.policy, &failWriter{t: t})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dry.Deploy(context.Background(), target(tt.give)); !errors.Is(err, deploy.ErrRefused) {
				t.Errorf("DryRun Deploy(%+v) error = %v, want ErrRefused", tt.give, err)
			}
		})
	}
}

// failWriter fails the test when written to.
type failWriter struct{ t *testing.T }

func (w *failWriter) Write(p []byte) (int, error) {
	w.t.Errorf("dry run printed %q for a refused target", p)
	return len(p), nil
}

// brokenWriter fails every write.
type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDryRunReportsAWriteFailure(t *testing.T) {
	d, err := deploy.DryRun(ecsPolicy, brokenWriter{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Deploy(context.Background(), target(imageArtifact()))
	if err == nil || errors.Is(err, deploy.ErrRefused) || res.Done {
		t.Errorf("Deploy = %+v, %v; want not done and a retryable error", res, err)
	}
}
