package drift

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/highwayhq/highway/shared/policy"
)

// Defaults of the policy's drift limits, as its documentation states them.
const (
	DefaultConcurrency   = 4
	DefaultRatePerSecond = 2.0
)

// Backoff says how a throttled call is retried: at most Attempts calls in
// all, waiting before retry n (from 0) a random time between half and all of
// min(Max, Base·2ⁿ).
type Backoff struct {
	Base, Max time.Duration
	Attempts  int
}

// DefaultBackoff retries a throttled call for about a minute before giving
// the message back to the queue.
var DefaultBackoff = Backoff{Base: 250 * time.Millisecond, Max: 15 * time.Second, Attempts: 8}

// Limits paces one process's CloudFormation calls in each account, and its
// CodeBuild calls apart (Run): a token bucket of RatePerSecond (burst 1, so
// calls are spread evenly: CloudFormation throttles bursts), at most
// Concurrency calls in flight, and throttled or transient failures retried
// with Backoff. Every attempt takes a token, so the
// SDK's own retries are turned off for paced calls. Safe for concurrent use;
// share one per process.
type Limits struct {
	rate        float64
	concurrency int
	backoff     Backoff

	mu       sync.Mutex
	accounts map[string]*accountLimit
}

// accountLimit is one account's bucket and slots.
type accountLimit struct {
	slots chan struct{}

	mu     sync.Mutex
	tokens float64   // may go below zero: calls reserved ahead
	last   time.Time // when tokens was computed
}

// NewLimits returns limits of rate calls per second and concurrency calls in
// flight per account; zero or negative values take the defaults, and a zero
// Backoff DefaultBackoff.
func NewLimits(rate float64, concurrency int, b Backoff) *Limits {
	if rate <= 0 {
		rate = DefaultRatePerSecond
	}
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	if b.Attempts <= 0 {
		b = DefaultBackoff
	}
	return &Limits{rate: rate, concurrency: concurrency, backoff: b, accounts: map[string]*accountLimit{}}
}

// LimitsFor returns one process's share of the limits the policy's drift
// section sets, when processes environments run at once (the SQS event
// source's maximum concurrency): each paces its calls at RatePerSecond divided
// by processes, so that together they keep to it.
func LimitsFor(d *policy.Drift, processes int) *Limits {
	rate := d.RatePerSecond
	if rate <= 0 {
		rate = DefaultRatePerSecond
	}
	return NewLimits(rate/float64(max(processes, 1)), d.Concurrency, Backoff{})
}

func (l *Limits) account(account string) *accountLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.accounts[account]
	if !ok {
		a = &accountLimit{slots: make(chan struct{}, l.concurrency), tokens: 1, last: time.Now()}
		l.accounts[account] = a
	}
	return a
}

// reserve takes a token and says how long to wait until it is there.
func (a *accountLimit) reserve(rate float64) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	a.tokens = min(1, a.tokens+now.Sub(a.last).Seconds()*rate)
	a.last = now
	a.tokens--
	if a.tokens >= 0 {
		return 0
	}
	return time.Duration(-a.tokens / rate * float64(time.Second))
}

// oneCall makes each paced attempt a single SDK attempt, Limits retrying it,
// and gives every attempt the invocation id of the first, as the SDK does
// for its own retries of one call, so a test's fake (and AWS's client
// telemetry; AWS deduplicates nothing on it) sees one call attempted again.
// The option is for the one operation of one Do.
func oneCall() func(*cloudformation.Options) {
	var (
		mu sync.Mutex
		id string
	)
	return func(o *cloudformation.Options) {
		o.RetryMaxAttempts = 1
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Build.Add(middleware.BuildMiddlewareFunc("HighwayOneInvocation", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					mu.Lock()
					if id == "" {
						id = req.Header.Get(invocationIDHeader)
					} else {
						req.Header.Set(invocationIDHeader, id)
					}
					mu.Unlock()
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
		})
	}
}

// invocationIDHeader is the header the SDK names each call by, the same
// for all of the call's attempts.
const invocationIDHeader = "Amz-Sdk-Invocation-Id"

// Do runs call in account within the limits: it waits for a slot and a token
// before each attempt and retries throttling and transient errors with
// backoff, up to Backoff.Attempts attempts. call must pass opt to the SDK.
func (l *Limits) Do(ctx context.Context, account string, call func(ctx context.Context, opt func(*cloudformation.Options)) error) error {
	opt := oneCall()
	return l.Run(ctx, account, func(ctx context.Context) error { return call(ctx, opt) })
}

// Run is Do for the calls of any service: key names the budget the calls
// share (an account's CloudFormation calls are keyed by the account alone,
// another service's by service and account, as AWS throttles each service
// apart), and call makes a single attempt, with the SDK's own retries off.
func (l *Limits) Run(ctx context.Context, key string, call func(ctx context.Context) error) error {
	a := l.account(key)
	for attempt := 0; ; attempt++ {
		err := l.once(ctx, a, call)
		if err == nil || !retryable(err) || attempt+1 >= l.backoff.Attempts {
			return err
		}
		if err := sleep(ctx, l.backoff.delay(attempt)); err != nil {
			return err
		}
	}
}

func (l *Limits) once(ctx context.Context, a *accountLimit, call func(context.Context) error) error {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.slots }()
	if err := sleep(ctx, a.reserve(l.rate)); err != nil {
		return err
	}
	return call(ctx)
}

// delay is the wait before retry n (from 0).
func (b Backoff) delay(n int) time.Duration {
	d := b.Max
	if n < 30 && b.Base<<n < b.Max {
		d = b.Base << n
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// retryable reports errors a later attempt may not meet: throttling, 5xx and
// broken connections, as the SDK classifies them, and CodeBuild refusing a
// build while the account runs as many as its quota allows.
func retryable(err error) bool {
	var api smithy.APIError
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary ||
		errors.As(err, &api) && api.ErrorCode() == "AccountLimitExceededException"
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
