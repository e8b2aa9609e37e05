package deploy_test

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// For picks the adapter the environment's policy names. Here an SSM client
// talks to the wire-level fake; in a function it is built once in main from
// the environment account's config.
func ExampleFor() {
	srv := awsfake.Start()
	defer srv.Close()
	srv.On("PutParameter", awsfake.JSON(200, `{"Tier":"Standard","Version":7}`))

	d, err := deploy.For(
		&policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/image"}},
		deploy.Clients{SSM: ssm.NewFromConfig(srv.Config())},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := d.Deploy(context.Background(), deploy.Target{
		App: "checkout", Env: "prod",
		Artifact: &ledger.Artifact{
			Header:     ledger.Header{Digest: "sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3"},
			Type:       ledger.ArtifactImage,
			Repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("done:", res.Done)
	fmt.Println(res.Detail)
	// Output:
	// done: true
	// parameter /checkout/prod/image version 7 = 123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3
}

// DryRun prints the calls each adapter would make, as the local demo does.
func ExampleDryRun() {
	target := deploy.Target{
		App: "checkout", Env: "prod", Promotion: "p-0001",
		Account: "123456789012", Region: "us-east-1",
		Artifact: &ledger.Artifact{
			Header:     ledger.Header{Digest: "sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3"},
			Type:       ledger.ArtifactImage,
			Repository: "registry.example/checkout",
		},
	}
	for _, p := range []*policy.Deploy{
		{SSM: &policy.SSMDeploy{Parameter: "/checkout/prod/image"}},
		{Pipeline: &policy.PipelineDeploy{Name: "checkout-prod"}},
		{Lambda: &policy.LambdaDeploy{Function: "checkout", Alias: "live"}},
		{ECS: &policy.ECSDeploy{Cluster: "prod", Service: "checkout", Container: "web"}},
	} {
		d, err := deploy.DryRun(p, os.Stdout)
		if err != nil {
			fmt.Println(err)
			return
		}
		res, err := d.Deploy(context.Background(), target)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("->", res.Detail)
	}
	// Output:
	// [123456789012/us-east-1] ssm:PutParameter Name=/checkout/prod/image Value=registry.example/checkout@sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3 Type=String Overwrite=true
	// -> dry run of the ssm adapter: 1 AWS call printed
	// [123456789012/us-east-1] codepipeline:StartPipelineExecution Name=checkout-prod Variables=ARTIFACT_DIGEST=sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3 ClientRequestToken=hw-e61b0c362a7598e9599e09f8e6a904591470c319ef08016e8d05add5c3b4b402
	// -> dry run of the pipeline adapter: 1 AWS call printed
	// [123456789012/us-east-1] lambda:ListVersionsByFunction FunctionName=checkout (all pages, looking for CodeSha256=d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3)
	// [123456789012/us-east-1] lambda:UpdateAlias FunctionName=checkout Name=live FunctionVersion=<newest version with CodeSha256=d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3> RoutingConfig={}
	// -> dry run of the lambda adapter: 2 AWS calls printed
	// [123456789012/us-east-1] ecs:DescribeServices Cluster=prod Services=checkout
	// [123456789012/us-east-1] ecs:DescribeTaskDefinition TaskDefinition=<task definition of service checkout> Include=TAGS
	// [123456789012/us-east-1] ecs:RegisterTaskDefinition Family=<its family> ContainerDefinitions=<its containers, web with Image=registry.example/checkout@sha256:d8c5c612ef808548ae6f6cefe6f3b0e181e57adb0f81e9e8a6f867cc425aadc3> (other fields copied)
	// [123456789012/us-east-1] ecs:UpdateService Cluster=prod Service=checkout TaskDefinition=<the new revision>
	// -> dry run of the ecs adapter: 4 AWS calls printed
}
