package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
)

type putParameter struct {
	Name      string `json:"Name"`
	Value     string `json:"Value"`
	Type      string `json:"Type"`
	Overwrite bool   `json:"Overwrite"`
}

func ssmDeployer(t *testing.T, srv *awsfake.Server) deploy.Deployer {
	t.Helper()
	d, err := deploy.For(ssmPolicy, deploy.Clients{SSM: ssm.NewFromConfig(srv.Config())})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSSMWritesTheImageURIOrTheDigest(t *testing.T) {
	tests := []struct {
		name string
		give *ledger.Artifact
		want string
	}{
		{"image", imageArtifact(), repository + "@" + imageDigest},
		{"s3", zipArtifact(), zipDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("PutParameter", awsfake.JSON(200, `{"Tier":"Standard","Version":7}`))

			res, err := ssmDeployer(t, srv).Deploy(context.Background(), target(tt.give))
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if !res.Done || res.Handle != "" {
				t.Errorf("Deploy = %+v, want Done and no Handle", res)
			}
			calls := srv.Invocations("PutParameter")
			if len(calls) != 1 {
				t.Fatalf("PutParameter calls = %d, want 1", len(calls))
			}
			var in putParameter
			if err := calls[0].DecodeJSON(&in); err != nil {
				t.Fatal(err)
			}
			want := putParameter{Name: "/checkout/prod/image", Value: tt.want, Type: "String", Overwrite: true}
			if in != want {
				t.Errorf("PutParameter(%+v), want %+v", in, want)
			}
		})
	}
}

func TestSSMRetriesThrottlingWithTheSameValue(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("PutParameter", awsfake.JSON(200, `{"Tier":"Standard","Version":3}`))
	srv.Inject(awsfake.Fault{Operation: "PutParameter", Kind: awsfake.Throttle, First: 2})

	if _, err := ssmDeployer(t, srv).Deploy(context.Background(), target(imageArtifact())); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	calls := srv.Calls("PutParameter")
	if n := len(srv.Invocations("PutParameter")); n != 1 || len(calls) < 3 {
		t.Fatalf("PutParameter called %d times in %d attempts, want once, in at least 3 (two throttled)", n, len(calls))
	}
	for _, c := range calls[1:] {
		if string(c.Body) != string(calls[0].Body) {
			t.Errorf("retry %d sent %s, want %s", c.Call, c.Body, calls[0].Body)
		}
	}
}

func TestSSMErrorsAreRefusedOnlyWhenARetryCannotHelp(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		code        string
		wantRefused bool
	}{
		{"access denied", http.StatusBadRequest, "AccessDeniedException", true},
		{"bad name", http.StatusBadRequest, "ParameterPatternMismatchException", true},
		{"too many versions", http.StatusBadRequest, "ParameterMaxVersionLimitExceeded", true},
		{"concurrent updates", http.StatusBadRequest, "TooManyUpdates", false},
		{"server error", http.StatusInternalServerError, "InternalServerError", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("PutParameter", awsfake.APIError(tt.status, tt.code, "no"))

			_, err := ssmDeployer(t, srv).Deploy(context.Background(), target(imageArtifact()))
			if err == nil {
				t.Fatal("Deploy succeeded, want an error")
			}
			if got := errors.Is(err, deploy.ErrRefused); got != tt.wantRefused {
				t.Errorf("errors.Is(%v, ErrRefused) = %v, want %v", err, got, tt.wantRefused)
			}
		})
	}
}
