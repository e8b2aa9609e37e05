package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/highwayhq/highway/shared/imagescan"
	"github.com/highwayhq/highway/shared/reportgroups"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/localaws"
)

// The demo's stand-ins for the AWS services the gate reads and acts on. Reads
// are answered from files in events/; actions are printed as dry-runs.

// artifacts serves build output artifacts from events/artifacts/<name>, where
// name is the last segment of the object key, zipped on request as CodeBuild
// uploads them.
type artifacts struct{ dir string }

// GetObject zips the artifact's folder, or answers NoSuchKey.
func (a artifacts) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	root := filepath.Join(a.dir, path.Base(aws.ToString(in.Key)))
	if _, err := os.Stat(root); err != nil {
		return nil, &s3types.NoSuchKey{Message: aws.String("no sample artifact " + root)}
	}
	data, err := localaws.ZipFolder(root)
	if err != nil {
		return nil, err
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(data)), ContentLength: aws.Int64(int64(len(data)))}, nil
}

var _ evidence.ObjectGetter = artifacts{}

// noReportGroups is a CodeBuild whose builds publish no report groups: the
// demo's reports travel in the output artifact.
type noReportGroups struct{}

func (noReportGroups) BatchGetBuilds(_ context.Context, in *codebuild.BatchGetBuildsInput, _ ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error) {
	out := &codebuild.BatchGetBuildsOutput{}
	for _, id := range in.Ids {
		out.Builds = append(out.Builds, cbtypes.Build{Id: aws.String(id)})
	}
	return out, nil
}

func (noReportGroups) BatchGetReports(context.Context, *codebuild.BatchGetReportsInput, ...func(*codebuild.Options)) (*codebuild.BatchGetReportsOutput, error) {
	return &codebuild.BatchGetReportsOutput{}, nil
}

func (noReportGroups) DescribeTestCases(context.Context, *codebuild.DescribeTestCasesInput, ...func(*codebuild.Options)) (*codebuild.DescribeTestCasesOutput, error) {
	return &codebuild.DescribeTestCasesOutput{}, nil
}

var _ reportgroups.API = noReportGroups{}

// imageScans answers DescribeImageScanFindings from the "ECR Image Scan" events
// in events/ (ecr-image-scan*.json), by image digest.
type imageScans map[string]map[string]int32

func loadImageScans(dir string) (imageScans, error) {
	files, err := filepath.Glob(filepath.Join(dir, "ecr-image-scan*.json"))
	if err != nil {
		return nil, err
	}
	scans := imageScans{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		var d struct {
			Digest string           `json:"image-digest"`
			Counts map[string]int32 `json:"finding-severity-counts"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		scans[d.Digest] = d.Counts
	}
	return scans, nil
}

func (s imageScans) DescribeImageScanFindings(_ context.Context, in *ecr.DescribeImageScanFindingsInput, _ ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error) {
	counts, ok := s[aws.ToString(in.ImageId.ImageDigest)]
	if !ok {
		return nil, &ecrtypes.ScanNotFoundException{Message: aws.String("no sample scan of " + aws.ToString(in.ImageId.ImageDigest))}
	}
	sev := map[string]int32{}
	for k, v := range counts {
		sev[k] = v
	}
	return &ecr.DescribeImageScanFindingsOutput{
		RepositoryName:    in.RepositoryName,
		ImageScanStatus:   &ecrtypes.ImageScanStatus{Status: ecrtypes.ScanStatusComplete},
		ImageScanFindings: &ecrtypes.ImageScanFindings{FindingSeverityCounts: sev},
	}, nil
}

var _ imagescan.API = imageScans{}

// pipelines is a dry-run CodePipeline: every pipeline's running execution is the
// one of the build last delivered, whose Build action ran it, and stopping it is
// printed.
type pipelines struct {
	out     io.Writer
	running map[string]string // pipeline → build id of its current execution
}

func (p *pipelines) ListActionExecutions(_ context.Context, in *codepipeline.ListActionExecutionsInput, _ ...func(*codepipeline.Options)) (*codepipeline.ListActionExecutionsOutput, error) {
	build, ok := p.running[aws.ToString(in.PipelineName)]
	if !ok {
		return &codepipeline.ListActionExecutionsOutput{}, nil
	}
	return &codepipeline.ListActionExecutionsOutput{ActionExecutionDetails: []cptypes.ActionExecutionDetail{{
		PipelineExecutionId: aws.String(executionOf(build)),
		StageName:           aws.String("Build"),
		ActionName:          aws.String("Build"),
		Status:              cptypes.ActionExecutionStatusInProgress,
		Output:              &cptypes.ActionExecutionOutput{ExecutionResult: &cptypes.ActionExecutionResult{ExternalExecutionId: aws.String(build)}},
	}}}, nil
}

func (p *pipelines) StopPipelineExecution(_ context.Context, in *codepipeline.StopPipelineExecutionInput, _ ...func(*codepipeline.Options)) (*codepipeline.StopPipelineExecutionOutput, error) {
	fmt.Fprintf(p.out, "  dry-run: would StopPipelineExecution %s %s (abandon %v): %s\n",
		aws.ToString(in.PipelineName), aws.ToString(in.PipelineExecutionId), in.Abandon, aws.ToString(in.Reason))
	return &codepipeline.StopPipelineExecutionOutput{PipelineExecutionId: in.PipelineExecutionId}, nil
}

// executionOf names the demo's pipeline execution of a build.
func executionOf(build string) string {
	_, uuid, _ := strings.Cut(evidence.BuildID(build), ":")
	return "exec-" + uuid[:min(8, len(uuid))]
}

// topic is a dry-run SNS topic: a notification is printed, subject first.
type topic struct{ out io.Writer }

func (t topic) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	fmt.Fprintf(t.out, "  dry-run: would notify %q\n", aws.ToString(in.Subject))
	return &sns.PublishOutput{MessageId: aws.String("dry-run")}, nil
}
