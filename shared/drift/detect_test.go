package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// fakeDetections answers DetectStackDrift with a fresh detection id per call
// and counts the detections started per stack (calls that were not faulted).
type fakeDetections struct {
	mu      sync.Mutex
	started map[string]int // by StackName as sent
	ids     map[string]string
}

func (d *fakeDetections) serve(srv *awsfake.Server) {
	d.started, d.ids = map[string]int{}, map[string]string{}
	srv.OnFunc("DetectStackDrift", func(r awsfake.Request) awsfake.Response {
		name := r.Form.Get("StackName")
		d.mu.Lock()
		defer d.mu.Unlock()
		d.started[name]++
		id := fmt.Sprintf("d%07d-c44f-11f0-94c2-0a3f1e2b8c41", r.Call)
		d.ids[name] = id
		return awsfake.XML(200, detectXML(id))
	})
}

func stackMessages(t *testing.T, stacks []Stack) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	for i, s := range stacks {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("msg-%04d", i), Body: string(b), EventSource: "aws:sqs"})
	}
	return ev
}

func prodStacks(n int) []Stack {
	out := make([]Stack, n)
	for i := range out {
		s := managed(prodAccount, fmt.Sprintf("checkout-prod-%03d", i))
		out[i] = Stack{Account: prodAccount, Region: testRegion, Name: s.name, ID: s.arn()}
	}
	return out
}

func failedIDs(r events.SQSEventResponse) []string {
	var out []string
	for _, f := range r.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	slices.Sort(out)
	return out
}

func TestDetectStartsAndRecordsEachStack(t *testing.T) {
	f := newFixture(t, testPolicy)
	var d fakeDetections
	d.serve(f.aws)
	stacks := prodStacks(3)
	ev := stackMessages(t, stacks)
	ev.Records = append(ev.Records,
		events.SQSMessage{MessageId: "msg-bad", Body: `{"stack": `},
		events.SQSMessage{MessageId: "msg-foreign", Body: `{"account":"999999999999","region":"eu-west-1","stackName":"checkout-x","stackId":"arn:aws:cloudformation:eu-west-1:999999999999:stack/checkout-x/1"}`},
	)

	resp, err := f.h.Detect(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); len(got) != 0 {
		t.Errorf("Detect() failed %v, want none (bad and foreign messages are acknowledged)", got)
	}
	if n := len(f.aws.Invocations("DetectStackDrift")); n != 3 {
		t.Errorf("DetectStackDrift called %d times, want 3", n)
	}
	for _, s := range stacks {
		if d.started[s.ID] != 1 {
			t.Errorf("detections of %s started by ARN = %d, want 1", s.Name, d.started[s.ID])
		}
		p, err := latestReport(context.Background(), f.ledger, PendingID(s.Account, s.Region, s.Name))
		if err != nil || p == nil {
			t.Fatalf("pending detection of %s: %v, %v", s.Name, p, err)
		}
		if p.Status != StatusDetecting || p.DetectionID != d.ids[s.ID] || p.Stack != s.Name || p.Account != prodAccount || p.Region != testRegion {
			t.Errorf("pending detection = %+v, want DETECTING %s of %s", p, d.ids[s.ID], s.Name)
		}
		if r, _ := latestReport(context.Background(), f.ledger, ReportID(s.Account, s.Region, s.Name)); r != nil {
			t.Errorf("report of %s = %+v, want none before completion", s.Name, r)
		}
	}
}

func TestDetectDoesNotRestartARecentDetection(t *testing.T) {
	f := newFixture(t, testPolicy)
	var d fakeDetections
	d.serve(f.aws)
	ev := stackMessages(t, prodStacks(1))

	for _, after := range []time.Duration{0, time.Minute, DefaultRerun + time.Second} {
		f.clock.Set(f.clock.Now().Add(after))
		if resp, err := f.h.Detect(context.Background(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("Detect() = %+v, %v", resp, err)
		}
	}
	// The first delivery starts, the redelivery a minute later does not, the
	// next sweep's message past DefaultRerun does.
	if n := len(f.aws.Invocations("DetectStackDrift")); n != 2 {
		t.Errorf("DetectStackDrift called %d times, want 2", n)
	}
}

func TestConcurrentDeliveriesOfAStackStartOneDetection(t *testing.T) {
	f := newFixture(t, testPolicy)
	var d fakeDetections
	d.serve(f.aws)
	// A round swept twice (its first run failed and was retried) queues
	// every stack twice, and SQS may hand both copies over in one batch.
	stacks := prodStacks(2)
	ev := stackMessages(t, append(slices.Clone(stacks), stacks...))
	// One invocation, whose messages share its request id.
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "b1c0a4a2-0a8e-4d2c-9d43-1f6f0c0e9a11"})
	resp, err := f.h.Detect(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("Detect() = %+v, %v", resp, err)
	}
	for _, s := range stacks {
		if d.started[s.ID] != 1 {
			t.Errorf("detections of %s started = %d, want 1", s.Name, d.started[s.ID])
		}
	}
}

// losingPending is a ledger whose writes of pending detections are lost.
type losingPending struct{ ledger.Ledger }

func (l losingPending) Put(ctx context.Context, r ledger.Record) error {
	if rep, ok := r.(*ledger.DriftReport); ok && rep.Status == StatusDetecting {
		return errors.New("ledger unavailable")
	}
	return l.Ledger.Put(ctx, r)
}

func TestLostPendingWriteStartsNoSecondDetection(t *testing.T) {
	f := newFixture(t, testPolicy)
	f.h.ledger = losingPending{f.ledger}
	var d fakeDetections
	d.serve(f.aws)
	stacks := prodStacks(1)
	ev := stackMessages(t, stacks)
	for range 2 { // a delivery, then SQS's redelivery of the same message
		if resp, err := f.h.Detect(context.Background(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("Detect() = %+v, %v, want the message acknowledged: the detection started", resp, err)
		}
	}
	if n := d.started[stacks[0].ID]; n != 1 {
		t.Errorf("detections started = %d, want 1: the lost write is no reason to start another", n)
	}
}

func TestDetectWithThrottlingOnEvery20thCallLosesNoStack(t *testing.T) {
	f := newFixture(t, testPolicy)
	var d fakeDetections
	d.serve(f.aws)
	f.aws.Inject(awsfake.Fault{Operation: "DetectStackDrift", Kind: awsfake.Throttle, Every: 20})
	stacks := prodStacks(95)

	var failed []string
	for start := 0; start < len(stacks); start += 10 {
		resp, err := f.h.Detect(context.Background(), stackMessages(t, stacks[start:min(start+10, len(stacks))]))
		if err != nil {
			t.Fatal(err)
		}
		failed = append(failed, failedIDs(resp)...)
	}
	if len(failed) > 0 {
		t.Errorf("Detect() failed %v, want none: throttled calls are retried", failed)
	}
	throttled := 0
	for _, c := range f.aws.Calls("DetectStackDrift") {
		if c.Fault == awsfake.Throttle {
			throttled++
		}
	}
	if throttled < 4 {
		t.Errorf("%d calls throttled, want at least 4 (one in 20 of over 95)", throttled)
	}
	for _, s := range stacks {
		if d.started[s.ID] != 1 {
			t.Errorf("detections of %s started = %d, want 1", s.Name, d.started[s.ID])
		}
		if p, err := latestReport(context.Background(), f.ledger, PendingID(s.Account, s.Region, s.Name)); err != nil || p == nil || p.DetectionID != d.ids[s.ID] {
			t.Errorf("pending detection of %s = %+v, %v; want detection %s", s.Name, p, err, d.ids[s.ID])
		}
	}
}

func TestDetectGivesBackMessagesStillThrottled(t *testing.T) {
	f := newFixture(t, testPolicy)
	var d fakeDetections
	d.serve(f.aws)
	f.aws.Inject(awsfake.Fault{Operation: "DetectStackDrift", Kind: awsfake.Throttle})
	stacks := prodStacks(3)

	resp, err := f.h.Detect(context.Background(), stackMessages(t, stacks))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := failedIDs(resp), []string{"msg-0000", "msg-0001", "msg-0002"}; !slices.Equal(got, want) {
		t.Errorf("Detect() failed %v, want %v", got, want)
	}
	// Bounded: one call per stack, attempted Backoff.Attempts times, with no
	// SDK retries on top.
	if n := len(f.aws.Invocations("DetectStackDrift")); n != 3 {
		t.Errorf("DetectStackDrift called %d times, want 3", n)
	}
	if n, want := len(f.aws.Calls("DetectStackDrift")), 3*testBackoff.Attempts; n != want {
		t.Errorf("DetectStackDrift attempted %d times, want %d", n, want)
	}
	for _, s := range stacks {
		if p, _ := latestReport(context.Background(), f.ledger, PendingID(s.Account, s.Region, s.Name)); p != nil {
			t.Errorf("pending detection of %s = %+v, want none", s.Name, p)
		}
	}
}

func TestDetectAcknowledgesStacksCloudFormationRefuses(t *testing.T) {
	f := newFixture(t, testPolicy)
	f.aws.On("DetectStackDrift", awsfake.APIError(400, "ValidationError", "Stack with id checkout-prod-000 does not exist"))

	resp, err := f.h.Detect(context.Background(), stackMessages(t, prodStacks(1)))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("Detect() = %+v, %v; want the message acknowledged", resp, err)
	}
	if n := len(f.aws.Invocations("DetectStackDrift")); n != 1 {
		t.Errorf("DetectStackDrift called %d times, want 1: a refusal is not retried", n)
	}
}

// GIVEN limits of 50 calls a second and 4 in flight in each account
// WHEN 26 calls of 30 ms each start at once in one account, then one call in
// another account
// THEN no more than 4 run at once, the 26 take as long as the rate says (one
// token at the start, then 25 at 50 a second: the last starts 500 ms in),
// and the other account's call does not wait for the first account's tokens.
// The clock is synctest's: the bounds hold however loaded the machine is.
func TestLimitsKeepToRateAndConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const work = 30 * time.Millisecond
		l := NewLimits(50, 4, testBackoff)
		var (
			wg                  sync.WaitGroup
			mu                  sync.Mutex
			inFlight, most, hub int
		)
		call := func(account string) {
			_ = l.Do(context.Background(), account, func(context.Context, func(*cloudformation.Options)) error {
				mu.Lock()
				if account == hubAccount {
					hub++
				} else {
					inFlight++
					most = max(most, inFlight)
				}
				mu.Unlock()
				time.Sleep(work)
				mu.Lock()
				if account != hubAccount {
					inFlight--
				}
				mu.Unlock()
				return nil
			})
		}
		start := time.Now()
		for range 26 {
			wg.Go(func() { call(prodAccount) })
		}
		wg.Wait()
		if took, least, longest := time.Since(start), 500*time.Millisecond, 500*time.Millisecond+work; took < least-time.Millisecond || took > longest+time.Millisecond {
			t.Errorf("26 calls at 50/s took %v, want %v to %v", took, least, longest)
		}
		if most > 4 {
			t.Errorf("%d calls in flight at once, want at most 4", most)
		}
		start = time.Now()
		call(hubAccount)
		if took := time.Since(start); took != work || hub != 1 {
			t.Errorf("the first call of another account took %v (%d calls), want one call of %v: no wait for a token", took, hub, work)
		}
	})
}

func TestLimitsForSharesThePolicyRate(t *testing.T) {
	tests := []struct {
		name      string
		give      policy.Drift
		processes int
		want      float64
	}{
		{"one process", policy.Drift{RatePerSecond: 4}, 1, 4},
		{"two environments", policy.Drift{RatePerSecond: 4}, 2, 2},
		{"default rate", policy.Drift{}, 2, DefaultRatePerSecond / 2},
		{"no processes means one", policy.Drift{RatePerSecond: 3}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LimitsFor(&tt.give, tt.processes).rate; got != tt.want {
				t.Errorf("LimitsFor(%g/s, %d).rate = %g, want %g", tt.give.RatePerSecond, tt.processes, got, tt.want)
			}
		})
	}
}
