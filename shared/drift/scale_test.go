package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/footprint"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/ledger/ledgertest"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
	"github.com/highwayhq/highway/shared/runtimecheck"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// The platforms of the scale benchmark (100 apps, 60 delivered from a
// central CI account to three shared environment accounts, 40 from 20 team
// accounts: 25 accounts with the hub) and of its short version.
var (
	platform100   = policytest.Platform{Apps: 100, Central: 60, Teams: 20}
	platformShort = policytest.Platform{Apps: 4, Central: 2, Teams: 2}
)

// scaleT0 is the time of the scale test's first round.
var scaleT0 = time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)

// The histories the runtime checks read: the 31 days before scaleT0 (a
// check reads the last 30 days while it finds a deployment there) at three
// releases a day per app, and two days at one for the short version.
var (
	activity100   = ledgertest.Activity{Days: 31, End: scaleT0, Releases: 3}
	activityShort = ledgertest.Activity{Days: 2, End: scaleT0, Releases: 1}
)

// The drift function as infra/stacks/drift.go deploys it: its timeout and
// memory (infra/stacks/function.go's default), and the queue's batch size
// and maximum concurrency; as functions/drift/main.go runs it, each of its
// processes paces its calls at the policy's rate over processes.
var driftLimit = footprint.Limit{Function: "drift", Timeout: 5 * time.Minute, MemoryMB: 256}

const (
	batchSize = 10
	processes = 2
)

// roundEvery is the policy's drift schedule, rate(6 hours): the time
// between rounds.
const roundEvery = 6 * time.Hour

// The phases of the scale test.
const (
	// phaseRound is the scheduled invocation: SweepStale, Sweep, CheckRuntime.
	phaseRound = "round"
	// phaseDetect is one invocation of the queue's consumer: Detect of a
	// batch of messages, one account's stacks as Sweep sends them.
	phaseDetect = "detect"
	// phaseDrain is every message of a round, taken in batches by as many
	// execution environments as the queue's maximum concurrency, each
	// starting its detections: how long until every detection started.
	phaseDrain = "drain"
)

// driftScale is one phase of the scale test: where its ledger and its fake
// AWS are, and, for phaseDetect and phaseDrain, the messages to consume.
type driftScale struct {
	Endpoint, Table string
	Platform        policytest.Platform
	// PerEnv is how many stacks each environment has.
	PerEnv int
	Phase  string
	At     time.Time
	// AWS is the URL of the fake AWS of each account; Queue that of the
	// hub's SQS.
	AWS   map[string]string
	Queue string
	// Messages are the queue's messages, in the order they were sent.
	Messages []string
	// Unpromoted are the runtime targets (app/env) the history promoted
	// nothing to, which a round skips.
	Unpromoted []string
}

// scalePolicy is infra/highway.yaml grown to the platform pl.
func scalePolicy(tb testing.TB, pl policytest.Platform) *policy.Policy {
	tb.Helper()
	base, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := policytest.Build(base, pl)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// stacksOf are the stacks of every account p reaches: each app's pipeline
// stack in its delivery account and perEnv stacks per environment in the
// environment's account, all named app-… and selected; in every account
// CDK's and Highway's own, not selected; and in each environment account an
// app stack in an update, whose drift cannot be detected.
func stacksOf(p *policy.Policy, perEnv int) map[string][]fakeStack {
	out := map[string][]fakeStack{}
	add := func(account, name, status string) {
		out[account] = append(out[account], fakeStack{account: account, name: name, status: status})
	}
	for _, a := range Accounts(p) {
		add(a.Account, "CDKToolkit", "UPDATE_COMPLETE")
		add(a.Account, "highway-spoke-"+a.Account, "CREATE_COMPLETE")
	}
	updating := map[string]bool{}
	for _, app := range p.Apps {
		add(app.Account, app.Name+"-pipeline", "UPDATE_COMPLETE")
		for _, env := range app.Environments {
			for _, kind := range []string{"network", "service", "data"}[:perEnv] {
				add(env.Account, app.Name+"-"+env.Name+"-"+kind, "UPDATE_COMPLETE")
			}
			if !updating[env.Account] {
				updating[env.Account] = true
				add(env.Account, app.Name+"-"+env.Name+"-migration", "UPDATE_IN_PROGRESS")
			}
		}
	}
	return out
}

// selected is the stacks of stacks the policy's drift section selects.
func selected(stacks []fakeStack) []fakeStack {
	var out []fakeStack
	for _, s := range stacks {
		if strings.HasPrefix(s.name, "app-") && s.status != "UPDATE_IN_PROGRESS" {
			out = append(out, s)
		}
	}
	return out
}

// runtimeTarget is an environment whose runtime a round checks.
type runtimeTarget struct {
	app     string
	env     *policy.Environment
	drifted bool // the fake runs another digest than the promoted one
}

// runtimeTargets are the environments of p deployed through SSM or ECS (a
// pipeline has no runtime target), every 25th running a digest that was
// never promoted.
func runtimeTargets(p *policy.Policy) []runtimeTarget {
	var out []runtimeTarget
	for i := range p.Apps {
		for j := range p.Apps[i].Environments {
			env := &p.Apps[i].Environments[j]
			if env.Deploy == nil || env.Deploy.Pipeline != nil {
				continue
			}
			out = append(out, runtimeTarget{app: p.Apps[i].Name, env: env, drifted: len(out)%25 == 7})
		}
	}
	return out
}

// promoted is, by app/env, the digest of the last successful deployment
// of recs.
func promoted(recs []ledger.Record) map[string]string {
	out, last := map[string]string{}, map[string]time.Time{}
	for _, r := range recs {
		d, ok := r.(*ledger.Deployment)
		if !ok || d.Status != ledger.DeploymentSuccess {
			continue
		}
		key := d.App + "/" + d.Env
		if !d.FinishedAt.Before(last[key]) {
			out[key], last[key] = d.Digest, d.FinishedAt
		}
	}
	return out
}

// unpromoted are the runtime targets of p (app/env) digests has nothing for.
func unpromoted(p *policy.Policy, digests map[string]string) []string {
	var out []string
	for _, rt := range runtimeTargets(p) {
		if id := rt.app + "/" + rt.env.Name; digests[id] == "" {
			out = append(out, id)
		}
	}
	return out
}

// strangerImage is what a drifted environment runs: an image no gate passed.
const strangerImage = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/hotfix@" + strangerDigest

// priorRounds is what n rounds every roundEvery before at left on the
// ledger: each selected stack's detection, reported in sync, and each
// runtime target's report, in sync with the promoted digest (the newest
// current).
func priorRounds(p *policy.Policy, stacks map[string][]fakeStack, digests map[string]string, n int, at time.Time) []ledger.Record {
	var recs []ledger.Record
	for k := range n {
		when := at.Add(-time.Duration(n-k) * roundEvery)
		for account, all := range stacks {
			for _, s := range selected(all) {
				recs = append(recs, &ledger.DriftReport{
					Header: ledger.Header{ID: PendingID(account, testRegion, s.name), At: when},
					Stack:  s.name, Status: "IN_SYNC", Account: account, Region: testRegion,
					DetectionID: fmt.Sprintf("%08d-c44f-11f0-94c2-0a3f1e2b8c41", k),
				})
			}
		}
		for _, rt := range runtimeTargets(p) {
			d, ok := digests[rt.app+"/"+rt.env.Name]
			if !ok {
				continue
			}
			recs = append(recs, &ledger.DriftReport{
				Header: ledger.Header{ID: runtimecheck.ReportID(rt.app, rt.env.Name), App: rt.app, Env: rt.env.Name, Digest: d, At: when},
				Status: runtimecheck.StatusInSync, ExpectedDigest: d, Account: rt.env.Account, Region: rt.env.Region,
				Target: "as read", Current: k == n-1,
			})
		}
	}
	return recs
}

// serveAccounts starts a fake AWS for every account of stacks, serving its
// CloudFormation (stacks listed 100 a page; every detection started, and
// found in sync when asked) and what its environments run: an SSM parameter
// or an ECS service holding the digest promoted there, or a stranger for a
// drifted environment. It returns the servers by account.
func serveAccounts(tb testing.TB, p *policy.Policy, stacks map[string][]fakeStack, digests map[string]string) map[string]*awsfake.Server {
	tb.Helper()
	services, err := os.ReadFile(filepath.Join("..", "runtimecheck", "testdata", "ecs_describe_services.json"))
	if err != nil {
		tb.Fatal(err)
	}
	taskDefinition, err := os.ReadFile(filepath.Join("..", "runtimecheck", "testdata", "ecs_describe_task_definition.json"))
	if err != nil {
		tb.Fatal(err)
	}
	images := map[string]map[string]string{} // account: parameter or cluster/service: image
	for _, rt := range runtimeTargets(p) {
		image := "222222222222.dkr.ecr.eu-west-1.amazonaws.com/" + rt.app + "@" + digests[rt.app+"/"+rt.env.Name] // unread when none
		if rt.drifted {
			image = strangerImage
		}
		if images[rt.env.Account] == nil {
			images[rt.env.Account] = map[string]string{}
		}
		if d := rt.env.Deploy; d.SSM != nil {
			images[rt.env.Account][d.SSM.Parameter] = image
		} else {
			images[rt.env.Account][d.ECS.Cluster+"/"+d.ECS.Service] = image
		}
	}
	out := map[string]*awsfake.Server{}
	for account, all := range stacks {
		srv := awsfake.New(tb)
		out[account] = srv
		onDescribeStacks(srv, all, 100)
		srv.OnFunc("DetectStackDrift", func(r awsfake.Request) awsfake.Response {
			return awsfake.XML(200, detectXML(fmt.Sprintf("%s-%04d-11f0-94c2-0a3f1e2b8c41", account[4:], r.Call)))
		})
		srv.OnFunc("DescribeStackDriftDetectionStatus", func(r awsfake.Request) awsfake.Response {
			return awsfake.XML(200, statusXML("", r.Form.Get("StackDriftDetectionId"), "IN_SYNC", "DETECTION_COMPLETE", 0))
		})
		srv.On("DescribeStackResourceDrifts", awsfake.XML(200, `<DescribeStackResourceDriftsResponse xmlns="`+cfnNamespace+`">`+
			`<DescribeStackResourceDriftsResult><StackResourceDrifts/></DescribeStackResourceDriftsResult>`+
			`<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStackResourceDriftsResponse>`))
		running := images[account]
		srv.OnFunc("GetParameter", func(r awsfake.Request) awsfake.Response {
			var in struct{ Name string }
			if err := r.DecodeJSON(&in); err != nil || running[in.Name] == "" {
				return awsfake.APIError(http.StatusBadRequest, "ParameterNotFound", in.Name)
			}
			b, _ := json.Marshal(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "String", "Version": 3,
				"Value": running[in.Name], "ARN": "arn:aws:ssm:eu-west-1:" + account + ":parameter" + in.Name, "DataType": "text"}})
			return awsfake.JSON(200, string(b))
		})
		srv.OnFunc("DescribeServices", func(r awsfake.Request) awsfake.Response {
			var in struct {
				Cluster  string   `json:"cluster"`
				Services []string `json:"services"`
			}
			if err := r.DecodeJSON(&in); err != nil || len(in.Services) != 1 || running[in.Cluster+"/"+in.Services[0]] == "" {
				return awsfake.JSON(200, `{"services":[],"failures":[{"reason":"MISSING"}]}`)
			}
			var m map[string]any
			if err := json.Unmarshal(services, &m); err != nil {
				return awsfake.APIError(http.StatusInternalServerError, "ServerException", err.Error())
			}
			svc := m["services"].([]any)[0].(map[string]any)
			svc["serviceName"] = in.Services[0]
			for _, d := range svc["deployments"].([]any) {
				d := d.(map[string]any)
				rev := "41"
				if d["status"] == "PRIMARY" {
					rev = "42"
				}
				d["taskDefinition"] = "arn:aws:ecs:eu-west-1:" + account + ":task-definition/" + in.Cluster + "." + in.Services[0] + ":" + rev
			}
			b, _ := json.Marshal(m)
			return awsfake.JSON(200, string(b))
		})
		srv.OnFunc("DescribeTaskDefinition", func(r awsfake.Request) awsfake.Response {
			var in struct {
				TaskDefinition string `json:"taskDefinition"`
			}
			_ = r.DecodeJSON(&in)
			family, _, _ := strings.Cut(in.TaskDefinition[strings.LastIndex(in.TaskDefinition, "/")+1:], ":")
			image := running[strings.Replace(family, ".", "/", 1)]
			var m map[string]any
			if err := json.Unmarshal(taskDefinition, &m); err != nil || image == "" {
				return awsfake.APIError(http.StatusBadRequest, "ClientException", "Unable to describe task definition.")
			}
			td := m["taskDefinition"].(map[string]any)
			td["taskDefinitionArn"] = in.TaskDefinition
			for _, c := range td["containerDefinitions"].([]any) {
				if c := c.(map[string]any); c["name"] == "app" {
					c["image"] = image
				}
			}
			b, _ := json.Marshal(m)
			return awsfake.JSON(200, string(b))
		})
	}
	return out
}

// fakeAWS is the configuration of clients of the fake AWS at url, as a
// spoke role's session would be (static credentials here). Its connections
// are not kept alive: an idle one would hold a synctest bubble's clock.
func fakeAWS(url string) aws.Config {
	return aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(awsfake.AccessKeyID, "secret", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// callCounts counts the CloudFormation calls that succeeded: listings by
// account, detections started by stack ARN.
type callCounts struct {
	mu      sync.Mutex
	listed  map[string]int
	started map[string]int
}

// countedCFN is one account's CloudFormation client, counting.
type countedCFN struct {
	*cloudformation.Client
	account string
	counts  *callCounts
}

func (c countedCFN) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	out, err := c.Client.DescribeStacks(ctx, in, optFns...)
	if err == nil {
		c.counts.mu.Lock()
		c.counts.listed[c.account]++
		c.counts.mu.Unlock()
	}
	return out, err
}

func (c countedCFN) DetectStackDrift(ctx context.Context, in *cloudformation.DetectStackDriftInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error) {
	out, err := c.Client.DetectStackDrift(ctx, in, optFns...)
	if err == nil {
		c.counts.mu.Lock()
		c.counts.started[aws.ToString(in.StackName)]++
		c.counts.mu.Unlock()
	}
	return out, err
}

// newScaleHandler is one execution environment of the drift function, as
// functions/drift/main.go builds it: its clients made per call from a
// configuration per account, its own Limits (its share of the policy's
// rate), the ledger in DynamoDB Local; the clock runs from at. Call it in
// the bubble it runs in.
func newScaleHandler(t *testing.T, s driftScale, p *policy.Policy, l ledger.Ledger, counts *callCounts, at time.Time, bus *recordingBus, m *telemetry.Metrics) *Handler {
	t.Helper()
	configs := map[string]aws.Config{}
	for account, url := range s.AWS {
		configs[account] = fakeAWS(url)
	}
	start := time.Now()
	h, err := New(Config{
		Policy: p,
		Clients: func(account, region string) Clients {
			c := countedCFN{Client: cloudformation.NewFromConfig(configs[account]), account: account, counts: counts}
			return Clients{Stacks: c, Detections: c, Drifts: c}
		},
		Runtime: func(_, account, region string) runtimecheck.Clients {
			cfg := configs[account] // one session per app in Lambda; the fake tells none apart
			return runtimecheck.Clients{Lambda: lambda.NewFromConfig(cfg), ECS: ecs.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg)}
		},
		Ledger: l, Queue: sqs.NewFromConfig(fakeAWS(s.Queue)), QueueURL: queueURL,
		Bus: bus, Metrics: m,
		Limits: LimitsFor(p.Drift, processes),
		Now:    func() time.Time { return at.Add(time.Since(start)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestScaleDriftRound runs the drift function's scheduled round over every
// account of a platform, then the detections it queued as the queue's
// consumers take them, with CloudFormation, SSM and ECS served by wire-level
// fakes and the ledger in DynamoDB Local, in a synctest bubble: the waits
// the policy's pacing imposes take no real time, and the time they would
// take is measured. The round lists the stacks of every account (twice: the
// stale sweep and the sweep), queues each selected stack once and checks
// every environment's runtime once; each stack's detection starts exactly
// once; and no account is called faster than the policy's rate allows. On
// its own it is the short version (4 apps, one stack per environment);
// BenchmarkScale100Apps runs it at platform size, one phase per child
// process.
func TestScaleDriftRound(t *testing.T) {
	telemetrytest.DiscardLogs(t)
	var s driftScale
	if footprint.Spec(t, &s) {
		footprint.Report(t, runDriftPhase(t, s))
		return
	}
	db := localaws.DynamoDB(t)
	table := localaws.LedgerTable(t, db)
	p := scalePolicy(t, platformShort)
	stacks := stacksOf(p, 1)
	recs := ledgertest.History(p, activityShort)
	digests := promoted(recs)
	recs = append(recs, priorRounds(p, stacks, digests, 1, scaleT0)...)
	if err := ledgertest.Fill(context.Background(), ledger.NewDynamo(db, table), recs); err != nil {
		t.Fatal(err)
	}
	s = driftScale{Endpoint: os.Getenv(localaws.EnvDynamoDB), Table: table, Platform: platformShort, PerEnv: 1, AWS: map[string]string{},
		Unpromoted: unpromoted(p, digests)}
	for account, srv := range serveAccounts(t, p, stacks, digests) {
		s.AWS[account] = srv.URL()
	}
	hub, q := awsfake.New(t), &fakeQueue{}
	q.serve(hub)
	s.Queue = hub.URL()

	s.Phase, s.At = phaseRound, scaleT0
	footprint.Report(t, runDriftPhase(t, s))
	queued := q.sent(0)
	checkQueued(t, queued, stacks)
	s.Phase, s.At, s.Messages = phaseDrain, scaleT0.Add(time.Minute), queued
	footprint.Report(t, runDriftPhase(t, s))
	s.Phase, s.At, s.Messages = phaseDetect, scaleT0.Add(roundEvery), oneBatch(queued)
	footprint.Report(t, runDriftPhase(t, s))
}

// oneBatch is the first batch Lambda would take of messages, all of one
// account: the first batchSize messages of the account with the most.
func oneBatch(messages []string) []string {
	byAccount := map[string][]string{}
	var most string
	for _, m := range messages {
		var s Stack
		if json.Unmarshal([]byte(m), &s) == nil {
			byAccount[s.Account] = append(byAccount[s.Account], m)
			if len(byAccount[s.Account]) > len(byAccount[most]) {
				most = s.Account
			}
		}
	}
	return byAccount[most][:min(batchSize, len(byAccount[most]))]
}

// sent returns the bodies the queue accepted, from the from-th on.
func (q *fakeQueue) sent(from int) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.bodies[from:]...)
}

// checkQueued checks that messages name every selected stack of stacks
// once, and no other.
func checkQueued(t testing.TB, messages []string, stacks map[string][]fakeStack) {
	t.Helper()
	want := map[string]bool{}
	for _, all := range stacks {
		for _, s := range selected(all) {
			want[s.arn()] = true
		}
	}
	seen := map[string]int{}
	for _, m := range messages {
		var s Stack
		if err := json.Unmarshal([]byte(m), &s); err != nil || !want[s.ID] {
			t.Errorf("queued %q (%v), not a selected stack", m, err)
		}
		seen[s.ID]++
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("stack %s queued %d times, want once", id, seen[id])
		}
	}
}

// runDriftPhase runs one phase in a synctest bubble, measured, and checks
// what it did.
func runDriftPhase(t *testing.T, s driftScale) footprint.Figures {
	t.Helper()
	p := scalePolicy(t, s.Platform)
	stacks := stacksOf(p, s.PerEnv)
	counts := &callCounts{listed: map[string]int{}, started: map[string]int{}}
	var (
		counted *ledgertest.Counted
		round   Round
		redrive int
		err     error
	)
	bus := &recordingBus{}
	f := footprint.Measure(s.Phase, func(f *footprint.Figures) {
		synctest.Test(t, func(t *testing.T) {
			counted = ledgertest.Count(dynamodb.NewFromConfig(localaws.Config(), func(o *dynamodb.Options) {
				o.BaseEndpoint = aws.String(s.Endpoint)
				o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			}))
			l := ledger.NewDynamo(counted, s.Table)
			m := telemetry.NewMetrics(io.Discard, telemetry.Namespace)
			start := time.Now()
			switch s.Phase {
			case phaseRound:
				round, err = newScaleHandler(t, s, p, l, counts, s.At, bus, m).Round(context.Background(), s.At)
			case phaseDetect:
				var resp events.SQSEventResponse
				resp, err = newScaleHandler(t, s, p, l, counts, s.At, bus, m).Detect(context.Background(), messagesOf(s.Messages))
				redrive = len(resp.BatchItemFailures)
			case phaseDrain:
				var envs []*Handler
				for range processes {
					envs = append(envs, newScaleHandler(t, s, p, l, counts, s.At, bus, m))
				}
				redrive, err = consume(envs, s.Messages)
			default:
				err = fmt.Errorf("no phase %s", s.Phase)
			}
			if err == nil {
				err = m.Flush()
			}
			f.Simulated = time.Since(start)
		})
		tr := counted.Traffic()
		f.Counts["items-read"] = float64(tr.Items)
		f.Counts["queries"] = float64(tr.Queries)
		f.Counts["RCU"] = tr.ReadUnits
		f.Counts["items-written"] = float64(tr.Writes)
		f.Counts["WCU"] = tr.WriteUnits
		f.Counts["CFN-calls"] = float64(sum(counts.listed) + sum(counts.started))
	})
	if err != nil {
		t.Fatalf("%s: %v", s.Phase, err)
	}

	// Every account at most at the policy's rate: with burst 1, n calls from
	// k processes, each at the rate over processes, take (n-k)/(k·rate/processes).
	calls := map[string]int{}
	for account, n := range counts.listed {
		calls[account] += n
	}
	wantStarted := map[string]bool{}
	for _, m := range s.Messages {
		var st Stack
		if err := json.Unmarshal([]byte(m), &st); err != nil {
			t.Fatal(err)
		}
		wantStarted[st.ID] = true
		calls[st.Account]++
	}
	k := 1
	if s.Phase == phaseDrain {
		k = processes
	}
	rate := float64(k) * p.Drift.RatePerSecond / processes
	for account, n := range calls {
		if floor := time.Duration(float64(n-k) / rate * float64(time.Second)); f.Simulated < floor-time.Millisecond {
			t.Errorf("%s: %d calls in account %s took %v, want at least %v at %g a second", s.Phase, n, account, f.Simulated, floor, rate)
		}
	}

	switch s.Phase {
	case phaseRound:
		skipped := map[string]bool{}
		for _, id := range s.Unpromoted {
			skipped[id] = true
		}
		checked, drifted := 0, 0
		for _, rt := range runtimeTargets(p) {
			if !skipped[rt.app+"/"+rt.env.Name] {
				checked++
				if rt.drifted {
					drifted++
				}
			}
		}
		queued := 0
		for _, all := range stacks {
			queued += len(selected(all))
		}
		if round.Sweep.Accounts != len(stacks) || len(round.Sweep.Failed) != 0 || round.Sweep.Stacks != queued {
			t.Errorf("round swept %+v, want %d accounts and %d stacks queued", round.Sweep, len(stacks), queued)
		}
		for account, all := range stacks {
			if pages := (len(all) + 99) / 100; counts.listed[account] != 2*pages {
				t.Errorf("round listed the stacks of %s in %d calls, want %d (%d pages, twice)", account, counts.listed[account], 2*pages, pages)
			}
		}
		if round.Stale.Stale != 0 || round.Runtime.Checked != checked || round.Runtime.Drifted != drifted ||
			!slices.Equal(round.Runtime.Skipped, s.Unpromoted) || len(round.Runtime.Failed) != 0 {
			t.Errorf("round = stale %+v, runtime %+v; want nothing stale, %d environments checked, %d drifted, %v skipped",
				round.Stale, round.Runtime, checked, drifted, s.Unpromoted)
		}
		if len(counts.started) != 0 {
			t.Errorf("round started %d detections, want none (the queue's consumers start them)", len(counts.started))
		}
	case phaseDetect, phaseDrain:
		for id := range wantStarted {
			if counts.started[id] != 1 {
				t.Errorf("stack %s started %d times, want once", id, counts.started[id])
			}
		}
		// A start writes its claim (the idempotency key and the claim's
		// lock, in one transaction), the pending detection, and the claim
		// marked done.
		const writesPerStart = 4
		if len(counts.started) != len(wantStarted) || redrive != 0 || counted.Traffic().Writes != int64(writesPerStart*len(wantStarted)) {
			t.Errorf("started %d stacks, %d messages redelivered, %d items written; want %d, none, %d",
				len(counts.started), redrive, counted.Traffic().Writes, len(wantStarted), writesPerStart*len(wantStarted))
		}
	}
	return f
}

// messagesOf is a batch of the queue's messages.
func messagesOf(bodies []string) events.SQSEvent {
	var ev events.SQSEvent
	for i, body := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%05d", i), Body: body, EventSource: "aws:sqs"})
	}
	return ev
}

// consume plays Lambda's SQS poller over messages for the execution
// environments envs: each takes the next batch of up to batchSize messages
// and runs Detect; a message it reports failed goes back to the end of the
// queue. It returns how many messages were redelivered.
func consume(envs []*Handler, messages []string) (int, error) {
	queue := make(chan events.SQSMessage, len(messages))
	for _, m := range messagesOf(messages).Records {
		queue <- m
	}
	var (
		mu       sync.Mutex
		pending  = len(messages)
		redrives int
		errs     []error
		wg       sync.WaitGroup
	)
	for _, h := range envs {
		wg.Go(func() {
			for {
				var batch events.SQSEvent
			fill:
				for len(batch.Records) < batchSize {
					select {
					case m := <-queue:
						batch.Records = append(batch.Records, m)
					default:
						break fill
					}
				}
				if len(batch.Records) == 0 {
					mu.Lock()
					done := pending == 0 || len(errs) > 0
					mu.Unlock()
					if done {
						return
					}
					time.Sleep(time.Second) // the poller's next receive
					continue
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
					} else {
						pending--
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return redrives, errs[0]
	}
	return redrives, nil
}

// sum adds the counts of m.
func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// How many rounds a week and a month (30 days) hold at rate(6 hours).
const (
	weekOfRounds  = 28
	monthOfRounds = 120
)

// BenchmarkScale100Apps measures the drift function at platform size: 100
// apps × 3 environments over 25 accounts, two stacks per environment and a
// pipeline stack per app (700 stacks selected among 752), 200 environments
// whose runtime it checks (SSM and ECS; staging deploys by pipeline), the
// ledger in DynamoDB Local with the 31 days of deployments those checks
// read (ledgertest.History), CloudFormation, SSM and ECS served by a
// wire-level fake per account. Each phase runs alone in a child process
// (TestScaleDriftRound with a spec), which checks what it did as the short
// version does, in a synctest bubble, and reports its wall and CPU time, the
// time its pacing would take (sim-s), its peak RSS, and what it read:
//
//   - Round: the scheduled round on a ledger holding the history only;
//   - RoundAfterAWeek, RoundAfterAMonth: the same after 28 and 120 earlier
//     rounds (a week and a month at rate(6 hours)) left their detections
//     and runtime reports;
//   - Detect: one invocation of the queue's consumer, a batch of ten
//     stacks of one account;
//   - Drain: every message of the last round, taken by two execution
//     environments ten at a time, until every detection started.
//
// Detect and Drain run after the month. Filling the table takes two or three
// minutes and is not measured. Run it with `make bench-scale`, or
// scripts/services.sh run -- go test -run '^$' -bench Scale -benchtime 1x ./shared/drift
func BenchmarkScale100Apps(b *testing.B) {
	db := localaws.DynamoDB(b)
	table := localaws.LedgerTable(b, db)
	l := ledger.NewDynamo(db, table)
	p := scalePolicy(b, platform100)
	stacks := stacksOf(p, 2)
	recs := ledgertest.History(p, activity100)
	digests := promoted(recs)
	start := time.Now()
	if err := ledgertest.Fill(context.Background(), l, recs); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled DynamoDB Local with %d records (%d days of %d apps) in %v", len(recs), activity100.Days, len(p.Apps), time.Since(start).Round(time.Second))
	s := driftScale{Endpoint: os.Getenv(localaws.EnvDynamoDB), Table: table, Platform: platform100, PerEnv: 2, AWS: map[string]string{},
		Unpromoted: unpromoted(p, digests)}
	for account, srv := range serveAccounts(b, p, stacks, digests) {
		s.AWS[account] = srv.URL()
	}
	hub, q := awsfake.New(b), &fakeQueue{}
	q.serve(hub)
	s.Queue = hub.URL()
	queued := 0
	for _, all := range stacks {
		queued += len(selected(all))
	}

	// Every phase runs at a round's time of its own, after the last.
	rounds := 0
	next := func(phase string, messages []string) driftScale {
		s := s
		s.Phase, s.At, s.Messages = phase, scaleT0.Add(time.Duration(rounds)*roundEvery), messages
		rounds++
		return s
	}
	round := func(b *testing.B) {
		footprint.Bench(b, "TestScaleDriftRound", driftLimit, func(int) any { return next(phaseRound, nil) })
	}
	// lastRound is what the last round queued, after running one if none did.
	lastRound := func(b *testing.B) []string {
		if len(q.sent(0)) < queued {
			footprint.Run(b, "TestScaleDriftRound", next(phaseRound, nil))
		}
		sent := q.sent(0)
		messages := sent[len(sent)-queued:]
		checkQueued(b, messages, stacks)
		return messages
	}

	b.Run("Round", round)
	// addEarlier puts on the ledger the records of the rounds before
	// scaleT0, up to n of them; the rounds since are newer, so none of
	// theirs is current.
	earlier := 0
	addEarlier := func(n int) {
		prior := priorRounds(p, stacks, digests, n-earlier, scaleT0.Add(-time.Duration(earlier)*roundEvery))
		for _, r := range prior {
			r.(*ledger.DriftReport).Current = false
		}
		start := time.Now()
		if err := ledgertest.Fill(context.Background(), l, prior); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled the records of rounds %d to %d before the first (%d) in %v", earlier+1, n, len(prior), time.Since(start).Round(time.Second))
		earlier = n
	}
	addEarlier(weekOfRounds)
	b.Run("RoundAfterAWeek", round)
	addEarlier(monthOfRounds)
	b.Run("RoundAfterAMonth", round)
	b.Run("Detect", func(b *testing.B) {
		batch := oneBatch(lastRound(b))
		footprint.Bench(b, "TestScaleDriftRound", driftLimit, func(int) any { return next(phaseDetect, batch) })
	})
	b.Run("Drain", func(b *testing.B) {
		messages := lastRound(b)
		f := footprint.Bench(b, "TestScaleDriftRound", footprint.Limit{}, func(int) any { return next(phaseDrain, messages) })
		b.Logf("drift drain: %d detections over %d accounts started by %d execution environments in %v simulated (%.1f a second; the policy allows %g a second in each account); wall %v, CPU %v, peak RSS %.1f MB",
			queued, len(stacks), processes, f.Simulated.Round(time.Second), float64(queued)/f.Simulated.Seconds(), p.Drift.RatePerSecond,
			f.Wall.Round(time.Millisecond), f.CPU.Round(time.Millisecond), float64(f.PeakRSS)/(1<<20))
	})
}
