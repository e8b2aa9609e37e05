package runtimecheck_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/runtimecheck"
)

// Check compares what an environment runs with its latest successful
// deployment. Here someone pointed the parameter at an image that never
// passed the gate; a scheduled function would publish "Artifact Drift".
func ExampleCheck() {
	srv := awsfake.Start()
	defer srv.Close()
	srv.On("GetParameter", awsfake.JSON(200, `{"Parameter":{"Name":"/checkout/prod/image","Type":"String","Version":13,
		"Value":"123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:9d8d105ac90cc56852c704633b4c2e233802a97757660935930d86e746d515ea"}}`))

	ctx := context.Background()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	l := ledger.NewMemory()
	l.Put(ctx, &ledger.Deployment{
		Header: ledger.Header{ID: "dep-1", App: "checkout", Env: "prod", Commit: "9fceb02",
			Digest: "sha256:dce6076a9db1931ce247727b49c0c6aaa57dbd673cf1101e2cb2275bc1bd8337", At: at.Add(-time.Hour)},
		Status: ledger.DeploymentSuccess,
	})
	prod := &policy.Environment{Name: "prod", Account: "123456789012", Region: "us-east-1",
		Deploy: &policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/image"}}}

	rep, err := runtimecheck.Check(ctx, "checkout", prod, l, runtimecheck.Clients{SSM: ssm.NewFromConfig(srv.Config())}, at)
	if errors.Is(err, runtimecheck.ErrNoTarget) || errors.Is(err, runtimecheck.ErrNotPromoted) {
		return // nothing to check
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.ID, rep.Status, "changed:", rep.Changed)
	fmt.Println("promoted:", rep.ExpectedDigest[:19])
	fmt.Println("running: ", rep.Digest[:19])
	// Output:
	// checkout/prod DIGEST_MISMATCH changed: true
	// promoted: sha256:dce6076a9db1
	// running:  sha256:9d8d105ac90c
}
