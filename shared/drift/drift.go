// Package drift finds CloudFormation stacks and Terraform workspaces whose
// resources were changed by hand, in every account Highway reaches, and
// reports each change once.
//
// A scheduled Sweep selects the policy's stacks (Select) in every account and
// sends one queue message per stack. Detect takes a batch of those messages and
// starts DetectStackDrift for each, paced by Limits (a token bucket and a
// concurrency bound per account, with backoff on throttling), and files a
// pending detection on the ledger. CloudFormation announces the end of each
// detection with a "CloudFormation Drift Detection Status Change" event:
// OnStatusChange reads the drifted resources, triages them by the policy
// (severity, suppressions), records a DriftReport once per detection, and
// alerts only when the stack's unsuppressed drift changed. SweepStale reports
// the detections whose event never came. Nothing polls inside a function.
//
// A Terraform workspace of the policy takes the same way (workspace.go): one
// queue message per round, its CodeBuild project's build started in place of
// a detection, OnBuild reading the plan the build leaves (ParseTerraformPlan)
// in place of OnStatusChange.
//
// Ledger layout: a stack's reports have the id ReportID (account/region/stack),
// so Latest gives its current drift; its pending detections have the id
// PendingID, so a started detection never hides the last report. A
// workspace's are WorkspaceReportID and WorkspacePendingID.
package drift

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/runtimecheck"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Domain events published on Highway's bus.
const (
	// DetailTypeDriftDetected announces a stack whose unsuppressed drift changed
	// and is not empty.
	DetailTypeDriftDetected = "Drift Detected"
	// DetailTypeDriftResolved announces a stack that had unsuppressed drift and
	// has none now.
	DetailTypeDriftResolved = "Drift Resolved"
)

// DetailTypeStatusChange is the detail type of CloudFormation's event at the
// end of a drift detection.
const DetailTypeStatusChange = "CloudFormation Drift Detection Status Change"

// Report statuses besides CloudFormation's stack drift statuses (DRIFTED,
// IN_SYNC, NOT_CHECKED, UNKNOWN).
const (
	// StatusDetecting marks a pending detection: started, not yet reported.
	StatusDetecting = "DETECTING"
	// StatusDetectionFailed marks a detection CloudFormation could not finish.
	StatusDetectionFailed = "DETECTION_FAILED"
)

// Stack is a stack selected for drift detection. It is also the body of a
// queue message, as JSON {account, region, stackName, stackId}.
type Stack struct {
	// Account and Region locate the stack.
	Account string `json:"account"`
	Region  string `json:"region"`
	// Name is the stack name.
	Name string `json:"stackName"`
	// ID is the stack ARN, which names this stack and no later one of the
	// same name.
	ID string `json:"stackId"`
}

// ReportID is the ledger id of a stack's drift reports: Latest(KindDriftReport,
// ReportID(...)) is the stack's last report.
func ReportID(account, region, stack string) string {
	return account + "/" + region + "/" + stack
}

// PendingID is the ledger id of a stack's pending detections (Status
// DETECTING until reported); stack names hold no '/', so it never collides
// with a ReportID.
func PendingID(account, region, stack string) string {
	return ReportID(account, region, stack) + "/detection"
}

// StackLister lists stacks with their status and tags.
type StackLister interface {
	DescribeStacks(ctx context.Context, params *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// DetectionStarter starts a stack's drift detection.
type DetectionStarter interface {
	DetectStackDrift(ctx context.Context, params *cloudformation.DetectStackDriftInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error)
}

// DetectionReader reads how a detection ended and what it found.
type DetectionReader interface {
	DescribeStackDriftDetectionStatus(ctx context.Context, params *cloudformation.DescribeStackDriftDetectionStatusInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackDriftDetectionStatusOutput, error)
	DescribeStackResourceDrifts(ctx context.Context, params *cloudformation.DescribeStackResourceDriftsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceDriftsOutput, error)
}

var (
	_ StackLister      = (*cloudformation.Client)(nil)
	_ DetectionStarter = (*cloudformation.Client)(nil)
	_ DetectionReader  = (*cloudformation.Client)(nil)
)

// Clients are the CloudFormation clients of one account and region; one
// *cloudformation.Client fills all three.
type Clients struct {
	// Stacks lists stacks (Sweep, SweepStale, tags of a foreign detection).
	Stacks StackLister
	// Detections starts detections (Detect).
	Detections DetectionStarter
	// Drifts reads how detections ended (OnStatusChange, SweepStale).
	Drifts DetectionReader
}

// Sender sends queue messages in batches (SQS).
type Sender interface {
	SendMessageBatch(ctx context.Context, params *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ Sender = (*sqs.Client)(nil)

// Notifier tells people of changed drift (SNS).
type Notifier interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ Notifier = (*sns.Client)(nil)

// Config is what a Handler is built from; main fills it once per process.
type Config struct {
	// Policy names the hub and spokes (the accounts checked) and holds the
	// drift section; its Drift must be set.
	Policy *policy.Policy
	// Clients returns the CloudFormation clients of an account and region.
	Clients func(account, region string) Clients
	// Ledger keeps pending detections and reports.
	Ledger ledger.Ledger
	// Queue and QueueURL receive one message per selected stack (Sweep).
	Queue    Sender
	QueueURL string
	// Bus receives Drift Detected and Drift Resolved.
	Bus bus.Publisher
	// Notify and Topic alert people of changed drift; no alerts when Topic
	// is empty.
	Notify Notifier
	Topic  string
	// Metrics receives the EMF metrics of every report.
	Metrics telemetry.Putter
	// Limits paces CloudFormation calls; default LimitsFor(Policy.Drift, 1).
	// Share one across everything a process runs.
	Limits *Limits
	// Parallel bounds the messages of one batch Detect handles at once;
	// default 32. One handles them in the batch's order.
	Parallel int
	// Rerun is how long after a stack's detection started Detect refuses to
	// start another (a redelivered message, an overlapping sweep); default
	// DefaultRerun.
	Rerun time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Runtime returns the clients with which CheckRuntime reads what an
	// app's environment in an account and region runs; nil: no runtime checks.
	Runtime func(app, account, region string) runtimecheck.Clients
	// Builds returns the CodeBuild and S3 clients of an account and region,
	// with which Terraform workspaces are planned and their plans read; it
	// must be set when the policy names workspaces.
	Builds func(account, region string) BuildClients
	// Artifacts bounds the reading of a workspace's build artifact, as the
	// gate's are bounded; default evidence.LimitsFor(evidence.DefaultMemoryMB).
	Artifacts evidence.Limits
}

// DefaultRerun is Config.Rerun's default.
const DefaultRerun = 10 * time.Minute

// Handler runs drift detection: Sweep, Detect, OnStatusChange and SweepStale.
type Handler struct {
	policy   *policy.Policy
	drift    *policy.Drift
	accounts []policy.Spoke
	allowed  map[string]bool // "account/region" of accounts

	clients  func(account, region string) Clients
	ledger   ledger.Ledger
	queue    Sender
	queueURL string
	bus      bus.Publisher
	notify   Notifier
	topic    string
	metrics  telemetry.Putter
	limits   *Limits
	rerun    time.Duration
	parallel int // messages of a batch handled at once
	now      func() time.Time
	runtime  func(app, account, region string) runtimecheck.Clients

	builds    func(account, region string) BuildClients
	artifacts evidence.Limits
}

// New returns a Handler, or an error naming what Config lacks.
func New(c Config) (*Handler, error) {
	var missing []string
	for _, m := range []struct {
		name  string
		unset bool
	}{
		{"Policy", c.Policy == nil},
		{"Policy.Drift", c.Policy != nil && c.Policy.Drift == nil},
		{"Clients", c.Clients == nil},
		{"Ledger", c.Ledger == nil},
		{"Bus", c.Bus == nil},
		{"Metrics", c.Metrics == nil},
		{"Notify", c.Topic != "" && c.Notify == nil},
		{"Builds", c.Policy != nil && c.Policy.Drift != nil && len(c.Policy.Drift.Terraform) > 0 && c.Builds == nil},
	} {
		if m.unset {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("drift: config lacks %s", strings.Join(missing, ", "))
	}
	h := &Handler{
		policy: c.Policy, drift: c.Policy.Drift, runtime: c.Runtime, accounts: Accounts(c.Policy), allowed: map[string]bool{},
		clients: c.Clients, ledger: c.Ledger, queue: c.Queue, queueURL: c.QueueURL,
		bus: c.Bus, notify: c.Notify, topic: c.Topic, metrics: c.Metrics,
		limits: c.Limits, rerun: c.Rerun, now: c.Now, builds: c.Builds, artifacts: c.Artifacts, parallel: c.Parallel,
	}
	if h.parallel <= 0 {
		h.parallel = detectParallel
	}
	if h.artifacts.MemoryMB == 0 {
		h.artifacts = evidence.LimitsFor(evidence.DefaultMemoryMB)
	}
	for _, a := range h.accounts {
		h.allowed[a.Account+"/"+a.Region] = true
	}
	if h.limits == nil {
		h.limits = LimitsFor(h.drift, 1)
	}
	if h.rerun <= 0 {
		h.rerun = DefaultRerun
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// Accounts are the account and region pairs whose stacks are checked: the
// hub's first, then the spokes'.
func Accounts(p *policy.Policy) []policy.Spoke {
	return append([]policy.Spoke{{Account: p.Hub.Account, Region: p.Hub.Region}}, p.Spokes()...)
}

// parseStackARN returns the account, region and name of a stack ARN
// (arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>).
func parseStackARN(s string) (account, region, name string, err error) {
	a, err := arn.Parse(s)
	if err != nil {
		return "", "", "", fmt.Errorf("stack id %q: %w", s, err)
	}
	parts := strings.Split(a.Resource, "/")
	if a.Service != "cloudformation" || len(parts) < 2 || parts[0] != "stack" || parts[1] == "" {
		return "", "", "", fmt.Errorf("stack id %q is not a CloudFormation stack ARN", s)
	}
	return a.AccountID, a.Region, parts[1], nil
}

// latestReport returns the newest drift report filed under id, or nil.
func latestReport(ctx context.Context, l ledger.Ledger, id string) (*ledger.DriftReport, error) {
	rec, err := l.Latest(ctx, ledger.KindDriftReport, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, ok := rec.(*ledger.DriftReport)
	if !ok {
		return nil, fmt.Errorf("latest drift report %s: found a %T", id, rec)
	}
	return r, nil
}

// ClaimLease is how long a delivery holds its claim on a detection's start
// or an announcement before another may take it over: longer than the drift
// function's timeout.
const ClaimLease = 15 * time.Minute

// claims are the claims of holder, a delivery.
func (h *Handler) claims(holder string) *ledger.Claims {
	return &ledger.Claims{Ledger: h.ledger, Now: h.now, Holder: holder, Lease: ClaimLease, Keep: claimKeep}
}

// claimKeep is how long a claim's key is kept: past any redelivery.
const claimKeep = 7 * 24 * time.Hour
