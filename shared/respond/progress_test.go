package respond

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
	"github.com/highwayhq/highway/shared/route"
)

// ledgers are the ledgers the handler's tests of delivery run against: in
// memory, and in DynamoDB Local when the local services run.
var ledgers = []struct {
	name string
	open func(t *testing.T, now func() time.Time) ledger.Ledger
}{
	{"memory", func(_ *testing.T, now func() time.Time) ledger.Ledger { return ledger.NewMemory(ledger.WithClock(now)) }},
	{"dynamodb", func(t *testing.T, now func() time.Time) ledger.Ledger {
		db := localaws.DynamoDB(t)
		return ledger.NewDynamo(db, localaws.LedgerTable(t, db), ledger.WithClock(now))
	}},
}

// wire is a respond Handler over AWS at the wire (awsfake), as the function
// runs it: the bus and the rollback requests on EventBridge (PutEvents),
// notifications on SNS, the redeploy on ECS; the SDK serializes, signs and
// parses every call. The fake rejects chosen bus entries as EventBridge
// does (FailedEntryCount, InternalFailure) and fails chosen SNS publishes
// with KMSThrottling, errors the SDK does not retry itself; it counts what
// AWS accepted, and runs a hook inside a chosen call. An attempt the SDK
// repeats (a connection broken on a loaded machine) gets the answer its call
// got, and is counted once: the counts are what the code sent.
type wire struct {
	aws    *awsfake.Server
	ledger ledger.Ledger
	clock  *clocktest.Clock
	h      *Handler

	mu       sync.Mutex
	accepted map[string]int // accepted bus entries, by detail type
	details  map[string][]string
	rejects  map[string]int // the next bus entries of a detail type to reject
	snsFails int            // the next SNS publishes to fail
	messages []string       // the SNS messages accepted
	redeploy int            // ECS UpdateService calls answered
	// hooks run once, inside the call they are named by: a bus detail type,
	// "UpdateService" or "Publish" (SNS).
	hooks map[string]func()
	// answered holds each call's answer, by its awsfake.InvocationHeader.
	answered map[string]awsfake.Response
}

func newWire(t *testing.T, policyText string, open func(*testing.T, func() time.Time) ledger.Ledger) *wire {
	t.Helper()
	p, err := policy.Parse([]byte(policyText), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{aws: awsfake.New(t), clock: clocktest.New(time.Date(2026, 11, 17, 11, 52, 30, 0, time.UTC)),
		accepted: map[string]int{}, details: map[string][]string{}, rejects: map[string]int{}, hooks: map[string]func(){},
		answered: map[string]awsfake.Response{}}
	w.ledger = open(t, w.clock.Now)
	w.aws.OnFunc("PutEvents", w.once(w.putEvents))
	w.aws.OnFunc("Publish", w.once(func(r awsfake.Request) awsfake.Response {
		w.mu.Lock()
		fail := w.snsFails > 0
		if fail {
			w.snsFails--
		} else {
			w.messages = append(w.messages, r.Form.Get("Message"))
		}
		w.mu.Unlock()
		w.hook("Publish")
		if fail {
			return awsfake.APIError(400, "KMSThrottling", "The request was denied due to request throttling by AWS KMS.")
		}
		return awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	w.aws.OnFunc("UpdateService", w.once(func(awsfake.Request) awsfake.Response {
		w.mu.Lock()
		w.redeploy++
		w.mu.Unlock()
		w.hook("UpdateService")
		return awsfake.JSON(200, `{"service":{"serviceName":"checkout","clusterArn":"arn:aws:ecs:eu-west-1:444444444444:cluster/shop","status":"ACTIVE","desiredCount":3,"deployments":[{"id":"ecs-svc/9876543210","status":"PRIMARY","desiredCount":3,"rolloutState":"IN_PROGRESS"}]}}`)
	}))
	events := bus.NewEventBridge(eventbridge.NewFromConfig(w.aws.Config()), "highway")
	ecsClient := ecs.NewFromConfig(w.aws.Config())
	w.h, err = New(Config{
		Policy: p, Ledger: w.ledger,
		Tags: func(alarm.StateChange) func(context.Context) (map[string]string, error) {
			return func(context.Context) (map[string]string, error) { return nil, nil }
		},
		Clients:  func(string, string, string) remediate.Clients { return remediate.Clients{ECS: ecsClient} },
		Rollback: RollbackByEvent{Bus: events, Now: w.clock.Now},
		Bus:      events, Notify: sns.NewFromConfig(w.aws.Config()), Topic: topic, Now: w.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *wire) putEvents(r awsfake.Request) awsfake.Response {
	var in struct {
		Entries []struct{ DetailType, Detail string }
	}
	if err := r.DecodeJSON(&in); err != nil {
		return awsfake.APIError(400, "ValidationException", err.Error())
	}
	var answers []string
	failed := 0
	for _, e := range in.Entries {
		w.mu.Lock()
		reject := w.rejects[e.DetailType] > 0
		if reject {
			w.rejects[e.DetailType]--
			failed++
			answers = append(answers, `{"ErrorCode":"InternalFailure","ErrorMessage":"Internal service error."}`)
		} else {
			w.accepted[e.DetailType]++
			w.details[e.DetailType] = append(w.details[e.DetailType], e.Detail)
			answers = append(answers, `{"EventId":"e-1"}`)
		}
		w.mu.Unlock()
		w.hook(e.DetailType)
	}
	return awsfake.JSON(200, fmt.Sprintf(`{"FailedEntryCount":%d,"Entries":[%s]}`, failed, strings.Join(answers, ",")))
}

// once answers each call with answer, and an SDK retry of an answered call
// with the answer it got, without answering it again.
func (w *wire) once(answer func(awsfake.Request) awsfake.Response) func(awsfake.Request) awsfake.Response {
	return func(r awsfake.Request) awsfake.Response {
		id := r.Header.Get(awsfake.InvocationHeader)
		w.mu.Lock()
		resp, ok := w.answered[id]
		w.mu.Unlock()
		if ok {
			return resp
		}
		resp = answer(r)
		w.mu.Lock()
		w.answered[id] = resp
		w.mu.Unlock()
		return resp
	}
}

// hook runs the hook of a call once, outside the lock: it may call AWS.
func (w *wire) hook(name string) {
	w.mu.Lock()
	hook := w.hooks[name]
	delete(w.hooks, name)
	w.mu.Unlock()
	if hook != nil {
		hook()
	}
}

// counts are what AWS accepted: bus entries by detail type, redeploys
// answered, notifications.
func (w *wire) counts() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("Incident Opened %d, Rollback Requested %d, Remediation Ran %d, redeploys %d, notifications %d",
		w.accepted[DetailTypeIncidentOpened], w.accepted[route.DetailTypeRollbackRequested], w.accepted[DetailTypeRemediation],
		w.redeploy, len(w.messages))
}

// invocation is the context of one Lambda invocation: Lambda keeps its
// request id when it retries the invocation.
func invocation(requestID string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
}

const once = "Incident Opened 1, Rollback Requested 1, Remediation Ran 3, redeploys 1, notifications 1"

// One transient error, on the bus or on SNS, costs a retry, never an action:
// the invocation fails after recording what it did, and its retry (Lambda's,
// with the same request id, or a redelivery, with another) does what is
// left, once. Each action runs once; a redelivery afterwards does nothing.
func TestRetryResumesWhatATransientErrorLeft(t *testing.T) {
	tests := []struct {
		name     string
		rejects  map[string]int // bus entries rejected once
		snsFails int
	}{
		{"Incident Opened rejected once", map[string]int{DetailTypeIncidentOpened: 1}, 0},
		{"SNS publish fails once", nil, 1},
		{"Incident Opened rejected and SNS failing once", map[string]int{DetailTypeIncidentOpened: 1}, 1},
		{"Rollback Requested rejected once", map[string]int{route.DetailTypeRollbackRequested: 1}, 0},
		{"Remediation Ran rejected once", map[string]int{DetailTypeRemediation: 1}, 0},
	}
	for _, l := range ledgers {
		for _, tt := range tests {
			for _, retry := range []string{"req-1", "req-2"} {
				name := l.name + "/" + tt.name + "/retried by Lambda"
				if retry != "req-1" {
					name = l.name + "/" + tt.name + "/redelivered"
				}
				t.Run(name, func(t *testing.T) {
					w := newWire(t, respondPolicy, l.open)
					for k, v := range tt.rejects {
						w.rejects[k] = v
					}
					w.snsFails = tt.snsFails
					ev := event(t, "checkout-prod-5xx", alarm.StateAlarm, time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC))

					first, err := w.h.Handle(invocation("req-1"), ev)
					if err == nil {
						t.Fatalf("first attempt = %+v, nil; want the transient error, for Lambda to retry", first)
					}
					w.clock.Advance(time.Minute) // Lambda retries a minute later
					res, err := w.h.Handle(invocation(retry), ev)
					if err != nil || len(res.Runbooks) != 1 {
						t.Fatalf("retry = %+v, %v; want it to finish the runbook", res, err)
					}
					if got := outcomes(res.Runbooks[0]); !slices.Equal(got, []string{"rollback:done", "ecs-redeploy:done", "notify:done"}) {
						t.Errorf("retry's actions = %v, want each done", got)
					}
					if got := w.counts(); got != once {
						t.Errorf("AWS accepted %s; want %s", got, once)
					}
					if msg := strings.Join(w.messages, "\n"); !strings.Contains(msg, "rollback: done rollback of checkout/prod requested from promotion") ||
						!strings.Contains(msg, "ecs-redeploy: done") {
						t.Errorf("the notification does not list the actions taken before it:\n%s", msg)
					}
					rs, err := w.ledger.Remediations(context.Background(), "checkout", "prod", w.clock.Now().Add(-time.Hour), w.clock.Now().Add(time.Second))
					if err != nil || len(rs) != 3 {
						t.Fatalf("remediations = %+v, %v; want 3", rs, err)
					}
					for _, r := range rs {
						if !strings.HasPrefix(r.Result, ActionDone) || r.Failed {
							t.Errorf("remediation %s %s: %q, want done", r.ID, r.Action, r.Result)
						}
					}

					again, err := w.h.Handle(invocation("req-3"), ev)
					if err != nil || again.Outcome != OutcomeDuplicate || w.counts() != once {
						t.Errorf("a later redelivery = %+v, %v (AWS accepted %s); want a duplicate that does nothing", again, err, w.counts())
					}
				})
			}
		}
	}
}

// Two deliveries of one transition race: the second arrives while the first
// is inside a step (the race is made deterministic by running the second
// inside the first's call to AWS). The second leaves the step, and the ones
// after it, to the first, and acknowledges; each action runs once. When the
// first delivery's notice failed, the second sends it; the first's retry
// then finds nothing left to do.
func TestRacingDeliveriesRunEachActionOnce(t *testing.T) {
	tests := []struct {
		name    string
		inside  string         // the call of the first delivery the second runs in
		rejects map[string]int // bus entries rejected once
		second  string         // the second delivery's outcome
	}{
		{"while the incident is announced", DetailTypeIncidentOpened, nil, OutcomeDuplicate},
		{"while the rollback is asked", route.DetailTypeRollbackRequested, nil, OutcomeDuplicate},
		{"while the rollback is announced", DetailTypeRemediation, nil, OutcomeDuplicate},
		{"while ECS redeploys", "UpdateService", nil, OutcomeDuplicate},
		{"while people are notified", "Publish", nil, OutcomeDuplicate},
		{"while the rollback is asked, after the notice failed", route.DetailTypeRollbackRequested,
			map[string]int{DetailTypeIncidentOpened: 1}, OutcomeResumed},
	}
	for _, l := range ledgers {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				w := newWire(t, respondPolicy, l.open)
				for k, v := range tt.rejects {
					w.rejects[k] = v
				}
				ev := event(t, "checkout-prod-5xx", alarm.StateAlarm, time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC))
				var (
					second    Result
					secondErr error
					ran       bool
				)
				w.hooks[tt.inside] = func() {
					ran = true
					second, secondErr = w.h.Handle(invocation("req-2"), ev)
				}
				first, err := w.h.Handle(invocation("req-1"), ev)
				if !ran {
					t.Fatalf("the second delivery never ran inside %s", tt.inside)
				}
				if secondErr != nil || second.Outcome != tt.second {
					t.Errorf("second delivery = %+v, %v; want %s, acknowledged", second, secondErr, tt.second)
				}
				if tt.rejects == nil {
					if err != nil || first.Outcome != OutcomeOpened {
						t.Errorf("first delivery = %+v, %v; want opened", first, err)
					}
				} else {
					if err == nil {
						t.Errorf("first delivery = %+v, nil; want its notice's error, for Lambda to retry", first)
					}
					w.clock.Advance(time.Minute)
					if retry, err := w.h.Handle(invocation("req-1"), ev); err != nil || retry.Outcome != OutcomeDuplicate {
						t.Errorf("first delivery's retry = %+v, %v; want nothing left to do", retry, err)
					}
				}
				if got := w.counts(); got != once {
					t.Errorf("AWS accepted %s; want %s", got, once)
				}
				if len(first.Runbooks) != 1 || !slices.Equal(outcomes(first.Runbooks[0]), []string{"rollback:done", "ecs-redeploy:done", "notify:done"}) {
					t.Errorf("first delivery's runbooks = %+v, want its actions done", first.Runbooks)
				}
				again, err := w.h.Handle(invocation("req-3"), ev)
				if err != nil || again.Outcome != OutcomeDuplicate || w.counts() != once {
					t.Errorf("a later redelivery = %+v, %v (AWS accepted %s); want a duplicate that does nothing", again, err, w.counts())
				}
			})
		}
	}
}

// A delivery that died inside a step (a timeout) leaves its claim: its own
// retry takes the step over at once, another delivery only once the claim's
// lease has passed.
func TestClaimsHandOverSteps(t *testing.T) {
	c := clocktest.New(time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC))
	l := ledger.NewMemory(ledger.WithClock(c.Now))
	ctx := context.Background()
	held := map[string]*ledger.Lock{}
	steps := []struct {
		after  time.Duration
		holder string
		do     string // claim, release or done
		want   ledger.ClaimState
	}{
		{0, "a", "claim", claimHeld},
		{0, "b", "claim", claimBusy},
		{time.Minute, "a", "claim", claimHeld}, // a's own retry
		{0, "b", "claim", claimBusy},
		{0, "a", "release", 0},
		{0, "b", "claim", claimHeld},
		{0, "a", "claim", claimBusy},
		{ClaimLease, "a", "claim", claimHeld}, // b died: its lease passed
		{0, "a", "done", 0},
		{0, "b", "claim", claimDone},
		{0, "a", "claim", claimDone},
	}
	for i, st := range steps {
		c.Advance(st.after)
		cl := newClaims(l, c.Now, st.holder)
		switch st.do {
		case "claim":
			lock, got, err := cl.claim(ctx, "step", "inc-1-rb-0")
			if err != nil || got != st.want {
				t.Fatalf("step %d: claim by %s = %v, %v; want %v", i, st.holder, got, err, st.want)
			}
			if got == claimHeld {
				held[st.holder] = lock
			}
		case "release":
			cl.release(ctx, held[st.holder])
		case "done":
			if err := cl.done(ctx, held[st.holder]); err != nil {
				t.Fatalf("step %d: done = %v", i, err)
			}
		}
	}
}

// incidentNotice is the detail of the Incident Opened the wire accepted.
func (w *wire) incidentNotice(t *testing.T) IncidentNotice {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.details[DetailTypeIncidentOpened]) != 1 {
		t.Fatalf("Incident Opened published %d times, want once", len(w.details[DetailTypeIncidentOpened]))
	}
	var n IncidentNotice
	if err := json.Unmarshal([]byte(w.details[DetailTypeIncidentOpened][0]), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
