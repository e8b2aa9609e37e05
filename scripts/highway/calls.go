package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/push"
)

// awsCalls is where the demo's functions meet its stand-ins for AWS: every
// call to one passes through call, named by its service and operation (the
// IAM action, such as sns:Publish), with what it changes (effect; "" for a
// read). The demo makes the calls as they come (direct); a test may fail
// some of them, as AWS would, and count the effects of the others.
type awsCalls interface {
	call(op, effect string, do func() error) error
}

// direct makes every call.
type direct struct{}

func (direct) call(_, _ string, do func() error) error { return do() }

// through makes the call do through c and returns its output; a call c
// fails returns the error the SDK would.
func through[Out any](c awsCalls, op, effect string, do func() (Out, error)) (Out, error) {
	var out Out
	err := c.call(op, effect, func() error {
		var err error
		out, err = do()
		return err
	})
	return out, asSDK(op, err)
}

// asSDK is err as the SDK returns it when it is a fault: an operation error
// around the service's response error.
func asSDK(op string, err error) error {
	f, ok := err.(fault)
	if !ok {
		return err
	}
	service, operation, _ := strings.Cut(op, ":")
	status, code := http.StatusInternalServerError, "InternalFailure"
	if f.throttle {
		status, code = http.StatusBadRequest, "ThrottlingException"
	}
	return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: f.Error()},
		},
	}}
}

// commitsVia is a CodeCommit stand-in whose calls pass through c.
type commitsVia struct {
	c   awsCalls
	api push.CommitGetter
}

func (v commitsVia) GetCommit(ctx context.Context, in *codecommit.GetCommitInput, opts ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error) {
	return through(v.c, "codecommit:GetCommit", "", func() (*codecommit.GetCommitOutput, error) { return v.api.GetCommit(ctx, in, opts...) })
}

// reportsVia is a CodeBuild stand-in whose calls pass through c.
type reportsVia struct {
	c   awsCalls
	api noReportGroups
}

func (v reportsVia) BatchGetBuilds(ctx context.Context, in *codebuild.BatchGetBuildsInput, opts ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error) {
	return through(v.c, "codebuild:BatchGetBuilds", "", func() (*codebuild.BatchGetBuildsOutput, error) { return v.api.BatchGetBuilds(ctx, in, opts...) })
}

func (v reportsVia) BatchGetReports(ctx context.Context, in *codebuild.BatchGetReportsInput, opts ...func(*codebuild.Options)) (*codebuild.BatchGetReportsOutput, error) {
	return through(v.c, "codebuild:BatchGetReports", "", func() (*codebuild.BatchGetReportsOutput, error) { return v.api.BatchGetReports(ctx, in, opts...) })
}

func (v reportsVia) DescribeTestCases(ctx context.Context, in *codebuild.DescribeTestCasesInput, opts ...func(*codebuild.Options)) (*codebuild.DescribeTestCasesOutput, error) {
	return through(v.c, "codebuild:DescribeTestCases", "", func() (*codebuild.DescribeTestCasesOutput, error) { return v.api.DescribeTestCases(ctx, in, opts...) })
}

// scansVia is an ECR stand-in whose calls pass through c.
type scansVia struct {
	c   awsCalls
	api imageScans
}

func (v scansVia) DescribeImageScanFindings(ctx context.Context, in *ecr.DescribeImageScanFindingsInput, opts ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error) {
	return through(v.c, "ecr:DescribeImageScanFindings", "", func() (*ecr.DescribeImageScanFindingsOutput, error) {
		return v.api.DescribeImageScanFindings(ctx, in, opts...)
	})
}

// objectsVia is an S3 stand-in whose calls pass through c.
type objectsVia struct {
	c   awsCalls
	api artifacts
}

func (v objectsVia) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return through(v.c, "s3:GetObject", "", func() (*s3.GetObjectOutput, error) { return v.api.GetObject(ctx, in, opts...) })
}

// pipelinesVia is a CodePipeline stand-in whose calls pass through c; a stop
// is an effect.
type pipelinesVia struct {
	c   awsCalls
	api *pipelines
}

func (v pipelinesVia) ListActionExecutions(ctx context.Context, in *codepipeline.ListActionExecutionsInput, opts ...func(*codepipeline.Options)) (*codepipeline.ListActionExecutionsOutput, error) {
	return through(v.c, "codepipeline:ListActionExecutions", "", func() (*codepipeline.ListActionExecutionsOutput, error) {
		return v.api.ListActionExecutions(ctx, in, opts...)
	})
}

func (v pipelinesVia) StopPipelineExecution(ctx context.Context, in *codepipeline.StopPipelineExecutionInput, opts ...func(*codepipeline.Options)) (*codepipeline.StopPipelineExecutionOutput, error) {
	effect := aws.ToString(in.PipelineName) + " " + aws.ToString(in.PipelineExecutionId)
	return through(v.c, "codepipeline:StopPipelineExecution", effect, func() (*codepipeline.StopPipelineExecutionOutput, error) {
		return v.api.StopPipelineExecution(ctx, in, opts...)
	})
}

// publisher is an SNS topic, as the functions see it.
type publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// topicVia is an SNS stand-in whose calls pass through c; each notification
// is an effect, named by its subject and the approver it is for, if any.
type topicVia struct {
	c   awsCalls
	api publisher
}

func (v topicVia) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	effect := aws.ToString(in.Subject)
	if to, ok := in.MessageAttributes[approval.MessageAttributeApprover]; ok {
		effect += " to " + aws.ToString(to.StringValue)
	}
	return through(v.c, "sns:Publish", effect, func() (*sns.PublishOutput, error) { return v.api.Publish(ctx, in, opts...) })
}

// deployerVia is a deployment adapter whose deployments pass through c, as
// one call each: a deployment is an effect, once per promotion. The adapters
// may be called again with the same target (promotion asks again for a start
// whose answer it lost) and then find what the first call did: done records
// the targets deployed, and a repeat passes as a read.
type deployerVia struct {
	c    awsCalls
	api  deploy.Deployer
	done *sync.Map
}

func (v deployerVia) Deploy(ctx context.Context, t deploy.Target) (deploy.Result, error) {
	effect := t.App + "/" + t.Env
	if t.Artifact != nil {
		effect += " " + t.Artifact.Digest
	}
	key := t.Promotion + " " + effect
	if _, again := v.done.Load(key); again {
		return through(v.c, "deploy", "", func() (deploy.Result, error) { return v.api.Deploy(ctx, t) })
	}
	res, err := through(v.c, "deploy", effect, func() (deploy.Result, error) { return v.api.Deploy(ctx, t) })
	if err == nil {
		v.done.Store(key, true)
	}
	return res, err
}

// followerVia is deployerVia for an adapter promotion follows: reading how a
// deployment stands is a call too.
type followerVia struct {
	deployerVia
	f deploy.Follower
}

func (v followerVia) Follow(ctx context.Context, t deploy.Target, handle string) (deploy.Progress, error) {
	// A read, not an effect: asking again changes nothing.
	return through(v.c, "follow", "", func() (deploy.Progress, error) { return v.f.Follow(ctx, t, handle) })
}

func (v followerVia) Timeout() time.Duration { return v.f.Timeout() }

// via passes d's calls through c, following it where d is a Follower.
func via(c awsCalls, d deploy.Deployer, done *sync.Map) deploy.Deployer {
	if f, ok := d.(deploy.Follower); ok {
		return followerVia{deployerVia{c, d, done}, f}
	}
	return deployerVia{c, d, done}
}

// workflowVia is a Step Functions stand-in whose calls pass through c:
// starting an execution and answering a task are effects.
type workflowVia struct {
	c awsCalls
	w *workflow
}

func (v workflowVia) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return through(v.c, "states:StartExecution", aws.ToString(in.Name), func() (*sfn.StartExecutionOutput, error) {
		return v.w.StartExecution(ctx, in, opts...)
	})
}

func (v workflowVia) Succeed(ctx context.Context, token, output string) error {
	return asSDK("states:SendTaskSuccess", v.c.call("states:SendTaskSuccess", v.w.execution(token), func() error { return v.w.Succeed(ctx, token, output) }))
}

func (v workflowVia) Fail(ctx context.Context, token, errorName, cause string) error {
	return asSDK("states:SendTaskFailure", v.c.call("states:SendTaskFailure", v.w.execution(token), func() error { return v.w.Fail(ctx, token, errorName, cause) }))
}

// ssmVia and ecsVia are the runtime check's stand-ins, whose calls pass
// through c.
type ssmVia struct {
	c   awsCalls
	api environmentsSSM
}

func (v ssmVia) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return through(v.c, "ssm:GetParameter", "", func() (*ssm.GetParameterOutput, error) { return v.api.GetParameter(ctx, in, opts...) })
}

// appRunnerVia passes the runtime check's App Runner reads through c.
type appRunnerVia struct {
	c awsCalls
	environmentsAppRunner
}

func (v appRunnerVia) ListServices(ctx context.Context, in *apprunner.ListServicesInput, opts ...func(*apprunner.Options)) (*apprunner.ListServicesOutput, error) {
	return through(v.c, "apprunner:ListServices", "", func() (*apprunner.ListServicesOutput, error) {
		return v.environmentsAppRunner.ListServices(ctx, in, opts...)
	})
}

func (v appRunnerVia) DescribeService(ctx context.Context, in *apprunner.DescribeServiceInput, opts ...func(*apprunner.Options)) (*apprunner.DescribeServiceOutput, error) {
	return through(v.c, "apprunner:DescribeService", "", func() (*apprunner.DescribeServiceOutput, error) {
		return v.environmentsAppRunner.DescribeService(ctx, in, opts...)
	})
}

type ecsVia struct {
	c   awsCalls
	api environmentsECS
}

func (v ecsVia) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return through(v.c, "ecs:DescribeServices", "", func() (*ecs.DescribeServicesOutput, error) { return v.api.DescribeServices(ctx, in, opts...) })
}

func (v ecsVia) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return through(v.c, "ecs:DescribeTaskDefinition", "", func() (*ecs.DescribeTaskDefinitionOutput, error) {
		return v.api.DescribeTaskDefinition(ctx, in, opts...)
	})
}

// queueVia is the drift queue's stand-in, whose calls pass through c.
type queueVia struct {
	c   awsCalls
	api *driftQueue
}

func (v queueVia) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return through(v.c, "sqs:SendMessageBatch", "", func() (*sqs.SendMessageBatchOutput, error) { return v.api.SendMessageBatch(ctx, in, opts...) })
}

// transportVia passes the HTTP requests of an SDK client through c, at the
// wire: the operation is the query protocol's Action (CloudFormation, SNS) or
// the JSON protocol's X-Amz-Target (DynamoDB), and what an operation in
// mutating names is its effect, by the request's named parameter. A call c
// fails gets the error response the service sends (see faultResponse).
type transportVia struct {
	c        awsCalls
	base     http.RoundTripper
	service  string            // the IAM service prefix, such as cloudformation
	mutating map[string]string // operation → the form parameter naming its effect
}

// RoundTrip sends req through c.
func (v transportVia) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	op := operationOf(req, body)
	effect := ""
	if param, ok := v.mutating[op]; ok {
		form, _ := url.ParseQuery(string(body))
		effect = op + " " + form.Get(param)
	}
	var resp *http.Response
	err := v.c.call(v.service+":"+op, effect, func() error {
		var err error
		resp, err = v.base.RoundTrip(req)
		return err
	})
	if f, ok := err.(fault); ok {
		return f.response(req), nil
	}
	return resp, err
}

// operationOf names the operation of an AWS request.
func operationOf(req *http.Request, body []byte) string {
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		_, op, _ := strings.Cut(target, ".")
		return op
	}
	form, _ := url.ParseQuery(string(body))
	return form.Get("Action")
}

// fault is an error AWS answers instead of making a call: a throttle (HTTP
// 400, ThrottlingException) or a server error (HTTP 500, InternalFailure).
type fault struct {
	throttle bool
}

// Error says which fault it was.
func (f fault) Error() string {
	if f.throttle {
		return "injected throttle"
	}
	return "injected server error"
}

// response is the HTTP response AWS sends for f, in both the JSON and the
// query protocols' error shapes, which the SDK parses as it would AWS's.
func (f fault) response(req *http.Request) *http.Response {
	code, status := "InternalFailure", http.StatusInternalServerError
	if f.throttle {
		code, status = "ThrottlingException", http.StatusBadRequest
	}
	var body, contentType string
	if req.Header.Get("X-Amz-Target") != "" {
		contentType = "application/x-amz-json-1.0"
		body = `{"__type":"com.amazonaws.coral#` + code + `","message":"` + f.Error() + `"}`
	} else {
		if f.throttle {
			code = "Throttling"
		}
		contentType = "text/xml"
		body = `<ErrorResponse><Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + f.Error() + `</Message></Error><RequestId>fault</RequestId></ErrorResponse>`
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {contentType}, "X-Amzn-Requestid": {"fault"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: req, ContentLength: int64(len(body)),
	}
}
