package ledgertest_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/ledger/ledgertest"
	"github.com/highwayhq/highway/shared/policy"
)

// TestHistory generates 60 days of two apps, one with an approval before
// prod, and checks that the history holds together as Highway would have
// recorded it: the same every time, nothing at or after its end, every
// deployment run by its promotion and carrying its commit's time, every
// environment after the first receiving only what the one before ran
// successfully, and some of everything that goes wrong.
func TestHistory(t *testing.T) {
	p, err := policy.Parse([]byte(`version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: shop
    repository: shop
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
      - {name: staging, account: "222222222222", region: eu-west-1, soak: 30m}
      - {name: prod, account: "333333333333", region: eu-west-1, soak: 1h, approval: {approvers: [ana@example.com]}}
  - name: cart
    repository: cart
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
      - {name: prod, account: "333333333333", region: eu-west-1}
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := ledgertest.Activity{Days: 60, End: time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC), Releases: 3}
	recs := ledgertest.History(p, a)
	if again := ledgertest.History(p, a); !reflect.DeepEqual(recs, again) {
		t.Fatal("History() differs from one call to the next")
	}

	commits := map[string]*ledger.Commit{}
	promotions := map[string]*ledger.Promotion{}
	for _, r := range recs {
		if h := r.RecordHeader(); !h.At.Before(a.End) || h.At.Before(a.End.AddDate(0, 0, -a.Days)) {
			t.Errorf("%T %s at %s, want within the %d days before %s", r, h.ID, h.At, a.Days, a.End)
		}
		switch r := r.(type) {
		case *ledger.Commit:
			commits[r.ID] = r
		case *ledger.Promotion:
			promotions[r.ID] = r
		}
	}
	// ran is, by app/env, the digests deployed there successfully so far.
	ran := map[string]map[string]bool{}
	var failed, incidents, open, rollbacks, deploying int
	for _, r := range recs {
		switch r := r.(type) {
		case *ledger.Deployment:
			pr := promotions[r.PromotionID]
			c := commits[r.Commit]
			if pr == nil || pr.Env != r.Env || pr.Digest != r.Digest || c == nil || !r.CommittedAt[r.Commit].Equal(c.CommittedAt) ||
				!r.FinishedAt.Before(a.End) {
				t.Errorf("deployment %s: promotion %+v, commit %+v; want its promotion and its commit's time", r.ID, pr, c)
				continue
			}
			if pr.From == r.Env {
				rollbacks++
			} else if pr.From != "" && !ran[r.App+"/"+pr.From][r.Digest] {
				t.Errorf("deployment %s of %s to %s: %s never ran it", r.ID, r.Digest, r.Env, pr.From)
			}
			if r.Status != ledger.DeploymentSuccess {
				failed++
				continue
			}
			if ran[r.App+"/"+r.Env] == nil {
				ran[r.App+"/"+r.Env] = map[string]bool{}
			}
			ran[r.App+"/"+r.Env][r.Digest] = true
		case *ledger.Incident:
			incidents++
			if r.ResolvedAt.IsZero() {
				open++
			} else if !r.ResolvedAt.Before(a.End) || r.ResolvedAt.Before(r.At) {
				t.Errorf("incident %s opened %s, resolved %s", r.ID, r.At, r.ResolvedAt)
			}
		case *ledger.Promotion:
			if r.Status == ledger.PromotionDeploying {
				deploying++
			}
		}
	}
	if failed == 0 || incidents == 0 || rollbacks == 0 || len(ran["shop/prod"]) == 0 || len(ran["cart/prod"]) == 0 {
		t.Errorf("%d failed deployments, %d incidents (%d open), %d rollbacks, %d and %d digests in prod; want some of each",
			failed, incidents, open, rollbacks, len(ran["shop/prod"]), len(ran["cart/prod"]))
	}

	// Every record has a key of its own: the ledger takes them all.
	l := ledger.NewMemory()
	if err := ledgertest.Fill(context.Background(), l, recs); err != nil {
		t.Fatalf("Fill() = %v", err)
	}
	deps, err := l.Deployments(context.Background(), "shop", "prod", a.End.AddDate(0, 0, -a.Days), a.End)
	if err != nil || len(deps) == 0 {
		t.Errorf("Deployments(shop, prod) after Fill = %d, %v", len(deps), err)
	}
}
