// Command gatejob is the Lambda function a CodePipeline invoke action calls to
// gate a build's output artifact: it reads the job as CodePipeline describes
// it, judges the artifact's reports, records the decision, and always answers
// the job it judges, so the pipeline never hangs.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/ledger"
)

func main() {
	rt, err := function.Load(context.Background())
	if err != nil {
		slog.Error("gatejob: start", "error", err)
		os.Exit(1)
	}
	limits, err := evidence.LimitsForMemory(os.Getenv(evidence.EnvMemorySize))
	if err != nil {
		slog.Error("gatejob: start", "error", err)
		os.Exit(1)
	}
	clients := func(account string) gating.JobClients {
		// Jobs are read and answered for no app: the app is known only once
		// CodePipeline has described the job.
		cfg := rt.Accounts.Config(account, rt.AWS.Region)
		return gating.JobClients{
			Jobs: codepipeline.NewFromConfig(cfg),
			// The artifact bucket trusts the short-lived credentials
			// CodePipeline returns with the job's details.
			Artifacts: func(c cptypes.AWSSessionCredentials) (evidence.ObjectGetter, error) {
				cfg := cfg.Copy()
				cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
					aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
				return s3.NewFromConfig(cfg), nil
			},
		}
	}
	h := gating.NewJobs(rt.Policy, clients,
		ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		sns.NewFromConfig(rt.AWS), rt.Topic, gating.WithMetrics(rt.Metrics), gating.WithArtifactLimits(limits))
	function.Start(rt, h.Handle)
}
