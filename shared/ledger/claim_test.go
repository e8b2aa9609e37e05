package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

func TestClaimsAgreeOnWhoMakesAStep(t *testing.T) {
	ctx := context.Background()
	l := ledger.NewMemory()
	now := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := &ledger.Claims{Ledger: l, Now: clock, Holder: "request-a", Lease: time.Minute}
	b := &ledger.Claims{Ledger: l, Now: clock, Holder: "request-b", Lease: time.Minute}
	const key, id = "test:announce:1", "announce/1"

	_, state, err := a.Claim(ctx, key, id, "checkout")
	if err != nil || state != ledger.ClaimHeld {
		t.Fatalf("first claim = %v, %v; want held", state, err)
	}
	if _, state, _ := b.Claim(ctx, key, id, "checkout"); state != ledger.ClaimBusy {
		t.Errorf("another delivery's claim within the lease = %v, want busy", state)
	}
	lock, state, err := a.Claim(ctx, key, id, "checkout")
	if err != nil || state != ledger.ClaimHeld {
		t.Fatalf("the holder's own retry = %v, %v; want held", state, err)
	}
	a.Release(ctx, lock)
	_, state, err = b.Claim(ctx, key, id, "checkout")
	if err != nil || state != ledger.ClaimHeld {
		t.Fatalf("claim after a release = %v, %v; want held", state, err)
	}
	now = now.Add(2 * time.Minute) // b dies holding it; its lease ends
	lock, state, err = a.Claim(ctx, key, id, "checkout")
	if err != nil || state != ledger.ClaimHeld {
		t.Fatalf("claim past the lease = %v, %v; want held", state, err)
	}
	if err := a.Done(ctx, lock); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*ledger.Claims{a, b} {
		if _, state, _ := c.Claim(ctx, key, id, "checkout"); state != ledger.ClaimDone {
			t.Errorf("%s's claim of a done step = %v, want done", c.Holder, state)
		}
	}
}

func TestOnceMakesAStepOnceAndRetriesAFailedOne(t *testing.T) {
	ctx := context.Background()
	l := ledger.NewMemory()
	c := &ledger.Claims{Ledger: l, Holder: "request-a", Lease: time.Minute}
	made, fail := 0, true
	step := func() error {
		if fail {
			return errors.New("bus unavailable")
		}
		made++
		return nil
	}
	if done, err := c.Once(ctx, "test:step", "step", "checkout", step); done || err == nil {
		t.Fatalf("failed step = %v, %v; want not done and its error", done, err)
	}
	fail = false
	other := &ledger.Claims{Ledger: l, Holder: "request-b", Lease: time.Minute}
	for _, d := range []*ledger.Claims{other, c, other} {
		if done, err := d.Once(ctx, "test:step", "step", "checkout", step); !done || err != nil {
			t.Fatalf("%s: Once() = %v, %v; want done", d.Holder, done, err)
		}
	}
	if made != 1 {
		t.Errorf("step made %d times, want once", made)
	}
}
