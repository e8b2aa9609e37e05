package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

type updateAlias struct {
	FunctionVersion string `json:"FunctionVersion"`
	RoutingConfig   *struct {
		AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
	} `json:"RoutingConfig"`
}

// lambdaServer routes the two Lambda operations and answers
// ListVersionsByFunction with the pages, in order, following Marker, and
// UpdateAlias with the alias moved to the version asked for.
func lambdaServer(t *testing.T, pages ...string) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(t)
	srv.Route("ListVersionsByFunction", "GET /2015-03-31/functions/{FunctionName}/versions")
	srv.Route("UpdateAlias", "PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}")
	srv.OnFunc("ListVersionsByFunction", func(r awsfake.Request) awsfake.Response {
		switch r.URL.Query().Get("Marker") {
		case "":
			return awsfake.JSON(200, pages[0])
		case "arn:aws:lambda:us-east-1:123456789012:function:checkout:2":
			return awsfake.JSON(200, pages[1])
		}
		return awsfake.APIError(http.StatusBadRequest, "InvalidParameterValueException", "bad marker")
	})
	srv.OnFunc("UpdateAlias", func(r awsfake.Request) awsfake.Response {
		var in updateAlias
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		}
		fn, alias := r.PathValues["FunctionName"], r.PathValues["Name"]
		return awsfake.JSONOf(t, map[string]any{
			"AliasArn":        "arn:aws:lambda:us-east-1:123456789012:function:" + fn + ":" + alias,
			"Name":            alias,
			"FunctionVersion": in.FunctionVersion,
			"Description":     "",
			"RevisionId":      "5e2a6c0d-9b1f-4e3a-8c7d-2f1e0a9b8c7d",
		})
	})
	return srv
}

func lambdaDeployer(t *testing.T, srv *awsfake.Server, p *policy.Deploy) deploy.Deployer {
	t.Helper()
	d, err := deploy.For(p, deploy.Clients{Lambda: lambda.NewFromConfig(srv.Config())})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLambdaMovesTheAliasToTheNewestMatchingVersion(t *testing.T) {
	imageFn := &policy.Deploy{Lambda: &policy.LambdaDeploy{Function: "checkout-image", Alias: "live"}}
	tests := []struct {
		name      string
		policy    *policy.Deploy
		pages     []string
		give      *ledger.Artifact
		wantLists int
		want      string
	}{
		// $LATEST on page 1 has the code but is not published; versions 3
		// and 11 on page 2 have it, and 11 is the newest.
		{"zip across pages", lambdaPolicy, []string{testdata(t, "lambda_versions_page1.json"), testdata(t, "lambda_versions_page2.json")}, zipArtifact(), 2, "11"},
		{"container image", imageFn, []string{testdata(t, "lambda_image_versions.json")}, imageArtifact(), 1, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lambdaServer(t, tt.pages...)

			res, err := lambdaDeployer(t, srv, tt.policy).Deploy(context.Background(), target(tt.give))
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if !res.Done || res.Handle != "" {
				t.Errorf("Deploy = %+v, want Done and no Handle", res)
			}
			if n := len(srv.Invocations("ListVersionsByFunction")); n != tt.wantLists {
				t.Errorf("ListVersionsByFunction calls = %d, want %d", n, tt.wantLists)
			}
			calls := srv.Invocations("UpdateAlias")
			if len(calls) != 1 {
				t.Fatalf("UpdateAlias calls = %d, want 1", len(calls))
			}
			c := calls[0]
			if fn := c.PathValues["FunctionName"]; fn != tt.policy.Lambda.Function || c.PathValues["Name"] != "live" {
				t.Errorf("UpdateAlias path = %s, want function %s alias live", c.URL.Path, tt.policy.Lambda.Function)
			}
			var in updateAlias
			if err := c.DecodeJSON(&in); err != nil {
				t.Fatal(err)
			}
			if in.FunctionVersion != tt.want {
				t.Errorf("UpdateAlias FunctionVersion = %q, want %q", in.FunctionVersion, tt.want)
			}
			if in.RoutingConfig == nil || len(in.RoutingConfig.AdditionalVersionWeights) != 0 {
				t.Errorf("UpdateAlias RoutingConfig = %+v, want one with no additional weights", in.RoutingConfig)
			}
		})
	}
}

func TestLambdaFollowsTheMarker(t *testing.T) {
	srv := lambdaServer(t, testdata(t, "lambda_versions_page1.json"), testdata(t, "lambda_versions_page2.json"))
	if _, err := lambdaDeployer(t, srv, lambdaPolicy).Deploy(context.Background(), target(zipArtifact())); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	var markers []string
	for _, c := range srv.Invocations("ListVersionsByFunction") {
		if c.PathValues["FunctionName"] != "checkout" {
			t.Errorf("ListVersionsByFunction path = %s, want function checkout", c.URL.Path)
		}
		markers = append(markers, c.URL.Query().Get("Marker"))
	}
	want := []string{"", "arn:aws:lambda:us-east-1:123456789012:function:checkout:2"}
	if strings.Join(markers, "|") != strings.Join(want, "|") {
		t.Errorf("markers = %q, want %q", markers, want)
	}
}

func TestLambdaWithoutMatchingVersionIsRefused(t *testing.T) {
	other := zipArtifact()
	other.Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	srv := lambdaServer(t, testdata(t, "lambda_versions_page1.json"), testdata(t, "lambda_versions_page2.json"))

	_, err := lambdaDeployer(t, srv, lambdaPolicy).Deploy(context.Background(), target(other))
	if !errors.Is(err, deploy.ErrRefused) {
		t.Fatalf("Deploy error = %v, want ErrRefused", err)
	}
	// The message names the function and the CodeSha256 looked for.
	for _, want := range []string{"checkout", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := len(srv.Invocations("ListVersionsByFunction")); n != 2 {
		t.Errorf("ListVersionsByFunction calls = %d, want 2 (every page)", n)
	}
	if n := len(srv.Invocations("UpdateAlias")); n != 0 {
		t.Errorf("UpdateAlias calls = %d, want 0", n)
	}
}

func TestLambdaRetriesThrottling(t *testing.T) {
	tests := []struct {
		name      string
		operation string
	}{
		{"list", "ListVersionsByFunction"},
		{"update", "UpdateAlias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lambdaServer(t, testdata(t, "lambda_versions_page1.json"), testdata(t, "lambda_versions_page2.json"))
			srv.Inject(awsfake.Fault{Operation: tt.operation, Kind: awsfake.Throttle, First: 1})

			if _, err := lambdaDeployer(t, srv, lambdaPolicy).Deploy(context.Background(), target(zipArtifact())); err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			// Two pages listed and the alias updated, a call each: the SDK
			// retried the throttling.
			for op, want := range map[string]int{"ListVersionsByFunction": 2, "UpdateAlias": 1} {
				if got := len(srv.Invocations(op)); got != want {
					t.Errorf("%s called %d times, want %d", op, got, want)
				}
			}
			if first := srv.Calls(tt.operation)[0]; first.Fault != awsfake.Throttle {
				t.Errorf("first %s attempt fault = %v, want Throttle", tt.operation, first.Fault)
			}
		})
	}
}

func TestLambdaMissingFunctionIsRefused(t *testing.T) {
	srv := awsfake.New(t)
	srv.Route("ListVersionsByFunction", "GET /2015-03-31/functions/{FunctionName}/versions")
	srv.On("ListVersionsByFunction", awsfake.APIError(http.StatusNotFound, "ResourceNotFoundException",
		"Function not found: arn:aws:lambda:us-east-1:123456789012:function:checkout"))

	_, err := lambdaDeployer(t, srv, lambdaPolicy).Deploy(context.Background(), target(zipArtifact()))
	if !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("Deploy error = %v, want ErrRefused", err)
	}
}
