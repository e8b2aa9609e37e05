package remediate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"

	ar "github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
)

// The service of shared/apprunner's fixtures.
const (
	appRunnerARN = "arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e10304f84fd2b0df550fe98a71fa"
	operationID  = "a8b5c5f4-3c1d-4e2f-9a7b-6d5e4f3c2b1a"
)

// appRunnerEnv is deployed to App Runner service python-app, by name.
var appRunnerEnv = &policy.Environment{
	Name: "prod", Account: "123456789012", Region: "us-east-1",
	Deploy: &policy.Deploy{AppRunner: &policy.AppRunnerDeploy{Service: "python-app"}},
}

// appRunnerServer answers as App Runner does for python-app (DescribeService
// from shared/apprunner's testdata) in the given status, and starts every
// operation asked of it.
func appRunnerServer(t *testing.T, status string) *awsfake.Server {
	t.Helper()
	b, err := os.ReadFile("../apprunner/testdata/describe-service.json")
	if err != nil {
		t.Fatal(err)
	}
	describe := strings.Replace(string(b), `"Status": "RUNNING"`, fmt.Sprintf("%q: %q", "Status", status), 1)
	srv := server(t)
	srv.On("DescribeService", awsfake.JSON(200, describe))
	srv.On("ListServices", awsfake.JSON(200, `{"ServiceSummaryList":[`+
		`{"ServiceName":"web","ServiceArn":"arn:aws:apprunner:us-east-1:123456789012:service/web/0a1b2c3d4e5f60718293a4b5c6d7e8f9","Status":"RUNNING"},`+
		`{"ServiceName":"python-app","ServiceArn":"`+appRunnerARN+`","Status":"`+status+`"}]}`))
	srv.On("StartDeployment", awsfake.JSON(200, `{"OperationId":"`+operationID+`"}`))
	started := fmt.Sprintf(`{"OperationId":%q,"Service":{"ServiceArn":%q,"ServiceName":"python-app","ServiceId":"8fe1e10304f84fd2b0df550fe98a71fa","Status":"OPERATION_IN_PROGRESS"}}`, operationID, appRunnerARN)
	srv.On("PauseService", awsfake.JSON(200, started))
	srv.On("ResumeService", awsfake.JSON(200, started))
	return srv
}

// appRunnerAction is one of the App Runner actions.
type appRunnerAction func(context.Context, ar.Client, policy.AppRunnerService, *policy.Environment) (remediate.Outcome, error)

func TestAppRunnerActionsStartAnOperation(t *testing.T) {
	tests := []struct {
		name      string
		run       appRunnerAction
		give      policy.AppRunnerService
		status    string
		wantOp    string
		wantLists int // ListServices calls: a name is looked up, an ARN is not
		wantWhat  string
	}{
		{"redeploy the environment's service", remediate.AppRunnerRedeploy, policy.AppRunnerService{}, "RUNNING", "StartDeployment", 1, "deployment"},
		{"redeploy a service named by ARN", remediate.AppRunnerRedeploy, policy.AppRunnerService{Service: appRunnerARN}, "RUNNING", "StartDeployment", 0, "deployment"},
		{"pause a running service", remediate.AppRunnerPause, policy.AppRunnerService{}, "RUNNING", "PauseService", 1, "pause"},
		{"resume a paused service", remediate.AppRunnerResume, policy.AppRunnerService{Service: "python-app"}, "PAUSED", "ResumeService", 1, "resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appRunnerServer(t, tt.status)

			got, err := tt.run(context.Background(), apprunner.NewFromConfig(srv.Config()), tt.give, appRunnerEnv)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}

			if in := body(t, srv, tt.wantOp); in["ServiceArn"] != appRunnerARN {
				t.Errorf("%s(%v), want ServiceArn %s", tt.wantOp, in, appRunnerARN)
			}
			if n := len(srv.Invocations("ListServices")); n != tt.wantLists {
				t.Errorf("ListServices calls = %d, want %d", n, tt.wantLists)
			}
			want := remediate.Outcome{Detail: "apprunner python-app: " + tt.wantWhat + " started, operation " + operationID, Handle: operationID}
			if got != want {
				t.Errorf("%s = %+v, want %+v", tt.name, got, want)
			}
		})
	}
}

func TestAppRunnerPauseAndResumeLeaveAServiceAlreadyThere(t *testing.T) {
	tests := []struct {
		name       string
		run        appRunnerAction
		status     string
		wantDetail string
	}{
		{"pause a paused service", remediate.AppRunnerPause, "PAUSED", "apprunner python-app: already paused, left as it is"},
		{"resume a running service", remediate.AppRunnerResume, "RUNNING", "apprunner python-app: already running, left as it is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appRunnerServer(t, tt.status)

			got, err := tt.run(context.Background(), apprunner.NewFromConfig(srv.Config()), policy.AppRunnerService{}, appRunnerEnv)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}

			if want := (remediate.Outcome{Detail: tt.wantDetail}); got != want {
				t.Errorf("%s = %+v, want %+v", tt.name, got, want)
			}
			for _, op := range []string{"PauseService", "ResumeService"} {
				if n := len(srv.Invocations(op)); n != 0 {
					t.Errorf("%s calls = %d, want none", op, n)
				}
			}
		})
	}
}

func TestAppRunnerRefusals(t *testing.T) {
	tests := []struct {
		name   string
		run    appRunnerAction
		give   policy.AppRunnerService
		status string
	}{
		{"redeploy of a paused service", remediate.AppRunnerRedeploy, policy.AppRunnerService{}, "PAUSED"},
		{"pause of a deleted service", remediate.AppRunnerPause, policy.AppRunnerService{}, "DELETED"},
		{"resume of a service that failed to be created", remediate.AppRunnerResume, policy.AppRunnerService{}, "CREATE_FAILED"},
		{"redeploy of an unknown name", remediate.AppRunnerRedeploy, policy.AppRunnerService{Service: "search"}, "RUNNING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appRunnerServer(t, tt.status)

			_, err := tt.run(context.Background(), apprunner.NewFromConfig(srv.Config()), tt.give, appRunnerEnv)

			if !errors.Is(err, remediate.ErrRefused) {
				t.Errorf("%s error = %v, want ErrRefused", tt.name, err)
			}
			for _, op := range []string{"StartDeployment", "PauseService", "ResumeService"} {
				if n := len(srv.Invocations(op)); n != 0 {
					t.Errorf("%s calls = %d, want none", op, n)
				}
			}
		})
	}
}

func TestAppRunnerMissingServiceIsRefused(t *testing.T) {
	srv := appRunnerServer(t, "RUNNING")
	srv.On("DescribeService", awsfake.APIError(http.StatusBadRequest, "ResourceNotFoundException", "Service with ARN "+appRunnerARN+" does not exist"))

	_, err := remediate.AppRunnerPause(context.Background(), apprunner.NewFromConfig(srv.Config()), policy.AppRunnerService{Service: appRunnerARN}, appRunnerEnv)

	if !errors.Is(err, remediate.ErrRefused) {
		t.Errorf("AppRunnerPause error = %v, want ErrRefused", err)
	}
	if n := len(srv.Invocations("PauseService")); n != 0 {
		t.Errorf("PauseService calls = %d, want none", n)
	}
}

// App Runner runs one operation on a service at a time: a service found
// busy, or answered busy (InvalidStateException) because an operation started
// since it was described, is a retryable error, and a retry after that
// operation ends succeeds.
func TestAppRunnerBusyServiceIsRetryable(t *testing.T) {
	tests := []struct {
		name      string
		run       appRunnerAction
		status    string
		op        string
		wantCalls int
	}{
		{"redeploy while an operation runs", remediate.AppRunnerRedeploy, "OPERATION_IN_PROGRESS", "StartDeployment", 0},
		{"pause while an operation runs", remediate.AppRunnerPause, "OPERATION_IN_PROGRESS", "PauseService", 0},
		{"pause answered busy", remediate.AppRunnerPause, "RUNNING", "PauseService", 1},
		{"resume answered busy", remediate.AppRunnerResume, "PAUSED", "ResumeService", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appRunnerServer(t, tt.status)
			srv.On(tt.op, awsfake.APIError(http.StatusBadRequest, "InvalidStateException",
				"You can't perform this action while the service is in OPERATION_IN_PROGRESS status."))

			_, err := tt.run(context.Background(), apprunner.NewFromConfig(srv.Config()), policy.AppRunnerService{}, appRunnerEnv)

			if !errors.Is(err, ar.ErrBusy) || errors.Is(err, remediate.ErrRefused) {
				t.Errorf("%s error = %v, want ErrBusy and retryable", tt.name, err)
			}
			if n := len(srv.Invocations(tt.op)); n != tt.wantCalls {
				t.Errorf("%s calls = %d, want %d", tt.op, n, tt.wantCalls)
			}
		})
	}
}
