package drift

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/telemetry"
)

// sampleDetection is the detection id of the sample event.
const sampleDetection = "b78ac9b0-c44f-11f0-94c2-0a3f1e2b8c41"

func TestDecodeStatusChangeReadsTheSample(t *testing.T) {
	got, err := DecodeStatusChange(sampleStatusEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	want := StatusChange{
		StackID:               networkARN,
		DetectionID:           sampleDetection,
		StatusDetails:         StatusDetails{StackDriftStatus: "DRIFTED", DetectionStatus: "DETECTION_COMPLETE"},
		DriftDetectionDetails: DetectionDetails{DriftedStackResourceCount: 1},
	}
	if got != want {
		t.Errorf("DecodeStatusChange(sample) = %+v, want %+v", got, want)
	}
}

func TestOnStatusChangeReportsADriftedStack(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	pending := f.pend(sampleDetection)

	res, err := f.h.OnStatusChange(context.Background(), sampleStatusEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	wantRes := Result{Outcome: OutcomeReported, Report: "444444444444/eu-west-1/checkout-prod-network", Detection: sampleDetection, Status: "DRIFTED", Changed: true}
	if res != wantRes {
		t.Errorf("OnStatusChange(sample) = %+v, want %+v", res, wantRes)
	}

	rep := f.report()
	if rep == nil {
		t.Fatal("no report recorded")
	}
	if rep.Resources != 5 || rep.Status != "DRIFTED" || rep.DetectionID != sampleDetection || !rep.At.Equal(pending.At) ||
		rep.Stack != networkStack || rep.Account != prodAccount || rep.Region != testRegion || !rep.Changed {
		t.Errorf("report = %+v, want 5 DRIFTED resources of %s checked at %v, changed", rep, networkStack, pending.At)
	}
	wantDrifted := []ledger.DriftedResource{
		{LogicalID: "WebSecurityGroup", Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", PhysicalID: "sg-0c5e2f1a9b8d7e6f4",
			Severity: "critical", Differences: []ledger.PropertyDifference{
				{Path: "/SecurityGroupIngress/2", Expected: "null", Actual: `{"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22}`, Type: "ADD"},
				{Path: "/Tags/1/Value", Expected: "cc-4411", Actual: "cc-9001", Type: "NOT_EQUAL"},
			}},
		{LogicalID: "FlowLogsBucket", Type: "AWS::S3::Bucket", Status: "DELETED", PhysicalID: "checkout-prod-flow-logs-444444444444", Severity: "high"},
	}
	if fmt.Sprintf("%+v", rep.Drifted) != fmt.Sprintf("%+v", wantDrifted) {
		t.Errorf("Drifted =\n%+v\nwant\n%+v", rep.Drifted, wantDrifted)
	}

	// The pages asked for, each once: Limits, which paces these calls with
	// the SDK's retries off, asks again for a page whose connection a loaded
	// machine broke, and that attempt is an invocation of its own.
	calls := f.aws.Invocations("DescribeStackResourceDrifts")
	var pages []string
	for _, c := range calls {
		if tok := c.Form.Get("NextToken"); !slices.Contains(pages, tok) {
			pages = append(pages, tok)
		}
	}
	if want := []string{"", "eyJ2IjoxLCJsYXN0IjoiRmxvd0xvZ3NSb2xlIn0="}; !slices.Equal(pages, want) {
		t.Fatalf("DescribeStackResourceDrifts asked for pages %q, want %q (two pages, in order)", pages, want)
	}
	for _, c := range calls {
		var filters []string
		for i := 1; c.Form.Has(fmt.Sprintf("StackResourceDriftStatusFilters.member.%d", i)); i++ {
			filters = append(filters, c.Form.Get(fmt.Sprintf("StackResourceDriftStatusFilters.member.%d", i)))
		}
		slices.Sort(filters)
		if got := strings.Join(filters, ","); got != "DELETED,IN_SYNC,MODIFIED,NOT_CHECKED" || c.Form.Get("StackName") != networkARN {
			t.Errorf("DescribeStackResourceDrifts(StackName %s, filters %s), want the stack ARN and all four statuses", c.Form.Get("StackName"), got)
		}
	}

	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
		t.Fatalf("published %v, want [Drift Detected]", got)
	}
	notice := f.bus.events[0].Detail.(Notice)
	if notice.Severity != "critical" || len(notice.Drifted) != 2 || notice.Report != res.Report || notice.DetectionID != sampleDetection {
		t.Errorf("Drift Detected detail = %+v, want both resources, critical", notice)
	}
	alerts := f.alerts()
	if len(alerts) != 1 {
		t.Fatalf("sent %d alerts, want 1", len(alerts))
	}
	for _, want := range []string{"DETECTED (critical): checkout-prod-network", "[critical] WebSecurityGroup",
		`ADD /SecurityGroupIngress/2: expected null, actual {"CidrIp":"0.0.0.0/0"`, "[high] FlowLogsBucket AWS::S3::Bucket"} {
		if !strings.Contains(alerts[0], want) {
			t.Errorf("alert lacks %q:\n%s", want, alerts[0])
		}
	}
	wantMetrics := map[string][]float64{
		"DriftedStacks": {1}, "DriftedResources/critical": {1}, "DriftedResources/high": {1},
		"DriftedResources/medium": {0}, "DriftedResources/low": {0},
	}
	if got := f.metricLines(); fmt.Sprint(got) != fmt.Sprint(wantMetrics) {
		t.Errorf("metrics = %v, want %v", got, wantMetrics)
	}
	if p, _ := latestReport(context.Background(), f.ledger, PendingID(prodAccount, testRegion, networkStack)); p.Status != "DRIFTED" {
		t.Errorf("pending detection status = %s, want DRIFTED once reported", p.Status)
	}
}

// step is one finished detection of the sample stack, six hours after the
// previous one.
type step struct {
	stackStatus, detectionStatus string
}

var (
	drifted = step{"DRIFTED", "DETECTION_COMPLETE"}
	inSync  = step{"IN_SYNC", "DETECTION_COMPLETE"}
	failed  = step{"UNKNOWN", "DETECTION_FAILED"}
)

// run files and completes one detection per step and returns whether each
// report changed.
func (f *fixture) run(steps ...step) []bool {
	f.t.Helper()
	var changed []bool
	for i, s := range steps {
		f.clock.Set(f.clock.Now().Add(6 * time.Hour))
		id := fmt.Sprintf("%08d-c44f-11f0-94c2-0a3f1e2b8c41", i+1)
		f.pend(id)
		res, err := f.h.OnStatusChange(context.Background(), statusEvent(f.t, id, s.stackStatus, s.detectionStatus, f.clock.Now().Add(90*time.Second)))
		if err != nil {
			f.t.Fatalf("step %d: %v", i+1, err)
		}
		if res.Outcome != OutcomeReported {
			f.t.Fatalf("step %d: outcome %+v, want reported", i+1, res)
		}
		changed = append(changed, res.Changed)
	}
	return changed
}

func TestAlertsOnlyWhenDriftChanges(t *testing.T) {
	tests := []struct {
		name        string
		give        []step
		wantChanged []bool
		wantEvents  []string
		wantAlerts  []string // subjects
	}{
		{"same drift twice alerts once", []step{drifted, drifted},
			[]bool{true, false}, []string{DetailTypeDriftDetected},
			[]string{"Highway drift DETECTED (critical): checkout-prod-network"}},
		{"drift then in sync resolves once", []step{drifted, inSync, inSync},
			[]bool{true, true, false}, []string{DetailTypeDriftDetected, DetailTypeDriftResolved},
			[]string{"Highway drift DETECTED (critical): checkout-prod-network", "Highway drift RESOLVED: checkout-prod-network"}},
		{"in sync throughout is silent", []step{inSync, inSync},
			[]bool{false, false}, nil, nil},
		{"a failure alerts once and keeps the drift", []step{drifted, failed, failed, drifted},
			[]bool{true, true, false, false}, []string{DetailTypeDriftDetected},
			[]string{"Highway drift DETECTED (critical): checkout-prod-network", "Highway drift detection FAILED: checkout-prod-network"}},
		{"resolved after a failure", []step{drifted, failed, inSync},
			[]bool{true, true, true}, []string{DetailTypeDriftDetected, DetailTypeDriftResolved},
			[]string{"Highway drift DETECTED (critical): checkout-prod-network", "Highway drift detection FAILED: checkout-prod-network",
				"Highway drift RESOLVED: checkout-prod-network"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPolicy)
			onResourceDrifts(t, f.aws)
			if got := f.run(tt.give...); !slices.Equal(got, tt.wantChanged) {
				t.Errorf("Changed = %v, want %v", got, tt.wantChanged)
			}
			if got := f.bus.types(); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("published %v, want %v", got, tt.wantEvents)
			}
			var subjects []string
			for _, a := range f.alerts() {
				subjects = append(subjects, strings.SplitN(a, "\n", 2)[0])
			}
			if !slices.Equal(subjects, tt.wantAlerts) {
				t.Errorf("alerts %q, want %q", subjects, tt.wantAlerts)
			}
		})
	}
}

func TestFailedDetectionIsRecorded(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	f.run(drifted, failed)

	rep := f.report()
	if rep.Status != StatusDetectionFailed || len(rep.Drifted) != 2 || rep.Resources != 0 {
		t.Errorf("report = %s with %d drifted of %d, want DETECTION_FAILED keeping the 2 drifted resources", rep.Status, len(rep.Drifted), rep.Resources)
	}
	if n := len(f.aws.Invocations("DescribeStackResourceDrifts")); n != 2 {
		t.Errorf("DescribeStackResourceDrifts called %d times, want 2: a failed detection is not read", n)
	}
	got := f.metricLines()
	if !slices.Equal(got[telemetry.MetricDetectionsFailed], []float64{1}) || !slices.Equal(got[telemetry.MetricDriftedStacks], []float64{1}) {
		t.Errorf("metrics = %v, want one DriftedStacks (the drifted report) and one DriftDetectionsFailed", got)
	}
}

func TestSuppressions(t *testing.T) {
	at := time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC) // the fixture's first step
	tests := []struct {
		name         string
		suppressions string
		wantQuiet    map[string]string // logical id: SuppressedBecause of suppressed resources
		wantNote     string            // SuppressedBecause of the security group, if only partly suppressed
		wantEvents   []string
		wantAlerts   int
		wantDrifted  float64
	}{
		{"matching", `
    - {type: "AWS::EC2::SecurityGroup", reason: "ops edits web rules during incidents"}
    - {type: "AWS::S3::Bucket", reason: "flow logs moved to the central account", until: 2027-01-01T00:00:00Z}`,
			map[string]string{"WebSecurityGroup": "ops edits web rules during incidents", "FlowLogsBucket": "flow logs moved to the central account"},
			"", nil, 0, 0},
		{"expired", `
    - {type: "AWS::EC2::SecurityGroup", reason: "ops edits web rules during incidents", until: 2026-11-01T00:00:00Z}
    - {type: "AWS::S3::Bucket", reason: "flow logs moved to the central account", until: 2026-11-18T11:59:59Z}`,
			map[string]string{}, "", []string{DetailTypeDriftDetected}, 1, 1},
		{"wrong type", `
    - {type: "AWS::EC2::VPC", reason: "ipam adds secondary ranges"}
    - {type: "AWS::S3::BucketPolicy", reason: "central logging edits policies"}`,
			map[string]string{}, "", []string{DetailTypeDriftDetected}, 1, 1},
		{"property of another path", `
    - {type: "AWS::EC2::SecurityGroup", property: /SecurityGroupEgress, reason: "egress is managed by the firewall team"}
    - {type: "AWS::S3::Bucket", property: /BucketEncryption, reason: "kms keys rotate"}`,
			map[string]string{}, "", []string{DetailTypeDriftDetected}, 1, 1},
		{"part of a resource", `
    - {type: "AWS::EC2::*", property: /Tags, reason: "the cost tool retags"}`,
			map[string]string{}, "/Tags/1/Value: the cost tool retags", []string{DetailTypeDriftDetected}, 1, 1},
		{"everything but the deleted bucket", `
    - {type: "AWS::EC2::SecurityGroup", property: /SecurityGroupIngress, reason: "ops edits web rules during incidents"}
    - {type: "AWS::EC2::SecurityGroup", property: /Tags, reason: "the cost tool retags"}`,
			map[string]string{"WebSecurityGroup": "ops edits web rules during incidents; the cost tool retags"},
			"", []string{DetailTypeDriftDetected}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPolicy+"  suppressions:"+tt.suppressions+"\n")
			onResourceDrifts(t, f.aws)
			f.run(drifted)
			if !f.clock.Now().Equal(at) {
				t.Fatalf("detection at %v, want %v", f.clock.Now(), at)
			}

			rep := f.report()
			if len(rep.Drifted) != 2 {
				t.Fatalf("report has %d drifted resources, want both, suppressed or not", len(rep.Drifted))
			}
			for _, r := range rep.Drifted {
				why, quiet := tt.wantQuiet[r.LogicalID]
				if r.Suppressed != quiet || (quiet && r.SuppressedBecause != why) {
					t.Errorf("%s: Suppressed %v (%q), want %v (%q)", r.LogicalID, r.Suppressed, r.SuppressedBecause, quiet, why)
				}
				if r.LogicalID == "WebSecurityGroup" && !quiet && r.SuppressedBecause != tt.wantNote {
					t.Errorf("%s: SuppressedBecause %q, want %q", r.LogicalID, r.SuppressedBecause, tt.wantNote)
				}
			}
			if got := f.bus.types(); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("published %v, want %v", got, tt.wantEvents)
			}
			if got := len(f.alerts()); got != tt.wantAlerts {
				t.Errorf("sent %d alerts, want %d", got, tt.wantAlerts)
			}
			if got := f.metricLines()[telemetry.MetricDriftedStacks]; !slices.Equal(got, []float64{tt.wantDrifted}) {
				t.Errorf("DriftedStacks = %v, want [%v]", got, tt.wantDrifted)
			}
		})
	}
}

func TestSuppressionExpiringIsAChange(t *testing.T) {
	f := newFixture(t, testPolicy+`  suppressions:
    - {type: "AWS::EC2::SecurityGroup", reason: "ops edits web rules during incidents", until: 2026-11-18T15:00:00Z}
    - {type: "AWS::S3::Bucket", reason: "flow logs moved to the central account"}
`)
	onResourceDrifts(t, f.aws)
	// 12:00 suppressed, 18:00 the security group's suppression has ended.
	if got, want := f.run(drifted, drifted), []bool{false, true}; !slices.Equal(got, want) {
		t.Errorf("Changed = %v, want %v", got, want)
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
		t.Errorf("published %v, want [Drift Detected]", got)
	}
}

func TestRedeliveredCompletionIsReportedOnce(t *testing.T) {
	tests := []struct {
		name    string
		pending bool
	}{
		{"started by Highway", true},
		{"started in the console", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPolicy)
			onResourceDrifts(t, f.aws)
			// A console detection is reported only for a selected stack: its
			// tags are read once.
			onDescribeStacks(f.aws, []fakeStack{managed(prodAccount, networkStack)}, 10)
			if tt.pending {
				f.pend(sampleDetection)
			}
			ev := sampleStatusEvent(t)
			var outcomes []Outcome
			for range 3 {
				res, err := f.h.OnStatusChange(context.Background(), ev)
				if err != nil {
					t.Fatal(err)
				}
				outcomes = append(outcomes, res.Outcome)
			}
			if want := []Outcome{OutcomeReported, OutcomeDuplicate, OutcomeDuplicate}; !slices.Equal(outcomes, want) {
				t.Errorf("outcomes = %v, want %v", outcomes, want)
			}
			if n := len(f.aws.Invocations("DescribeStackResourceDrifts")); n != 2 {
				t.Errorf("DescribeStackResourceDrifts called %d times, want 2: one report's pages", n)
			}
			if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
				t.Errorf("published %v, want one Drift Detected", got)
			}
			if n := len(f.alerts()); n != 1 {
				t.Errorf("sent %d alerts, want 1", n)
			}
			if got := f.metricLines()[telemetry.MetricDriftedStacks]; !slices.Equal(got, []float64{1}) {
				t.Errorf("DriftedStacks = %v, want one value", got)
			}
			if rep := f.report(); rep.DetectionID != sampleDetection || rep.Version != 1 {
				t.Errorf("report = %s version %d, want the sample's, never rewritten", rep.DetectionID, rep.Version)
			}
		})
	}
}

func TestRedeliveryFinishesAFailedAnnouncement(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	f.pend(sampleDetection)
	f.bus.failNext = 1
	ev := sampleStatusEvent(t)

	if _, err := f.h.OnStatusChange(context.Background(), ev); err == nil {
		t.Fatal("OnStatusChange() with the bus down = nil error, want one so the event is retried")
	}
	if f.report() == nil || len(f.alerts()) != 0 {
		t.Fatalf("after the failure: report %v, %d alerts; want the report kept and no alert yet", f.report(), len(f.alerts()))
	}
	for range 2 {
		if res, err := f.h.OnStatusChange(context.Background(), ev); err != nil || res.Outcome != OutcomeDuplicate {
			t.Fatalf("OnStatusChange() = %+v, %v; want a duplicate", res, err)
		}
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
		t.Errorf("published %v, want one Drift Detected", got)
	}
	if n := len(f.alerts()); n != 1 {
		t.Errorf("sent %d alerts, want 1", n)
	}
}

func TestOnStatusChangeIgnores(t *testing.T) {
	inProgress := statusEvent(t, "i", "UNKNOWN", "DETECTION_IN_PROGRESS", time.Now())
	foreign := sampleStatusEvent(t)
	foreign.Detail = []byte(strings.ReplaceAll(string(foreign.Detail), prodAccount, "999999999999"))
	otherStack := sampleStatusEvent(t)
	otherStack.Detail = []byte(strings.ReplaceAll(string(otherStack.Detail), networkStack, "search-prod"))
	notDrift := sampleStatusEvent(t)
	notDrift.DetailType = "CloudFormation Stack Status Change"
	tests := []struct {
		name string
		give events.CloudWatchEvent
		want string
	}{
		{"still in progress", inProgress, "is DETECTION_IN_PROGRESS"},
		{"account not in the policy", foreign, "account 999999999999 in eu-west-1 is not in the policy"},
		{"stack not named by the policy", otherStack, "search-prod is not selected"},
		{"not a drift event", notDrift, "not a \"CloudFormation Drift Detection Status Change\""},
		{"stack without the tags", sampleStatusEvent(t), "checkout-prod-network is not selected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPolicy)
			onDescribeStacks(f.aws, []fakeStack{{account: prodAccount, name: networkStack, status: "UPDATE_COMPLETE"}}, 10)
			res, err := f.h.OnStatusChange(context.Background(), tt.give)
			if err != nil || res.Outcome != OutcomeIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("OnStatusChange() = %+v, %v; want ignored because %q", res, err, tt.want)
			}
			if f.report() != nil || len(f.bus.types()) > 0 {
				t.Error("an ignored event wrote a report or published")
			}
		})
	}
}

func TestSweepStaleReportsDetectionsWhoseEventNeverCame(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	stacks := []fakeStack{managed(prodAccount, networkStack), managed(prodAccount, "checkout-prod-db"), managed(prodAccount, "checkout-prod-cache")}
	onDescribeStacks(f.aws, stacks, 10)
	f.aws.OnFunc("DescribeStackDriftDetectionStatus", func(r awsfake.Request) awsfake.Response {
		switch id := r.Form.Get("StackDriftDetectionId"); id {
		case "lost":
			return awsfake.XML(200, statusXML(networkARN, id, "DRIFTED", "DETECTION_COMPLETE", 2))
		case "slow":
			return awsfake.XML(200, statusXML(stacks[1].arn(), id, "UNKNOWN", "DETECTION_IN_PROGRESS", -1))
		}
		return awsfake.APIError(400, "ValidationError", "unknown detection")
	})
	ctx := context.Background()
	put := func(stack, detection string) {
		if err := f.ledger.Put(ctx, &ledger.DriftReport{
			Header: ledger.Header{ID: PendingID(prodAccount, testRegion, stack), At: f.clock.Now()},
			Stack:  stack, Status: StatusDetecting, Account: prodAccount, Region: testRegion, DetectionID: detection,
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(networkStack, "lost")
	put("checkout-prod-db", "slow")
	f.clock.Set(f.clock.Now().Add(25 * time.Minute))
	put("checkout-prod-cache", "recent")
	f.clock.Set(f.clock.Now().Add(10 * time.Minute))

	res, err := f.h.SweepStale(ctx, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := (StaleResult{Stacks: 3, Stale: 2, Reported: 1, Running: 1}); res != want {
		t.Errorf("SweepStale() = %+v, want %+v", res, want)
	}
	var asked []string
	for _, c := range f.aws.Invocations("DescribeStackDriftDetectionStatus") {
		asked = append(asked, c.Form.Get("StackDriftDetectionId"))
	}
	slices.Sort(asked)
	if !slices.Equal(asked, []string{"lost", "slow"}) {
		t.Errorf("asked the status of %v, want [lost slow]", asked)
	}
	rep := f.report()
	if rep == nil || rep.DetectionID != "lost" || rep.Status != "DRIFTED" || len(rep.Drifted) != 2 {
		t.Fatalf("report = %+v, want the lost detection's DRIFTED report", rep)
	}
	if n := len(f.alerts()); n != 1 {
		t.Errorf("sent %d alerts, want 1", n)
	}

	// The event arrives after all: nothing new.
	late, err := f.h.OnStatusChange(ctx, statusEvent(t, "lost", "DRIFTED", "DETECTION_COMPLETE", f.clock.Now()))
	if err != nil || late.Outcome != OutcomeDuplicate {
		t.Errorf("late event = %+v, %v; want a duplicate", late, err)
	}
	// A second stale sweep finds nothing left to report for the network stack.
	if res, err := f.h.SweepStale(ctx, 30*time.Minute); err != nil || res.Reported != 0 {
		t.Errorf("second SweepStale() = %+v, %v; want nothing reported", res, err)
	}
	if n := len(f.alerts()); n != 1 {
		t.Errorf("sent %d alerts in all, want 1", n)
	}
}

func TestConcurrentDeliveriesAnnounceOnce(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	f.pend(sampleDetection)
	ev := sampleStatusEvent(t)

	var wg sync.WaitGroup
	outcomes := make([]Outcome, 6)
	for i := range outcomes {
		wg.Go(func() {
			res, err := f.h.OnStatusChange(context.Background(), ev)
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = res.Outcome
		})
	}
	wg.Wait()
	if n := countOf(outcomes, OutcomeReported); n != 1 {
		t.Errorf("outcomes = %v, want one reported, the rest duplicates", outcomes)
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
		t.Errorf("published %v, want one Drift Detected", got)
	}
	if n := len(f.alerts()); n != 1 {
		t.Errorf("sent %d alerts, want 1", n)
	}
}

func countOf[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestEventOutrunningDetectIsAnnouncedOnce(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	onDescribeStacks(f.aws, []fakeStack{managed(prodAccount, networkStack)}, 10)
	f.aws.On("DescribeStackDriftDetectionStatus", awsfake.XML(200, statusXML(networkARN, sampleDetection, "DRIFTED", "DETECTION_COMPLETE", 2)))
	ctx := context.Background()

	// The completion event is handled before Detect files its detection.
	ev := sampleStatusEvent(t)
	f.clock.Set(ev.Time.Add(2 * time.Second))
	if res, err := f.h.OnStatusChange(ctx, ev); err != nil || res.Outcome != OutcomeReported {
		t.Fatalf("OnStatusChange() = %+v, %v; want reported", res, err)
	}
	f.pend(sampleDetection)
	f.clock.Set(f.clock.Now().Add(time.Hour))

	res, err := f.h.SweepStale(ctx, 30*time.Minute)
	if err != nil || res.Stale != 1 || res.Reported != 1 {
		t.Errorf("SweepStale() = %+v, %v; want the pending detection found and settled", res, err)
	}
	if n := len(f.alerts()); n != 1 {
		t.Errorf("sent %d alerts, want 1", n)
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
		t.Errorf("published %v, want one Drift Detected", got)
	}
	if p, _ := latestReport(ctx, f.ledger, PendingID(prodAccount, testRegion, networkStack)); p.Status != "DRIFTED" {
		t.Errorf("pending detection status = %s, want DRIFTED: settled, not left for the next stale sweep", p.Status)
	}
}

func TestOnlyTheLatestReportIsCurrent(t *testing.T) {
	f := newFixture(t, testPolicy)
	onResourceDrifts(t, f.aws)
	ctx := context.Background()
	f.run(drifted, inSync)
	current := func() []*ledger.DriftReport {
		t.Helper()
		rs, err := f.ledger.CurrentDriftReports(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if rs := current(); len(rs) != 1 || rs[0].Status != "IN_SYNC" {
		t.Fatalf("current reports = %+v, want the one IN_SYNC report", rs)
	}

	// A completion older than the stack's last report is kept for the
	// timeline and does not displace the current one.
	onDescribeStacks(f.aws, []fakeStack{managed(prodAccount, networkStack)}, 10)
	old := f.clock.Now().Add(-24 * time.Hour)
	if res, err := f.h.OnStatusChange(ctx, statusEvent(t, "console-1", "DRIFTED", "DETECTION_COMPLETE", old)); err != nil || res.Outcome != OutcomeReported {
		t.Fatalf("late completion = %+v, %v; want it reported", res, err)
	}
	if rs := current(); len(rs) != 1 || rs[0].Status != "IN_SYNC" {
		t.Errorf("after a late report, current = %+v, want the IN_SYNC report still", rs)
	}
}
