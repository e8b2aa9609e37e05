package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/highwayhq/highway/shared/imagescan"
	"github.com/highwayhq/highway/shared/reportgroups"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
	"github.com/highwayhq/highway/shared/push"
	"github.com/highwayhq/highway/shared/remediate"
	"github.com/highwayhq/highway/shared/respond"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/telemetry"
)

// handler is a function's handler as the local runtime calls it: the raw event
// in, the response out, as the Lambda runtime would.
type handler func(ctx context.Context, event []byte) (any, error)

// lambdaHandler adapts a typed handler the way aws-lambda-go does: the event is
// decoded into the handler's input type.
func lambdaHandler[In, Out any](h func(context.Context, In) (Out, error)) handler {
	return func(ctx context.Context, event []byte) (any, error) {
		var in In
		if err := json.Unmarshal(event, &in); err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		return h(ctx, in)
	}
}

// local runs Highway in one process: events are routed with the same patterns
// as the deployed rules, and what functions publish is printed (AWS is never
// called) and routed again, as the bus would.
type local struct {
	out       io.Writer
	router    *route.Router
	handlers  map[string]handler
	queue     [][]byte
	metrics   *telemetry.Metrics // what Lambda would turn into CloudWatch metrics
	pipelines *pipelines         // the dry-run CodePipeline the gate stops
	deployed  sync.Map           // the targets deployed, by promotion (see deployerVia)
	ledger    ledger.Ledger
	clock     time.Time       // the scenario's time: its events', moved on by its waits
	mailbox   *mailbox        // where approval requests arrive, with their links
	links     *approval.Links // the approval function URL's handler
	webhook   *github.Webhook // the webhook function URL's handler; nil without GitHub apps
	github    githubSamples   // what GitHub delivers to it
	commits   []string        // commits announced, in order, for the timeline
	seq       int
	step      int            // the scenario step being played
	announced []announcement // what was published about commits, step by step

	policy         *policy.Policy
	promoter       *promotion.Promoter
	environments   *environments   // what each environment runs
	cloudFormation *cloudFormation // the local CloudFormation endpoint
	driftQueue     *driftQueue     // the drift function's queue

	aws      awsCalls          // every call to a stand-in for AWS passes here
	wire     http.RoundTripper // the transport of the SDK clients of local endpoints; nil: the SDK's
	delivery delivery          // how events and invocations are delivered
}

// delivery is how the local runtime delivers, as EventBridge and Lambda do
// at least once and out of order: each event copies times (1: once), the
// queue in the order of rng (nil: first in, first out), and an invocation
// that fails again, attempts times in all (1: not again, the error ends the
// scenario).
type delivery struct {
	copies, attempts int
	rng              *rand.Rand
}

// option changes how the local runtime calls and delivers.
type option func(*local)

// withAWS makes every call to a stand-in for AWS pass through c, and the
// SDK clients of the local endpoints send through wire, without retrying.
func withAWS(c awsCalls, wire http.RoundTripper) option {
	return func(rt *local) { rt.aws, rt.wire = c, wire }
}

// withDelivery delivers each event copies times in the order of rng, and
// retries a failed invocation until attempts.
func withDelivery(copies, attempts int, rng *rand.Rand) option {
	return func(rt *local) { rt.delivery = delivery{copies: copies, attempts: attempts, rng: rng} }
}

// samples are the demo's stand-ins for what AWS would answer, read from events/.
type samples struct {
	repository repository
	artifacts  artifacts
	scans      imageScans
	stacks     stackSamples
	github     githubSamples
}

// loadSamples reads the stand-ins from the events folder.
func loadSamples(dir string) (samples, error) {
	repo, err := loadRepository(filepath.Join(dir, "codecommit-getcommit.json"))
	if err != nil {
		return samples{}, err
	}
	scans, err := loadImageScans(dir)
	if err != nil {
		return samples{}, err
	}
	stacks, err := loadStackSamples(dir)
	if err != nil {
		return samples{}, err
	}
	gh, err := loadGitHubSamples(dir)
	if err != nil {
		return samples{}, err
	}
	return samples{repository: repo, artifacts: artifacts{dir: filepath.Join(dir, "artifacts")}, scans: scans, stacks: stacks, github: gh}, nil
}

// newLocal wires every function's handler to the ledger l and the
// samples s. Every route must have a handler, so the demo can never silently
// drop a capability.
func newLocal(out io.Writer, p *policy.Policy, l ledger.Ledger, s samples, opts ...option) (*local, error) {
	router, err := route.NewRouter(route.Routes(p))
	if err != nil {
		return nil, err
	}
	rt := &local{out: out, router: router, metrics: telemetry.NewMetrics(io.Discard, telemetry.Namespace),
		pipelines: &pipelines{out: out, running: map[string]string{}}, ledger: l, environments: newEnvironments(p), policy: p,
		aws: direct{}, delivery: delivery{copies: 1, attempts: 1}}
	for _, o := range opts {
		o(rt)
	}
	builds := func(string, string, string) gating.BuildClients {
		return gating.BuildClients{
			Reports:   reportgroups.Reader{API: reportsVia{rt.aws, noReportGroups{}}},
			Images:    imagescan.Scanner{API: scansVia{rt.aws, s.scans}},
			Artifacts: objectsVia{rt.aws, s.artifacts},
			Pipelines: pipelinesVia{rt.aws, rt.pipelines},
		}
	}
	notify := topicVia{rt.aws, topic{out}}
	promote, err := rt.promotion(p, l)
	if err != nil {
		return nil, err
	}
	rt.promoter = promote
	rt.handlers = map[string]handler{
		route.FunctionPush: lambdaHandler(push.NewHandler(p, func(string, string, string) push.CommitGetter {
			return commitsVia{rt.aws, s.repository}
		}, l, rt, rt.metrics).Handle),
		route.FunctionGate:    lambdaHandler(gating.NewBuilds(p, builds, l, rt, notify, localTopic).Handle),
		route.FunctionPromote: lambdaHandler(promote.Invoke),
	}
	if p.UsesGitHub() && len(s.github.keys) > 0 {
		if rt.webhook, err = rt.newWebhook(p, l, s.github); err != nil {
			return nil, err
		}
		rt.github = s.github
	}
	if p.Alarms != nil {
		now := func() time.Time { return rt.clock }
		r, err := respond.New(respond.Config{
			Policy: p, Ledger: l,
			Tags: func(alarm.StateChange) func(context.Context) (map[string]string, error) {
				return func(context.Context) (map[string]string, error) { return nil, nil } // the demo's alarms carry no tags
			},
			Clients:  func(string, string, string) remediate.Clients { return remediate.Clients{} },
			Rollback: respond.RollbackByEvent{Bus: rt, Now: now},
			Bus:      rt, Notify: notify, Topic: localTopic, Now: now,
		})
		if err != nil {
			return nil, err
		}
		rt.handlers[route.FunctionRespond] = lambdaHandler(r.Handle)
	}
	if p.Drift != nil {
		d, err := rt.newDriftHandler(p, s.stacks)
		if err != nil {
			rt.Close()
			return nil, err
		}
		rt.handlers[route.FunctionDrift] = lambdaHandler(d.Invoke)
	}
	for _, r := range route.Routes(p) {
		if rt.handlers[r.Function] == nil {
			rt.Close()
			return nil, fmt.Errorf("route %q has no local handler", r.Function)
		}
	}
	return rt, nil
}

// Close stops the local endpoints.
func (rt *local) Close() {
	rt.environments.close()
	if rt.cloudFormation != nil {
		rt.cloudFormation.srv.Close()
	}
}

// localTopic is the notification topic's name in the demo.
const localTopic = "arn:aws:sns:local:000000000000:highway-notifications"

// demoSecret signs the demo's approval links; deployed, the secret lives in
// Secrets Manager.
var demoSecret = []byte("highway-demo-approval-link-secret-0001")

// promotion wires the promoter and the approval functions to the demo's
// stand-ins: deployments are printed, the approval workflow runs in-process,
// and approval requests arrive in a mailbox whose links the scenario opens.
func (rt *local) promotion(p *policy.Policy, l ledger.Ledger) (*promotion.Promoter, error) {
	now := func() time.Time { return rt.clock }
	deployers := func(_ *policy.App, env *policy.Environment) (deploy.Deployer, error) {
		d, err := deploy.DryRun(env.Deploy, indent{rt.out})
		if err != nil {
			return nil, err
		}
		return via(rt.aws, rt.environments.recorded(d), &rt.deployed), nil
	}
	w := &workflow{out: rt.out, executions: map[string]execution{}, started: map[string]bool{},
		wait: func(d time.Duration) { rt.clock = rt.clock.Add(d) }}
	sfn := workflowVia{rt.aws, w}
	promoter := promotion.New(p, l, rt, deployers, sfn, "local:approval", promotion.WithClock(now))
	signer, err := approval.NewSigner(demoSecret)
	if err != nil {
		return nil, err
	}
	rt.mailbox = &mailbox{out: rt.out, to: map[string]string{}}
	mail := topicVia{rt.aws, rt.mailbox}
	requests, err := approval.NewRequester(p, l, mail, localTopic, signer, "https://approvals.highway.local/",
		approval.WithClock(now), approval.WithEvents(rt))
	if err != nil {
		return nil, err
	}
	w.promoter, w.requests = promoter, requests
	rt.links = approval.NewLinks(approval.New(l, sfn, mail, localTopic, approval.WithClock(now), approval.WithEvents(rt)), signer)
	return promoter, nil
}

// tick moves the scenario's clock on and sends the promote function the
// scheduled event EventBridge sends it every minute.
func (rt *local) tick(ctx context.Context, d time.Duration) error {
	rt.clock = rt.clock.Add(d)
	ev, err := json.Marshal(events.CloudWatchEvent{Version: "0", ID: fmt.Sprintf("tick-%d", rt.clock.Unix()), Source: "aws.events",
		DetailType: "Scheduled Event", AccountID: "000000000000", Region: "local", Time: rt.clock, Detail: json.RawMessage(`{}`)})
	if err != nil {
		return err
	}
	return rt.call(ctx, route.FunctionPromote, ev)
}

// approve opens approver's approve link from the last approval request, a few
// minutes later, and confirms it.
func (rt *local) approve(ctx context.Context, approver string) error {
	rt.clock = rt.clock.Add(5 * time.Minute)
	u, err := rt.mailbox.link(approver, approval.ActionApprove)
	if err != nil {
		return err
	}
	fmt.Fprintf(rt.out, "  %s opens %s://%s%s?...&action=approve&sig=... and confirms\n", approver, u.Scheme, u.Host, u.Path)
	var status int
	for attempt := 1; ; attempt++ {
		// A person whose confirmation failed (a 500 page) presses again.
		if status, err = click(ctx, rt.links, u, rt.clock); err == nil && status < 500 || attempt >= max(rt.delivery.attempts, 1) {
			break
		}
		fmt.Fprintf(rt.out, "  approval → HTTP %d (%v); %s presses again\n", status, err, approver)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(rt.out, "  approval → HTTP %d\n", status)
	return rt.drain(ctx)
}

// Publish prints each event as a dry-run and queues it for the local router.
func (rt *local) Publish(ctx context.Context, evs ...bus.Event) error {
	err := rt.aws.call("events:PutEvents", "", func() error {
		return (bus.DryRun{W: indent{rt.out}, Max: 160}).Publish(ctx, evs...)
	})
	if err != nil {
		return asSDK("events:PutEvents", err)
	}
	for _, e := range evs {
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return err
		}
		var ids struct{ Commit string }
		if json.Unmarshal(detail, &ids) == nil && ids.Commit != "" {
			if !slices.Contains(rt.commits, ids.Commit) {
				rt.commits = append(rt.commits, ids.Commit)
			}
			rt.announced = append(rt.announced, announcement{step: rt.step, detailType: e.DetailType, commit: ids.Commit})
		}
		rt.seq++
		envelope, err := json.Marshal(events.CloudWatchEvent{
			Version: "0", ID: fmt.Sprintf("local-%d", rt.seq), DetailType: e.DetailType, Source: bus.Source,
			AccountID: "000000000000", Region: "local", Time: e.Time.UTC(), Resources: e.Resources, Detail: detail,
		})
		if err != nil {
			return err
		}
		rt.enqueue(envelope)
	}
	return nil
}

// announcement is an event published about a commit, during a step of the
// scenario.
type announcement struct {
	step               int
	detailType, commit string
}

// enqueue queues event for delivery, as many times as the delivery says.
func (rt *local) enqueue(event []byte) {
	for range max(rt.delivery.copies, 1) {
		rt.queue = append(rt.queue, event)
	}
}

// deliver routes event, and then everything the handlers publish in turn, until
// the queue is empty.
func (rt *local) deliver(ctx context.Context, event []byte) error {
	rt.enqueue(event)
	return rt.drain(ctx)
}

// drain routes the queued events until none is left.
func (rt *local) drain(ctx context.Context) error {
	for len(rt.queue) > 0 {
		next := 0
		if rt.delivery.rng != nil {
			next = rt.delivery.rng.IntN(len(rt.queue))
		}
		ev := rt.queue[next]
		rt.queue = slices.Delete(rt.queue, next, next+1)
		rt.track(ev)
		fns, err := rt.router.Functions(ev)
		if err != nil {
			return err
		}
		if len(fns) == 0 {
			var head struct {
				DetailType string `json:"detail-type"`
			}
			_ = json.Unmarshal(ev, &head)
			fmt.Fprintf(rt.out, "  %q → no subscriber\n", head.DetailType)
		}
		for _, fn := range fns {
			if err := rt.call(ctx, fn, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// call invokes one function's handler with an event, as Lambda would, and
// prints its answer.
func (rt *local) call(ctx context.Context, fn string, ev []byte) error {
	_, err := rt.invoke(ctx, fn, ev)
	return err
}

// invoke invokes one function's handler with an event, as Lambda would: a
// failed invocation is retried until the delivery's attempts. It prints the
// answer and returns it.
func (rt *local) invoke(ctx context.Context, fn string, ev []byte) (any, error) {
	var res any
	var err error
	// Lambda names each invocation, and its retries keep the name.
	rt.seq++
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("local-request-%d", rt.seq)})
	for attempt := 1; ; attempt++ {
		if res, err = rt.handlers[fn](ctx, ev); err == nil {
			break
		}
		if attempt >= max(rt.delivery.attempts, 1) {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		fmt.Fprintf(rt.out, "  %s failed (%v); Lambda retries\n", fn, err)
	}
	js, _ := json.Marshal(res)
	fmt.Fprintf(rt.out, "  %s → %s\n", fn, js)
	return res, rt.explain(ctx, res)
}

// explain prints the decision behind a gate's result, check by check. It
// only tells what happened: a ledger read that fails (as AWS may fail it) is
// said, and changes nothing.
func (rt *local) explain(ctx context.Context, res any) error {
	r, ok := res.(gating.Result)
	if !ok || r.Build == "" {
		return nil
	}
	d, err := rt.decision(ctx, r.Build)
	if err != nil {
		_, err = fmt.Fprintf(rt.out, "  (the decision is not shown: %v)\n", err)
		return err
	}
	_, err = io.WriteString(indent{rt.out}, strings.ReplaceAll(gating.Explain(d), "\n  ", "\n    "))
	return err
}

// track notes the build a pipeline is running, as CodePipeline would show it.
func (rt *local) track(event []byte) {
	var ev events.CloudWatchEvent
	if json.Unmarshal(event, &ev) != nil {
		return
	}
	if ev.Time.After(rt.clock) {
		rt.clock = ev.Time
	}
	if be, err := evidence.DecodeBuildEvent(ev); err == nil && be.Pipeline != "" {
		rt.pipelines.running[be.Pipeline] = be.BuildARN
	}
}

// indent prefixes every write with two spaces, to nest dry-run lines under the
// step that caused them.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := i.w.Write([]byte("  ")); err != nil {
		return 0, err
	}
	return i.w.Write(p)
}

// repository answers GetCommit from a file of real-shaped CodeCommit answers
// (events/codecommit-getcommit.json), standing in for the repository's history.
type repository map[string]*cctypes.Commit

// loadRepository reads a JSON list of GetCommit responses.
func loadRepository(path string) (repository, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var answers []codecommit.GetCommitOutput
	if err := json.Unmarshal(raw, &answers); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := repository{}
	for i, a := range answers {
		if a.Commit == nil || a.Commit.CommitId == nil {
			return nil, fmt.Errorf("%s: answer %d has no commit id", path, i)
		}
		r[*a.Commit.CommitId] = a.Commit
	}
	return r, nil
}

// GetCommit answers as CodeCommit does, CommitIdDoesNotExistException included.
func (r repository) GetCommit(_ context.Context, in *codecommit.GetCommitInput, _ ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error) {
	c, ok := r[aws.ToString(in.CommitId)]
	if !ok {
		return nil, &cctypes.CommitIdDoesNotExistException{Message: aws.String("commit " + aws.ToString(in.CommitId) + " is not in the sample history")}
	}
	return &codecommit.GetCommitOutput{Commit: c}, nil
}

// decision finds the gate decision of a build among the commits seen so far.
func (rt *local) decision(ctx context.Context, build string) (*ledger.GateDecision, error) {
	for _, sha := range rt.commits {
		recs, err := rt.ledger.ByCommit(ctx, sha)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if d, ok := r.(*ledger.GateDecision); ok && d.ID == build {
				return d, nil
			}
		}
	}
	return nil, fmt.Errorf("no decision recorded for build %s", build)
}
