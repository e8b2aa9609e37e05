// Package ledgertest is the contract every ledger.Ledger implementation meets. The
// memory and DynamoDB ledgers both run it, so the demo and the tests that use the
// memory ledger see the same behaviour as production. For the tests at platform
// size it also generates a ledger's history (History, Fill) and counts what a
// DynamoDB ledger reads and writes (Count).
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/clocktest"
	"github.com/highwayhq/highway/shared/ledger"
)

// NewLedger returns a fresh, empty ledger for one subtest, whose RecordOnce expiry
// follows the clock now.
type NewLedger func(t *testing.T, now func() time.Time) ledger.Ledger

// t0 is when every subtest's clock starts; records are placed around it.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Run runs the contract as subtests of t, one fresh ledger each.
func Run(t *testing.T, newLedger NewLedger) {
	tests := []struct {
		name string
		run  func(t *testing.T, l ledger.Ledger, c *clocktest.Clock)
	}{
		{"RoundTrip", testRoundTrip},
		{"PutExists", testPutExists},
		{"PutInvalid", testPutInvalid},
		{"ByCommit", testByCommit},
		{"ByDigest", testByDigest},
		{"Deployments", testDeployments},
		{"Incidents", testIncidents},
		{"OpenIncidents", testOpenIncidents},
		{"Remediations", testRemediations},
		{"RecordOnce", testRecordOnce},
		{"RecordOnceOtherKind", testRecordOnceOtherKind},
		{"RecordOnceConcurrent", testRecordOnceConcurrent},
		{"RecordOnceExpiry", testRecordOnceExpiry},
		{"Update", testUpdate},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"Latest", testLatest},
		{"RecordOnceSeesUpdates", testRecordOnceSeesUpdates},
		{"Promotions", testPromotions},
		{"ApprovalRequestAndLock", testApprovalRequestAndLock},
		{"CurrentDriftReports", testCurrentDriftReports},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(t0)
			tt.run(t, newLedger(t, c.Now), c)
		})
	}
}

const (
	sha1   = "4f2a9c1e0b7d3f5a6c8e9d0b1a2c3e4f5a6b7c8d"
	sha2   = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
	digest = "sha256:1c3f5e7a9b2d4f6e8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f"
	other  = "sha256:7b9d2f4a6c8e0b1d3f1c3f5e7a9b2d4f6e8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e"
)

// at is t0 plus d, with nanoseconds so precision loss shows.
func at(d time.Duration) time.Time { return t0.Add(d + 123456789) }

// samples returns one record of every kind, every field set, filed under sha1
// and/or digest.
func samples() []ledger.Record {
	return []ledger.Record{
		&ledger.Commit{
			Header: ledger.Header{ID: sha1, App: "shop", Commit: sha1, At: at(0)},
			Repo:   "shop", Branch: "main", Author: "Ana Lima <ana@example.com>",
			Message: "Cache product pages", CommittedAt: at(-time.Minute),
		},
		&ledger.Build{
			Header:  ledger.Header{ID: "shop-build:7d1c", App: "shop", Commit: sha1, At: at(time.Minute)},
			Project: "shop-build", Status: "SUCCEEDED",
			Phases: []ledger.BuildPhase{
				{Name: "INSTALL", Status: "SUCCEEDED", Duration: 12 * time.Second},
				{Name: "BUILD", Status: "SUCCEEDED", Duration: 95 * time.Second},
			},
			EndedAt: at(4 * time.Minute),
		},
		&ledger.GateDecision{
			Header:  ledger.Header{ID: "shop-build:7d1c", App: "shop", Commit: sha1, Digest: digest, At: at(5 * time.Minute)},
			Verdict: ledger.VerdictPass,
			Checks: []ledger.CheckResult{
				{Name: "lint", Input: "reports/lint.json", Threshold: 0, Observed: 0, Passed: true, Reason: "no violations"},
				{Name: "security", Input: "reports/trivy.json", Threshold: 0, Observed: 1, Reason: "1 high finding", Waived: true},
				{Name: "tests", Threshold: 120, Observed: 87.5, Passed: true, Reason: "87.5s within 120s"},
			},
		},
		&ledger.Artifact{
			Header: ledger.Header{ID: digest, App: "shop", Commit: sha1, Digest: digest, At: at(6 * time.Minute)},
			Type:   ledger.ArtifactS3, Bucket: "highway-artifacts", Key: "shop/" + digest + ".zip",
			ObjectVersion: "3HL4kqtJlcpXroDTDmJ", Quarantined: true,
		},
		&ledger.Promotion{
			Header: ledger.Header{ID: "promo-1", App: "shop", Env: "prod", Commit: sha1, Digest: digest, At: at(7 * time.Minute)},
			From:   "staging", Status: ledger.PromotionSucceeded, FinishedAt: at(20 * time.Minute),
		},
		&ledger.Approval{
			Header:      ledger.Header{ID: "appr-1", App: "shop", Env: "prod", Commit: sha1, Digest: digest, At: at(9 * time.Minute)},
			PromotionID: "promo-1", Approver: "ana@example.com", Decision: ledger.DecisionApproved,
		},
		&ledger.Deployment{
			Header:  ledger.Header{ID: "dep-1", App: "shop", Env: "prod", Commit: sha1, Digest: digest, At: at(10 * time.Minute)},
			Commits: []string{sha1, sha2}, PromotionID: "promo-1", Status: ledger.DeploymentSuccess,
			FinishedAt: at(19 * time.Minute), Duration: 9 * time.Minute,
			CommittedAt: map[string]time.Time{sha1: at(-time.Minute), sha2: at(-2 * time.Minute)},
		},
		&ledger.Incident{
			Header: ledger.Header{ID: "inc-1", App: "shop", Env: "prod", Digest: digest, At: at(30 * time.Minute)},
			Alarm:  "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-5xx", ResolvedAt: at(50 * time.Minute),
			DeploymentID: "dep-1",
		},
		&ledger.Remediation{
			Header:     ledger.Header{ID: "rem-1", App: "shop", Env: "prod", Digest: digest, At: at(31 * time.Minute)},
			IncidentID: "inc-1", Action: "rollback", DryRun: true, Result: "would roll back to the previous digest",
		},
		&ledger.DriftReport{
			Header: ledger.Header{ID: "drift-1", App: "shop", Env: "prod", Digest: digest, At: at(40 * time.Minute)},
			Stack:  "shop-prod", Status: "DRIFTED", Resources: 14,
			Drifted:        []ledger.DriftedResource{{LogicalID: "ApiFunction", Type: "AWS::Lambda::Function", Status: "MODIFIED"}},
			ExpectedDigest: other,
		},
	}
}

// describe lists records as kind/id, the shape the ordering tests compare.
func describe[T ledger.Record](recs []T) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		h := r.RecordHeader()
		out = append(out, string(h.Kind)+"/"+h.ID)
	}
	return out
}

func put(t *testing.T, l ledger.Ledger, recs ...ledger.Record) {
	t.Helper()
	for _, r := range recs {
		if err := l.Put(context.Background(), r); err != nil {
			t.Fatalf("Put(%s %s) = %v", r.RecordHeader().Kind, r.RecordHeader().ID, err)
		}
	}
}

// find returns the record of the given kind and id among recs, or nil.
func find(recs []ledger.Record, kind ledger.Kind, id string) ledger.Record {
	for _, r := range recs {
		if h := r.RecordHeader(); h.Kind == kind && h.ID == id {
			return r
		}
	}
	return nil
}

func testRoundTrip(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	wantKinds := []ledger.Kind{
		ledger.KindCommit, ledger.KindBuild, ledger.KindGateDecision, ledger.KindArtifact,
		ledger.KindPromotion, ledger.KindApproval, ledger.KindDeployment, ledger.KindIncident,
		ledger.KindRemediation, ledger.KindDriftReport,
	}
	recs := samples()
	put(t, l, recs...)
	byCommit, err := l.ByCommit(ctx, sha1)
	if err != nil {
		t.Fatalf("ByCommit(%s) = %v", sha1, err)
	}
	byDigest, err := l.ByDigest(ctx, digest)
	if err != nil {
		t.Fatalf("ByDigest(%s) = %v", digest, err)
	}
	for i, give := range recs {
		h := give.RecordHeader()
		t.Run(string(wantKinds[i]), func(t *testing.T) {
			if h.Kind != wantKinds[i] || h.Version != 1 {
				t.Errorf("after Put: kind %q version %d, want %q version 1", h.Kind, h.Version, wantKinds[i])
			}
			got := find(byCommit, h.Kind, h.ID)
			if h.Commit == "" {
				got = find(byDigest, h.Kind, h.ID)
			}
			if !reflect.DeepEqual(got, give) {
				t.Errorf("read back %s %s:\n got %+v\nwant %+v", h.Kind, h.ID, got, give)
			}
		})
	}
}

func testPutExists(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	first := &ledger.Build{Header: ledger.Header{ID: "b-1", Commit: sha1, At: at(0)}, Project: "shop", Status: "IN_PROGRESS"}
	again := &ledger.Build{Header: ledger.Header{ID: "b-1", Commit: sha1, At: at(0)}, Project: "shop", Status: "FAILED"}
	put(t, l, first)
	if err := l.Put(context.Background(), again); !errors.Is(err, ledger.ErrExists) {
		t.Fatalf("second Put(b-1) = %v, want ErrExists", err)
	}
	got, err := l.ByCommit(context.Background(), sha1)
	if err != nil || len(got) != 1 || got[0].(*ledger.Build).Status != "IN_PROGRESS" {
		t.Fatalf("ByCommit after refused Put = %v, %v, want only the first build", describe(got), err)
	}
}

func testPutInvalid(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	tests := []struct {
		name string
		give ledger.Record
	}{
		{"no id", &ledger.Build{Header: ledger.Header{Commit: sha1, At: at(0)}}},
		{"no time", &ledger.Build{Header: ledger.Header{ID: "b-1", Commit: sha1}}},
		{"hash in app", &ledger.Deployment{Header: ledger.Header{ID: "d-1", App: "a#b", Env: "prod", At: at(0)}}},
		{"hash in env", &ledger.Deployment{Header: ledger.Header{ID: "d-1", App: "shop", Env: "x#y", At: at(0)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.Put(context.Background(), tt.give); !errors.Is(err, ledger.ErrInvalid) {
				t.Errorf("Put(%+v) = %v, want ErrInvalid", tt.give, err)
			}
		})
	}
}

func testByCommit(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	// Written out of time order, interleaved with another commit and unfiled records.
	put(t, l,
		&ledger.Deployment{Header: ledger.Header{ID: "d-1", App: "shop", Env: "dev", Commit: sha1, At: at(3 * time.Minute)}},
		&ledger.Commit{Header: ledger.Header{ID: sha2, Commit: sha2, At: at(0)}},
		&ledger.Build{Header: ledger.Header{ID: "b-1", Commit: sha1, At: at(time.Minute)}},
		&ledger.Commit{Header: ledger.Header{ID: sha1, Commit: sha1, At: at(0)}},
		&ledger.Build{Header: ledger.Header{ID: "b-2", Commit: sha2, At: at(time.Minute)}},
		&ledger.Incident{Header: ledger.Header{ID: "i-1", App: "shop", Env: "dev", At: at(2 * time.Minute)}},
		&ledger.GateDecision{Header: ledger.Header{ID: "b-1", Commit: sha1, At: at(2 * time.Minute)}},
		&ledger.Build{Header: ledger.Header{ID: "b-0", Commit: sha1, At: at(time.Minute - time.Nanosecond)}},
	)
	tests := []struct {
		give string
		want []string
	}{
		{sha1, []string{"commit/" + sha1, "build/b-0", "build/b-1", "gateDecision/b-1", "deployment/d-1"}},
		{sha2, []string{"commit/" + sha2, "build/b-2"}},
		{"0000000000000000000000000000000000000000", []string{}},
	}
	for _, tt := range tests {
		got, err := l.ByCommit(ctx, tt.give)
		if err != nil || !reflect.DeepEqual(describe(got), tt.want) {
			t.Errorf("ByCommit(%s) = %v, %v, want %v", tt.give, describe(got), err, tt.want)
		}
	}
	if _, err := l.ByCommit(ctx, ""); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("ByCommit(\"\") = %v, want ErrInvalid", err)
	}
}

func testByDigest(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	put(t, l,
		&ledger.Deployment{Header: ledger.Header{ID: "d-2", App: "shop", Env: "prod", Commit: sha1, Digest: digest, At: at(time.Hour)}},
		&ledger.Artifact{Header: ledger.Header{ID: digest, Commit: sha1, Digest: digest, At: at(0)}, Type: ledger.ArtifactImage},
		&ledger.Artifact{Header: ledger.Header{ID: other, Commit: sha2, Digest: other, At: at(0)}, Type: ledger.ArtifactImage},
		&ledger.Remediation{Header: ledger.Header{ID: "r-1", App: "shop", Env: "prod", Digest: digest, At: at(2 * time.Hour)}},
		&ledger.Deployment{Header: ledger.Header{ID: "d-1", App: "shop", Env: "dev", Commit: sha1, Digest: digest, At: at(time.Minute)}},
		&ledger.Build{Header: ledger.Header{ID: "b-1", Commit: sha1, At: at(-time.Minute)}},
		&ledger.Deployment{Header: ledger.Header{ID: "d-3", App: "shop", Env: "dev", Commit: sha2, Digest: other, At: at(time.Minute)}},
	)
	tests := []struct {
		give string
		want []string
	}{
		{digest, []string{"artifact/" + digest, "deployment/d-1", "deployment/d-2", "remediation/r-1"}},
		{other, []string{"artifact/" + other, "deployment/d-3"}},
		{"sha256:none", []string{}},
	}
	for _, tt := range tests {
		got, err := l.ByDigest(ctx, tt.give)
		if err != nil || !reflect.DeepEqual(describe(got), tt.want) {
			t.Errorf("ByDigest(%s) = %v, %v, want %v", tt.give, describe(got), err, tt.want)
		}
	}
}

func testDeployments(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	dep := func(id, app, env string, d time.Duration) *ledger.Deployment {
		return &ledger.Deployment{
			Header: ledger.Header{ID: id, App: app, Env: env, Commit: sha1, At: t0.Add(d)},
			Status: ledger.DeploymentSuccess,
		}
	}
	put(t, l,
		dep("d-3", "shop", "prod", 3*time.Hour),
		dep("d-0", "shop", "prod", 0),
		dep("d-2", "shop", "prod", 2*time.Hour),
		dep("d-1", "shop", "prod", time.Hour),
		dep("staging", "shop", "staging", time.Hour),
		dep("cart", "cart", "prod", time.Hour),
		&ledger.Incident{Header: ledger.Header{ID: "i-1", App: "shop", Env: "prod", At: t0.Add(time.Hour)}},
	)
	tests := []struct {
		name     string
		app, env string
		from, to time.Time
		want     []string
	}{
		{"all", "shop", "prod", t0, t0.Add(4 * time.Hour), []string{"deployment/d-0", "deployment/d-1", "deployment/d-2", "deployment/d-3"}},
		{"from is inclusive", "shop", "prod", t0.Add(time.Hour), t0.Add(4 * time.Hour), []string{"deployment/d-1", "deployment/d-2", "deployment/d-3"}},
		{"to is exclusive", "shop", "prod", t0, t0.Add(3 * time.Hour), []string{"deployment/d-0", "deployment/d-1", "deployment/d-2"}},
		{"a nanosecond past to", "shop", "prod", t0.Add(2 * time.Hour), t0.Add(3*time.Hour + 1), []string{"deployment/d-2", "deployment/d-3"}},
		{"a nanosecond past from", "shop", "prod", t0.Add(1), t0.Add(2 * time.Hour), []string{"deployment/d-1"}},
		{"empty range", "shop", "prod", t0.Add(time.Hour), t0.Add(time.Hour), []string{}},
		{"reversed range", "shop", "prod", t0.Add(3 * time.Hour), t0, []string{}},
		{"other env", "shop", "staging", t0, t0.Add(4 * time.Hour), []string{"deployment/staging"}},
		{"other app", "cart", "prod", t0, t0.Add(4 * time.Hour), []string{"deployment/cart"}},
		{"non-UTC bounds", "shop", "prod", t0.Add(time.Hour).In(time.FixedZone("CET", 3600)), t0.Add(2 * time.Hour).In(time.FixedZone("PST", -8*3600)), []string{"deployment/d-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Deployments(context.Background(), tt.app, tt.env, tt.from, tt.to)
			if err != nil || !reflect.DeepEqual(describe(got), tt.want) {
				t.Errorf("Deployments(%s, %s, %v, %v) = %v, %v, want %v", tt.app, tt.env, tt.from, tt.to, describe(got), err, tt.want)
			}
		})
	}
}

func testIncidents(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	inc := func(id, env string, d time.Duration) *ledger.Incident {
		return &ledger.Incident{Header: ledger.Header{ID: id, App: "shop", Env: env, At: t0.Add(d)}, Alarm: "shop-5xx"}
	}
	put(t, l,
		inc("i-2", "prod", 2*time.Hour),
		inc("i-0", "prod", 0),
		inc("i-1", "prod", time.Hour),
		inc("dev", "dev", time.Hour),
		&ledger.Deployment{Header: ledger.Header{ID: "d-1", App: "shop", Env: "prod", At: t0.Add(time.Hour)}},
	)
	tests := []struct {
		name     string
		env      string
		from, to time.Time
		want     []string
	}{
		{"all", "prod", t0, t0.Add(3 * time.Hour), []string{"incident/i-0", "incident/i-1", "incident/i-2"}},
		{"from is inclusive, to exclusive", "prod", t0.Add(time.Hour), t0.Add(2 * time.Hour), []string{"incident/i-1"}},
		{"other env", "dev", t0, t0.Add(3 * time.Hour), []string{"incident/dev"}},
		{"before any", "prod", t0.Add(-time.Hour), t0, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Incidents(context.Background(), "shop", tt.env, tt.from, tt.to)
			if err != nil || !reflect.DeepEqual(describe(got), tt.want) {
				t.Errorf("Incidents(shop, %s, %v, %v) = %v, %v, want %v", tt.env, tt.from, tt.to, describe(got), err, tt.want)
			}
		})
	}
}

func testOpenIncidents(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	shop := &ledger.Incident{Header: ledger.Header{ID: "i-shop", App: "shop", Env: "prod", At: at(time.Hour)}, Alarm: "shop-5xx"}
	cart := &ledger.Incident{Header: ledger.Header{ID: "i-cart", App: "cart", Env: "dev", At: at(0)}, Alarm: "cart-latency"}
	closed := &ledger.Incident{Header: ledger.Header{ID: "i-closed", App: "shop", Env: "prod", At: at(-time.Hour)}, Alarm: "shop-5xx", ResolvedAt: at(-time.Minute)}
	put(t, l, shop, closed, cart)

	open := func(step string, want ...string) {
		t.Helper()
		got, err := l.OpenIncidents(ctx)
		if want == nil {
			want = []string{}
		}
		if err != nil || !reflect.DeepEqual(describe(got), want) {
			t.Errorf("%s: OpenIncidents() = %v, %v, want %v", step, describe(got), err, want)
		}
	}
	open("opened", "incident/i-cart", "incident/i-shop")

	shop.ResolvedAt = at(2 * time.Hour)
	if err := l.Update(ctx, shop); err != nil {
		t.Fatalf("Update(resolve i-shop) = %v", err)
	}
	open("i-shop resolved", "incident/i-cart")

	cart.ResolvedAt = at(time.Hour)
	if err := l.Update(ctx, cart); err != nil {
		t.Fatalf("Update(resolve i-cart) = %v", err)
	}
	open("all resolved")

	// Resolving takes an incident out of the open index only.
	got, err := l.Incidents(ctx, "shop", "prod", t0.Add(-2*time.Hour), t0.Add(3*time.Hour))
	if err != nil || len(got) != 2 || !got[1].ResolvedAt.Equal(at(2*time.Hour)) {
		t.Errorf("Incidents(shop, prod) after resolve = %v, %v, want i-closed and resolved i-shop", describe(got), err)
	}
}

func testRecordOnce(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	const key = "alarm:arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-5xx:ALARM:2026-03-02T09:00:00Z"
	first := &ledger.Incident{Header: ledger.Header{ID: "i-1", App: "shop", Env: "prod", At: at(0)}, Alarm: "shop-5xx"}
	got, created, err := ledger.RecordOnce(ctx, l, key, time.Hour, first)
	if err != nil || !created || got != first {
		t.Fatalf("RecordOnce(first) = %p, %v, %v, want the record given, created", got, created, err)
	}

	redelivered := &ledger.Incident{Header: ledger.Header{ID: "i-2", App: "shop", Env: "prod", At: at(time.Second)}, Alarm: "shop-5xx"}
	got, created, err = ledger.RecordOnce(ctx, l, key, time.Hour, redelivered)
	if err != nil || created {
		t.Fatalf("RecordOnce(redelivered) = %v, %v, want not created", created, err)
	}
	if got == first || !reflect.DeepEqual(got, first) {
		t.Errorf("RecordOnce(redelivered) = %+v, want a stored copy of %+v", got, first)
	}

	stored, err := l.Incidents(ctx, "shop", "prod", t0, t0.Add(time.Hour))
	if err != nil || !reflect.DeepEqual(describe(stored), []string{"incident/i-1"}) {
		t.Errorf("Incidents after redelivery = %v, %v, want only incident/i-1", describe(stored), err)
	}
	if _, _, err := l.RecordOnce(ctx, "", time.Hour, redelivered); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("RecordOnce(empty key) = %v, want ErrInvalid", err)
	}
}

func testRecordOnceOtherKind(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	inc := &ledger.Incident{Header: ledger.Header{ID: "i-1", App: "shop", Env: "prod", At: at(0)}}
	if _, _, err := ledger.RecordOnce(ctx, l, "k", time.Hour, inc); err != nil {
		t.Fatalf("RecordOnce(incident) = %v", err)
	}
	rem := &ledger.Remediation{Header: ledger.Header{ID: "r-1", App: "shop", Env: "prod", At: at(0)}}
	if got, created, err := ledger.RecordOnce(ctx, l, "k", time.Hour, rem); !errors.Is(err, ledger.ErrExists) || created || got != nil {
		t.Errorf("RecordOnce(remediation under an incident's key) = %v, %v, %v, want nil, false, ErrExists", got, created, err)
	}
}

func testRecordOnceConcurrent(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	const n = 20
	var (
		wg      sync.WaitGroup
		got     [n]*ledger.Deployment
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			d := &ledger.Deployment{
				Header: ledger.Header{ID: fmt.Sprintf("d-%02d", i), App: "shop", Env: "prod", Commit: sha1, At: at(time.Duration(i) * time.Second)},
				Status: ledger.DeploymentSuccess,
			}
			got[i], created[i], errs[i] = ledger.RecordOnce(ctx, l, "deploy:shop:prod:promo-1", time.Hour, d)
		})
	}
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("RecordOnce #%d = %v", i, errs[i])
		}
		if created[i] {
			if winner >= 0 {
				t.Fatalf("RecordOnce created by #%d and #%d, want exactly one", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("RecordOnce created by none of %d callers, want exactly one", n)
	}
	wantID := got[winner].ID
	for i := range n {
		if got[i].ID != wantID {
			t.Errorf("RecordOnce #%d returned %s, want the first stored %s", i, got[i].ID, wantID)
		}
	}
	stored, err := l.ByCommit(ctx, sha1)
	if err != nil || !reflect.DeepEqual(describe(stored), []string{"deployment/" + wantID}) {
		t.Errorf("ByCommit after %d concurrent RecordOnce = %v, %v, want only deployment/%s", n, describe(stored), err, wantID)
	}
}

func testRecordOnceExpiry(t *testing.T, l ledger.Ledger, c *clocktest.Clock) {
	ctx := context.Background()
	rem := func(id string) *ledger.Remediation {
		return &ledger.Remediation{Header: ledger.Header{ID: id, App: "shop", Env: "prod", Digest: digest, At: c.Now()}, Action: "notify"}
	}
	const ttl = time.Hour
	steps := []struct {
		name        string
		advance     time.Duration
		key         string
		give        *ledger.Remediation
		wantID      string
		wantCreated bool
	}{
		{"first", 0, "k", rem("r-1"), "r-1", true},
		{"redelivered within ttl", ttl - time.Second, "k", rem("r-2"), "r-1", false},
		{"forever key first", 0, "forever", rem("f-1"), "f-1", true},
		{"expired", 2 * time.Second, "k", rem("r-3"), "r-3", true},
		{"redelivered after new first", time.Minute, "k", rem("r-4"), "r-3", false},
		{"forever key much later", 1000 * time.Hour, "forever", rem("f-2"), "f-1", false},
	}
	for _, s := range steps {
		c.Advance(s.advance)
		s.give.At = c.Now()
		ttl := ttl
		if s.key == "forever" {
			ttl = 0
		}
		got, created, err := ledger.RecordOnce(ctx, l, s.key, ttl, s.give)
		if err != nil || got.ID != s.wantID || created != s.wantCreated {
			t.Fatalf("%s: RecordOnce(%s, %s) = %v, %v, %v, want %s, %v", s.name, s.key, s.give.ID, describe([]ledger.Record{got}), created, err, s.wantID, s.wantCreated)
		}
	}

	// A key that expired whose redelivered record is already stored is still a
	// redelivery: the stored record comes back.
	c.Advance(2 * ttl)
	got, err := l.ByDigest(ctx, digest)
	if err != nil {
		t.Fatalf("ByDigest(%s) = %v", digest, err)
	}
	stored := find(got, ledger.KindRemediation, "r-3")
	if stored == nil {
		t.Fatalf("ByDigest(%s) = %v, want r-3 among them", digest, describe(got))
	}
	again := rem("r-3")
	again.At = stored.RecordHeader().At
	again.Result = "changed"
	rec, created, err := ledger.RecordOnce(ctx, l, "k", ttl, again)
	if err != nil || created || rec.Result != "" {
		t.Errorf("RecordOnce(expired key, stored record) = %+v, %v, %v, want the stored r-3, not created", rec, created, err)
	}
}

func testUpdate(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	d := &ledger.Deployment{Header: ledger.Header{ID: "d-1", App: "shop", Env: "prod", Commit: sha1, At: at(0)}, Status: ledger.DeploymentSuccess}
	put(t, l, d)
	stale := *d

	d.Status = ledger.DeploymentFailure
	if err := l.Update(ctx, d); err != nil || d.Version != 2 {
		t.Fatalf("Update(version 1) = %v, version %d, want nil, version 2", err, d.Version)
	}
	stale.Duration = time.Minute
	if err := l.Update(ctx, &stale); !errors.Is(err, ledger.ErrStale) || stale.Version != 1 {
		t.Errorf("Update(stale version 1) = %v, version %d, want ErrStale, version 1", err, stale.Version)
	}
	got, err := l.Deployments(ctx, "shop", "prod", t0, t0.Add(time.Hour))
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], d) {
		t.Errorf("Deployments after updates = %+v, %v, want only %+v", got, err, d)
	}

	missing := &ledger.Deployment{Header: ledger.Header{ID: "d-9", App: "shop", Env: "prod", Commit: sha1, At: at(0), Version: 1}}
	if err := l.Update(ctx, missing); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Update(never stored) = %v, want ErrNotFound", err)
	}
	moved := *d
	moved.At = at(time.Minute)
	if err := l.Update(ctx, &moved); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Update(identity changed) = %v, want ErrNotFound", err)
	}
}

func testUpdateConcurrent(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	inc := &ledger.Incident{Header: ledger.Header{ID: "i-1", App: "shop", Env: "prod", At: at(0)}, Alarm: "shop-5xx"}
	put(t, l, inc)
	const n = 20
	var (
		wg   sync.WaitGroup
		errs [n]error
	)
	for i := range n {
		wg.Go(func() {
			mine := *inc
			mine.DeploymentID = fmt.Sprintf("d-%02d", i)
			errs[i] = l.Update(ctx, &mine)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Update succeeded for #%d and #%d, want exactly one", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ledger.ErrStale):
			t.Errorf("Update #%d = %v, want nil or ErrStale", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("Update succeeded for none of %d callers, want exactly one", n)
	}
	got, err := l.OpenIncidents(ctx)
	want := fmt.Sprintf("d-%02d", winner)
	if err != nil || len(got) != 1 || got[0].DeploymentID != want || got[0].Version != 2 {
		t.Errorf("OpenIncidents after concurrent updates = %+v, %v, want i-1 version 2 linked to %s", got, err, want)
	}
}

// testLatest reads the newest record of a kind and id filed without a commit: a
// baseline round-trips, an update keeps one record, a newer one wins, and a
// missing or commit-filed one is not found.
func testLatest(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	base := &ledger.Baseline{
		Header: ledger.Header{ID: "shop/main", App: "shop", At: at(0)},
		Suite:  []time.Duration{80 * time.Second, 90 * time.Second},
		Tests:  map[string][]time.Duration{"cart.TestTotals": {time.Second, 2 * time.Second}},
	}
	put(t, l, base)
	got, err := l.Latest(ctx, ledger.KindBaseline, "shop/main")
	if err != nil || !reflect.DeepEqual(got, base) {
		t.Fatalf("Latest(baseline, shop/main) = %+v, %v; want %+v", got, err, base)
	}

	base.Suite = append(base.Suite, 100*time.Second)
	if err := l.Update(ctx, base); err != nil {
		t.Fatalf("Update(baseline) = %v", err)
	}
	got, err = l.Latest(ctx, ledger.KindBaseline, "shop/main")
	if err != nil || got.RecordHeader().Version != 2 || len(got.(*ledger.Baseline).Suite) != 3 {
		t.Errorf("Latest after Update = %+v, %v; want version 2 with 3 samples", got, err)
	}

	newer := &ledger.Baseline{Header: ledger.Header{ID: "shop/main", App: "shop", At: at(time.Hour)}, Suite: []time.Duration{time.Second}}
	put(t, l, newer)
	if got, err := l.Latest(ctx, ledger.KindBaseline, "shop/main"); err != nil || !got.RecordHeader().At.Equal(newer.At) {
		t.Errorf("Latest with two records = %+v, %v; want the newer", got, err)
	}

	if _, err := l.Latest(ctx, ledger.KindBaseline, "shop/other"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Latest(missing) error = %v, want ErrNotFound", err)
	}
	put(t, l, samples()[0]) // a commit, filed under its SHA
	if _, err := l.Latest(ctx, ledger.KindCommit, sha1); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Latest(commit filed under its SHA) error = %v, want ErrNotFound", err)
	}
	if _, err := l.Latest(ctx, ledger.KindBaseline, ""); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Latest(empty id) error = %v, want ErrInvalid", err)
	}

	// A DORA checkpoint's nested times and maps round-trip, in UTC, and an
	// unfinished deployment or open incident keeps its zero end.
	cet := time.FixedZone("CET", 3600)
	cp := &ledger.DORACheckpoint{
		Header:  ledger.Header{ID: "shop/prod", App: "shop", Env: "prod", At: at(0)},
		Through: at(time.Hour),
		Deployments: []ledger.DeploymentFact{
			{ID: "dep-1", PromotionID: "p-1", Status: ledger.DeploymentSuccess, At: at(time.Minute), FinishedAt: at(2 * time.Minute), Commits: []string{sha1, sha2}},
			{ID: "dep-2", Status: ledger.DeploymentFailure, At: at(3 * time.Minute)},
		},
		Rollbacks:   map[string]time.Time{"p-2": at(4 * time.Minute)},
		Incidents:   []ledger.IncidentFact{{ID: "i-1", DeploymentID: "dep-1", At: at(5 * time.Minute)}, {ID: "i-2", At: at(6 * time.Minute), ResolvedAt: at(7 * time.Minute)}},
		CommittedAt: map[string]time.Time{sha1: at(-time.Hour).In(cet), sha2: at(-2 * time.Hour)},
	}
	put(t, l, cp)
	cp.CommittedAt[sha1] = cp.CommittedAt[sha1].UTC()
	got, err = l.Latest(ctx, ledger.KindDORACheckpoint, "shop/prod")
	if err != nil || !reflect.DeepEqual(got, cp) {
		t.Errorf("Latest(doraCheckpoint) = %+v, %v; want %+v", got, err, cp)
	}
}

// testRecordOnceSeesUpdates: a redelivery gets the record as it stands now, so a
// handler sees which of its effects a first delivery already recorded.
func testRecordOnceSeesUpdates(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	first := &ledger.GateDecision{Header: ledger.Header{ID: "shop-build:9", App: "shop", Commit: sha1, At: at(0)}, Verdict: ledger.VerdictFail}
	stored, created, err := ledger.RecordOnce(ctx, l, "gate:build:shop-build:9", 0, first)
	if err != nil || !created {
		t.Fatalf("RecordOnce(first) = %v, %v", created, err)
	}
	stored.Announced, stored.Enforcement = true, "stopped e-1"
	if err := l.Update(ctx, stored); err != nil {
		t.Fatalf("Update = %v", err)
	}
	again, created, err := ledger.RecordOnce(ctx, l, "gate:build:shop-build:9", 0,
		&ledger.GateDecision{Header: ledger.Header{ID: "shop-build:9", App: "shop", Commit: sha1, At: at(time.Minute)}, Verdict: ledger.VerdictPass})
	if err != nil || created {
		t.Fatalf("RecordOnce(redelivery) = %v, %v; want not created", created, err)
	}
	if !again.Announced || again.Enforcement != "stopped e-1" || again.Version != 2 || again.Verdict != ledger.VerdictFail {
		t.Errorf("redelivery returned %+v, want the first decision with its update (version 2, announced)", again)
	}
}

// testPromotions reads an app+env's promotions by start time, half-open.
func testPromotions(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	for i, env := range []string{"prod", "prod", "staging", "prod"} {
		put(t, l, &ledger.Promotion{Header: ledger.Header{ID: fmt.Sprintf("p-%d", i), App: "shop", Env: env, Commit: sha1, Digest: digest,
			At: at(time.Duration(i) * time.Minute)}, Status: ledger.PromotionRequested, Handle: fmt.Sprintf("exec-%d", i)})
	}
	got, err := l.Promotions(ctx, "shop", "prod", at(time.Minute), at(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if ids := describe(got); !reflect.DeepEqual(ids, []string{"promotion/p-1", "promotion/p-3"}) {
		t.Errorf("Promotions(shop, prod, [1m, 4m)) = %v, want p-1 and p-3", ids)
	}
	if len(got) > 0 && got[0].Handle != "exec-1" {
		t.Errorf("Promotions()[0].Handle = %q, want exec-1", got[0].Handle)
	}
}

// testApprovalRequestAndLock: the records promotion keeps outside a commit's
// timeline round-trip and are read back by Latest.
func testApprovalRequestAndLock(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	req := &ledger.ApprovalRequest{
		Header:      ledger.Header{ID: "apr-7f3c", App: "shop", Env: "prod", Digest: digest, At: at(0)},
		PromotionID: "p-9", TaskToken: "AQB4token", Approvers: []string{"ana@example.com", "lee@example.com"}, Quorum: 2,
		Expires: at(24 * time.Hour), Status: ledger.ApprovalWaiting,
	}
	lock := &ledger.Lock{Header: ledger.Header{ID: "shop/prod", App: "shop", At: at(0)}, Holder: "p-9", Until: at(time.Hour)}
	put(t, l, req, lock)
	for _, want := range []ledger.Record{req, lock} {
		h := want.RecordHeader()
		got, err := l.Latest(ctx, h.Kind, h.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Latest(%s, %s) = %+v, %v; want %+v", h.Kind, h.ID, got, err, want)
		}
	}
	byDigest, err := l.ByDigest(ctx, digest)
	if err != nil || find(byDigest, ledger.KindApprovalRequest, "apr-7f3c") == nil {
		t.Errorf("ByDigest(%s) lacks the approval request: %v", digest, err)
	}
}

// testCurrentDriftReports: only reports marked Current are listed, and
// replacing one (Current false) takes it off the list.
func testCurrentDriftReports(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	old := &ledger.DriftReport{Header: ledger.Header{ID: "444444444444/eu-west-1/shop-network", At: at(0)}, Stack: "shop-network", Status: "DRIFTED", Current: true}
	other := &ledger.DriftReport{Header: ledger.Header{ID: "shop/prod", App: "shop", Env: "prod", At: at(time.Minute)}, Status: "IN_SYNC", Current: true}
	put(t, l, old, other)
	old.Current = false
	if err := l.Update(ctx, old); err != nil {
		t.Fatal(err)
	}
	newer := &ledger.DriftReport{Header: ledger.Header{ID: "444444444444/eu-west-1/shop-network", At: at(time.Hour)}, Stack: "shop-network", Status: "IN_SYNC", Current: true}
	put(t, l, newer)
	got, err := l.CurrentDriftReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids := describe(got); !reflect.DeepEqual(ids, []string{"driftReport/shop/prod", "driftReport/444444444444/eu-west-1/shop-network"}) {
		t.Errorf("CurrentDriftReports() = %v, want the environment's and the stack's newest", ids)
	}
	if len(got) == 2 && got[1].Status != "IN_SYNC" {
		t.Errorf("the stack's current report = %s, want the newer IN_SYNC", got[1].Status)
	}
}

func testRemediations(t *testing.T, l ledger.Ledger, _ *clocktest.Clock) {
	ctx := context.Background()
	for _, r := range []*ledger.Remediation{
		{Header: ledger.Header{ID: "r-early", App: "shop", Env: "prod", At: at(-time.Hour)}, IncidentID: "i-1", Action: "rollback"},
		{Header: ledger.Header{ID: "r-1", App: "shop", Env: "prod", At: at(0)}, IncidentID: "i-1", Action: "rollback", Failed: true, Result: "no previous artifact"},
		{Header: ledger.Header{ID: "r-2", App: "shop", Env: "prod", At: at(time.Minute)}, IncidentID: "i-1", Action: "notify"},
		{Header: ledger.Header{ID: "r-dev", App: "shop", Env: "dev", At: at(time.Minute)}, IncidentID: "i-2", Action: "notify"},
		{Header: ledger.Header{ID: "r-late", App: "shop", Env: "prod", At: at(time.Hour)}, IncidentID: "i-1", Action: "notify"},
	} {
		if err := l.Put(ctx, r); err != nil {
			t.Fatalf("Put(%s) = %v", r.ID, err)
		}
	}
	got, err := l.Remediations(ctx, "shop", "prod", t0, t0.Add(time.Hour))
	if err != nil || !reflect.DeepEqual(describe(got), []string{"remediation/r-1", "remediation/r-2"}) {
		t.Fatalf("Remediations(shop, prod, [0, 1h)) = %v, %v, want r-1 and r-2", describe(got), err)
	}
	if !got[0].Failed || got[0].Result != "no previous artifact" || got[1].Failed {
		t.Errorf("Remediations read back %+v, %+v", got[0], got[1])
	}
}
