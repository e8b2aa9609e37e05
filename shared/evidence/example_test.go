package evidence_test

import (
	"encoding/json"
	"fmt"
	"github.com/highwayhq/highway/shared/evidence"
	"os"

	"github.com/aws/aws-lambda-go/events"
)

// A failed build, as CodeBuild reports it on EventBridge: the decoded event
// says which phase failed and why, and where the build's artifact is.
func ExampleDecodeBuildEvent() {
	raw, err := os.ReadFile("../../events/codebuild-build-failed.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		fmt.Println(err)
		return
	}

	got, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.Build.Project, got.Build.Status, "at", got.Build.Commit[:7], "on", got.Build.Branch)
	fmt.Println("started by", got.Pipeline, "artifact", got.Artifact)
	for _, p := range got.Build.Phases {
		if p.Status == "FAILED" {
			fmt.Println(p.Name, p.Duration, p.Contexts)
		}
	}
	// Output:
	// checkout-build FAILED at 4032766 on main
	// started by checkout-pipeline artifact s3://codepipeline-eu-west-1-222222222222/checkout-pipeline/BuildArtif/m4Tz9Qe
	// BUILD 1m4s [COMMAND_EXECUTION_ERROR: Error while executing command: go build ./... Reason: exit status 1]
}
