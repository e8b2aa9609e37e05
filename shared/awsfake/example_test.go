package awsfake_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"

	"github.com/highwayhq/highway/shared/awsfake"
)

// A real CodePipeline client talks to the fake: the first call is throttled,
// the SDK retries it, and the test reads back what was sent.
func Example() {
	srv := awsfake.Start() // in a test: awsfake.New(t), closed when the test ends
	defer srv.Close()
	srv.On("StopPipelineExecution", awsfake.JSON(200, `{"pipelineExecutionId":"exec-1"}`))
	srv.Inject(awsfake.Fault{Operation: "StopPipelineExecution", Kind: awsfake.Throttle, First: 1})

	client := codepipeline.NewFromConfig(srv.Config())
	out, err := client.StopPipelineExecution(context.Background(), &codepipeline.StopPipelineExecutionInput{
		PipelineName:        aws.String("checkout"),
		PipelineExecutionId: aws.String("exec-1"),
		Reason:              aws.String("lint failed"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stopped", aws.ToString(out.PipelineExecutionId))

	for _, r := range srv.Calls("StopPipelineExecution") {
		var in struct {
			Reason string `json:"reason"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			fmt.Println(err)
		}
		fmt.Println(r.Call, r.Fault, in.Reason)
	}
	// Output:
	// stopped exec-1
	// 1 Throttle lint failed
	// 2 none lint failed
}
