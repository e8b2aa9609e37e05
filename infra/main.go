// Command infra is Highway's CDK app. cdk.json runs it from the repository root:
// it loads the policy (context "policy", default infra/highway.yaml), fails with
// the policy's line-numbered errors when it is invalid, and synthesizes the hub
// and spoke stacks from the functions make build left in build/.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/infra/stacks"
	"github.com/highwayhq/highway/shared/policy"
)

// Defaults, relative to the repository root where cdk.json lives.
const (
	defaultPolicyFile = "infra/highway.yaml"
	buildDir          = "build"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if err := build(app, contextString(app, "policy", defaultPolicyFile), buildDir); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// build adds Highway's stacks to app from the policy file and the build directory.
func build(app awscdk.App, policyFile, buildDir string) error {
	p, err := policy.Load(policyFile)
	if err != nil {
		return err
	}
	_, err = stacks.New(app, stacks.Props{Policy: p, BuildDir: buildDir})
	return err
}

// contextString reads a string from the CDK context (cdk.json or -c key=value).
func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}
