package deploy_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/policy"
)

const (
	appRunnerARN = "arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e10304f84fd2b0df550fe98a71fa"
	appRunnerOp  = "a8b5c5f4-3c1d-4e2f-9a7b-6d5e4f3c2b1a"
)

// appRunnerServer answers DescribeService with App Runner's own example
// (shared/apprunner/testdata), its image replaced by image and its status by
// status, and UpdateService with an operation.
func appRunnerServer(t *testing.T, image, status string) (*awsfake.Server, deploy.Deployer) {
	t.Helper()
	described := testdata(t, filepath.Join("..", "..", "apprunner", "testdata", "describe-service.json"))
	described = strings.Replace(described, "123456789012.dkr.ecr.us-east-1.amazonaws.com/python-app:latest", image, 1)
	described = strings.Replace(described, `"Status": "RUNNING"`, `"Status": "`+status+`"`, 1)
	srv := awsfake.New(t)
	srv.On("DescribeService", awsfake.JSON(200, described))
	srv.On("UpdateService", awsfake.JSON(200, fmt.Sprintf(`{"OperationId":%q,"Service":{"ServiceArn":%q,"ServiceName":"python-app","Status":"OPERATION_IN_PROGRESS"}}`, appRunnerOp, appRunnerARN)))
	d, err := deploy.For(&policy.Deploy{AppRunner: &policy.AppRunnerDeploy{Service: appRunnerARN}}, deploy.Clients{AppRunner: apprunner.NewFromConfig(srv.Config())})
	if err != nil {
		t.Fatal(err)
	}
	return srv, d
}

// operations answers ListOperations with the update operation in status.
func operations(srv *awsfake.Server, status string) {
	srv.On("ListOperations", awsfake.JSON(200, fmt.Sprintf(`{"OperationSummaryList":[{"Id":%q,"Status":%q,"TargetArn":%q,"Type":"UPDATE_SERVICE","StartedAt":1606156014,"UpdatedAt":1606156217},{"Id":"17fe9f55-7e91-4097-b243-fcabbb69a4cf","Status":"SUCCEEDED","TargetArn":%q,"Type":"CREATE_SERVICE","StartedAt":1606156014}]}`,
		appRunnerOp, status, appRunnerARN, appRunnerARN)))
}

// The service gets image@digest in one UpdateService, and its operation is
// followed to its end.
func TestAppRunnerDeploysByDigestAndFollowsTheOperation(t *testing.T) {
	srv, d := appRunnerServer(t, repository+":latest", "RUNNING")
	tg := target(imageArtifact())
	res, err := d.Deploy(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Done || res.Handle != appRunnerARN+"#"+appRunnerOp {
		t.Fatalf("result %+v, want a handle to operation %s", res, appRunnerOp)
	}
	in := body(t, srv, "UpdateService")
	src := in["SourceConfiguration"].(map[string]any)["ImageRepository"].(map[string]any)
	if src["ImageIdentifier"] != repository+"@"+imageDigest {
		t.Errorf("UpdateService image %v, want %s@%s", src["ImageIdentifier"], repository, imageDigest)
	}
	f := d.(deploy.Follower)
	for _, tc := range []struct {
		status        string
		done, success bool
	}{{"IN_PROGRESS", false, false}, {"SUCCEEDED", true, true}} {
		operations(srv, tc.status)
		p, err := f.Follow(t.Context(), tg, res.Handle)
		if err != nil || p.Done != tc.done || p.Success != tc.success {
			t.Errorf("operation %s: progress %+v, %v; want done %v success %v", tc.status, p, err, tc.done, tc.success)
		}
	}
}

// An operation that FAILED, or that App Runner rolled back, fails the
// deployment.
func TestAppRunnerOperationFailed(t *testing.T) {
	srv, d := appRunnerServer(t, repository+":latest", "RUNNING")
	tg := target(imageArtifact())
	res, err := d.Deploy(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"FAILED", "ROLLBACK_SUCCEEDED", "ROLLBACK_IN_PROGRESS"} {
		operations(srv, status)
		p, err := d.(deploy.Follower).Follow(t.Context(), tg, res.Handle)
		if err != nil || !p.Done || p.Success || !strings.Contains(p.Detail, status) {
			t.Errorf("operation %s: progress %+v, %v; want done and failed, saying %s", status, p, err, status)
		}
	}
}

// A retried Deploy finds the image set: a RUNNING service is done without an
// update, one still rolling out is followed by its status.
func TestAppRunnerRetryFindsTheImage(t *testing.T) {
	pinned := repository + "@" + imageDigest
	srv, d := appRunnerServer(t, pinned, "RUNNING")
	res, err := d.Deploy(t.Context(), target(imageArtifact()))
	if err != nil || !res.Done || len(srv.Invocations("UpdateService")) != 0 {
		t.Fatalf("running: %+v, %v, %d updates; want done, no update", res, err, len(srv.Invocations("UpdateService")))
	}
	_, d = appRunnerServer(t, pinned, "OPERATION_IN_PROGRESS")
	res, err = d.Deploy(t.Context(), target(imageArtifact()))
	if err != nil || res.Done || res.Handle != appRunnerARN+"#" {
		t.Fatalf("in progress: %+v, %v; want a handle without an operation", res, err)
	}
	p, err := d.(deploy.Follower).Follow(t.Context(), target(imageArtifact()), res.Handle)
	if err != nil || p.Done {
		t.Errorf("in progress: progress %+v, %v; want still running", p, err)
	}
}

// A paused service, a tagged artifact or a missing service cannot be
// deployed; a busy one can, later.
func TestAppRunnerRefusals(t *testing.T) {
	_, d := appRunnerServer(t, repository+":latest", "PAUSED")
	if _, err := d.Deploy(t.Context(), target(imageArtifact())); !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("paused: %v, want ErrRefused", err)
	}
	// Paused, or failed, and already naming the image: nothing runs it, and
	// following it would only wait for the timeout.
	for _, status := range []string{"PAUSED", "CREATE_FAILED"} {
		_, d := appRunnerServer(t, repository+"@"+imageDigest, status)
		if _, err := d.Deploy(t.Context(), target(imageArtifact())); !errors.Is(err, deploy.ErrRefused) {
			t.Errorf("%s naming the image: %v, want ErrRefused", status, err)
		}
	}
	srv, d := appRunnerServer(t, repository+":latest", "RUNNING")
	srv.On("UpdateService", awsfake.APIError(400, "InvalidStateException", "Service is in OPERATION_IN_PROGRESS state"))
	if _, err := d.Deploy(t.Context(), target(imageArtifact())); err == nil || errors.Is(err, deploy.ErrRefused) {
		t.Errorf("busy: %v, want an error worth a retry", err)
	}
	srv.On("DescribeService", awsfake.APIError(400, "ResourceNotFoundException", "Service not found"))
	if _, err := d.Deploy(t.Context(), target(imageArtifact())); !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("missing: %v, want ErrRefused", err)
	}
	if _, err := d.Deploy(t.Context(), target(zipArtifact())); !errors.Is(err, deploy.ErrRefused) {
		t.Errorf("zip artifact: %v, want ErrRefused", err)
	}
}
