// Package function starts a Highway Lambda function: the logger, the policy, the
// one aws.Config and the metrics buffer are set up once per process, and the
// handler is started so that the metrics an invocation buffered are flushed
// when it ends.
package function

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/highwayhq/highway/shared/awsconfig"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Environment variables the CDK app sets on every function.
const (
	EnvTable   = "HIGHWAY_TABLE"
	EnvBus     = "HIGHWAY_BUS"
	EnvTracing = "HIGHWAY_TRACING"
	EnvTopic   = "HIGHWAY_TOPIC"

	// EnvApprovalSecret is the ARN of the secret whose key signs approval links.
	EnvApprovalSecret = "HIGHWAY_APPROVAL_SECRET"
	// EnvApprovalTopic is the ARN of the approvals topic, which carries each approver their own links.
	EnvApprovalTopic = "HIGHWAY_APPROVAL_TOPIC"
	// EnvApprovalURL is the approval function's URL, where approval links point.
	EnvApprovalURL = "HIGHWAY_APPROVAL_URL"
	// EnvApprovalStateMachine is the ARN of the approval state machine promote
	// starts for environments that need approval.
	EnvApprovalStateMachine = "HIGHWAY_APPROVAL_STATE_MACHINE"
	// EnvWebhookSecret is the ARN of the secret GitHub signs the webhook's
	// deliveries with.
	EnvWebhookSecret = "HIGHWAY_WEBHOOK_SECRET"
	// EnvDriftQueue is the URL of the queue the drift function fans stacks
	// out through.
	EnvDriftQueue = "HIGHWAY_DRIFT_QUEUE"
	// EnvAccessRole is the name of the role, the same in every account, that
	// the function assumes to act on the apps' resources there; unset for a
	// function that acts on none.
	EnvAccessRole = "HIGHWAY_ACCESS_ROLE"
)

// Runtime is what a function's main builds its clients and handler from.
type Runtime struct {
	// AWS is the process's one SDK configuration, traced with X-Ray in Lambda.
	AWS aws.Config
	// Accounts gives the configuration to act on the apps' resources in any
	// account, through the function's access role.
	Accounts *awsconfig.Accounts
	// Policy is the validated policy the CDK app shipped with the function.
	Policy *policy.Policy
	// Table is the ledger table name.
	Table string
	// Bus is the name of Highway's event bus.
	Bus string
	// Topic is the ARN of the notification topic; empty when not configured.
	Topic string
	// Metrics buffers EMF metrics; Start flushes it after every invocation.
	Metrics *telemetry.Metrics

	phases phases // how long the cold start's steps took, logged by Start
}

// initialized is when this package was initialized: after every package it
// imports (the SDK's and X-Ray's among them), just before main runs.
var initialized = time.Now()

// phases are how long Load's steps took.
type phases struct {
	policy, aws time.Duration
}

// ColdStartMessage is the message of the debug record (logged when
// AWS_LAMBDA_LOG_LEVEL=DEBUG) in which Start tells the steps of the cold
// start up to the first event, as a ColdStart: make bench's breakdown.
const ColdStartMessage = "cold start"

// ColdStart is the record Start logs before it takes the first event. The
// process's own start and its packages' initialization end at InitializedAt;
// Load then reads the policy and the AWS configuration; main builds its
// clients and handler until ReadyAt. Instants are Unix microseconds, so that
// whoever started the process can tell how long it took to get there.
type ColdStart struct {
	InitializedAtUs int64 `json:"initializedAtUs"`
	PolicyUs        int64 `json:"policyUs"`
	AWSConfigUs     int64 `json:"awsConfigUs"`
	ReadyAtUs       int64 `json:"readyAtUs"`
}

// logStarted logs the cold start's record.
func (p phases) logStarted() {
	c := ColdStart{InitializedAtUs: initialized.UnixMicro(), PolicyUs: p.policy.Microseconds(),
		AWSConfigUs: p.aws.Microseconds(), ReadyAtUs: time.Now().UnixMicro()}
	slog.Debug(ColdStartMessage, "initializedAtUs", c.InitializedAtUs, "policyUs", c.PolicyUs,
		"awsConfigUs", c.AWSConfigUs, "readyAtUs", c.ReadyAtUs)
}

// ParseColdStart finds the cold start's record in a function's log (JSON
// lines, as Lambda's JSON log format or slog's JSON handler write them).
func ParseColdStart(log string) (ColdStart, bool) {
	for line := range strings.Lines(log) {
		var r struct {
			Message string `json:"message"` // Lambda's JSON log format
			Msg     string `json:"msg"`     // slog's JSON handler
			ColdStart
		}
		if json.Unmarshal([]byte(line), &r) == nil && (r.Message == ColdStartMessage || r.Msg == ColdStartMessage) {
			return r.ColdStart, true
		}
	}
	return ColdStart{}, false
}

// Load sets the default logger and reads everything a function needs at start.
// It fails fast: a missing variable or an invalid policy is an error here, at
// cold start, rather than on the first event.
func Load(ctx context.Context) (*Runtime, error) {
	slog.SetDefault(telemetry.NewLogger())
	start := time.Now()
	p, err := policy.LoadForFunction()
	if err != nil {
		return nil, err
	}
	policyRead := time.Now()
	table, bus := os.Getenv(EnvTable), os.Getenv(EnvBus)
	if table == "" || bus == "" {
		return nil, fmt.Errorf("%s and %s must be set", EnvTable, EnvBus)
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Trace: os.Getenv(EnvTracing) != "off"})
	if err != nil {
		return nil, err
	}
	configured := time.Now()
	session := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	if session == "" {
		session = p.Hub.Name
	}
	return &Runtime{
		AWS:      cfg,
		Accounts: awsconfig.NewAccounts(cfg, os.Getenv(EnvAccessRole), p.Hub.AppTag, session),
		Policy:   p,
		Table:    table,
		Bus:      bus,
		Topic:    os.Getenv(EnvTopic),
		Metrics:  telemetry.NewMetrics(os.Stdout, telemetry.Namespace),
		phases:   phases{policy: policyRead.Sub(start), aws: configured.Sub(policyRead)},
	}, nil
}

// Main loads the function's Runtime and hands it to setup, which builds the
// handler and calls Start. When either fails, it logs "<name>: start" with the
// error and ends the process: Lambda reports the failed init.
func Main(name string, setup func(context.Context, *Runtime) error) {
	ctx := context.Background()
	rt, err := Load(ctx)
	if err == nil {
		err = setup(ctx, rt)
	}
	if err != nil {
		slog.Error(name+": start", "error", err)
		os.Exit(1)
	}
}

// Start runs handler for every invocation, flushing rt's metrics after each
// one. It does not return. Every metric is recorded during an invocation
// (work a handler starts, it waits for), so nothing is left to flush at
// shutdown: Start does not ask for SIGTERM, which in Lambda takes registering
// an internal extension at every cold start (3 ms under the emulator).
func Start[In, Out any](rt *Runtime, handler func(context.Context, In) (Out, error)) {
	rt.phases.logStarted()
	lambda.Start(Flushing(rt.Metrics, handler))
}

// Flushing wraps handler so that m is flushed after every invocation, whatever
// its outcome.
func Flushing[In, Out any](m *telemetry.Metrics, handler func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		defer flush(m)
		return handler(ctx, in)
	}
}

func flush(m *telemetry.Metrics) {
	if err := m.Flush(); err != nil {
		slog.Error("flush metrics", "error", err)
	}
}
