package gating

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// deliveryKey names a delivery in its context, for interleaved.
type deliveryKey struct{}

// interleaved is a ledger through which a test interleaves two deliveries
// deterministically: right after the delivery named "first" has made a call
// that matches at (or, with at "published", has published the announcement),
// it runs then, before the first delivery sees the call's result. A then that
// panics with errCrash stands for the first delivery's process dying there.
type interleaved struct {
	ledger.Ledger
	at    func(op string, rec ledger.Record) bool
	then  func()
	fired bool
}

var errCrash = errors.New("the function crashed")

func (l *interleaved) after(ctx context.Context, op string, rec ledger.Record) {
	if !l.fired && ctx.Value(deliveryKey{}) == "first" && l.at(op, rec) {
		l.fired = true
		l.then()
	}
}

func (l *interleaved) Update(ctx context.Context, rec ledger.Record) error {
	err := l.Ledger.Update(ctx, rec)
	if err == nil {
		l.after(ctx, "Update", rec)
	}
	return err
}

func (l *interleaved) RecordOnce(ctx context.Context, key string, ttl time.Duration, rec ledger.Record) (ledger.Record, bool, error) {
	stored, created, err := l.Ledger.RecordOnce(ctx, key, ttl, rec)
	if err == nil {
		l.after(ctx, "RecordOnce", stored)
	}
	return stored, created, err
}

// The points of the first delivery at which the second one runs.
var (
	// decisionRecorded: the first delivery has recorded the decision (or
	// found it), and settles nothing yet.
	decisionRecorded = func(op string, rec ledger.Record) bool {
		_, ok := rec.(*ledger.GateDecision)
		return op == "RecordOnce" && ok
	}
	// claimed: the first delivery has claimed the decision.
	claimed = func(op string, rec ledger.Record) bool {
		l, ok := rec.(*ledger.Lock)
		return op == "RecordOnce" && ok && l.Holder != ""
	}
	// published: the first delivery has published the announcement, and not
	// yet recorded it (the publisher's hook, not the ledger's).
	published = func(op string, _ ledger.Record) bool { return op == "Publish" }
	// announced: the first delivery has recorded the announcement, and not
	// yet enforced the decision.
	announced = func(op string, rec ledger.Record) bool {
		d, ok := rec.(*ledger.GateDecision)
		return op == "Update" && ok && d.Announced && !d.Enforced
	}
)

// gateHandler is one of the two handlers, ready to deliver its sample event
// to a fixture, with a settable clock.
type gateHandler struct {
	name string
	// prepare stores the artifact and stubs, and returns the delivery and
	// the handler's clock.
	prepare func(t *testing.T, f *fixture) (deliver func(context.Context) error, now *func() time.Time)
	// enforcement is the operation that enforces a failed decision.
	enforcement string
	// commit is the commit the decision is filed under.
	commit string
}

var gateHandlers = []gateHandler{
	{
		name: "build",
		prepare: func(t *testing.T, f *fixture) (func(context.Context) error, *func() time.Time) {
			f.artifact(t, failedKey, map[string]string{"reports/junit/unit.xml": junitFail})
			h := f.builds()
			ev := localaws.Sample[events.CloudWatchEvent](t, "codebuild-build-failed.json")
			return func(ctx context.Context) error { _, err := h.Handle(ctx, ev); return err }, &h.now
		},
		enforcement: "StopPipelineExecution",
		commit:      "4032766a1f4d50cd05796f97468fa2761db7ef23",
	},
	{
		name: "job",
		prepare: func(t *testing.T, f *fixture) (func(context.Context) error, *func() time.Time) {
			f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitFail})
			f.aws.On("PutJobFailureResult", awsfake.JSON(200, `{}`))
			h := f.jobs()
			ev := localaws.Sample[events.CodePipelineJobEvent](t, "codepipeline-job.json")
			return func(ctx context.Context) error { _, err := h.Handle(ctx, ev); return err }, &h.now
		},
		enforcement: "PutJobFailureResult",
		commit:      "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f",
	},
}

// ledgers are the two ledgers every race runs against: in memory, and in
// DynamoDB Local (skipped without it, unless services are required).
var ledgers = []struct {
	name string
	give func(t *testing.T) ledger.Ledger
}{
	{"memory", func(*testing.T) ledger.Ledger { return ledger.NewMemory() }},
	{"dynamodb", func(t *testing.T) ledger.Ledger {
		client := localaws.DynamoDB(t)
		return ledger.NewDynamo(client, localaws.LedgerTable(t, client))
	}},
}

// Two deliveries of the same event that race settle the decision once: one
// "Gate Decided" event, one notification, one stop or job answer, whichever
// point of the first delivery the second one runs at. A delivery that finds
// the decision claimed does nothing and asks for a retry (ErrSettling); the
// retry of a delivery that died holding the claim does nothing while the
// claim may still be alive, then takes it over and finishes what was not
// recorded done.
func TestRacingDeliveriesSettleOnce(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   func(op string, rec ledger.Record) bool
		// crash: the first delivery dies at that point instead.
		crash bool
		// wantSecond is the error of the second delivery (nil: none).
		wantSecond error
	}{
		{name: "the second runs between the first's decision and its claim", at: decisionRecorded},
		{name: "the second runs while the first holds the claim", at: claimed, wantSecond: ErrSettling},
		{name: "the second runs after the first published the announcement, before recording it", at: published, wantSecond: ErrSettling},
		{name: "the second runs after the first announced, before it enforced", at: announced, wantSecond: ErrSettling},
		{name: "the first dies after announcing; its retry resumes once the claim expires", at: announced, crash: true},
	}
	for _, gh := range gateHandlers {
		for _, lg := range ledgers {
			for _, tt := range tests {
				t.Run(gh.name+"/"+lg.name+"/"+tt.name, func(t *testing.T) {
					// GIVEN a failing build's event, and a ledger that runs
					// the second delivery at the point of the first under test
					f := newFixture(t)
					il := &interleaved{Ledger: lg.give(t), at: tt.at}
					f.ledger = il
					f.pub.after = func(ctx context.Context) { il.after(ctx, "Publish", nil) }
					deliver, now := gh.prepare(t, f)
					clock := start
					*now = func() time.Time { return clock }
					first := context.WithValue(context.Background(), deliveryKey{}, "first")
					second := context.WithValue(context.Background(), deliveryKey{}, "second")
					var secondErr error
					il.then = func() {
						if tt.crash {
							panic(errCrash)
						}
						secondErr = deliver(second)
					}

					// WHEN the first delivery runs, with the second inside it
					// (or dying), then a redelivery
					firstErr, crashed := deliverOrCrash(first, deliver)
					if !il.fired {
						t.Fatal("the first delivery never reached the point under test")
					}
					switch {
					case tt.crash && !crashed:
						t.Fatalf("the first delivery = %v, want it crashed", firstErr)
					case !tt.crash && firstErr != nil:
						t.Fatalf("the first delivery = %v, want no error", firstErr)
					case !errors.Is(secondErr, tt.wantSecond) || (tt.wantSecond == nil && secondErr != nil):
						t.Errorf("the second delivery = %v, want %v", secondErr, tt.wantSecond)
					}
					if tt.crash {
						// The retry comes while the dead delivery's claim may
						// still be alive: it does nothing. The next one comes
						// after it expired, and takes it over.
						if err := deliver(second); !errors.Is(err, ErrSettling) {
							t.Fatalf("the retry within the claim = %v, want %v", err, ErrSettling)
						}
						if n := len(f.aws.Invocations(gh.enforcement)); n != 0 {
							t.Fatalf("%s calls after the retry within the claim = %d, want 0", gh.enforcement, n)
						}
						clock = clock.Add(claimFor + time.Second)
					}
					if err := deliver(second); err != nil {
						t.Fatalf("the redelivery = %v, want no error", err)
					}

					// THEN each effect happened once, and the decision says so
					effects := map[string]int{
						"Gate Decided events":     len(f.pub.events),
						"SNS publishes":           len(f.aws.Invocations("Publish")),
						gh.enforcement + " calls": len(f.aws.Invocations(gh.enforcement)),
					}
					for what, n := range effects {
						if n != 1 {
							t.Errorf("%s = %d, want 1", what, n)
						}
					}
					ds := f.decisions(t, gh.commit)
					if len(ds) != 1 || !ds[0].Announced || !ds[0].Enforced || ds[0].Enforcement == "" {
						t.Errorf("decisions = %+v, want one, announced and enforced", ds)
					}
				})
			}
		}
	}
}

// deliverOrCrash runs deliver, and says whether it crashed (panicked with
// errCrash) instead of returning.
func deliverOrCrash(ctx context.Context, deliver func(context.Context) error) (err error, crashed bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != errCrash {
				panic(r)
			}
			crashed = true
		}
	}()
	return deliver(ctx), false
}
