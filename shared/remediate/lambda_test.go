package remediate_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
)

const aliasRevision = "7c2e9a41-3b8d-4f6e-a1c5-9d0b2e4f6a81"

type updateAlias struct {
	FunctionVersion string `json:"FunctionVersion"`
	RevisionID      string `json:"RevisionId"`
	RoutingConfig   *struct {
		AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
	} `json:"RoutingConfig"`
}

// lambdaServer answers GetAlias with alias (a GetAlias answer),
// ListVersionsByFunction with testdata's two pages, following Marker, and
// UpdateAlias with the alias moved to the version asked for.
func lambdaServer(t *testing.T, alias string) *awsfake.Server {
	t.Helper()
	srv := server(t)
	srv.On("GetAlias", awsfake.JSON(200, alias))
	page1, page2 := testdata(t, "lambda_versions_page1.json"), testdata(t, "lambda_versions_page2.json")
	srv.OnFunc("ListVersionsByFunction", func(r awsfake.Request) awsfake.Response {
		switch r.URL.Query().Get("Marker") {
		case "":
			return awsfake.JSON(200, page1)
		case "arn:aws:lambda:us-east-1:123456789012:function:checkout:2":
			return awsfake.JSON(200, page2)
		}
		return awsfake.APIError(http.StatusBadRequest, "InvalidParameterValueException", "bad marker")
	})
	srv.OnFunc("UpdateAlias", func(r awsfake.Request) awsfake.Response {
		var in updateAlias
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		}
		fn, name := r.PathValues["FunctionName"], r.PathValues["Name"]
		return awsfake.JSONOf(t, map[string]any{
			"AliasArn":        "arn:aws:lambda:us-east-1:123456789012:function:" + fn + ":" + name,
			"Name":            name,
			"FunctionVersion": in.FunctionVersion,
			"Description":     "",
			"RevisionId":      "0d4f8b2a-6e1c-4a9b-8f3d-5c7e9a1b3d5f",
		})
	})
	return srv
}

// getAlias is a GetAlias answer for alias live of checkout at version, with
// routingConfig ("" for none).
func getAlias(version, routingConfig string) string {
	rc := ""
	if routingConfig != "" {
		rc = `,"RoutingConfig":` + routingConfig
	}
	return `{"AliasArn":"arn:aws:lambda:us-east-1:123456789012:function:checkout:live","Name":"live",` +
		`"FunctionVersion":"` + version + `","Description":"",` + `"RevisionId":"` + aliasRevision + `"` + rc + `}`
}

func TestLambdaAliasRollbackMovesTheAliasToThePreviousVersion(t *testing.T) {
	tests := []struct {
		name   string
		give   policy.LambdaAlias
		alias  string
		want   string
		detail string
	}{
		// Versions are 1 and 2 on page 1, 4, 6, 7 and 8 on page 2.
		{"previous on the second page", policy.LambdaAlias{}, getAlias("7", ""), "6", "lambda checkout:live: version 7 → 6"},
		{"gap below the current version", policy.LambdaAlias{Function: "checkout", Alias: "live"}, getAlias("4", ""), "2", "lambda checkout:live: version 4 → 2"},
		{"weighted alias goes wholly back", policy.LambdaAlias{}, getAlias("7", `{"AdditionalVersionWeights":{"8":0.1}}`), "6", "lambda checkout:live: version 7 → 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lambdaServer(t, tt.alias)

			got, err := remediate.LambdaAliasRollback(context.Background(), lambda.NewFromConfig(srv.Config()), tt.give, lambdaEnv)
			if err != nil {
				t.Fatalf("LambdaAliasRollback: %v", err)
			}

			get := srv.Invocations("GetAlias")
			if len(get) != 1 || get[0].PathValues["FunctionName"] != "checkout" || get[0].PathValues["Name"] != "live" {
				t.Fatalf("GetAlias calls = %d, want 1 of checkout/live", len(get))
			}
			if n := len(srv.Invocations("ListVersionsByFunction")); n != 2 {
				t.Errorf("ListVersionsByFunction calls = %d, want 2 pages", n)
			}
			calls := srv.Invocations("UpdateAlias")
			if len(calls) != 1 {
				t.Fatalf("UpdateAlias calls = %d, want 1", len(calls))
			}
			var in updateAlias
			if err := calls[0].DecodeJSON(&in); err != nil {
				t.Fatal(err)
			}
			if in.FunctionVersion != tt.want || in.RevisionID != aliasRevision ||
				in.RoutingConfig == nil || len(in.RoutingConfig.AdditionalVersionWeights) != 0 {
				t.Errorf("UpdateAlias(%+v), want version %s, revision %s, empty weights", in, tt.want, aliasRevision)
			}
			if want := (remediate.Outcome{Detail: tt.detail, Handle: tt.want}); got != want {
				t.Errorf("LambdaAliasRollback = %+v, want %+v", got, want)
			}
		})
	}
}

func TestLambdaAliasRollbackWithoutPreviousVersionIsRefused(t *testing.T) {
	tests := []struct {
		name      string
		alias     string
		wantLists int
	}{
		{"first version", getAlias("1", ""), 2},
		{"$LATEST", getAlias("$LATEST", ""), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lambdaServer(t, tt.alias)

			_, err := remediate.LambdaAliasRollback(context.Background(), lambda.NewFromConfig(srv.Config()), policy.LambdaAlias{}, lambdaEnv)

			if !errors.Is(err, remediate.ErrRefused) {
				t.Errorf("LambdaAliasRollback error = %v, want ErrRefused", err)
			}
			if n := len(srv.Invocations("ListVersionsByFunction")); n != tt.wantLists {
				t.Errorf("ListVersionsByFunction calls = %d, want %d", n, tt.wantLists)
			}
			if n := len(srv.Invocations("UpdateAlias")); n != 0 {
				t.Errorf("UpdateAlias calls = %d, want none", n)
			}
		})
	}
}

func TestLambdaAliasRollbackMovedMeanwhileIsRetryable(t *testing.T) {
	srv := lambdaServer(t, getAlias("7", ""))
	srv.On("UpdateAlias", awsfake.APIError(http.StatusPreconditionFailed, "PreconditionFailedException",
		"The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id"))

	_, err := remediate.LambdaAliasRollback(context.Background(), lambda.NewFromConfig(srv.Config()), policy.LambdaAlias{}, lambdaEnv)

	if err == nil || errors.Is(err, remediate.ErrRefused) {
		t.Errorf("LambdaAliasRollback error = %v, want a retryable error", err)
	}
	if got := body(t, srv, "UpdateAlias")["RevisionId"]; got != aliasRevision {
		t.Errorf("UpdateAlias RevisionId = %v, want %s", got, aliasRevision)
	}
}
