package respond

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/longtest"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
	"github.com/highwayhq/highway/shared/route"
)

const respondPolicy = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: prod, account: "444444444444", region: eu-west-1, deploy: {ecs: {cluster: shop, service: checkout, container: app}}}
alarms:
  maxActionsPerHour: 10
  breaker: {failures: 2, window: 1h}
  runbooks:
    - name: checkout-prod-errors
      app: checkout
      env: prod
      match: {names: [checkout-prod-*]}
      cooldown: 1m
      actions:
        - rollback: {}
        - ecs-redeploy: {}
        - notify: {}
`

const (
	topic   = "arn:aws:sns:eu-west-1:111111111111:highway-notifications"
	digestA = "sha256:aaaa"
	digestB = "sha256:bbbb"
)

// rollbacks stands in for the promotion capability (not an AWS adapter;
// RollbackByEvent is tested on its own): it records the rollbacks asked for,
// and fails while fail is set.
type rollbacks struct {
	mu       sync.Mutex
	asked    []string
	requests []RollbackRequest
	fail     error
}

func (r *rollbacks) Rollback(_ context.Context, app *policy.App, env *policy.Environment, req RollbackRequest) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, app.Name+"/"+env.Name+": "+req.Reason)
	r.requests = append(r.requests, req)
	if r.fail != nil {
		return "", r.fail
	}
	return "rollback to " + digestA, nil
}

type recordingBus struct {
	mu     sync.Mutex
	events []bus.Event
}

func (b *recordingBus) Publish(_ context.Context, evs ...bus.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, evs...)
	return nil
}

func (b *recordingBus) types() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		out = append(out, e.DetailType)
	}
	return out
}

type fixture struct {
	aws       *awsfake.Server
	ledger    ledger.Ledger
	bus       *recordingBus
	rollbacks *rollbacks
	clock     *clocktest.Clock
	h         *Handler
}

// newFixture builds a Handler of the policy whose actions act on the fake
// (ECS) and the test's stand-ins; configure, when given, changes its Config
// before it is built.
func newFixture(t *testing.T, policyText string, configure ...func(*Config)) *fixture {
	t.Helper()
	p, err := policy.Parse([]byte(policyText), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(time.Date(2026, 11, 17, 11, 52, 30, 0, time.UTC))
	f := &fixture{aws: awsfake.New(t), ledger: ledger.NewMemory(ledger.WithClock(c.Now)), bus: &recordingBus{}, rollbacks: &rollbacks{}, clock: c}
	f.aws.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	f.aws.On("UpdateService", awsfake.JSON(200, `{"service":{"serviceName":"checkout","clusterArn":"arn:aws:ecs:eu-west-1:444444444444:cluster/shop","status":"ACTIVE","desiredCount":3,"deployments":[{"id":"ecs-svc/9876543210","status":"PRIMARY","desiredCount":3,"rolloutState":"IN_PROGRESS"}]}}`))
	ecsClient := ecs.NewFromConfig(f.aws.Config())
	cfg := Config{
		Policy: p, Ledger: f.ledger,
		Tags: func(alarm.StateChange) func(context.Context) (map[string]string, error) {
			return func(context.Context) (map[string]string, error) { return nil, nil }
		},
		Clients:  func(string, string, string) remediate.Clients { return remediate.Clients{ECS: ecsClient} },
		Rollback: f.rollbacks, Bus: f.bus, Notify: sns.NewFromConfig(f.aws.Config()), Topic: topic, Now: c.Now,
	}
	for _, fn := range configure {
		fn(&cfg)
	}
	f.h, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// event is the sample alarm event, in state at (the state's time).
func event(t *testing.T, name, state string, at time.Time) events.CloudWatchEvent {
	t.Helper()
	b, err := os.ReadFile("../../events/cloudwatch-alarm-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["resources"] = []string{"arn:aws:cloudwatch:eu-west-1:444444444444:alarm:" + name}
	d := m["detail"].(map[string]any)
	d["alarmName"] = name
	st := d["state"].(map[string]any)
	st["value"], st["timestamp"] = state, at.UTC().Format("2006-01-02T15:04:05.000-0700")
	b, _ = json.Marshal(m)
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func outcomes(rr RunbookResult) []string {
	var out []string
	for _, a := range rr.Actions {
		out = append(out, a.Action+":"+a.Outcome)
	}
	return out
}

func TestAlarmOpensAnIncidentAndRunsTheRunbook(t *testing.T) {
	f := newFixture(t, respondPolicy)
	ctx := context.Background()
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	if err := f.ledger.Put(ctx, &ledger.Deployment{Header: ledger.Header{ID: "dep-b", App: "checkout", Env: "prod", Digest: digestB, At: fired.Add(-20 * time.Minute)}, Status: ledger.DeploymentSuccess}); err != nil {
		t.Fatal(err)
	}
	ev := event(t, "checkout-prod-5xx", alarm.StateAlarm, fired)
	res, err := f.h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "opened" || len(res.Runbooks) != 1 {
		t.Fatalf("Handle() = %+v", res)
	}
	rr := res.Runbooks[0]
	if got := outcomes(rr); !slices.Equal(got, []string{"rollback:done", "ecs-redeploy:done", "notify:done"}) {
		t.Errorf("actions = %v", got)
	}
	if len(f.rollbacks.asked) != 1 || !strings.Contains(f.rollbacks.asked[0], "checkout/prod: alarm checkout-prod-5xx") {
		t.Errorf("rollbacks asked = %q", f.rollbacks.asked)
	}
	// The request names its incident and the alarm's time: promotion rolls
	// back once per incident, and blames no deployment started after it.
	if req := f.rollbacks.requests[0]; req.Incident != rr.Incident || req.AlarmAt.IsZero() {
		t.Errorf("rollback request %+v, want incident %s and the alarm's time", req, rr.Incident)
	}
	var upd struct {
		Cluster, Service   string
		ForceNewDeployment bool
	}
	if calls := f.aws.Invocations("UpdateService"); len(calls) != 1 || calls[0].DecodeJSON(&upd) != nil || upd.Cluster != "shop" || !upd.ForceNewDeployment {
		t.Errorf("UpdateService = %+v, want a forced deployment of shop/checkout", upd)
	}
	alerts := f.aws.Invocations("Publish")
	if len(alerts) != 1 {
		t.Fatalf("SNS publishes = %d, want 1", len(alerts))
	}
	msg := alerts[0].Form.Get("Message")
	for _, want := range []string{"blamed on deployment dep-b of " + digestB, digestB + "  success", "rollback: done rollback to " + digestA, "ecs-redeploy: done"} {
		if !strings.Contains(msg, want) {
			t.Errorf("notification lacks %q:\n%s", want, msg)
		}
	}
	rs, err := f.ledger.Remediations(ctx, "checkout", "prod", fired, fired.Add(time.Hour))
	if err != nil || len(rs) != 3 || rs[0].IncidentID != rr.Incident || rs[0].Digest != digestB {
		t.Errorf("remediations = %+v, %v; want three of the incident, on the blamed digest", rs, err)
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeIncidentOpened, DetailTypeRemediation, DetailTypeRemediation, DetailTypeRemediation}) {
		t.Errorf("events = %v", got)
	}

	// The same event again acts zero more times.
	again, err := f.h.Handle(ctx, ev)
	if err != nil || again.Outcome != "duplicate" || len(f.rollbacks.asked) != 1 || len(f.aws.Invocations("UpdateService")) != 1 {
		t.Errorf("redelivery = %+v, %v; rollbacks %d, redeploys %d; want a duplicate that does nothing", again, err,
			len(f.rollbacks.asked), len(f.aws.Invocations("UpdateService")))
	}

	// Back to OK 14 minutes later: the incident is resolved.
	ok, err := f.h.Handle(ctx, event(t, "checkout-prod-5xx", alarm.StateOK, fired.Add(14*time.Minute)))
	if err != nil || ok.Outcome != "resolved" || ok.Runbooks[0].Incident != rr.Incident || ok.Runbooks[0].Restored != 14*time.Minute {
		t.Errorf("OK = %+v, %v; want the incident resolved in 14m", ok, err)
	}
	if open, _ := f.ledger.OpenIncidents(ctx); len(open) != 0 {
		t.Errorf("open incidents = %d, want 0", len(open))
	}
}

func TestDryRunRecordsButDoesNothing(t *testing.T) {
	for _, where := range []string{"alarms", "runbook"} {
		t.Run(where, func(t *testing.T) {
			text := strings.Replace(respondPolicy, "  maxActionsPerHour: 10", "  dryRun: true\n  maxActionsPerHour: 10", 1)
			if where == "runbook" {
				text = strings.Replace(respondPolicy, "      cooldown: 1m", "      cooldown: 1m\n      dryRun: true", 1)
			}
			f := newFixture(t, text)
			ctx := context.Background()
			fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
			res, err := f.h.Handle(ctx, event(t, "checkout-prod-5xx", alarm.StateAlarm, fired))
			if err != nil {
				t.Fatal(err)
			}
			if got := outcomes(res.Runbooks[0]); !slices.Equal(got, []string{"rollback:dry-run", "ecs-redeploy:dry-run", "notify:dry-run"}) {
				t.Errorf("actions = %v", got)
			}
			if len(f.rollbacks.asked) != 0 || len(f.aws.Invocations("UpdateService")) != 0 || len(f.aws.Invocations("Publish")) != 0 {
				t.Error("a dry run acted")
			}
			rs, _ := f.ledger.Remediations(ctx, "checkout", "prod", fired, fired.Add(time.Hour))
			if len(rs) != 3 || !rs[0].DryRun {
				t.Errorf("remediations = %+v, want three dry runs recorded", rs)
			}
		})
	}
}

func TestFailureStopsTheRunbookAndTheBreakerOpens(t *testing.T) {
	f := newFixture(t, respondPolicy)
	f.rollbacks.fail = fmt.Errorf("promotion: nothing verified to roll back to: %w", remediate.ErrRefused)
	ctx := context.Background()
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	for i, want := range [][]string{
		{"rollback:failed", "ecs-redeploy:skipped", "notify:skipped"},
		{"rollback:failed", "ecs-redeploy:skipped", "notify:skipped"},
		{"rollback:breaker-open", "ecs-redeploy:skipped", "notify:skipped"},
	} {
		f.clock.Advance(2 * time.Minute) // past the cooldown
		res, err := f.h.Handle(ctx, event(t, fmt.Sprintf("checkout-prod-%d", i), alarm.StateAlarm, fired.Add(time.Duration(i)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		if got := outcomes(res.Runbooks[0]); !slices.Equal(got, want) {
			t.Errorf("alarm %d: actions = %v, want %v", i, got, want)
		}
	}
	if len(f.rollbacks.asked) != 2 {
		t.Errorf("rollbacks tried = %d, want 2 before the breaker opened", len(f.rollbacks.asked))
	}
	alerts := f.aws.Invocations("Publish")
	if len(alerts) != 1 || !strings.Contains(alerts[0].Form.Get("Subject"), "needs a human") {
		t.Errorf("alerts = %d, want one asking for a human", len(alerts))
	}
}

func TestCooldownAndInsufficientData(t *testing.T) {
	f := newFixture(t, respondPolicy)
	ctx := context.Background()
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	if res, err := f.h.Handle(ctx, event(t, "checkout-prod-5xx", alarm.StateInsufficientData, fired)); err != nil || res.Outcome != "recorded" || len(f.bus.types()) != 0 {
		t.Errorf("INSUFFICIENT_DATA = %+v, %v; want recorded and nothing done", res, err)
	}
	first, _ := f.h.Handle(ctx, event(t, "checkout-prod-5xx", alarm.StateAlarm, fired))
	// The alarm flaps back to ALARM 30 s later: a new transition, within the runbook's 1m cooldown.
	f.clock.Advance(30 * time.Second)
	second, err := f.h.Handle(ctx, event(t, "checkout-prod-5xx", alarm.StateAlarm, fired.Add(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(first.Runbooks[0]); !slices.Equal(got, []string{"rollback:done", "ecs-redeploy:done", "notify:done"}) {
		t.Errorf("first = %v", got)
	}
	if got := outcomes(second.Runbooks[0]); !slices.Equal(got, []string{"rollback:cooldown", "ecs-redeploy:cooldown", "notify:cooldown"}) {
		t.Errorf("second within the cooldown = %v", got)
	}
	if other, _ := f.h.Handle(ctx, event(t, "search-prod-5xx", alarm.StateAlarm, fired)); other.Outcome != "unmatched" {
		t.Errorf("an alarm no runbook names = %+v, want unmatched", other)
	}
}

// An alarm storm: transitions of 50 alarms, delivered 8 at a time, each
// twice. Every transition is answered once; the rate limit bounds the
// actions. make test plays 200 transitions, make test-long 1,000.
func TestAlarmStormLosesNothing(t *testing.T) {
	f := newFixture(t, strings.Replace(respondPolicy, "  breaker: {failures: 2, window: 1h}", "  breaker: {failures: 100, window: 1h}", 1))
	ctx := context.Background()
	// Three thousand lines of "runbook action" say nothing here.
	prevLogger := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(prevLogger) })
	fired := time.Date(2026, 11, 17, 11, 0, 0, 0, time.UTC)
	n := longtest.Size(t, "transitions", 200, 1000)
	evs := make([]events.CloudWatchEvent, 0, 2*n)
	for i := range n {
		ev := event(t, fmt.Sprintf("checkout-prod-%02d", i%50), alarm.StateAlarm, fired.Add(time.Duration(i)*time.Second))
		evs = append(evs, ev, ev)
	}
	var (
		mu       sync.Mutex
		counts   = map[string]int{}
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 8)
		begin    = time.Now()
		failures int
	)
	for _, ev := range evs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := f.h.Handle(ctx, ev)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures++
				return
			}
			counts[res.Outcome]++
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	t.Logf("%d deliveries (%d transitions) in %v: %.0f events/s; outcomes %v", len(evs), n, elapsed.Round(time.Millisecond), float64(len(evs))/elapsed.Seconds(), counts)
	// Of each transition's two deliveries one opens the incident; the other
	// finds its steps done or held (duplicate), or takes the next step while
	// the first is between two (resumed).
	if failures != 0 || counts[OutcomeOpened] != n || counts[OutcomeDuplicate]+counts[OutcomeResumed] != n {
		t.Errorf("outcomes %v, %d failures; want %d opened and %d duplicates or resumed", counts, failures, n, n)
	}
	open, _ := f.ledger.OpenIncidents(ctx)
	if len(open) != n {
		t.Errorf("open incidents = %d, want %d: one per transition", len(open), n)
	}
	if len(f.rollbacks.asked)+len(f.aws.Invocations("UpdateService")) != 10 {
		t.Errorf("rollbacks %d + redeploys %d, want the hour's 10 slots", len(f.rollbacks.asked), len(f.aws.Invocations("UpdateService")))
	}
}

func TestRollbackByEventAsksPromotion(t *testing.T) {
	p, err := policy.Parse([]byte(respondPolicy), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := p.App("checkout")
	env, _ := app.Environment("prod")
	b := &recordingBus{}
	at := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	alarmAt := at.Add(-time.Minute)
	detail, err := RollbackByEvent{Bus: b, Now: func() time.Time { return at }}.Rollback(context.Background(), app, env,
		RollbackRequest{Reason: "alarm checkout-prod-5xx", Incident: "inc-1", AlarmAt: alarmAt})
	if err != nil || !strings.Contains(detail, "checkout/prod") {
		t.Fatalf("Rollback() = %q, %v", detail, err)
	}
	if len(b.events) != 1 || b.events[0].DetailType != route.DetailTypeRollbackRequested || !b.events[0].Time.Equal(at) ||
		b.events[0].Detail != (RollbackRequest{App: "checkout", Env: "prod", Reason: "alarm checkout-prod-5xx", Incident: "inc-1", AlarmAt: alarmAt}) {
		t.Errorf("published %+v", b.events)
	}
}
