package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/policy"
)

type startExecution struct {
	Name               string `json:"name"`
	ClientRequestToken string `json:"clientRequestToken"`
	Variables          []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"variables"`
}

func pipelineDeployer(t *testing.T, srv *awsfake.Server, p *policy.Deploy) deploy.Deployer {
	t.Helper()
	d, err := deploy.For(p, deploy.Clients{Pipeline: codepipeline.NewFromConfig(srv.Config())})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func startCalls(t *testing.T, reqs []awsfake.Request) []startExecution {
	t.Helper()
	var out []startExecution
	for _, c := range reqs {
		var in startExecution
		if err := c.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}

var tokenPattern = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

func TestPipelineStartsWithTheDigestVariable(t *testing.T) {
	tests := []struct {
		name     string
		give     *policy.PipelineDeploy
		wantVar  string
		wantName string
	}{
		{"default variable", &policy.PipelineDeploy{Name: "checkout-prod"}, "ARTIFACT_DIGEST", "checkout-prod"},
		{"named variable", &policy.PipelineDeploy{Name: "checkout-stg", Variable: "IMAGE_DIGEST"}, "IMAGE_DIGEST", "checkout-stg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("StartPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"3137f7cb-8d49-4a8e-9b1c-6d0a2e4f5b70"}`))

			res, err := pipelineDeployer(t, srv, &policy.Deploy{Pipeline: tt.give}).Deploy(context.Background(), target(zipArtifact()))
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if res.Handle != "3137f7cb-8d49-4a8e-9b1c-6d0a2e4f5b70" || res.Done {
				t.Errorf("Deploy = %+v, want Handle 3137f7cb-... and not Done", res)
			}
			calls := startCalls(t, srv.Invocations("StartPipelineExecution"))
			if len(calls) != 1 {
				t.Fatalf("StartPipelineExecution calls = %d, want 1", len(calls))
			}
			in := calls[0]
			if in.Name != tt.wantName {
				t.Errorf("name = %q, want %q", in.Name, tt.wantName)
			}
			if len(in.Variables) != 1 || in.Variables[0].Name != tt.wantVar || in.Variables[0].Value != zipDigest {
				t.Errorf("variables = %+v, want [%s=%s]", in.Variables, tt.wantVar, zipDigest)
			}
			if !tokenPattern.MatchString(in.ClientRequestToken) {
				t.Errorf("clientRequestToken = %q, want one matching %s", in.ClientRequestToken, tokenPattern)
			}
		})
	}
}

func TestPipelineRetriedStartUsesTheSameToken(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("StartPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"exec-1"}`))
	srv.Inject(awsfake.Fault{Operation: "StartPipelineExecution", Kind: awsfake.Throttle, First: 1})
	d := pipelineDeployer(t, srv, pipelinePolicy)

	// The first Deploy is throttled once and retried by the SDK; the second
	// is a redelivery of the same promotion.
	for range 2 {
		if _, err := d.Deploy(context.Background(), target(imageArtifact())); err != nil {
			t.Fatalf("Deploy: %v", err)
		}
	}
	// Every attempt: the throttled one, the SDK's retry, the redelivery's.
	calls := startCalls(t, srv.Calls("StartPipelineExecution"))
	if n := len(srv.Invocations("StartPipelineExecution")); n != 2 || len(calls) < 3 {
		t.Fatalf("StartPipelineExecution called %d times in %d attempts, want twice, in at least 3", n, len(calls))
	}
	for i, in := range calls[1:] {
		if in.ClientRequestToken != calls[0].ClientRequestToken {
			t.Errorf("call %d token = %q, want %q", i+2, in.ClientRequestToken, calls[0].ClientRequestToken)
		}
	}
}

func TestPipelineTokenDiffersPerAppEnvDigestAndPromotion(t *testing.T) {
	base := target(imageArtifact())
	otherDigest := base
	otherDigest.Artifact = zipArtifact()
	otherEnv := base
	otherEnv.Env = "staging"
	otherApp := base
	otherApp.App = "cart"
	otherPromotion := base
	otherPromotion.Promotion = "p-0002"
	// Fields run together must not collide: ("checkout","prod") vs ("checkoutp","rod").
	shifted := base
	shifted.App, shifted.Env = "checkoutp", "rod"
	sameAgain := base
	sameAgain.Account, sameAgain.Region = "210987654321", "eu-west-1"

	tests := []struct {
		name     string
		give     deploy.Target
		wantSame bool
	}{
		{"other digest", otherDigest, false},
		{"other env", otherEnv, false},
		{"other app", otherApp, false},
		{"other promotion", otherPromotion, false},
		{"app and env shifted", shifted, false},
		{"same promotion, account and region aside", sameAgain, true},
	}
	srv := awsfake.New(t)
	srv.On("StartPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"exec-1"}`))
	d := pipelineDeployer(t, srv, pipelinePolicy)
	if _, err := d.Deploy(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := d.Deploy(context.Background(), tt.give); err != nil {
				t.Fatal(err)
			}
			calls := startCalls(t, srv.Invocations("StartPipelineExecution"))
			first, last := calls[0].ClientRequestToken, calls[len(calls)-1].ClientRequestToken
			if got := first == last; got != tt.wantSame {
				t.Errorf("token %q vs base %q: same = %v, want %v", last, first, got, tt.wantSame)
			}
		})
	}
}

func TestPipelineNotFoundIsRefused(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("StartPipelineExecution", awsfake.APIError(http.StatusBadRequest, "PipelineNotFoundException", "Account '123456789012' does not have a pipeline with name 'checkout-prod'"))

	_, err := pipelineDeployer(t, srv, pipelinePolicy).Deploy(context.Background(), target(imageArtifact()))
	if !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("Deploy error = %v, want ErrRefused", err)
	}
}
