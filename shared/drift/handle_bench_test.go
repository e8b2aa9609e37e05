package drift

import (
	"context"
	"encoding/xml"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// memCloudFormation is an in-memory CloudFormation of the prod account: it
// lists the sample stack, says its detections completed DRIFTED, and answers
// DescribeStackResourceDrifts with the pages of testdata, by NextToken.
type memCloudFormation struct {
	mu     sync.Mutex
	pages  map[string]*cloudformation.DescribeStackResourceDriftsOutput
	reads  int // DescribeStackResourceDrifts calls
	stacks []cftypes.Stack
}

var (
	_ StackLister     = (*memCloudFormation)(nil)
	_ DetectionReader = (*memCloudFormation)(nil)
)

// newMemCloudFormation loads the resource drift pages of testdata (an
// IN_SYNC VPC, a MODIFIED security group and an IN_SYNC role, then a DELETED
// bucket and a NOT_CHECKED custom resource).
func newMemCloudFormation(t testing.TB) *memCloudFormation {
	t.Helper()
	c := &memCloudFormation{pages: map[string]*cloudformation.DescribeStackResourceDriftsOutput{}}
	token := ""
	for _, name := range []string{"describe_stack_resource_drifts_1.xml", "describe_stack_resource_drifts_2.xml"} {
		out, err := resourceDriftsFromXML(readTestdata(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c.pages[token] = out
		token = aws.ToString(out.NextToken)
	}
	c.stacks = []cftypes.Stack{{
		StackName: aws.String(networkStack), StackId: aws.String(networkARN), StackStatus: cftypes.StackStatusUpdateComplete,
		Tags: []cftypes.Tag{{Key: aws.String("app"), Value: aws.String("checkout")}, {Key: aws.String("highway:managed"), Value: aws.String("true")}},
	}}
	return c
}

// resourceDriftsXML is the part of a DescribeStackResourceDrifts answer the
// handler reads.
type resourceDriftsXML struct {
	Drifts []struct {
		StackID             string `xml:"StackId"`
		LogicalResourceID   string `xml:"LogicalResourceId"`
		PhysicalResourceID  string `xml:"PhysicalResourceId"`
		ResourceType        string
		PropertyDifferences []struct {
			PropertyPath, ExpectedValue, ActualValue, DifferenceType string
		} `xml:"PropertyDifferences>member"`
		Status    string `xml:"StackResourceDriftStatus"`
		Timestamp time.Time
	} `xml:"DescribeStackResourceDriftsResult>StackResourceDrifts>member"`
	NextToken string `xml:"DescribeStackResourceDriftsResult>NextToken"`
}

func resourceDriftsFromXML(doc string) (*cloudformation.DescribeStackResourceDriftsOutput, error) {
	var x resourceDriftsXML
	if err := xml.Unmarshal([]byte(doc), &x); err != nil {
		return nil, err
	}
	out := &cloudformation.DescribeStackResourceDriftsOutput{}
	if x.NextToken != "" {
		out.NextToken = aws.String(x.NextToken)
	}
	for _, d := range x.Drifts {
		rd := cftypes.StackResourceDrift{
			StackId: aws.String(d.StackID), LogicalResourceId: aws.String(d.LogicalResourceID),
			PhysicalResourceId: aws.String(d.PhysicalResourceID), ResourceType: aws.String(d.ResourceType),
			StackResourceDriftStatus: cftypes.StackResourceDriftStatus(d.Status), Timestamp: aws.Time(d.Timestamp),
		}
		for _, p := range d.PropertyDifferences {
			rd.PropertyDifferences = append(rd.PropertyDifferences, cftypes.PropertyDifference{
				PropertyPath: aws.String(p.PropertyPath), ExpectedValue: aws.String(p.ExpectedValue),
				ActualValue: aws.String(p.ActualValue), DifferenceType: cftypes.DifferenceType(p.DifferenceType),
			})
		}
		out.StackResourceDrifts = append(out.StackResourceDrifts, rd)
	}
	return out, nil
}

func (c *memCloudFormation) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	return &cloudformation.DescribeStacksOutput{Stacks: c.stacks}, nil
}

func (c *memCloudFormation) DescribeStackDriftDetectionStatus(_ context.Context, in *cloudformation.DescribeStackDriftDetectionStatusInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackDriftDetectionStatusOutput, error) {
	return &cloudformation.DescribeStackDriftDetectionStatusOutput{
		StackId: aws.String(networkARN), StackDriftDetectionId: in.StackDriftDetectionId,
		StackDriftStatus: cftypes.StackDriftStatusDrifted, DetectionStatus: cftypes.StackDriftDetectionStatusDetectionComplete,
		DriftedStackResourceCount: aws.Int32(2), Timestamp: aws.Time(time.Date(2026, 11, 18, 6, 1, 12, 0, time.UTC)),
	}, nil
}

func (c *memCloudFormation) DescribeStackResourceDrifts(_ context.Context, in *cloudformation.DescribeStackResourceDriftsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceDriftsOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	out, ok := c.pages[aws.ToString(in.NextToken)]
	if !ok || aws.ToString(in.StackName) != networkARN {
		return nil, fmt.Errorf("DescribeStackResourceDrifts(%s, %s): no such page", aws.ToString(in.StackName), aws.ToString(in.NextToken))
	}
	return out, nil
}

// memSNS is an in-memory SNS that counts what it is given.
type memSNS struct {
	mu       sync.Mutex
	subjects []string
}

func (s *memSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subjects = append(s.subjects, aws.ToString(in.Subject))
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// BenchmarkHandleDrift is the drift function on CloudFormation's completion
// event (events/cloudformation-drift-detection.json) of a detection it
// started: OnStatusChange finds the pending detection, reads the stack's
// resource drifts (two pages, from an in-memory CloudFormation), triages
// them by the policy's severities (the security group's ingress critical,
// the bucket high), records the report once, writes the metrics (into a
// telemetrytest.Recorder), marks the detection reported, and, as the
// stack's drift is new, publishes Drift Detected and alerts through an
// in-memory SNS. Each iteration runs on a fresh memory ledger holding only
// the pending detection, so it is the first delivery, never a redelivery;
// building it is not measured. Calls are paced by Limits at a rate that
// never waits, and logs are discarded.
func BenchmarkHandleDrift(b *testing.B) {
	telemetrytest.DiscardLogs(b)
	p, err := policy.Parse([]byte(testPolicy), "highway.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfn := newMemCloudFormation(b)
	notify := &memSNS{}
	limits := NewLimits(1e12, 8, testBackoff)
	ev := sampleStatusEvent(b)
	checked := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	ctx := context.Background()
	want := Result{Outcome: OutcomeReported, Report: ReportID(prodAccount, testRegion, networkStack), Detection: sampleDetection, Status: "DRIFTED", Changed: true}

	// fresh is a handler over a ledger holding the pending detection of the
	// sample event, as Detect filed it.
	fresh := func() (*Handler, *recordingBus, *telemetrytest.Recorder) {
		l := ledger.NewMemory()
		err := l.Put(ctx, &ledger.DriftReport{
			Header: ledger.Header{ID: PendingID(prodAccount, testRegion, networkStack), At: checked},
			Stack:  networkStack, Status: StatusDetecting, Account: prodAccount, Region: testRegion, DetectionID: sampleDetection,
		})
		if err != nil {
			b.Fatal(err)
		}
		events, metrics := &recordingBus{}, &telemetrytest.Recorder{}
		h, err := New(Config{
			Policy: p,
			Clients: func(account, region string) Clients {
				if account != prodAccount || region != testRegion {
					b.Fatalf("clients of %s/%s, want the sample stack's", account, region)
				}
				return Clients{Stacks: cfn, Drifts: cfn}
			},
			Ledger: l, Bus: events, Notify: notify, Topic: topicARN, Metrics: metrics, Limits: limits,
			Now: func() time.Time { return checked.Add(2 * time.Minute) },
		})
		if err != nil {
			b.Fatal(err)
		}
		return h, events, metrics
	}

	// check fails the benchmark unless a run announced the critical drift
	// and counted one critical and one high resource, and no other.
	check := func(events *recordingBus, metrics *telemetrytest.Recorder) {
		if got := events.types(); len(got) != 1 || got[0] != DetailTypeDriftDetected || events.events[0].Detail.(Notice).Severity != "critical" {
			b.Fatalf("published %v, want one critical Drift Detected", got)
		}
		bySeverity := map[string]float64{}
		for _, v := range metrics.Values(telemetry.MetricDriftedResources) {
			bySeverity[v.Dims["Severity"]] += v.Value
		}
		if len(bySeverity) != len(policy.Severities) || bySeverity["critical"] != 1 || bySeverity["high"] != 1 ||
			bySeverity["medium"] != 0 || bySeverity["low"] != 0 {
			b.Fatalf("DriftedResources by severity = %v, want critical 1, high 1, medium 0, low 0", bySeverity)
		}
	}

	var (
		events  *recordingBus
		metrics *telemetrytest.Recorder
	)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if events != nil {
			check(events, metrics)
		}
		var h *Handler
		h, events, metrics = fresh()
		b.StartTimer()
		res, err := h.OnStatusChange(ctx, ev)
		if err != nil || res != want {
			b.Fatalf("OnStatusChange(sample) = %+v, %v; want %+v", res, err, want)
		}
	}
	check(events, metrics)
	if cfn.reads != 2*b.N || len(notify.subjects) != b.N || notify.subjects[0] != "Highway drift DETECTED (critical): checkout-prod-network" {
		b.Fatalf("%d runs read %d pages and sent %d alerts (%q), want 2 pages and 1 alert each", b.N, cfn.reads, len(notify.subjects), notify.subjects[:min(1, len(notify.subjects))])
	}
}
