package drift

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/longtest"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// simTimeHeader carries, on every request of the simulation, the time of the
// synctest bubble that sent it, so that the fake AWS, which runs outside the
// bubble, throttles by the bubble's clock.
const simTimeHeader = "X-Highway-Simulated-Time"

// bubbleClock stamps each request with the bubble's time; make it in the
// bubble whose time it tells.
type bubbleClock struct{ base http.RoundTripper }

func (c bubbleClock) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(simTimeHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
	return c.base.RoundTrip(r)
}

// apiLimit is one AWS service's own limit in an account, as the fake
// enforces it: a token bucket of rate calls a second holding at most burst,
// on the simulated clock; a call finding it empty is throttled.
type apiLimit struct {
	mu              sync.Mutex
	rate, burst     float64
	tokens          float64
	last            time.Time
	allowed, denied int
}

// take spends a token for a call made at the time the request carries.
func (b *apiLimit) take(r awsfake.Request) bool {
	ns, _ := strconv.ParseInt(r.Header.Get(simTimeHeader), 10, 64)
	now := time.Unix(0, ns)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.last.IsZero():
		b.tokens, b.last = b.burst, now
	case now.After(b.last):
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		b.denied++
		return false
	}
	b.tokens--
	b.allowed++
	return true
}

// TestSimulateARoundOfStacksAndWorkspaces runs one scheduled round over an
// account with stacks and Terraform workspaces, then its queue as Lambda's
// SQS poller would hand it to the drift function's execution environments,
// each its own process with its own Limits at just under its share of the
// limit, taking batches of ten, every message acknowledged or given back.
// CloudFormation and CodeBuild are a wire-level fake that allows limit calls
// a second to each service (bursts of 20) and throttles beyond, on the
// simulated clock of a synctest bubble, so the time the round takes is the
// time its pacing and the limits impose, however loaded the machine. Every
// stack's detection and every workspace's build must start exactly once, and
// the round must end within 1.1 times the floor the limits set: the calls of
// the busier service over its limit. make test runs 100 stacks and 20
// workspaces, make test-long 1,000 and 200.
func TestSimulateARoundOfStacksAndWorkspaces(t *testing.T) {
	size := longtest.Size(t, "stacks and workspaces", [2]int{100, 20}, [2]int{1000, 200})
	stacks, workspaces := size[0], size[1]
	const (
		limit        = 100.0 // each service's calls a second in the account
		burst        = 20
		environments = 2 // the SQS event source's MaximumConcurrency
	)
	rate := 0.95 * limit / environments
	telemetrytest.DiscardLogs(t)

	// The account's CloudFormation and CodeBuild, and the hub's SQS.
	srv, hub := awsfake.New(t), awsfake.New(t)
	cfn := &apiLimit{rate: limit, burst: burst}
	builds := &apiLimit{rate: limit, burst: burst}
	var all []fakeStack
	for i := range stacks {
		all = append(all, managed(prodAccount, fmt.Sprintf("checkout-%04d", i)))
	}
	srv.OnFunc("DescribeStacks", func(r awsfake.Request) awsfake.Response {
		if !cfn.take(r) {
			return awsfake.APIError(400, "Throttling", "Rate exceeded")
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
		mu       sync.Mutex
		detected = map[string]int{} // stack ARN: detections started
		planned  = map[string]int{} // project: builds started
	)
	srv.OnFunc("DetectStackDrift", func(r awsfake.Request) awsfake.Response {
		if !cfn.take(r) {
			return awsfake.APIError(400, "Throttling", "Rate exceeded")
		}
		mu.Lock()
		detected[r.Form.Get("StackName")]++
		mu.Unlock()
		return awsfake.XML(200, detectXML(fmt.Sprintf("%08d-c44f-11f0-94c2-0a3f1e2b8c41", r.Call)))
	})
	srv.OnFunc("StartBuild", func(r awsfake.Request) awsfake.Response {
		if !builds.take(r) {
			return awsfake.APIError(400, "ThrottlingException", "Rate exceeded")
		}
		var in struct{ ProjectName string }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "InvalidInputException", err.Error())
		}
		mu.Lock()
		planned[in.ProjectName]++
		mu.Unlock()
		return awsfake.JSON(200, fmt.Sprintf(`{"build":{"id":"%s:%08d-3b8d-4a6e-9f05-1d4c8b7a2e63","buildStatus":"IN_PROGRESS"}}`, in.ProjectName, r.Call))
	})
	onDescribeStacks(hub, nil, 100)
	q := &fakeQueue{}
	q.serve(hub)

	var b strings.Builder
	b.WriteString(testPolicy + "  terraform:\n")
	for i := range workspaces {
		fmt.Fprintf(&b, "    - {name: network-%03d, project: terraform-drift-%03d, account: %q, region: %s, artifactBucket: terraform-plans-%s}\n",
			i, i, prodAccount, testRegion, prodAccount)
	}
	p, err := policy.Parse([]byte(b.String()), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}

	var (
		res                  Round
		elapsed              time.Duration
		redrives, throttled  int
		queuedStacks, queued int
	)
	synctest.Test(t, func(t *testing.T) {
		l := ledger.NewMemory()
		// newEnvironment is one Lambda execution environment: its own
		// clients and limits, the shared ledger.
		newEnvironment := func() *Handler {
			cfg := func(srv *awsfake.Server) aws.Config {
				c := fakeAWS(srv.URL())
				c.HTTPClient = &http.Client{Transport: bubbleClock{base: &http.Transport{DisableKeepAlives: true}}}
				return c
			}
			account, hubCfg := cfg(srv), cfg(hub)
			h, err := New(Config{
				Policy: p,
				Clients: func(acct, _ string) Clients {
					c := cloudformation.NewFromConfig(account)
					if acct == hubAccount {
						c = cloudformation.NewFromConfig(hubCfg)
					}
					return Clients{Stacks: c, Detections: c, Drifts: c}
				},
				Builds: func(string, string) BuildClients {
					return BuildClients{Builds: codebuild.NewFromConfig(account)}
				},
				Ledger: l, Bus: &recordingBus{}, Metrics: discardMetrics{},
				Queue: sqs.NewFromConfig(hubCfg), QueueURL: queueURL,
				Limits: NewLimits(rate, 20, Backoff{Base: 50 * time.Millisecond, Max: time.Second, Attempts: 5}),
			})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		begin := time.Now()
		if res, err = newEnvironment().Round(context.Background(), begin); err != nil {
			t.Fatal(err)
		}
		messages := q.sent(0)
		queued, queuedStacks = len(messages), res.Sweep.Stacks
		envs := make([]*Handler, environments)
		for i := range envs {
			envs[i] = newEnvironment()
		}
		var last time.Time
		if redrives, last, err = poll(envs, messages); err != nil {
			t.Fatal(err)
		}
		elapsed = last.Sub(begin)
	})
	throttled = cfn.denied + builds.denied

	// The floor: the calls of each service in the account over its limit,
	// listing included (the stale sweep and the sweep list every page).
	pages := int(math.Ceil(float64(stacks) / 100))
	cfnCalls := 2*pages + stacks
	floor := time.Duration(float64(max(cfnCalls, workspaces)) / limit * float64(time.Second))
	ratio := elapsed.Seconds() / floor.Seconds()
	t.Logf("one round of %d stacks and %d workspaces in %v simulated; floor %v (%d CloudFormation calls, %d CodeBuild calls, each service at %g/s); "+
		"ratio %.3f; %d environments at %.1f calls/s each per service; %d calls throttled, %d messages given back",
		stacks, workspaces, elapsed.Round(time.Millisecond), floor, cfnCalls, workspaces, limit, ratio, environments, rate, throttled, redrives)

	if queuedStacks != stacks || res.Sweep.Workspaces != workspaces || queued != stacks+workspaces {
		t.Errorf("round queued %d stacks and %d workspaces in %d messages, want %d and %d", queuedStacks, res.Sweep.Workspaces, queued, stacks, workspaces)
	}
	for _, s := range all {
		if n := detected[s.arn()]; n != 1 {
			t.Errorf("stack %s: %d detections started, want 1", s.name, n)
		}
	}
	for i := range workspaces {
		if project := fmt.Sprintf("terraform-drift-%03d", i); planned[project] != 1 {
			t.Errorf("workspace %d: %d builds started, want 1", i, planned[project])
		}
	}
	if len(detected) != stacks || len(planned) != workspaces {
		t.Errorf("%d stacks and %d projects started, want %d and %d", len(detected), len(planned), stacks, workspaces)
	}
	if ratio > 1.1 {
		t.Errorf("the round took %v, %.3f times the %v its limits allow; want at most 1.1", elapsed, ratio, floor)
	}
}

// poll plays Lambda's SQS poller over messages for the execution
// environments envs: each long-polls for the next batch of up to ten
// messages and runs Detect; a message reported failed is visible again at
// once. It returns how many messages were given back, and when the last one
// was acknowledged.
func poll(envs []*Handler, messages []string) (int, time.Time, error) {
	queue := make(chan events.SQSMessage, len(messages))
	for _, m := range messagesOf(messages).Records {
		queue <- m
	}
	var (
		mu       sync.Mutex
		pending  = len(messages)
		redrives int
		last     time.Time
		errs     []error
		done     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for _, h := range envs {
		wg.Go(func() {
			for {
				var batch events.SQSEvent
				select { // the long poll: until a message comes, or none will
				case m := <-queue:
					batch.Records = append(batch.Records, m)
				case <-done:
					return
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
				resp, err := h.Detect(context.Background(), batch)
				failed := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, m := range batch.Records {
					if failed[m.MessageId] {
						redrives++
						queue <- m
						continue
					}
					pending--
				}
				if pending == 0 || len(errs) > 0 {
					last = time.Now()
					select {
					case <-done:
					default:
						close(done)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return redrives, last, errs[0]
	}
	return redrives, last, nil
}
