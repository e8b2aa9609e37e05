package promotion

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// interleaved is a ledger on which another delivery runs at one chosen
// moment of the delivery under test: right after its first read of an
// environment's promotions, before it writes what it decided from them.
type interleaved struct {
	ledger.Ledger
	other func() // run once, then nil
}

func (l *interleaved) Promotions(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Promotion, error) {
	ps, err := l.Ledger.Promotions(ctx, app, env, from, to)
	if other := l.other; other != nil {
		l.other = nil
		other()
	}
	return ps, err
}

// lockHolder is the promotion holding an app's environment, "" for none.
func (f *fixture) lockHolder(t testing.TB, env string) string {
	t.Helper()
	rec, err := f.l.Latest(context.Background(), ledger.KindLock, "checkout/"+env)
	if errors.Is(err, ledger.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return rec.(*ledger.Lock).Holder
}

// fresh is the promotion of digest into env as the ledger holds it now, as
// another delivery reads it.
func (f *fixture) fresh(t testing.TB, env, digest string) *ledger.Promotion {
	t.Helper()
	for _, pr := range f.promotions(t, env) {
		if pr.Digest == digest {
			return pr
		}
	}
	t.Fatalf("no promotion of %s into %s", digest, env)
	return nil
}

// Two deliveries interleave on staging (a pipeline: its deployment waits for
// the completion event): the one under test reads the promotions, the other
// then moves one of them on, and the first writes what it decided from its
// stale read. That write must fail and change nothing: it must not free the
// environment of a promotion that is deploying, nor act as if it had ended it.
// Each case runs on the in-memory ledger and on DynamoDB Local.
func TestStaleEndKeepsTheEnvironmentLocked(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// requested are the digests requested into staging, a minute apart.
		requested []string
		// stalled claims the first requested for deployment lockTTL ago, as a
		// function that stopped before it had a handle.
		stalled bool
		// started has an earlier delivery start the first requested's
		// deployment.
		started bool
		// other is the second delivery, run after the first delivery read
		// staging's promotions.
		other func(t *testing.T, f *fixture)
		// first is the delivery under test.
		first func(t *testing.T, f *fixture) error

		wantDeploying string   // the digest deploying afterwards ("" none), which holds the lock
		wantDeployed  []string // the digests staging's deployer was called with
		wantFinished  int      // Deployment Finished events
	}{
		{
			name:      "a newer artifact supersedes one the other delivery is deploying",
			requested: []string{digest, other},
			other: func(t *testing.T, f *fixture) {
				app, staging := f.env(t, "staging")
				if ok, err := f.p.Deploy(ctx, app, staging, f.fresh(t, "staging", digest)); err != nil || !ok {
					t.Fatalf("the other delivery's Deploy = %v, %v", ok, err)
				}
			},
			first: func(t *testing.T, f *fixture) error {
				app, staging := f.env(t, "staging")
				return f.p.Advance(ctx, app, staging)
			},
			wantDeploying: digest,
			wantDeployed:  []string{digest},
		},
		{
			name:      "an artifact quarantined while the other delivery deploys it is refused",
			requested: []string{digest},
			other: func(t *testing.T, f *fixture) {
				app, staging := f.env(t, "staging")
				if ok, err := f.p.Deploy(ctx, app, staging, f.fresh(t, "staging", digest)); err != nil || !ok {
					t.Fatalf("the other delivery's Deploy = %v, %v", ok, err)
				}
				if err := f.p.Quarantine(ctx, digest, "CVE found after release"); err != nil {
					t.Fatal(err)
				}
			},
			first: func(t *testing.T, f *fixture) error {
				app, staging := f.env(t, "staging")
				return f.p.Advance(ctx, app, staging)
			},
			wantDeploying: digest,
			wantDeployed:  []string{digest},
		},
		{
			name:      "a stalled deployment is confirmed after it was read stalled",
			requested: []string{digest, other},
			stalled:   true,
			other: func(t *testing.T, f *fixture) {
				pr := f.fresh(t, "staging", digest)
				pr.Handle = "h-late"
				if err := f.l.Update(ctx, pr); err != nil {
					t.Fatal(err)
				}
			},
			first: func(t *testing.T, f *fixture) error {
				app, staging := f.env(t, "staging")
				return f.p.Advance(ctx, app, staging)
			},
			wantDeploying: digest,
		},
		{
			// The first delivery takes the lock, free again, for a promotion
			// that has ended; its claim is stale, and must not keep it.
			name:      "a promotion the other delivery deployed and finished is claimed from a stale read",
			requested: []string{digest},
			other: func(t *testing.T, f *fixture) {
				app, staging := f.env(t, "staging")
				if ok, err := f.p.Deploy(ctx, app, staging, f.fresh(t, "staging", digest)); err != nil || !ok {
					t.Fatalf("the other delivery's Deploy = %v, %v", ok, err)
				}
				if ours, err := f.p.Finished(ctx, app, staging, "h-staging-1", true, "pipeline succeeded"); err != nil || !ours {
					t.Fatalf("the other delivery's Finished = %v, %v", ours, err)
				}
			},
			first: func(t *testing.T, f *fixture) error {
				app, staging := f.env(t, "staging")
				return f.p.Advance(ctx, app, staging)
			},
			wantDeployed: []string{digest},
			wantFinished: 1,
		},
		{
			name:      "the completion event is delivered twice at once",
			requested: []string{digest},
			started:   true,
			other: func(t *testing.T, f *fixture) {
				app, staging := f.env(t, "staging")
				if ours, err := f.p.Finished(ctx, app, staging, "h-staging-1", true, "pipeline succeeded"); err != nil || !ours {
					t.Fatalf("the other delivery's Finished = %v, %v", ours, err)
				}
			},
			first: func(t *testing.T, f *fixture) error {
				app, staging := f.env(t, "staging")
				_, err := f.p.Finished(ctx, app, staging, "h-staging-1", true, "pipeline succeeded")
				return err
			},
			wantDeployed: []string{digest},
			wantFinished: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledgers(t, func(t *testing.T, base ledger.Ledger) {
				// GIVEN promotions requested into staging
				l := &interleaved{Ledger: base}
				f := newFixture(t, l)
				app, staging := f.env(t, "staging")
				for i, d := range tt.requested {
					a := f.register(t, commit[:39]+string(rune('a'+i)), d)
					if _, err := f.p.Request(ctx, a, staging, "dev", f.now); err != nil {
						t.Fatal(err)
					}
					f.now = f.now.Add(time.Minute)
				}
				if tt.stalled {
					pr := f.fresh(t, "staging", tt.requested[0])
					if held, err := f.p.lock(ctx, "checkout", "staging", pr.ID); err != nil || !held {
						t.Fatal(held, err)
					}
					pr.Status, pr.StartedAt = ledger.PromotionDeploying, f.now
					if err := f.l.Update(ctx, pr); err != nil {
						t.Fatal(err)
					}
					f.now = f.now.Add(lockTTL + time.Minute)
				}
				if tt.started {
					if err := f.p.Advance(ctx, app, staging); err != nil {
						t.Fatal(err)
					}
				}

				// WHEN the other delivery runs between the first one's read and
				// its write
				l.other = func() { tt.other(t, f) }
				if err := tt.first(t, f); err != nil {
					t.Fatalf("the first delivery = %v, want its stale write to stop it quietly", err)
				}

				// THEN at most the one promotion the other delivery left deploying
				// deploys, and it alone holds the environment
				var deploying []string
				holder := ""
				for _, pr := range f.promotions(t, "staging") {
					if pr.Status == ledger.PromotionDeploying {
						deploying = append(deploying, pr.Digest)
						holder = pr.ID
					}
				}
				if want := slices.DeleteFunc([]string{tt.wantDeploying}, func(s string) bool { return s == "" }); !slices.Equal(deploying, want) {
					t.Errorf("staging is deploying %v, want %v", deploying, want)
				}
				if got := f.lockHolder(t, "staging"); got != holder {
					t.Errorf("staging's lock is held by %q, want %q (the promotion deploying)", got, holder)
				}
				if got := f.dep.deployed("staging"); !slices.Equal(got, tt.wantDeployed) {
					t.Errorf("staging deployed %v, want %v", got, tt.wantDeployed)
				}
				finished := 0
				for _, ev := range f.bus.sent {
					if ev == DetailTypeDeploymentFinished {
						finished++
					}
				}
				if finished != tt.wantFinished {
					t.Errorf("%d %q events, want %d", finished, DetailTypeDeploymentFinished, tt.wantFinished)
				}
			})
		})
	}
}

// firstLockRace is a ledger on which, right after the delivery under test
// finds an environment without a lock, another delivery takes the lock.
type firstLockRace struct {
	ledger.Ledger
	other func() // run once, then nil
}

func (l *firstLockRace) Latest(ctx context.Context, k ledger.Kind, id string) (ledger.Record, error) {
	rec, err := l.Ledger.Latest(ctx, k, id)
	if other := l.other; k == ledger.KindLock && errors.Is(err, ledger.ErrNotFound) && other != nil {
		l.other = nil
		other()
	}
	return rec, err
}

// Two deliveries, a second apart, both find prod never locked: exactly one of
// them may take the lock (a lock filed under each taker's own time would give
// each its own).
func TestFirstLockHasOneHolder(t *testing.T) {
	ledgers(t, func(t *testing.T, l ledger.Ledger) {
		ctx := context.Background()
		race := &firstLockRace{Ledger: l}
		first, second := newFixture(t, race), newFixture(t, l)
		second.now = first.now.Add(time.Second)
		var secondHeld bool
		race.other = func() {
			var err error
			if secondHeld, err = second.p.lock(ctx, "checkout", "prod", "prm-second"); err != nil {
				t.Fatal(err)
			}
		}
		firstHeld, err := first.p.lock(ctx, "checkout", "prod", "prm-first")
		if err != nil {
			t.Fatal(err)
		}
		if firstHeld == secondHeld {
			t.Errorf("lock taken by the first: %v, by the second: %v; want exactly one holder", firstHeld, secondHeld)
		}
		if got := first.lockHolder(t, "prod"); got != "prm-second" {
			t.Errorf("prod's lock holder = %q, want prm-second, which took it first", got)
		}
	})
}
