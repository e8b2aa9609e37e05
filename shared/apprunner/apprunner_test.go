package apprunner_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	ar "github.com/highwayhq/highway/shared/apprunner"
	"github.com/highwayhq/highway/shared/awsfake"
)

const (
	arn    = "arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e10304f84fd2b0df550fe98a71fa"
	repo   = "123456789012.dkr.ecr.us-east-1.amazonaws.com/python-app"
	digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	opID   = "a8b5c5f4-3c1d-4e2f-9a7b-6d5e4f3c2b1a"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// service answers as App Runner does for the fixture's service, running
// image; UpdateService answers with an operation.
func service(t *testing.T, image string) (*awsfake.Server, *apprunner.Client) {
	fake := awsfake.New(t)
	fake.On("DescribeService", awsfake.JSON(200, strings.Replace(fixture(t, "describe-service.json"), repo+":latest", image, 1)))
	fake.On("UpdateService", awsfake.JSON(200, fmt.Sprintf(`{"OperationId":%q,"Service":{"ServiceArn":%q,"ServiceName":"python-app","ServiceId":"8fe1e10304f84fd2b0df550fe98a71fa","Status":"OPERATION_IN_PROGRESS"}}`, opID, arn)))
	fake.On("ListServices", awsfake.JSON(200, fmt.Sprintf(`{"ServiceSummaryList":[{"ServiceName":"web","ServiceArn":"arn:aws:apprunner:us-east-1:123456789012:service/web/0a1b2c3d4e5f60718293a4b5c6d7e8f9","Status":"RUNNING"},{"ServiceName":"python-app","ServiceArn":%q,"Status":"RUNNING"}]}`, arn)))
	return fake, apprunner.NewFromConfig(fake.Config())
}

// SetImage changes the image identifier alone: the port, variables, access
// role and auto-deployment setting go back as they were; a service already
// running the image is not updated.
func TestSetImageUpdatesTheImageAlone(t *testing.T) {
	fake, c := service(t, repo+":latest")
	s, op, err := ar.SetImage(t.Context(), c, "python-app", repo+"@"+digest)
	if err != nil || op != opID || s.ARN != arn || s.Digest != "" {
		t.Fatalf("service %+v, operation %q, err %v", s, op, err)
	}
	var in struct {
		ServiceArn          string
		SourceConfiguration struct {
			AuthenticationConfiguration struct{ AccessRoleArn string }
			AutoDeploymentsEnabled      *bool
			ImageRepository             struct {
				ImageIdentifier, ImageRepositoryType string
				ImageConfiguration                   struct {
					Port, StartCommand                                     string
					RuntimeEnvironmentVariables, RuntimeEnvironmentSecrets map[string]string
				}
			}
		}
	}
	if err := fake.Calls("UpdateService")[0].DecodeJSON(&in); err != nil {
		t.Fatal(err)
	}
	src := in.SourceConfiguration
	if in.ServiceArn != arn || src.ImageRepository.ImageIdentifier != repo+"@"+digest || src.ImageRepository.ImageRepositoryType != "ECR" ||
		src.ImageRepository.ImageConfiguration.Port != "8080" || src.ImageRepository.ImageConfiguration.RuntimeEnvironmentVariables["NAME"] != "Jane" ||
		src.ImageRepository.ImageConfiguration.StartCommand != "python server.py" ||
		src.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets["DB_PASSWORD"] != "arn:aws:secretsmanager:us-east-1:123456789012:secret:python-app-db-AbCdEf" ||
		src.AuthenticationConfiguration.AccessRoleArn != "arn:aws:iam::123456789012:role/AppRunnerECRAccessRole" ||
		src.AutoDeploymentsEnabled == nil || *src.AutoDeploymentsEnabled {
		b, _ := json.Marshal(in)
		t.Errorf("UpdateService input %s", b)
	}

	fake2, c2 := service(t, repo+"@"+digest)
	s, op, err = ar.SetImage(t.Context(), c2, arn, repo+"@"+digest)
	if err != nil || op != "" || s.Digest != digest || len(fake2.Calls("UpdateService")) != 0 || len(fake2.Calls("ListServices")) != 0 {
		t.Errorf("already running: operation %q, digest %q, err %v, %d updates", op, s.Digest, err, len(fake2.Calls("UpdateService")))
	}
}

// The operation App Runner reports decides the phase: SUCCEEDED succeeded,
// PENDING and IN_PROGRESS run on, FAILED and every rollback failed.
func TestOperationPhases(t *testing.T) {
	for status, want := range map[types.OperationStatus]ar.Phase{
		types.OperationStatusSucceeded: ar.Succeeded, types.OperationStatusPending: ar.Running, types.OperationStatusInProgress: ar.Running,
		types.OperationStatusFailed: ar.Failed, types.OperationStatusRollbackInProgress: ar.Failed,
		types.OperationStatusRollbackSucceeded: ar.Failed, types.OperationStatusRollbackFailed: ar.Failed,
	} {
		t.Run(string(status), func(t *testing.T) {
			fake := awsfake.New(t)
			ops := strings.Replace(fixture(t, "list-operations.json"), "[", fmt.Sprintf(`[{"Id":%q,"Status":%q,"Type":"UPDATE_SERVICE","TargetArn":%q,"StartedAt":1606200000},`, opID, status, arn), 1)
			fake.On("ListOperations", awsfake.JSON(200, ops))
			phase, got, err := ar.Operation(t.Context(), apprunner.NewFromConfig(fake.Config()), arn, opID)
			if err != nil || phase != want || got != status {
				t.Errorf("phase %s (%s), err %v; want %s", phase, got, err, want)
			}
		})
	}
}

// An App Runner operation that FAILED fails the deployment; an operation not
// listed (yet) is an error a later look may clear, not a refusal.
func TestOperationFailed(t *testing.T) {
	fake := awsfake.New(t)
	fake.On("ListOperations", awsfake.JSON(200, fmt.Sprintf(`{"OperationSummaryList":[{"Id":%q,"Status":"FAILED","Type":"UPDATE_SERVICE","TargetArn":%q,"StartedAt":1606200000,"EndedAt":1606200300}]}`, opID, arn)))
	c := apprunner.NewFromConfig(fake.Config())
	if phase, _, err := ar.Operation(t.Context(), c, arn, opID); err != nil || phase != ar.Failed {
		t.Errorf("phase %s, err %v; want FAILED", phase, err)
	}
	if _, _, err := ar.Operation(t.Context(), c, arn, "17fe9f55-7e91-4097-b243-fcabbb69a4cf"); err == nil || errors.Is(err, ar.ErrRefused) {
		t.Errorf("an operation not listed: err %v, want a transient error", err)
	}
}

// A name no service has, a service built from source code, and one busy with
// another operation are told apart.
func TestSetImageRefusals(t *testing.T) {
	_, c := service(t, repo+":latest")
	if _, _, err := ar.SetImage(t.Context(), c, "checkout", repo+"@"+digest); !errors.Is(err, ar.ErrRefused) {
		t.Errorf("no such name: err %v, want ErrRefused", err)
	}

	fake := awsfake.New(t)
	fake.On("DescribeService", awsfake.JSON(200, `{"Service":{"ServiceArn":"`+arn+`","ServiceName":"python-app","Status":"RUNNING","SourceConfiguration":{"CodeRepository":{"RepositoryUrl":"https://github.com/my-account/python-hello","SourceCodeVersion":{"Type":"BRANCH","Value":"main"}}}}}`))
	if _, _, err := ar.SetImage(t.Context(), apprunner.NewFromConfig(fake.Config()), arn, repo+"@"+digest); !errors.Is(err, ar.ErrRefused) {
		t.Errorf("a code repository service: err %v, want ErrRefused", err)
	}

	paused := awsfake.New(t)
	paused.On("DescribeService", awsfake.JSON(200, strings.Replace(fixture(t, "describe-service.json"), `"Status": "RUNNING"`, `"Status": "PAUSED"`, 1)))
	if _, _, err := ar.SetImage(t.Context(), apprunner.NewFromConfig(paused.Config()), arn, repo+"@"+digest); !errors.Is(err, ar.ErrRefused) || len(paused.Calls("UpdateService")) != 0 {
		t.Errorf("paused: err %v, want ErrRefused before any update", err)
	}

	busy, c3 := service(t, repo+":latest")
	busy.On("UpdateService", awsfake.APIError(400, "InvalidStateException", "You can't update the service while an operation is in progress."))
	if _, _, err := ar.SetImage(t.Context(), c3, arn, repo+"@"+digest); !errors.Is(err, ar.ErrBusy) || errors.Is(err, ar.ErrRefused) {
		t.Errorf("busy: err %v, want ErrBusy", err)
	}
}

// Redeploy, Pause and Resume return the operation each started.
func TestActions(t *testing.T) {
	fake := awsfake.New(t)
	for _, op := range []string{"StartDeployment", "PauseService", "ResumeService"} {
		fake.On(op, awsfake.JSON(200, fmt.Sprintf(`{"OperationId":%q,"Service":{"ServiceArn":%q,"ServiceName":"python-app","Status":"OPERATION_IN_PROGRESS"}}`, opID, arn)))
	}
	c := apprunner.NewFromConfig(fake.Config())
	for name, act := range map[string]func() (string, error){
		"StartDeployment": func() (string, error) { return ar.Redeploy(t.Context(), c, arn) },
		"PauseService":    func() (string, error) { return ar.Pause(t.Context(), c, arn) },
		"ResumeService":   func() (string, error) { return ar.Resume(t.Context(), c, arn) },
	} {
		if op, err := act(); err != nil || op != opID || len(fake.Calls(name)) != 1 {
			t.Errorf("%s: operation %q, err %v", name, op, err)
		}
		// Busy with another operation: the SDK does not model
		// InvalidStateException for every one of these, but its code says so.
		fake.On(name, awsfake.APIError(400, "InvalidStateException", "Service is in OPERATION_IN_PROGRESS state"))
		if _, err := act(); !errors.Is(err, ar.ErrBusy) {
			t.Errorf("%s while busy: %v, want ErrBusy", name, err)
		}
	}
}
