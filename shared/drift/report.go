package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/telemetry"
)

// onceTTL is how long a detection id is remembered against redelivery.
const onceTTL = 7 * 24 * time.Hour

// StatusChange is the detail of a "CloudFormation Drift Detection Status
// Change" event.
type StatusChange struct {
	// StackID is the stack ARN.
	StackID string `json:"stack-id"`
	// DetectionID is the id DetectStackDrift returned.
	DetectionID string `json:"stack-drift-detection-id"`
	// StatusDetails says how the detection ended.
	StatusDetails StatusDetails `json:"status-details"`
	// DriftDetectionDetails counts the drifted resources; -1 while running.
	DriftDetectionDetails DetectionDetails `json:"drift-detection-details"`
	// ClientRequestToken identifies the operation that started the detection.
	ClientRequestToken string `json:"client-request-token,omitempty"`
}

// StatusDetails is the outcome part of a StatusChange.
type StatusDetails struct {
	// StackDriftStatus is DRIFTED, IN_SYNC, NOT_CHECKED or UNKNOWN.
	StackDriftStatus string `json:"stack-drift-status"`
	// DetectionStatus is DETECTION_COMPLETE, DETECTION_FAILED or
	// DETECTION_IN_PROGRESS.
	DetectionStatus string `json:"detection-status"`
}

// DetectionDetails is the count part of a StatusChange.
type DetectionDetails struct {
	DriftedStackResourceCount int `json:"drifted-stack-resource-count"`
}

// DecodeStatusChange reads the detail of a drift detection status change.
func DecodeStatusChange(ev events.CloudWatchEvent) (StatusChange, error) {
	if ev.DetailType != DetailTypeStatusChange {
		return StatusChange{}, fmt.Errorf("event %s is a %q, not a %q", ev.ID, ev.DetailType, DetailTypeStatusChange)
	}
	var sc StatusChange
	if err := json.Unmarshal(ev.Detail, &sc); err != nil {
		return StatusChange{}, fmt.Errorf("decode %s detail: %w", ev.ID, err)
	}
	if sc.DetectionID == "" {
		// Some documents name the field drift-detection-id.
		var alt struct {
			ID string `json:"drift-detection-id"`
		}
		_ = json.Unmarshal(ev.Detail, &alt)
		sc.DetectionID = alt.ID
	}
	if sc.StackID == "" || sc.DetectionID == "" {
		return StatusChange{}, fmt.Errorf("event %s: detail lacks stack-id or stack-drift-detection-id", ev.ID)
	}
	return sc, nil
}

// Outcome says what became of one completion.
type Outcome string

// The outcomes of a completion.
const (
	// OutcomeReported: a report was recorded now.
	OutcomeReported Outcome = "reported"
	// OutcomeDuplicate: the detection was reported before; nothing new was
	// written, and unfinished alerts were finished.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeIgnored: the event is not for drift detection; Reason says why.
	OutcomeIgnored Outcome = "ignored"
)

// Result is the answer for one completion, logged and returned to Lambda.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// Report is the ledger id of the stack's reports.
	Report    string `json:"report,omitempty"`
	Detection string `json:"detection,omitempty"`
	Status    string `json:"status,omitempty"`
	Changed   bool   `json:"changed,omitempty"`
}

// Notice is the detail of Drift Detected and Drift Resolved events.
type Notice struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Stack is the stack checked, or empty for a Terraform workspace.
	Stack string `json:"stack,omitempty"`
	// Workspace is the Terraform workspace checked, or empty for a stack,
	// and Project the CodeBuild project that planned it.
	Workspace string `json:"workspace,omitempty"`
	Project   string `json:"project,omitempty"`
	// Report is the ledger id of the stack's or workspace's reports
	// (ReportID, WorkspaceReportID).
	Report string `json:"report"`
	// DetectionID is CloudFormation's detection id, or the build id that
	// planned the workspace.
	DetectionID string `json:"detectionId"`
	// Status is the report's status: DRIFTED, IN_SYNC, ...
	Status string `json:"status"`
	// Severity is the highest severity of the unsuppressed drift.
	Severity string `json:"severity,omitempty"`
	// Drifted are the resources with unsuppressed drift.
	Drifted []ledger.DriftedResource `json:"drifted,omitempty"`
}

// completion is a finished detection, from its event or from
// DescribeStackDriftDetectionStatus.
type completion struct {
	account, region, stack string
	stackID                string // ARN; may be empty
	detection              string
	stackStatus            string // DRIFTED, IN_SYNC, ...
	detectionStatus        string // DETECTION_COMPLETE or DETECTION_FAILED
	at                     time.Time
}

// OnStatusChange reports a finished drift detection from its CloudFormation
// event. For a complete detection of a DRIFTED stack it reads every resource's
// drift (all pages); it triages the drifted resources, records a DriftReport
// once per detection id, publishes Drift Detected when the stack's set of
// unsuppressed (resource, property) changes differs from its previous report
// and is not empty, Drift Resolved when it became empty, alerts on every such
// change, and always writes metrics. A failed detection is recorded with
// Status DETECTION_FAILED, keeps the drift last seen, and alerts only when the
// previous report had not failed. Events still in progress, from accounts
// outside the policy, or of stacks the policy does not select, are ignored.
func (h *Handler) OnStatusChange(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: ev.ID})
	sc, err := DecodeStatusChange(ev)
	if err != nil {
		return ignore(ctx, err.Error())
	}
	switch sc.StatusDetails.DetectionStatus {
	case string(cftypes.StackDriftDetectionStatusDetectionComplete), string(cftypes.StackDriftDetectionStatusDetectionFailed):
	default:
		return ignore(ctx, fmt.Sprintf("detection %s is %s", sc.DetectionID, sc.StatusDetails.DetectionStatus))
	}
	account, region, name, err := parseStackARN(sc.StackID)
	if err != nil {
		return ignore(ctx, err.Error())
	}
	if !h.allowed[account+"/"+region] {
		return ignore(ctx, fmt.Sprintf("account %s in %s is not in the policy", account, region))
	}
	return h.report(ctx, completion{
		account: account, region: region, stack: name, stackID: sc.StackID, detection: sc.DetectionID,
		stackStatus: sc.StatusDetails.StackDriftStatus, detectionStatus: sc.StatusDetails.DetectionStatus, at: ev.Time,
	})
}

// report records the report of a finished detection once and acts on it.
func (h *Handler) report(ctx context.Context, c completion) (Result, error) {
	rid := ReportID(c.account, c.region, c.stack)
	pending, err := latestReport(ctx, h.ledger, PendingID(c.account, c.region, c.stack))
	if err != nil {
		return Result{}, err
	}
	ours := pending != nil && pending.DetectionID == c.detection
	prev, err := latestReport(ctx, h.ledger, rid)
	if err != nil {
		return Result{}, err
	}
	if prev != nil && prev.DetectionID == c.detection {
		return h.settle(ctx, prev, pending, ours)
	}
	if !ours {
		// Started by someone else (the console, say): report it only for a
		// stack the policy selects.
		ok, err := h.selected(ctx, c)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return ignore(ctx, fmt.Sprintf("stack %s is not selected by the policy", rid))
		}
	}
	at := c.at
	if ours {
		at = pending.At // when the check ran
	}
	if at.IsZero() {
		at = h.now()
	}

	rep := &ledger.DriftReport{
		Header: ledger.Header{ID: rid, At: at}, Stack: c.stack, Account: c.account, Region: c.region,
		DetectionID: c.detection, Status: c.stackStatus,
	}
	switch {
	case c.detectionStatus == string(cftypes.StackDriftDetectionStatusDetectionFailed):
		rep.Status = StatusDetectionFailed
		if prev != nil {
			rep.Drifted = slices.Clone(prev.Drifted) // a failed check changes nothing known
		}
	case c.stackStatus == string(cftypes.StackDriftStatusDrifted):
		if rep.Resources, rep.Drifted, err = h.resourceDrifts(ctx, c); err != nil {
			return Result{}, err
		}
	case rep.Status == "":
		rep.Status = string(cftypes.StackDriftStatusUnknown)
	}
	return h.file(ctx, rep, prev, pending, ours)
}

// file triages a new report of a stack or workspace (rep.ID), records it
// once per detection or build (rep.DetectionID) and acts on it: it retires
// prev, the last report, writes the metrics and announces what changed. A
// report recorded already is settled instead.
func (h *Handler) file(ctx context.Context, rep, prev, pending *ledger.DriftReport, ours bool) (Result, error) {
	Triage(h.drift, rep.Drifted, rep.At)
	// A report older than the last one (a late event) is kept for the
	// timeline but compared with nothing and announced to nobody.
	late := prev != nil && !prev.At.Before(rep.At)
	if !late {
		rep.Changed = h.changed(prev, rep)
		rep.Current = true // the latest report, listed in the open index
	}
	stored, created, err := ledger.RecordOnce(ctx, h.ledger, "drift:detection:"+rep.DetectionID, onceTTL, rep)
	if err != nil {
		return Result{}, fmt.Errorf("record drift report %s: %w", rep.ID, err)
	}
	if !created {
		return h.settle(ctx, stored, pending, ours)
	}
	if rep.Current && prev != nil && prev.Current {
		prev.Current = false
		if err := h.ledger.Update(ctx, prev); err != nil && !errors.Is(err, ledger.ErrStale) {
			return Result{}, fmt.Errorf("retire drift report %s: %w", rep.ID, err)
		}
	}
	h.measure(ctx, rep)
	if err := h.conclude(ctx, rep, pending, ours, true); err != nil {
		return Result{}, err
	}
	res := Result{Outcome: OutcomeReported, Report: rep.ID, Detection: rep.DetectionID, Status: rep.Status, Changed: rep.Changed}
	slog.InfoContext(ctx, "drift reported", "report", rep.ID, "detection", rep.DetectionID, "status", rep.Status,
		"drifted", len(rep.Drifted), "changed", rep.Changed, "late", late)
	return res, nil
}

// settle answers a redelivered completion: the report stands, and if the
// delivery that recorded it could not announce it (its pending detection
// still says DETECTING), it is announced now. A report recorded before its
// pending detection was filed (the event outran Detect) was announced as a
// detection started elsewhere: the pending detection is only marked reported.
func (h *Handler) settle(ctx context.Context, rep, pending *ledger.DriftReport, ours bool) (Result, error) {
	if ours {
		if err := h.conclude(ctx, rep, pending, true, rep.At.Equal(pending.At)); err != nil {
			return Result{}, err
		}
	}
	slog.InfoContext(ctx, "drift already reported", "report", rep.ID, "detection", rep.DetectionID)
	return Result{Outcome: OutcomeDuplicate, Report: rep.ID, Detection: rep.DetectionID, Status: rep.Status, Changed: rep.Changed}, nil
}

// conclude announces a recorded report once (when announce is set). For a
// detection Highway started, the delivery that turns its pending record from
// DETECTING to the report's status (a conditional update) announces, and turns
// it back if the announcement fails, so that a retry announces; concurrent
// deliveries lose the update and stay silent. A detection started elsewhere
// has no pending record: the delivery that recorded the report announces it.
func (h *Handler) conclude(ctx context.Context, rep, pending *ledger.DriftReport, ours, announce bool) error {
	if ours {
		if pending.Status != StatusDetecting {
			return nil
		}
		pending.Status = rep.Status
		err := h.ledger.Update(ctx, pending)
		if errors.Is(err, ledger.ErrStale) {
			return nil // another delivery concludes it
		}
		if err != nil {
			pending.Status = StatusDetecting
			return fmt.Errorf("mark detection %s reported: %w", pending.DetectionID, err)
		}
	}
	if !announce {
		return nil
	}
	err := h.announce(ctx, rep)
	if err != nil && ours {
		pending.Status = StatusDetecting
		if uerr := h.ledger.Update(ctx, pending); uerr != nil {
			slog.ErrorContext(ctx, "drift announcement lost: pending detection not reopened",
				"detection", pending.DetectionID, "error", uerr)
		}
	}
	return err
}

// changed compares rep with the stack's previous report: their unsuppressed
// changes differ (each judged at its own time), or rep is a failure after a
// report that was not.
func (h *Handler) changed(prev, rep *ledger.DriftReport) bool {
	var before map[change]bool
	prevFailed := false
	if prev != nil {
		before = openChanges(h.drift, prev.Drifted, prev.At)
		prevFailed = prev.Status == StatusDetectionFailed
	}
	now := openChanges(h.drift, rep.Drifted, rep.At)
	differs := !maps.Equal(before, now)
	if rep.Status == StatusDetectionFailed {
		return differs || !prevFailed
	}
	return differs
}

// selected reports whether the policy selects the stack of a detection Highway
// did not start: by name, and by tags when the selector names any.
func (h *Handler) selected(ctx context.Context, c completion) (bool, error) {
	sel := h.drift.Stacks
	if !namedBy(sel, c.stack) {
		return false, nil
	}
	if len(sel.Tags) == 0 {
		return true, nil
	}
	name := c.stackID
	if name == "" {
		name = c.stack
	}
	api := h.clients(c.account, c.region).Stacks
	var out *cloudformation.DescribeStacksOutput
	err := h.limits.Do(ctx, c.account, func(ctx context.Context, opt func(*cloudformation.Options)) error {
		var err error
		out, err = api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, opt)
		return err
	})
	if err != nil {
		if !retryable(err) {
			slog.WarnContext(ctx, "stack of a drift detection not described", "stack", c.stack, "error", err)
			return false, nil
		}
		return false, fmt.Errorf("describe stack %s: %w", c.stack, err)
	}
	for _, s := range out.Stacks {
		if Selects(sel, s) {
			return true, nil
		}
	}
	return false, nil
}

// resourceDrifts reads every resource's drift from a finished detection:
// how many were checked, and the MODIFIED and DELETED ones.
func (h *Handler) resourceDrifts(ctx context.Context, c completion) (int, []ledger.DriftedResource, error) {
	name := c.stackID
	if name == "" {
		name = c.stack
	}
	api := h.clients(c.account, c.region).Drifts
	in := &cloudformation.DescribeStackResourceDriftsInput{
		StackName:  aws.String(name),
		MaxResults: aws.Int32(100),
		StackResourceDriftStatusFilters: []cftypes.StackResourceDriftStatus{
			cftypes.StackResourceDriftStatusInSync, cftypes.StackResourceDriftStatusModified,
			cftypes.StackResourceDriftStatusDeleted, cftypes.StackResourceDriftStatusNotChecked,
		},
	}
	var (
		total   int
		drifted []ledger.DriftedResource
	)
	for {
		var out *cloudformation.DescribeStackResourceDriftsOutput
		err := h.limits.Do(ctx, c.account, func(ctx context.Context, opt func(*cloudformation.Options)) error {
			var err error
			out, err = api.DescribeStackResourceDrifts(ctx, in, opt)
			return err
		})
		if err != nil {
			return 0, nil, fmt.Errorf("describe resource drifts of %s: %w", c.stack, err)
		}
		for _, d := range out.StackResourceDrifts {
			total++
			switch d.StackResourceDriftStatus {
			case cftypes.StackResourceDriftStatusModified, cftypes.StackResourceDriftStatusDeleted:
				drifted = append(drifted, driftedResource(d))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return total, drifted, nil
		}
		next := *in
		next.NextToken = out.NextToken
		in = &next
	}
}

func driftedResource(d cftypes.StackResourceDrift) ledger.DriftedResource {
	r := ledger.DriftedResource{
		LogicalID:  aws.ToString(d.LogicalResourceId),
		Type:       aws.ToString(d.ResourceType),
		Status:     string(d.StackResourceDriftStatus),
		PhysicalID: aws.ToString(d.PhysicalResourceId),
	}
	for _, p := range d.PropertyDifferences {
		r.Differences = append(r.Differences, ledger.PropertyDifference{
			Path:     aws.ToString(p.PropertyPath),
			Expected: aws.ToString(p.ExpectedValue),
			Actual:   aws.ToString(p.ActualValue),
			Type:     string(p.DifferenceType),
		})
	}
	return r
}

// measure writes a report's metrics; a metric that cannot be written is
// logged, never retried.
func (h *Handler) measure(ctx context.Context, rep *ledger.DriftReport) {
	put := func(name string, v float64, dims telemetry.Dimensions) {
		if err := h.metrics.Put(name, v, telemetry.Count, dims); err != nil {
			slog.WarnContext(ctx, "drift metric not written", "metric", name, "error", err)
		}
	}
	if rep.Status == StatusDetectionFailed {
		put(telemetry.MetricDetectionsFailed, 1, nil)
		return
	}
	bySeverity := map[string]int{}
	drifted := 0
	for _, r := range rep.Drifted {
		if !r.Suppressed {
			bySeverity[r.Severity]++
			drifted++
		}
	}
	if rep.Workspace != "" {
		put(telemetry.MetricDriftedWorkspaces, float64(min(drifted, 1)), nil)
	} else {
		put(telemetry.MetricDriftedStacks, float64(min(drifted, 1)), nil)
	}
	for _, s := range slices.Sorted(maps.Keys(withSeverities(bySeverity))) {
		put(telemetry.MetricDriftedResources, float64(bySeverity[s]), telemetry.Dimensions{telemetry.DimSeverity: s})
	}
}

// withSeverities adds every known severity to counts, at zero, so each one's
// metric is written every time.
func withSeverities(counts map[string]int) map[string]int {
	for _, s := range policy.Severities {
		if _, ok := counts[s]; !ok {
			counts[s] = 0
		}
	}
	return counts
}

// announce publishes and alerts on a changed report; an unchanged one is
// silent. It depends on the stored report alone, so a redelivery can finish it.
func (h *Handler) announce(ctx context.Context, rep *ledger.DriftReport) error {
	if !rep.Changed {
		return nil
	}
	open := unsuppressed(rep.Drifted)
	failed := rep.Status == StatusDetectionFailed
	if !failed {
		detail := Notice{
			Account: rep.Account, Region: rep.Region, Stack: rep.Stack, Workspace: rep.Workspace, Project: rep.Project,
			Report: rep.ID, DetectionID: rep.DetectionID, Status: rep.Status, Drifted: open,
		}
		kind := DetailTypeDriftResolved
		if len(open) > 0 {
			kind = DetailTypeDriftDetected
			detail.Severity = highest(severitiesOf(open))
		}
		if err := h.bus.Publish(ctx, bus.Event{DetailType: kind, Detail: detail, Time: rep.At}); err != nil {
			return fmt.Errorf("announce drift of %s: %w", rep.ID, err)
		}
	}
	return h.alert(ctx, rep, open)
}

// alert tells people of a changed report: what drifted, property by property.
func (h *Handler) alert(ctx context.Context, rep *ledger.DriftReport, open []ledger.DriftedResource) error {
	if h.topic == "" {
		return nil
	}
	var subject string
	switch {
	case rep.Status == StatusDetectionFailed:
		subject = fmt.Sprintf("Highway drift detection FAILED: %s", Checked(rep))
	case len(open) > 0:
		subject = fmt.Sprintf("Highway drift DETECTED (%s): %s", highest(severitiesOf(open)), Checked(rep))
	default:
		subject = fmt.Sprintf("Highway drift RESOLVED: %s", Checked(rep))
	}
	_, err := h.notify.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(h.topic),
		Subject:  aws.String(report.Shorten(subject, 100)),
		Message:  aws.String(Explain(rep)),
	})
	if err != nil {
		return fmt.Errorf("alert drift of %s: %w", rep.ID, err)
	}
	return nil
}

// Checked names what a report checked: the stack, the Terraform workspace
// (terraform:<name>), or the app's environment.
func Checked(rep *ledger.DriftReport) string {
	switch {
	case rep.Workspace != "":
		return "terraform:" + rep.Workspace
	case rep.Stack != "":
		return rep.Stack
	}
	return rep.App + "/" + rep.Env
}

// Explain renders a report for people: the stack or Terraform workspace and
// its status, then each drifted resource with its property differences,
// suppressed ones last.
func Explain(rep *ledger.DriftReport) string {
	var b strings.Builder
	if rep.Workspace != "" {
		fmt.Fprintf(&b, "Terraform workspace %s (CodeBuild project %s) in %s/%s: %s", rep.Workspace, rep.Project, rep.Account, rep.Region, rep.Status)
	} else {
		fmt.Fprintf(&b, "Stack %s in %s/%s: %s", rep.Stack, rep.Account, rep.Region, rep.Status)
	}
	if rep.Resources > 0 {
		fmt.Fprintf(&b, ", %d of %d resources drifted", len(rep.Drifted), rep.Resources)
	}
	if rep.Workspace != "" {
		fmt.Fprintf(&b, " (build %s)\n", rep.DetectionID)
	} else {
		fmt.Fprintf(&b, " (detection %s)\n", rep.DetectionID)
	}
	if rep.Reason != "" {
		fmt.Fprintf(&b, "Why: %s\n", rep.Reason)
	}
	if rep.Status == StatusDetectionFailed && len(rep.Drifted) > 0 {
		b.WriteString("Drift last seen:\n")
	}
	open := unsuppressed(rep.Drifted)
	if len(open) == 0 && rep.Status != StatusDetectionFailed {
		b.WriteString("No unsuppressed drift.\n")
	}
	for _, r := range open {
		writeResource(&b, r)
	}
	var quiet []ledger.DriftedResource
	for _, r := range rep.Drifted {
		if r.Suppressed {
			quiet = append(quiet, r)
		}
	}
	if len(quiet) > 0 {
		b.WriteString("Suppressed (reported, not alerted):\n")
		for _, r := range quiet {
			writeResource(&b, r)
		}
	}
	return b.String()
}

func writeResource(b *strings.Builder, r ledger.DriftedResource) {
	fmt.Fprintf(b, "  [%s] %s %s", r.Severity, r.LogicalID, r.Type)
	if r.PhysicalID != "" {
		fmt.Fprintf(b, " (%s)", r.PhysicalID)
	}
	fmt.Fprintf(b, " %s", r.Status)
	if r.SuppressedBecause != "" {
		fmt.Fprintf(b, " (suppressed: %s)", r.SuppressedBecause)
	}
	b.WriteString("\n")
	for _, d := range r.Differences {
		fmt.Fprintf(b, "      %s %s: expected %s, actual %s\n", d.Type, d.Path, orNone(d.Expected), orNone(d.Actual))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func unsuppressed(rs []ledger.DriftedResource) []ledger.DriftedResource {
	var out []ledger.DriftedResource
	for _, r := range rs {
		if !r.Suppressed {
			out = append(out, r)
		}
	}
	return out
}

func severitiesOf(rs []ledger.DriftedResource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Severity
	}
	return out
}

func ignore(ctx context.Context, reason string) (Result, error) {
	slog.InfoContext(ctx, "drift event ignored", "reason", reason)
	return Result{Outcome: OutcomeIgnored, Reason: reason}, nil
}
