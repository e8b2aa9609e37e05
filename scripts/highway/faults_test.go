package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/longtest"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// faults decides the fate of every call the scenario's functions make to AWS:
// the ledger's, at the wire, to DynamoDB Local; the others', to the demo's
// stand-ins. Under a plan, the call number n of an operation fails with a
// throttle and its next call, n+1, with a server error: a call that fails
// once, then fails again when it is retried. It counts every call, and
// every effect of a call that succeeded (a deployment, a notification, a
// stop, a started execution, an answered task, a drift detection).
type faults struct {
	mu       sync.Mutex
	plan     map[string]int // operation → the call number that throttles
	calls    map[string]int // operation → calls so far
	effects  map[string]int // operation and effect → successful calls
	injected int
}

func newFaults(plan map[string]int) *faults {
	return &faults{plan: plan, calls: map[string]int{}, effects: map[string]int{}}
}

func (f *faults) call(op, effect string, do func() error) error {
	f.mu.Lock()
	f.calls[op]++
	n, at := f.calls[op], f.plan[op]
	fail := at > 0 && (n == at || n == at+1)
	if fail {
		f.injected++
	}
	f.mu.Unlock()
	if fail {
		return fault{throttle: n == at}
	}
	if err := do(); err != nil {
		return err
	}
	if effect != "" {
		f.mu.Lock()
		f.effects[op+" "+effect]++
		f.mu.Unlock()
	}
	return nil
}

// planFrom picks, for every operation of a clean run's calls, the call that
// throttles, at random from rng.
func planFrom(calls map[string]int, rng *rand.Rand) map[string]int {
	plan := map[string]int{}
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		plan[op] = 1 + rng.IntN(calls[op])
	}
	return plan
}

// scenarioRun is what one run of the demo's scenario left.
type scenarioRun struct {
	state    []string       // the ledger's end state, one line a record
	effects  map[string]int // what the functions did, and how often
	calls    map[string]int
	injected int
}

// runScenario plays the demo's scenario against a ledger in DynamoDB Local,
// whose client sends through f at the wire and does not retry, with every
// other AWS call through f at the demo's stand-ins, and delivery as opts
// say. It returns what the run left.
func runScenario(t *testing.T, f *faults, opts ...option) scenarioRun {
	t.Helper()
	db := localaws.DynamoDB(t)
	table := localaws.LedgerTable(t, db)
	wire := transportVia{c: f, base: http.DefaultTransport, service: "dynamodb"}
	client := dynamodb.NewFromConfig(localaws.Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(os.Getenv(localaws.EnvDynamoDB))
		o.HTTPClient = &http.Client{Transport: wire}
		o.RetryMaxAttempts = 1
	})
	l := ledger.NewDynamo(client, table)
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts = append([]option{withAWS(f, http.DefaultTransport)}, opts...)
	var out bytes.Buffer
	rt, err := play(ctx, &out, p, "../../events", l, opts...)
	if err != nil {
		lines := strings.Split(out.String(), "\n")
		t.Fatalf("scenario: %v\nits last output:\n%s", err, strings.Join(lines[max(0, len(lines)-60):], "\n"))
	}
	// The end state is read without faults.
	clean := ledger.NewDynamo(db, table)
	return scenarioRun{state: endState(t, clean, p, rt), effects: f.effects, calls: f.calls, injected: f.injected}
}

// endState is what the scenario left on the ledger that the issue of a run
// depends on: deployments, promotions, incidents, decided approval requests,
// quarantined artifacts and drift reports, one line each, sorted, without
// what differs from run to run by chance (random ids, versions).
func endState(t *testing.T, l ledger.Ledger, p *policy.Policy, rt *local) []string {
	t.Helper()
	ctx := context.Background()
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), rt.clock.Add(24*time.Hour)
	var out []string
	digests := map[string]bool{}
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			deps, err := l.Deployments(ctx, a.Name, e.Name, from, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range deps {
				out = append(out, fmt.Sprintf("deployment %s/%s %s %s", d.App, d.Env, d.Digest, d.Status))
				digests[d.Digest] = true
			}
			promos, err := l.Promotions(ctx, a.Name, e.Name, from, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range promos {
				out = append(out, fmt.Sprintf("promotion %s/%s %s from %q %s", pr.App, pr.Env, pr.Digest, pr.From, pr.Status))
				digests[pr.Digest] = true
			}
			incs, err := l.Incidents(ctx, a.Name, e.Name, from, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range incs {
				out = append(out, fmt.Sprintf("incident %s %s/%s %s on %s resolved %v", i.ID, i.App, i.Env, i.Alarm, i.DeploymentID, !i.ResolvedAt.IsZero()))
			}
		}
	}
	for _, d := range slices.Sorted(maps.Keys(digests)) {
		recs, err := l.ByDigest(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			switch r := r.(type) {
			case *ledger.Artifact:
				out = append(out, fmt.Sprintf("artifact %s quarantined %v", r.ID, r.Quarantined))
			case *ledger.ApprovalRequest:
				if r.Status != ledger.ApprovalWaiting && r.Status != ledger.ApprovalExpired {
					out = append(out, fmt.Sprintf("approval %s/%s %s %s by %v", r.App, r.Env, r.Digest, r.Status, r.Approved))
				}
			}
		}
	}
	reports, err := l.CurrentDriftReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		out = append(out, fmt.Sprintf("drift %s %s/%s %s %s resources %d", r.ID, r.App, r.Env, r.Stack, r.Status, r.Resources))
	}
	slices.Sort(out)
	return out
}

// TestScenarioUnderFaults plays the demo's whole scenario twice against
// DynamoDB Local: once as it is, and once with every AWS operation failing
// once at a random point (a throttle, then a server error on its retry;
// the SDK does not retry, so the code meets each one), every event delivered
// three times in a shuffled order, and a failed invocation retried as Lambda
// and EventBridge do. The ledger must end the same, and every effect happen
// as many times: none twice, none lost. make test plays one seed of faults;
// make test-long twelve.
func TestScenarioUnderFaults(t *testing.T) {
	telemetrytest.DiscardLogs(t)
	clean := runScenario(t, newFaults(nil))
	if len(clean.effects) == 0 || len(clean.state) == 0 {
		t.Fatalf("the clean run did nothing: %d effects, %d records", len(clean.effects), len(clean.state))
	}
	var seeds []uint64
	for seed := range longtest.Size(t, "seeds of faults", uint64(1), uint64(12)) {
		seeds = append(seeds, seed+1)
	}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			f := newFaults(planFrom(clean.calls, rng))
			faulty := runScenario(t, f, withDelivery(3, 20, rng))

			if !slices.Equal(faulty.state, clean.state) {
				t.Errorf("the ledger's end state differs from the clean run's:\n%s", diffLines(clean.state, faulty.state))
			}
			var dup, lost []string
			for _, k := range slices.Sorted(maps.Keys(clean.effects)) {
				switch n, want := faulty.effects[k], clean.effects[k]; {
				case n > want:
					dup = append(dup, fmt.Sprintf("%s: %d, want %d", k, n, want))
				case n < want:
					lost = append(lost, fmt.Sprintf("%s: %d, want %d", k, n, want))
				}
			}
			for _, k := range slices.Sorted(maps.Keys(faulty.effects)) {
				if _, ok := clean.effects[k]; !ok {
					dup = append(dup, fmt.Sprintf("%s: %d, want none", k, faulty.effects[k]))
				}
			}
			for _, d := range dup {
				t.Errorf("duplicate effect %s", d)
			}
			for _, l := range lost {
				t.Errorf("lost effect %s", l)
			}
			byKind := map[string]int{}
			for k, n := range faulty.effects {
				op, _, _ := strings.Cut(k, " ")
				byKind[op] += n
			}
			t.Logf("figure: faults, seed %d: %d calls failed (a throttle, then a server error, in each of %d operations), every event delivered 3 times shuffled; "+
				"ledger %d records as the clean run's; effects %v; %d duplicate, %d lost",
				seed, faulty.injected, len(f.plan), len(faulty.state), byKind, len(dup), len(lost))
		})
	}
}

// diffLines lists the lines only in want (-) and only in got (+).
func diffLines(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "- %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "+ %s\n", g)
		}
	}
	return b.String()
}
