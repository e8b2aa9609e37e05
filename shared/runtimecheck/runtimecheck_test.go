package runtimecheck_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/runtimecheck"
)

// The digests the tests deploy: promoted passed the gate, hotfix did not.
const (
	promoted = "sha256:dce6076a9db1931ce247727b49c0c6aaa57dbd673cf1101e2cb2275bc1bd8337"
	hotfix   = "sha256:9d8d105ac90cc56852c704633b4c2e233802a97757660935930d86e746d515ea"
	previous = "sha256:5a0998547d76d54c1f9210923f8434b702db77579f5be565cb734bd51b7c19a3"
	repo     = "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout"
	tdArn    = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:"
)

// The environments, one per kind of runtime target.
var (
	lambdaEnv = env(&policy.Deploy{Lambda: &policy.LambdaDeploy{Function: "checkout-api", Alias: "live"}})
	ecsEnv    = env(&policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "shop", Service: "checkout", Container: "app"}})
	ssmEnv    = env(&policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/image"}})
	// appRunnerEnv names its service as shared/apprunner's fixture does.
	appRunnerEnv = env(&policy.Deploy{AppRunner: &policy.AppRunnerDeploy{Service: "python-app"}})
)

func env(d *policy.Deploy) *policy.Environment {
	return &policy.Environment{Name: "prod", Account: "123456789012", Region: "us-east-1", Deploy: d}
}

// b64 is a digest as Lambda reports a .zip package's CodeSha256.
func b64(digest string) string {
	sum, err := hex.DecodeString(strings.TrimPrefix(digest, "sha256:"))
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// answer loads a real-shaped answer from testdata and lets edit change it.
func answer(t *testing.T, name string, edit func(m map[string]any)) awsfake.Response {
	t.Helper()
	return answerFile(t, filepath.Join("testdata", name), edit)
}

// answerFile is answer for a file at path, relative to the package.
func answerFile(t *testing.T, name string, edit func(m map[string]any)) awsfake.Response {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	edit(m)
	return awsfake.JSONOf(t, m)
}

func object(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// clients are real SDK clients of every service, all talking to srv; a call
// the server has no stub for fails the test.
func clients(srv *awsfake.Server) runtimecheck.Clients {
	cfg := srv.Config()
	return runtimecheck.Clients{
		Lambda:    lambda.NewFromConfig(cfg),
		ECS:       ecs.NewFromConfig(cfg),
		SSM:       ssm.NewFromConfig(cfg),
		AppRunner: apprunner.NewFromConfig(cfg),
	}
}

// lambdaServer serves function checkout-api: alias live points at version 7
// and routes the weights to other versions; codes maps each published
// version to its CodeSha256.
func lambdaServer(t *testing.T, codes map[string]string, weights map[string]float64) *awsfake.Server {
	t.Helper()
	const fnArn = "arn:aws:lambda:us-east-1:123456789012:function:checkout-api"
	srv := awsfake.New(t)
	srv.Route("GetAlias", "GET /2015-03-31/functions/{FunctionName}/aliases/{Name}")
	srv.Route("GetFunction", "GET /2015-03-31/functions/{FunctionName}")
	srv.OnFunc("GetAlias", func(r awsfake.Request) awsfake.Response {
		if r.PathValues["FunctionName"] != "checkout-api" || r.PathValues["Name"] != "live" {
			return awsfake.APIError(http.StatusNotFound, "ResourceNotFoundException",
				"Alias not found: "+fnArn+":"+r.PathValues["Name"])
		}
		return answer(t, "lambda_get_alias.json", func(m map[string]any) {
			if len(weights) > 0 {
				m["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": weights}
			}
		})
	})
	srv.OnFunc("GetFunction", func(r awsfake.Request) awsfake.Response {
		v := r.URL.Query().Get("Qualifier")
		code, ok := codes[v]
		if r.PathValues["FunctionName"] != "checkout-api" || !ok {
			return awsfake.APIError(http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+fnArn+":"+v)
		}
		return answer(t, "lambda_get_function.json", func(m map[string]any) {
			c := object(m, "Configuration")
			c["Version"], c["FunctionArn"], c["CodeSha256"] = v, fnArn+":"+v, code
		})
	})
	return srv
}

// ecsServer serves service checkout in cluster shop, whose PRIMARY
// deployment runs task definition checkout:42 while the ACTIVE one it
// replaces still runs checkout:41; images maps each revision to the image of
// its app container. edit changes the service's answer.
func ecsServer(t *testing.T, images map[string]string, edit func(svc map[string]any)) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(t)
	srv.OnFunc("DescribeServices", func(r awsfake.Request) awsfake.Response {
		var in struct {
			Cluster  string   `json:"cluster"`
			Services []string `json:"services"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "SerializationException", err.Error())
		}
		if in.Cluster != "shop" {
			return awsfake.APIError(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
		}
		if len(in.Services) != 1 || in.Services[0] != "checkout" {
			return awsfake.JSON(200, `{"services":[],"failures":[{"arn":"arn:aws:ecs:us-east-1:123456789012:service/shop/`+
				strings.Join(in.Services, ",")+`","reason":"MISSING"}]}`)
		}
		return answer(t, "ecs_describe_services.json", func(m map[string]any) {
			edit(m["services"].([]any)[0].(map[string]any))
		})
	})
	srv.OnFunc("DescribeTaskDefinition", func(r awsfake.Request) awsfake.Response {
		var in struct {
			TaskDefinition string `json:"taskDefinition"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "SerializationException", err.Error())
		}
		rev := strings.TrimPrefix(in.TaskDefinition, tdArn)
		image, ok := images[rev]
		if !ok {
			return awsfake.APIError(http.StatusBadRequest, "ClientException", "Unable to describe task definition.")
		}
		return answer(t, "ecs_describe_task_definition.json", func(m map[string]any) {
			td := object(m, "taskDefinition")
			td["taskDefinitionArn"] = in.TaskDefinition
			td["containerDefinitions"].([]any)[1].(map[string]any)["image"] = image
		})
	})
	return srv
}

// ssmServer serves parameter /checkout/prod/image holding value.
func ssmServer(t *testing.T, value string) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(t)
	srv.OnFunc("GetParameter", func(r awsfake.Request) awsfake.Response {
		var in struct{ Name string }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "SerializationException", err.Error())
		}
		if in.Name != "/checkout/prod/image" {
			return awsfake.APIError(http.StatusBadRequest, "ParameterNotFound", "")
		}
		return answer(t, "ssm_get_parameter.json", func(m map[string]any) { object(m, "Parameter")["Value"] = value })
	})
	return srv
}

// appRunnerArn is the service of App Runner's DescribeService answer in
// shared/apprunner/testdata, python-app.
const appRunnerArn = "arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e10304f84fd2b0df550fe98a71fa"

// appRunnerServer serves the App Runner service python-app running image,
// with that answer; edit changes the service.
func appRunnerServer(t *testing.T, image string, edit func(svc map[string]any)) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(t)
	srv.On("ListServices", awsfake.JSON(200, `{"ServiceSummaryList":[`+
		`{"ServiceName":"web","ServiceArn":"arn:aws:apprunner:us-east-1:123456789012:service/web/0a1b2c3d4e5f60718293a4b5c6d7e8f9","Status":"RUNNING"},`+
		`{"ServiceName":"python-app","ServiceArn":"`+appRunnerArn+`","Status":"RUNNING"}]}`))
	srv.OnFunc("DescribeService", func(r awsfake.Request) awsfake.Response {
		var in struct{ ServiceArn string }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "SerializationException", err.Error())
		}
		if in.ServiceArn != appRunnerArn {
			return awsfake.APIError(http.StatusBadRequest, "ResourceNotFoundException", "Service not found: "+in.ServiceArn)
		}
		return answerFile(t, filepath.Join("..", "apprunner", "testdata", "describe-service.json"), func(m map[string]any) {
			svc := object(m, "Service")
			object(object(svc, "SourceConfiguration"), "ImageRepository")["ImageIdentifier"] = image
			edit(svc)
		})
	})
	return srv
}

// The fakes of one target, serving running as what it runs: a CodeSha256, an
// image reference, a parameter value.
func serveLambda(t *testing.T, running string) *awsfake.Server {
	return lambdaServer(t, map[string]string{"7": running}, nil)
}

func serveECS(t *testing.T, running string) *awsfake.Server {
	return ecsServer(t, map[string]string{"41": repo + "@" + previous, "42": running}, func(map[string]any) {})
}

func serveSSM(t *testing.T, running string) *awsfake.Server { return ssmServer(t, running) }

func serveAppRunner(t *testing.T, running string) *awsfake.Server {
	return appRunnerServer(t, running, func(map[string]any) {})
}

func TestRunningNormalisesWhatRuns(t *testing.T) {
	tests := []struct {
		name    string
		env     *policy.Environment
		serve   func(*testing.T, string) *awsfake.Server
		running string
		want    runtimecheck.Observed
	}{
		{"lambda zip, base64 CodeSha256", lambdaEnv, serveLambda, b64(promoted),
			runtimecheck.Observed{Target: "lambda checkout-api:live → version 7", Digest: promoted, Raw: b64(promoted)}},
		{"lambda image, hex CodeSha256", lambdaEnv, serveLambda, strings.TrimPrefix(hotfix, "sha256:"),
			runtimecheck.Observed{Target: "lambda checkout-api:live → version 7", Digest: hotfix, Raw: strings.TrimPrefix(hotfix, "sha256:")}},
		{"lambda image, upper-case hex", lambdaEnv, serveLambda, strings.ToUpper(strings.TrimPrefix(hotfix, "sha256:")),
			runtimecheck.Observed{Target: "lambda checkout-api:live → version 7", Digest: hotfix, Raw: strings.ToUpper(strings.TrimPrefix(hotfix, "sha256:"))}},
		{"ecs image by digest", ecsEnv, serveECS, repo + "@" + hotfix,
			runtimecheck.Observed{Target: "ecs shop/checkout task definition checkout:42 container app", Digest: hotfix, Raw: repo + "@" + hotfix}},
		{"ecs image by tag and digest", ecsEnv, serveECS, repo + ":1.4.2@" + promoted,
			runtimecheck.Observed{Target: "ecs shop/checkout task definition checkout:42 container app", Digest: promoted, Raw: repo + ":1.4.2@" + promoted}},
		{"ssm image by digest", ssmEnv, serveSSM, repo + "@" + promoted,
			runtimecheck.Observed{Target: "ssm /checkout/prod/image", Digest: promoted, Raw: repo + "@" + promoted}},
		{"ssm bare digest", ssmEnv, serveSSM, hotfix,
			runtimecheck.Observed{Target: "ssm /checkout/prod/image", Digest: hotfix, Raw: hotfix}},
		{"apprunner image by digest", appRunnerEnv, serveAppRunner, repo + "@" + hotfix,
			runtimecheck.Observed{Target: "apprunner python-app", Digest: hotfix, Raw: repo + "@" + hotfix}},
		{"apprunner by ARN", env(&policy.Deploy{AppRunner: &policy.AppRunnerDeploy{Service: appRunnerArn}}), serveAppRunner, repo + "@" + promoted,
			runtimecheck.Observed{Target: "apprunner python-app", Digest: promoted, Raw: repo + "@" + promoted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.serve(t, tt.running)
			got, err := runtimecheck.Running(context.Background(), tt.env, clients(srv))
			if err != nil {
				t.Fatalf("Running: %v", err)
			}
			if got.Target != tt.want.Target || got.Digest != tt.want.Digest || got.Raw != tt.want.Raw || got.Note != "" || len(got.Others) != 0 {
				t.Errorf("Running(%s) = %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
}

func TestRunningCannotVerifyAReferenceWithoutDigest(t *testing.T) {
	tests := []struct {
		name    string
		env     *policy.Environment
		serve   func(*testing.T, string) *awsfake.Server
		running string
	}{
		{"ecs image by tag", ecsEnv, serveECS, repo + ":1.4.2"},
		{"ecs image digest too short", ecsEnv, serveECS, repo + "@sha256:dce6076a"},
		{"ssm image by tag", ssmEnv, serveSSM, repo + ":latest"},
		{"ssm s3 location", ssmEnv, serveSSM, "s3://checkout-artifacts/builds/118.zip"},
		{"lambda CodeSha256 of another length", lambdaEnv, serveLambda, "dce6076a9db1931c"},
		{"apprunner image by tag", appRunnerEnv, serveAppRunner, "123456789012.dkr.ecr.us-east-1.amazonaws.com/python-app:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runtimecheck.Running(context.Background(), tt.env, clients(tt.serve(t, tt.running)))
			if err != nil {
				t.Fatalf("Running: %v", err)
			}
			if got.Digest != "" || got.Raw != tt.running || got.Note == "" {
				t.Errorf("Running(%s) = %+v, want no digest, Raw %q and a note", tt.name, got, tt.running)
			}
		})
	}
}

func TestRunningLambdaReadsTheAliasVersion(t *testing.T) {
	srv := lambdaServer(t, map[string]string{"6": b64(previous), "7": b64(promoted)}, nil)
	if _, err := runtimecheck.Running(context.Background(), lambdaEnv, clients(srv)); err != nil {
		t.Fatalf("Running: %v", err)
	}
	alias := srv.Invocations("GetAlias")
	if len(alias) != 1 || alias[0].PathValues["FunctionName"] != "checkout-api" || alias[0].PathValues["Name"] != "live" {
		t.Errorf("GetAlias calls = %d (%v), want 1 for checkout-api:live", len(alias), alias)
	}
	fn := srv.Invocations("GetFunction")
	if len(fn) != 1 || fn[0].URL.Query().Get("Qualifier") != "7" {
		t.Fatalf("GetFunction calls = %d, want 1 with Qualifier 7", len(fn))
	}
}

func TestRunningLambdaReadsWeightedVersions(t *testing.T) {
	srv := lambdaServer(t, map[string]string{"7": b64(promoted), "8": b64(hotfix)}, map[string]float64{"8": 0.1})
	got, err := runtimecheck.Running(context.Background(), lambdaEnv, clients(srv))
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	if got.Digest != promoted || len(got.Others) != 1 {
		t.Fatalf("Running = %+v, want %s with one weighted version", got, promoted)
	}
	w := got.Others[0]
	if w.Digest != hotfix || w.Target != "lambda checkout-api:live → version 8 (weight 0.1)" {
		t.Errorf("Others[0] = %+v, want version 8 (weight 0.1) running %s", w, hotfix)
	}
}

func TestRunningECSReadsThePrimaryDeployment(t *testing.T) {
	images := map[string]string{"41": repo + "@" + promoted, "42": repo + "@" + hotfix}
	tests := []struct {
		name string
		edit func(svc map[string]any)
	}{
		{"rolling out", func(map[string]any) {}},
		// The service's own taskDefinition is not what the PRIMARY deployment runs.
		{"service names another revision", func(svc map[string]any) { svc["taskDefinition"] = tdArn + "41" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ecsServer(t, images, tt.edit)
			got, err := runtimecheck.Running(context.Background(), ecsEnv, clients(srv))
			if err != nil {
				t.Fatalf("Running: %v", err)
			}
			if got.Digest != hotfix {
				t.Errorf("Running = %+v, want the PRIMARY deployment's %s", got, hotfix)
			}
			var in struct {
				TaskDefinition string `json:"taskDefinition"`
			}
			calls := srv.Invocations("DescribeTaskDefinition")
			if len(calls) != 1 {
				t.Fatalf("DescribeTaskDefinition calls = %d, want 1", len(calls))
			}
			if err := calls[0].DecodeJSON(&in); err != nil || in.TaskDefinition != tdArn+"42" {
				t.Errorf("DescribeTaskDefinition(%q, %v), want %s", in.TaskDefinition, err, tdArn+"42")
			}
		})
	}
}

func TestRunningECSUsesThePrimaryTaskSet(t *testing.T) {
	srv := ecsServer(t, map[string]string{"41": repo + "@" + previous, "42": repo + "@" + promoted}, func(svc map[string]any) {
		svc["deploymentController"] = map[string]any{"type": "CODE_DEPLOY"}
		svc["deployments"] = []any{}
		svc["taskSets"] = []any{
			map[string]any{"id": "ecs-svc/1111111111111111111", "status": "ACTIVE", "taskDefinition": tdArn + "41"},
			map[string]any{"id": "ecs-svc/2222222222222222222", "status": "PRIMARY", "taskDefinition": tdArn + "42"},
		}
	})
	got, err := runtimecheck.Running(context.Background(), ecsEnv, clients(srv))
	if err != nil || got.Digest != promoted {
		t.Errorf("Running = %+v, %v, want the PRIMARY task set's %s", got, err, promoted)
	}
}

func TestRunningWithoutRuntimeTarget(t *testing.T) {
	tests := []struct {
		name string
		give *policy.Environment
	}{
		{"pipeline", env(&policy.Deploy{Pipeline: &policy.PipelineDeploy{Name: "checkout-prod"}})},
		{"not deployed by Highway", env(nil)},
		{"no environment", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t) // no stubs: any call fails the test
			_, err := runtimecheck.Running(context.Background(), tt.give, clients(srv))
			if !errors.Is(err, runtimecheck.ErrNoTarget) {
				t.Errorf("Running(%s) error = %v, want ErrNoTarget", tt.name, err)
			}
		})
	}
}

func TestRunningMissingTarget(t *testing.T) {
	tests := []struct {
		name string
		env  *policy.Environment
		srv  func(*testing.T) *awsfake.Server
	}{
		{"lambda alias", env(&policy.Deploy{Lambda: &policy.LambdaDeploy{Function: "checkout-api", Alias: "blue"}}),
			func(t *testing.T) *awsfake.Server { return lambdaServer(t, map[string]string{"7": b64(promoted)}, nil) }},
		{"lambda version", lambdaEnv,
			func(t *testing.T) *awsfake.Server { return lambdaServer(t, map[string]string{"6": b64(promoted)}, nil) }},
		{"ecs cluster", env(&policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "retail", Service: "checkout", Container: "app"}}),
			func(t *testing.T) *awsfake.Server { return serveECS(t, repo+"@"+promoted) }},
		{"ecs service", env(&policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "shop", Service: "basket", Container: "app"}}),
			func(t *testing.T) *awsfake.Server { return serveECS(t, repo+"@"+promoted) }},
		{"ecs container", env(&policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "shop", Service: "checkout", Container: "web"}}),
			func(t *testing.T) *awsfake.Server { return serveECS(t, repo+"@"+promoted) }},
		{"ecs service inactive", ecsEnv, func(t *testing.T) *awsfake.Server {
			return ecsServer(t, nil, func(svc map[string]any) { svc["status"] = "INACTIVE" })
		}},
		{"ssm parameter", env(&policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/artifact"}}),
			func(t *testing.T) *awsfake.Server { return serveSSM(t, promoted) }},
		{"apprunner service not listed", env(&policy.Deploy{AppRunner: &policy.AppRunnerDeploy{Service: "checkout"}}),
			func(t *testing.T) *awsfake.Server { return serveAppRunner(t, repo+"@"+promoted) }},
		{"apprunner service ARN not found", env(&policy.Deploy{AppRunner: &policy.AppRunnerDeploy{Service: strings.Replace(appRunnerArn, "python-app", "checkout", 1)}}),
			func(t *testing.T) *awsfake.Server { return serveAppRunner(t, repo+"@"+promoted) }},
		{"apprunner service deploys source code", appRunnerEnv, func(t *testing.T) *awsfake.Server {
			return appRunnerServer(t, repo+"@"+promoted, func(svc map[string]any) {
				svc["SourceConfiguration"] = map[string]any{"AutoDeploymentsEnabled": true, "CodeRepository": map[string]any{
					"RepositoryUrl": "https://github.com/my-account/python-hello", "SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
					"CodeConfiguration": map[string]any{"ConfigurationSource": "API", "CodeConfigurationValues": map[string]any{
						"Runtime": "PYTHON_3", "BuildCommand": "pip install -r requirements.txt", "StartCommand": "python server.py", "Port": "8080"}}}}
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runtimecheck.Running(context.Background(), tt.env, clients(tt.srv(t)))
			if !errors.Is(err, runtimecheck.ErrMissing) {
				t.Errorf("Running(%s) error = %v, want ErrMissing", tt.name, err)
			}
		})
	}
}

func TestRunningRetriesThrottling(t *testing.T) {
	srv := serveSSM(t, repo+"@"+promoted)
	srv.Inject(awsfake.Fault{Operation: "GetParameter", Kind: awsfake.Throttle, First: 2})
	got, err := runtimecheck.Running(context.Background(), ssmEnv, clients(srv))
	if err != nil || got.Digest != promoted {
		t.Errorf("Running = %+v, %v, want %s after retries", got, err, promoted)
	}
	if n, attempts := len(srv.Invocations("GetParameter")), len(srv.Calls("GetParameter")); n != 1 || attempts < 3 {
		t.Errorf("GetParameter called %d times in %d attempts, want once, in at least 3 (two throttled)", n, attempts)
	}
}
