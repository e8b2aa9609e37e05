package respond

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// guards over a memory ledger that shares the guards' clock.
func memoryGuards(a *policy.Alarms) (*Guards, ledger.Ledger, *clocktest.Clock) {
	c := clocktest.New(time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC))
	l := ledger.NewMemory(ledger.WithClock(c.Now))
	return NewGuards(l, a, c.Now), l, c
}

// A guard's token stays its holder's: the retry of an action that took it
// has it still, and no one else does.
func TestTokensStayTheirHolders(t *testing.T) {
	g, _, _ := memoryGuards(&policy.Alarms{MaxActionsPerHour: 2})
	ctx := context.Background()
	const alarm = "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx"
	tests := []struct {
		name   string
		take   func(holder string) (bool, error)
		holder string
		want   bool
	}{
		{"cooldown taken", func(h string) (bool, error) { return g.Cooldown(ctx, alarm, "rb", 0, 0, h) }, "r-1", true},
		{"cooldown again by its holder", func(h string) (bool, error) { return g.Cooldown(ctx, alarm, "rb", 0, 0, h) }, "r-1", true},
		{"cooldown by another", func(h string) (bool, error) { return g.Cooldown(ctx, alarm, "rb", 0, 0, h) }, "r-2", false},
		{"slot taken", func(h string) (bool, error) { return g.Slot(ctx, "checkout", "prod", h) }, "r-1", true},
		{"slot again by its holder", func(h string) (bool, error) { return g.Slot(ctx, "checkout", "prod", h) }, "r-1", true},
		{"the other slot", func(h string) (bool, error) { return g.Slot(ctx, "checkout", "prod", h) }, "r-2", true},
		{"the first slot again by its holder", func(h string) (bool, error) { return g.Slot(ctx, "checkout", "prod", h) }, "r-1", true},
		{"no slot left", func(h string) (bool, error) { return g.Slot(ctx, "checkout", "prod", h) }, "r-3", false},
	}
	for _, tt := range tests {
		got, err := tt.take(tt.holder)
		if err != nil || got != tt.want {
			t.Errorf("%s: take(%s) = %v, %v; want %v", tt.name, tt.holder, got, err, tt.want)
		}
	}
}

func TestCooldown(t *testing.T) {
	g, _, c := memoryGuards(&policy.Alarms{Cooldown: 20 * time.Minute})
	ctx := context.Background()
	const alarm = "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx"
	steps := []struct {
		after  time.Duration
		action int
		own    time.Duration // the runbook's cooldown
		want   bool
	}{
		{0, 0, 0, true},
		{5 * time.Minute, 0, 0, false},          // cooling down
		{0, 1, 0, true},                         // another action of the runbook has its own
		{16 * time.Minute, 0, 0, true},          // 21 minutes after the first
		{0, 2, time.Hour, true},                 // a runbook's own cooldown
		{30 * time.Minute, 2, time.Hour, false}, // still within its hour
		{31 * time.Minute, 2, time.Hour, true},  // past it
	}
	for i, s := range steps {
		c.Advance(s.after)
		got, err := g.Cooldown(ctx, alarm, "checkout-prod-errors", s.action, s.own, fmt.Sprintf("r-%d", i))
		if err != nil || got != s.want {
			t.Errorf("step %d: Cooldown(action %d) = %v, %v; want %v", i, s.action, got, err, s.want)
		}
	}
}

func TestSlotsBoundActionsPerHour(t *testing.T) {
	g, _, c := memoryGuards(&policy.Alarms{MaxActionsPerHour: 3})
	ctx := context.Background()
	var got []bool
	for i := range 4 {
		ok, err := g.Slot(ctx, "checkout", "prod", fmt.Sprintf("r-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
		c.Advance(10 * time.Minute)
	}
	if fmt.Sprint(got) != "[true true true false]" {
		t.Errorf("four actions within 40 minutes: %v, want the first three", got)
	}
	if ok, _ := g.Slot(ctx, "checkout", "dev", "r-dev"); !ok {
		t.Error("another environment has its own slots")
	}
	c.Advance(25 * time.Minute) // an hour after the first action
	if ok, _ := g.Slot(ctx, "checkout", "prod", "r-4"); !ok {
		t.Error("an hour after the first action, its slot is free again")
	}
	if ok, _ := g.Slot(ctx, "checkout", "prod", "r-5"); ok {
		t.Error("the other two slots are still taken")
	}
}

// Twenty alarm deliveries race for an environment's slots in DynamoDB Local:
// exactly the limit act.
func TestSlotsUnderConcurrencyInDynamoDB(t *testing.T) {
	db := localaws.DynamoDB(t)
	l := ledger.NewDynamo(db, localaws.LedgerTable(t, db))
	g := NewGuards(l, &policy.Alarms{MaxActionsPerHour: 6}, nil)
	var (
		wg    sync.WaitGroup
		acted atomic.Int32
		errs  atomic.Int32
	)
	for i := range 20 {
		wg.Go(func() {
			ok, err := g.Slot(context.Background(), "checkout", "prod", fmt.Sprintf("r-%02d", i))
			if err != nil {
				t.Errorf("Slot(r-%02d) = %v", i, err)
				errs.Add(1)
			}
			if ok {
				acted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := acted.Load(); n != 6 || errs.Load() != 0 {
		t.Errorf("%d of 20 concurrent deliveries acted (%d errors), want exactly 6", n, errs.Load())
	}
}

func TestBreakerOpensAfterFailures(t *testing.T) {
	g, l, c := memoryGuards(&policy.Alarms{Breaker: policy.Breaker{Failures: 2, Window: 30 * time.Minute}})
	ctx := context.Background()
	seq := 0
	remediate := func(env string, failed bool) {
		t.Helper()
		seq++
		r := &ledger.Remediation{Header: ledger.Header{ID: fmt.Sprintf("r-%d", seq), App: "checkout", Env: env, At: c.Now()},
			IncidentID: "i-1", Action: "rollback", Failed: failed}
		if err := l.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	open := func() bool {
		t.Helper()
		ok, err := g.BreakerOpen(ctx, "checkout", "prod")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	remediate("prod", true)
	c.Advance(time.Minute)
	remediate("prod", false) // successes do not count
	remediate("dev", true)   // nor failures elsewhere
	if open() {
		t.Fatal("breaker open after one failure, want closed until two")
	}
	c.Advance(time.Minute)
	remediate("prod", true)
	if !open() {
		t.Fatal("breaker closed after two failures within 30 minutes, want open")
	}
	c.Advance(29 * time.Minute) // the first failure leaves the window
	if open() {
		t.Error("breaker open with one failure left in the window, want closed")
	}
}
