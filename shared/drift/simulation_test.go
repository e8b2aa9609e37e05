package drift

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/longtest"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

// serverBucket is CloudFormation's own limit as the fake enforces it: a token
// bucket of rate calls a second holding at most burst; a call finding it
// empty is throttled.
type serverBucket struct {
	mu           sync.Mutex
	rate, burst  float64
	tokens       float64
	last         time.Time
	allowed, hit int
}

func (b *serverBucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		b.hit++
		return false
	}
	b.tokens--
	b.allowed++
	return true
}

// TestSimulateManyStacks sweeps stacks through the queue into
// DetectStackDrift against a fake CloudFormation that allows limit calls a
// second (bursts of 20) and throttles beyond. Lambda's SQS poller is played by
// environments execution environments, each its own process with its own
// Limits at just under its share of the limit, taking batches of ten and
// giving failed messages back to the queue. Every stack must start exactly
// once; how long it took against the floor of stacks/limit seconds is logged,
// not asserted. make test sweeps 200 stacks (about 2 s at 100 calls a
// second), make test-long the thousand (about 11 s).
func TestSimulateManyStacks(t *testing.T) {
	stacks := longtest.Size(t, "stacks", 200, 1000)
	const (
		limit        = 100.0 // CloudFormation's calls a second
		environments = 2     // the SQS event source's lowest MaximumConcurrency
		batchSize    = 10
	)
	rate := 0.95 * limit / environments
	// Two thousand lines of "drift detection started" say nothing here.
	prevLogger := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(prevLogger) })

	srv := awsfake.New(t)
	bucket := &serverBucket{rate: limit, burst: 20}
	throttled := awsfake.APIError(400, "Throttling", "Rate exceeded")
	var all []fakeStack
	for i := range stacks {
		all = append(all, managed(prodAccount, fmt.Sprintf("checkout-%04d", i)))
	}
	srv.OnFunc("DescribeStacks", func(r awsfake.Request) awsfake.Response {
		if !bucket.take() {
			return throttled
		}
		page := 0
		fmt.Sscanf(r.Form.Get("NextToken"), "page-%d", &page)
		from, to := page*100, min((page+1)*100, len(all))
		next := ""
		if to < len(all) {
			next = fmt.Sprintf("page-%d", page+1)
		}
		return awsfake.XML(200, describeStacksXML(all[from:to], next))
	})
	var (
		mu      sync.Mutex
		started = map[string][]string{} // stack ARN: detection ids
	)
	srv.OnFunc("DetectStackDrift", func(r awsfake.Request) awsfake.Response {
		if !bucket.take() {
			return throttled
		}
		id := fmt.Sprintf("%08d-c44f-11f0-94c2-0a3f1e2b8c41", r.Call)
		mu.Lock()
		started[r.Form.Get("StackName")] = append(started[r.Form.Get("StackName")], id)
		mu.Unlock()
		return awsfake.XML(200, detectXML(id))
	})
	q := &fakeQueue{}
	q.serve(srv)

	p, err := policy.Parse([]byte(testPolicy), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hub := awsfake.New(t)
	onDescribeStacks(hub, nil, 100)
	l := ledger.NewMemory()
	// newEnvironment is one Lambda execution environment: its own clients and
	// limits, the shared ledger.
	newEnvironment := func() *Handler {
		cfn := cloudformation.NewFromConfig(srv.Config(), func(o *cloudformation.Options) { o.Region = testRegion })
		hubCFN := cloudformation.NewFromConfig(hub.Config(), func(o *cloudformation.Options) { o.Region = testRegion })
		h, err := New(Config{
			Policy: p,
			Clients: func(account, _ string) Clients {
				if account == hubAccount {
					return Clients{Stacks: hubCFN, Detections: hubCFN, Drifts: hubCFN}
				}
				return Clients{Stacks: cfn, Detections: cfn, Drifts: cfn}
			},
			Ledger: l, Bus: &recordingBus{}, Metrics: discardMetrics{},
			Queue: sqs.NewFromConfig(srv.Config()), QueueURL: queueURL,
			Limits: NewLimits(rate, 20, Backoff{Base: 50 * time.Millisecond, Max: time.Second, Attempts: 5}),
		})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	ctx := context.Background()
	begin := time.Now()

	sweeper := newEnvironment()
	res, err := sweeper.Sweep(ctx)
	if err != nil || res.Stacks != stacks {
		t.Fatalf("Sweep() = %+v, %v; want %d stacks queued", res, err, stacks)
	}

	// The queue: every message until it is acknowledged; a failed one goes
	// back to the end.
	queue := make(chan events.SQSMessage, stacks)
	for i, body := range q.bodies {
		queue <- events.SQSMessage{MessageId: fmt.Sprintf("m-%04d", i), Body: body, EventSource: "aws:sqs"}
	}
	var (
		pending   sync.WaitGroup
		redrives  int
		redriveMu sync.Mutex
	)
	pending.Add(stacks)
	done := make(chan struct{})
	go func() { pending.Wait(); close(done) }()
	var workers sync.WaitGroup
	for range environments {
		h := newEnvironment()
		workers.Go(func() {
			for {
				var batch events.SQSEvent
				select {
				case <-done:
					return
				case m := <-queue:
					batch.Records = append(batch.Records, m)
				}
			fill:
				for len(batch.Records) < batchSize {
					select {
					case m := <-queue:
						batch.Records = append(batch.Records, m)
					default:
						break fill
					}
				}
				resp, err := h.Detect(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				failed := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				for _, m := range batch.Records {
					if failed[m.MessageId] {
						redriveMu.Lock()
						redrives++
						redriveMu.Unlock()
						queue <- m
					} else {
						pending.Done()
					}
				}
			}
		})
	}
	// go test's -timeout bounds the wait; before it strikes, say how far the
	// sweep came.
	var timeout <-chan time.Time
	if deadline, ok := t.Deadline(); ok {
		timeout = time.After(time.Until(deadline) * 9 / 10)
	}
	select {
	case <-done:
	case <-timeout:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("near the test's deadline, %d detections started of %d", len(started), stacks)
	}
	elapsed := time.Since(begin)
	workers.Wait()

	floor := time.Duration(float64(stacks) / limit * float64(time.Second))
	t.Logf("%d stacks in %v; floor %v (%d calls at %g/s); ratio %.2f; %d environments at %.1f calls/s each; "+
		"%d calls throttled by the fake, %d messages redelivered",
		stacks, elapsed.Round(time.Millisecond), floor, stacks, limit, elapsed.Seconds()/floor.Seconds(),
		environments, rate, bucket.hit, redrives)

	if len(started) != stacks {
		t.Errorf("%d stacks started, want %d", len(started), stacks)
	}
	for _, s := range all {
		ids := started[s.arn()]
		if len(ids) != 1 {
			t.Errorf("stack %s started %d times (%v), want once", s.name, len(ids), ids)
			continue
		}
		rec, err := latestReport(ctx, l, PendingID(prodAccount, testRegion, s.name))
		if err != nil || rec == nil || rec.DetectionID != ids[0] || rec.Status != StatusDetecting {
			t.Errorf("pending detection of %s = %+v, %v; want DETECTING %s", s.name, rec, err, ids[0])
		}
	}
}

// discardMetrics drops metrics; the simulation reports none.
type discardMetrics struct{}

func (discardMetrics) Put(string, float64, telemetry.Unit, telemetry.Dimensions) error { return nil }
