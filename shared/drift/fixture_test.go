package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// testPolicy checks the checkout- stacks tagged highway:managed in the hub
// (111111111111) and in prod (444444444444), as the sample event's stack is.
const testPolicy = `
version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: prod, account: "444444444444", region: eu-west-1}
drift:
  schedule: rate(6 hours)
  stacks:
    prefixes: [checkout-]
    tags: {"highway:managed": "true"}
  severities:
    - {type: "AWS::EC2::SecurityGroup", property: /SecurityGroupIngress, severity: critical}
    - {type: "AWS::S3::*", severity: high}
`

const (
	hubAccount  = "111111111111"
	prodAccount = "444444444444"
	testRegion  = "eu-west-1"
	// networkStack and networkARN are the sample event's stack.
	networkStack = "checkout-prod-network"
	networkARN   = "arn:aws:cloudformation:eu-west-1:444444444444:stack/checkout-prod-network/5e8f4c20-2f1a-11f0-9c3e-0a1b2c3d4e5f"
	sampleEvent  = "../../events/cloudformation-drift-detection.json"
	topicARN     = "arn:aws:sns:eu-west-1:111111111111:highway-notify"
	cfnNamespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
	snsOK        = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`
)

// testBackoff keeps retries fast in tests.
var testBackoff = Backoff{Base: time.Millisecond, Max: 4 * time.Millisecond, Attempts: 6}

// fakeStack is a stack the fake CloudFormation lists.
type fakeStack struct {
	account, name, status string
	tags                  map[string]string
}

func (s fakeStack) arn() string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%08x-2f1a-11f0-9c3e-0a1b2c3d4e5f", testRegion, s.account, s.name, len(s.name)*7919)
}

// managed is a selectable stack of account.
func managed(account, name string) fakeStack {
	return fakeStack{account: account, name: name, status: "UPDATE_COMPLETE", tags: map[string]string{"highway:managed": "true", "app": "checkout"}}
}

// describeStacksXML is a DescribeStacks answer listing stacks, with next as
// NextToken when not empty.
func describeStacksXML(stacks []fakeStack, next string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<DescribeStacksResponse xmlns="%s"><DescribeStacksResult><Stacks>`, cfnNamespace)
	for _, s := range stacks {
		fmt.Fprintf(&b, `<member><StackName>%s</StackName><StackId>%s</StackId><Description>%s</Description>`, s.name, s.arn(), s.name+" stack")
		b.WriteString(`<Tags>`)
		keys := make([]string, 0, len(s.tags))
		for k := range s.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, `<member><Key>%s</Key><Value>%s</Value></member>`, k, s.tags[k])
		}
		fmt.Fprintf(&b, `</Tags><CreationTime>2025-07-27T22:28:28Z</CreationTime><StackStatus>%s</StackStatus>`, s.status)
		b.WriteString(`<DisableRollback>false</DisableRollback><DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation></member>`)
	}
	b.WriteString(`</Stacks>`)
	if next != "" {
		fmt.Fprintf(&b, `<NextToken>%s</NextToken>`, next)
	}
	b.WriteString(`</DescribeStacksResult><ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata></DescribeStacksResponse>`)
	return b.String()
}

// onDescribeStacks answers DescribeStacks with stacks, pageSize to a page,
// following NextToken "page-<n>".
func onDescribeStacks(srv *awsfake.Server, stacks []fakeStack, pageSize int) {
	srv.OnFunc("DescribeStacks", func(r awsfake.Request) awsfake.Response {
		page := 0
		fmt.Sscanf(r.Form.Get("NextToken"), "page-%d", &page)
		from, to := page*pageSize, min((page+1)*pageSize, len(stacks))
		next := ""
		if to < len(stacks) {
			next = fmt.Sprintf("page-%d", page+1)
		}
		return awsfake.XML(200, describeStacksXML(stacks[from:to], next))
	})
}

func detectXML(id string) string {
	return fmt.Sprintf(`<DetectStackDriftResponse xmlns="%s"><DetectStackDriftResult><StackDriftDetectionId>%s</StackDriftDetectionId></DetectStackDriftResult><ResponseMetadata><RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ResponseMetadata></DetectStackDriftResponse>`, cfnNamespace, id)
}

func statusXML(stackID, detection, driftStatus, detectionStatus string, drifted int) string {
	return fmt.Sprintf(`<DescribeStackDriftDetectionStatusResponse xmlns="%s"><DescribeStackDriftDetectionStatusResult>`+
		`<StackId>%s</StackId><StackDriftDetectionId>%s</StackDriftDetectionId><StackDriftStatus>%s</StackDriftStatus>`+
		`<DetectionStatus>%s</DetectionStatus><DriftedStackResourceCount>%d</DriftedStackResourceCount>`+
		`<Timestamp>2026-11-18T06:01:12.331Z</Timestamp></DescribeStackDriftDetectionStatusResult>`+
		`<ResponseMetadata><RequestId>2f6e1c4b-8a9d-4e3f-b2c1-example</RequestId></ResponseMetadata></DescribeStackDriftDetectionStatusResponse>`,
		cfnNamespace, stackID, detection, driftStatus, detectionStatus, drifted)
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onResourceDrifts answers DescribeStackResourceDrifts with the two pages in
// testdata: an IN_SYNC VPC, a MODIFIED security group (ingress rule added,
// tag changed) and an IN_SYNC role, then a DELETED bucket and a NOT_CHECKED
// custom resource.
func onResourceDrifts(t *testing.T, srv *awsfake.Server) {
	page1 := readTestdata(t, "describe_stack_resource_drifts_1.xml")
	page2 := readTestdata(t, "describe_stack_resource_drifts_2.xml")
	srv.OnFunc("DescribeStackResourceDrifts", func(r awsfake.Request) awsfake.Response {
		switch r.Form.Get("NextToken") {
		case "":
			return awsfake.XML(200, page1)
		case "eyJ2IjoxLCJsYXN0IjoiRmxvd0xvZ3NSb2xlIn0=":
			return awsfake.XML(200, page2)
		}
		return awsfake.APIError(400, "ValidationError", "invalid NextToken")
	})
}

// recordingBus is a bus.Publisher that keeps what it is given, and fails the
// next failNext publishes.
type recordingBus struct {
	mu       sync.Mutex
	events   []bus.Event
	failNext int
}

func (b *recordingBus) Publish(_ context.Context, evs ...bus.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failNext > 0 {
		b.failNext--
		return fmt.Errorf("bus unavailable")
	}
	b.events = append(b.events, evs...)
	return nil
}

// types lists the detail types published so far.
func (b *recordingBus) types() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		out = append(out, e.DetailType)
	}
	return out
}

// fixture is a Handler over wire-level fakes of CloudFormation and SNS, a
// memory ledger, a recording bus and real EMF metrics. The prod account's
// CloudFormation is aws (with SNS); the hub's is hub, which lists no stacks
// unless a test says otherwise.
type fixture struct {
	t          *testing.T
	aws        *awsfake.Server
	hub        *awsfake.Server
	ledger     ledger.Ledger
	bus        *recordingBus
	metricsOut *bytes.Buffer
	metrics    *telemetry.Metrics
	clock      *clocktest.Clock
	h          *Handler
}

func newFixture(t *testing.T, policyText string, configure ...func(*Config)) *fixture {
	t.Helper()
	p, err := policy.Parse([]byte(policyText), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		t: t, aws: awsfake.New(t), hub: awsfake.New(t), ledger: ledger.NewMemory(), bus: &recordingBus{},
		metricsOut: &bytes.Buffer{}, clock: clocktest.New(time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)),
	}
	f.metrics = telemetry.NewMetrics(f.metricsOut, "Highway")
	f.aws.On("Publish", awsfake.XML(200, snsOK))
	onDescribeStacks(f.hub, nil, 10)
	cfg := f.aws.Config()
	cfn := map[string]*cloudformation.Client{}
	var mu sync.Mutex
	c := Config{
		Policy: p,
		Clients: func(account, region string) Clients {
			mu.Lock()
			defer mu.Unlock()
			cl, ok := cfn[account+region]
			if !ok {
				srv := f.aws
				if account == hubAccount {
					srv = f.hub
				}
				cl = cloudformation.NewFromConfig(srv.Config(), func(o *cloudformation.Options) { o.Region = region })
				cfn[account+region] = cl
			}
			return Clients{Stacks: cl, Detections: cl, Drifts: cl}
		},
		Ledger:  f.ledger,
		Bus:     f.bus,
		Notify:  sns.NewFromConfig(cfg),
		Topic:   topicARN,
		Metrics: f.metrics,
		Limits:  NewLimits(200, 8, testBackoff),
		Now:     f.clock.Now,
	}
	for _, fn := range configure {
		fn(&c)
	}
	f.h, err = New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// alerts returns the SNS messages sent so far.
func (f *fixture) alerts() []string {
	var out []string
	for _, r := range f.aws.Invocations("Publish") {
		out = append(out, r.Form.Get("Subject")+"\n"+r.Form.Get("Message"))
	}
	return out
}

// pend files a pending detection of the sample stack, as Detect does, started
// at the fixture's clock.
func (f *fixture) pend(detection string) *ledger.DriftReport {
	f.t.Helper()
	p := &ledger.DriftReport{
		Header: ledger.Header{ID: PendingID(prodAccount, testRegion, networkStack), At: f.clock.Now()},
		Stack:  networkStack, Status: StatusDetecting, Account: prodAccount, Region: testRegion, DetectionID: detection,
	}
	if err := f.ledger.Put(context.Background(), p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// report returns the sample stack's last report.
func (f *fixture) report() *ledger.DriftReport {
	f.t.Helper()
	r, err := latestReport(context.Background(), f.ledger, ReportID(prodAccount, testRegion, networkStack))
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// metricLines flushes the metrics and returns each EMF document's metric
// values by name (with the Severity dimension appended, if any).
func (f *fixture) metricLines() map[string][]float64 {
	f.t.Helper()
	if err := f.metrics.Flush(); err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]float64{}
	for _, line := range strings.Split(strings.TrimSpace(f.metricsOut.String()), "\n") {
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			f.t.Fatalf("EMF line %q: %v", line, err)
		}
		suffix := ""
		if s, ok := doc["Severity"].(string); ok {
			suffix = "/" + s
		}
		for _, name := range []string{telemetry.MetricDriftedStacks, telemetry.MetricDriftedWorkspaces, telemetry.MetricDriftedResources, telemetry.MetricDetectionsFailed, telemetry.MetricArtifactDrift} {
			switch v := doc[name].(type) {
			case float64:
				out[name+suffix] = append(out[name+suffix], v)
			case []any:
				for _, x := range v {
					out[name+suffix] = append(out[name+suffix], x.(float64))
				}
			}
		}
	}
	f.metricsOut.Reset()
	return out
}

// statusEvent is the sample completion event with the given detection id and
// outcome.
func statusEvent(t *testing.T, detection, driftStatus, detectionStatus string, at time.Time) events.CloudWatchEvent {
	t.Helper()
	ev := sampleStatusEvent(t)
	var detail map[string]any
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	detail["stack-drift-detection-id"] = detection
	detail["status-details"] = map[string]string{"stack-drift-status": driftStatus, "detection-status": detectionStatus}
	b, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	ev.Detail, ev.ID, ev.Time = b, "ev-"+detection, at
	return ev
}

func sampleStatusEvent(t testing.TB) events.CloudWatchEvent {
	t.Helper()
	b, err := os.ReadFile(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}
