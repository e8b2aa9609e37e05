package stacks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/policy"
)

// Asynchronous invocation of every function: Lambda retries a failed event this
// many times, drops it after this age, and sends what it gives up on to the
// function's dead-letter queue.
const (
	asyncRetryAttempts    = 2
	asyncMaxEventAgeHours = 1
)

// FunctionProps tunes one function; zero values take Highway's defaults.
type FunctionProps struct {
	// Description says what the function does, for the console.
	Description string
	// MemoryMB is the function's memory; default 256.
	MemoryMB int
	// Timeout is the longest one invocation may run; default 30 seconds.
	Timeout awscdk.Duration
}

// Function builds the Lambda function of functions/<name>: the bootstrap from the
// build directory with the policy beside it, on arm64 and provided.al2023, traced,
// logging JSON to its own log group, its async failures kept in a dead-letter
// queue, its errors and throttles alarming. Its environment names the ledger,
// the bus and the notification topic. Its role starts empty apart from logs,
// tracing and that queue: the capability grants the rest.
func (h *Hub) Function(scope constructs.Construct, name string, props FunctionProps) (awslambda.Function, error) {
	code, err := stageCode(h.buildDir, name, h.policyJSON)
	if err != nil {
		return nil, err
	}
	c := constructs.NewConstruct(scope, jsii.String(name))
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		RoleName:    jsii.String(FunctionRoleName(h.Policy.Hub, name)),
		Path:        jsii.String(functionRolePath(h.Policy.Hub)),
		Description: jsii.String("Highway function " + name),
	})
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: h.retention,
	})
	logs.GrantWrite(role)
	failures := h.deadLetterQueue(c, "AsyncFailures", "function "+name)

	fn := awslambda.NewFunction(c, jsii.String("Function"), &awslambda.FunctionProps{
		FunctionName:          jsii.String(FunctionName(h.Policy.Hub, name)),
		Description:           jsii.String(orDefault(props.Description, "Highway function "+name)),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(code), nil),
		Role:                  role,
		MemorySize:            jsii.Number(float64(orDefault(props.MemoryMB, 256))),
		Timeout:               orDefault(props.Timeout, awscdk.Duration_Seconds(jsii.Number(30))),
		Tracing:               awslambda.Tracing_ACTIVE,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logs,
		Environment: &map[string]*string{
			function.EnvTable:    h.Table.TableName(),
			function.EnvBus:      h.Bus.EventBusName(),
			function.EnvTopic:    h.Topic.TopicArn(),
			policy.PolicyFileEnv: jsii.String("/var/task/" + policy.FunctionFileName),
		},
		RetryAttempts: jsii.Number(asyncRetryAttempts),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(asyncMaxEventAgeHours)),
		OnFailure:     awslambdadestinations.NewSqsDestination(failures),
	})
	h.watchFunction(c, name, fn)
	suppress(role, true, rule("AwsSolutions-IAM5",
		"X-Ray PutTraceSegments and PutTelemetryRecords accept no resource narrower than \"*\".",
		"Resource::*"))
	suppress(fn, false, rule("Serverless-LambdaDLQ",
		"Async failures go to an SQS on-failure destination, which records the error with the event; a second, legacy dead-letter queue would receive the same failures."))
	return fn, nil
}

// stageCode assembles the asset of function name under buildDir/.stage/name: the
// bootstrap from make build, and the policy as the function loads it. The asset
// hash covers both files, so a policy change deploys new code.
func stageCode(buildDir, name string, policyJSON []byte) (string, error) {
	bin := filepath.Join(buildDir, name, "bootstrap")
	data, err := os.ReadFile(bin)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("function %s: %s does not exist: run make build", name, bin)
	}
	if err != nil {
		return "", fmt.Errorf("function %s: %w", name, err)
	}
	dir := filepath.Join(buildDir, ".stage", name)
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("stage function %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("stage function %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), data, 0o755); err != nil {
		return "", fmt.Errorf("stage function %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, policy.FunctionFileName), policyJSON, 0o644); err != nil {
		return "", fmt.Errorf("stage function %s: %w", name, err)
	}
	return dir, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
