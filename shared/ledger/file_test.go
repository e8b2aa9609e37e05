package ledger_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// reopened is a file ledger opened again for every call, as each run of the
// local command opens it: every read goes through the file, and concurrent
// calls are writers of their own, which take turns on the file.
type reopened struct {
	path string
	now  func() time.Time
}

func (r reopened) open() (*ledger.File, error) {
	return ledger.OpenFile(r.path, ledger.WithClock(r.now))
}

func (r reopened) Put(ctx context.Context, rec ledger.Record) error {
	l, err := r.open()
	if err != nil {
		return err
	}
	return l.Put(ctx, rec)
}

func (r reopened) RecordOnce(ctx context.Context, key string, ttl time.Duration, rec ledger.Record) (ledger.Record, bool, error) {
	l, err := r.open()
	if err != nil {
		return nil, false, err
	}
	return l.RecordOnce(ctx, key, ttl, rec)
}

func (r reopened) Update(ctx context.Context, rec ledger.Record) error {
	l, err := r.open()
	if err != nil {
		return err
	}
	return l.Update(ctx, rec)
}

func (r reopened) ByCommit(ctx context.Context, sha string) ([]ledger.Record, error) {
	return read(r, func(l ledger.Ledger) ([]ledger.Record, error) { return l.ByCommit(ctx, sha) })
}

func (r reopened) ByDigest(ctx context.Context, digest string) ([]ledger.Record, error) {
	return read(r, func(l ledger.Ledger) ([]ledger.Record, error) { return l.ByDigest(ctx, digest) })
}

func (r reopened) Deployments(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Deployment, error) {
	return read(r, func(l ledger.Ledger) ([]*ledger.Deployment, error) { return l.Deployments(ctx, app, env, from, to) })
}

func (r reopened) Promotions(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Promotion, error) {
	return read(r, func(l ledger.Ledger) ([]*ledger.Promotion, error) { return l.Promotions(ctx, app, env, from, to) })
}

func (r reopened) Incidents(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Incident, error) {
	return read(r, func(l ledger.Ledger) ([]*ledger.Incident, error) { return l.Incidents(ctx, app, env, from, to) })
}

func (r reopened) OpenIncidents(ctx context.Context) ([]*ledger.Incident, error) {
	return read(r, func(l ledger.Ledger) ([]*ledger.Incident, error) { return l.OpenIncidents(ctx) })
}

func (r reopened) Remediations(ctx context.Context, app, env string, from, to time.Time) ([]*ledger.Remediation, error) {
	return read(r, func(l ledger.Ledger) ([]*ledger.Remediation, error) { return l.Remediations(ctx, app, env, from, to) })
}

func (r reopened) CurrentDriftReports(ctx context.Context) ([]*ledger.DriftReport, error) {
	return read(r, func(l ledger.Ledger) ([]*ledger.DriftReport, error) { return l.CurrentDriftReports(ctx) })
}

func (r reopened) Latest(ctx context.Context, k ledger.Kind, id string) (ledger.Record, error) {
	l, err := r.open()
	if err != nil {
		return nil, err
	}
	return l.Latest(ctx, k, id)
}

// read opens r and reads from it.
func read[T any](r reopened, from func(ledger.Ledger) ([]T, error)) ([]T, error) {
	l, err := r.open()
	if err != nil {
		return nil, err
	}
	return from(l)
}

// A file ledger keeps what was written for the next run to read, with when
// it was written by the writer's clock and the commits it holds, and leaves
// nothing else in its folder.
func TestFileKeepsItsRecordsForTheNextRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "highway-local.json")
	scenarioEnd := time.Date(2026, 11, 17, 12, 10, 0, 0, time.UTC)
	first, err := ledger.OpenFile(path, ledger.WithClock(func() time.Time { return scenarioEnd }))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Written().IsZero() || len(first.Commits()) != 0 {
		t.Fatalf("a new file ledger: written %v, commits %v; want neither", first.Written(), first.Commits())
	}
	const sha = "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"
	inc := &ledger.Incident{Header: ledger.Header{ID: "inc-1", App: "checkout", Env: "prod", Commit: sha, Digest: "sha256:e648", At: scenarioEnd.Add(-time.Hour)},
		Alarm: "checkout-prod-5xx"}
	if err := first.Put(ctx, &ledger.Commit{Header: ledger.Header{ID: sha, App: "checkout", Commit: sha, At: scenarioEnd.Add(-2 * time.Hour)}, Repo: "checkout-service"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Put(ctx, inc); err != nil {
		t.Fatal(err)
	}
	inc.ResolvedAt = scenarioEnd.Add(-45 * time.Minute)
	if err := first.Update(ctx, inc); err != nil {
		t.Fatal(err)
	}

	next, err := ledger.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !next.Written().Equal(scenarioEnd) {
		t.Errorf("Written() = %v, want the writer's clock %v", next.Written(), scenarioEnd)
	}
	if got := next.Commits(); !slices.Equal(got, []string{sha}) {
		t.Errorf("Commits() = %v, want [%s]", got, sha)
	}
	recs, err := next.ByCommit(ctx, sha)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ByCommit = %d records, %v; want the commit and the incident", len(recs), err)
	}
	if got, ok := recs[1].(*ledger.Incident); !ok || !got.ResolvedAt.Equal(inc.ResolvedAt) || got.Version != 2 {
		t.Errorf("read back %+v, want the incident resolved, version 2", recs[1])
	}
	if open, err := next.OpenIncidents(ctx); err != nil || len(open) != 0 {
		t.Errorf("OpenIncidents = %v, %v; want none once resolved", open, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("the folder holds %v (%v), want the ledger file alone", entries, err)
	}
}

// A change refused by its condition leaves the file as it was.
func TestFileRefusedChangeLeavesTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.json")
	l, err := ledger.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &ledger.Build{Header: ledger.Header{ID: "b-1", App: "checkout", Commit: "9f4e", At: time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC)}, Status: "SUCCEEDED"}
	if err := l.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, b); !errors.Is(err, ledger.ErrExists) {
		t.Fatalf("Put again = %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a refused Put changed the file:\n%s\nwas:\n%s", after, before)
	}
}

func TestOpenFileRefusesWhatIsNotALedger(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", "<html>", "is not a ledger file"},
		{"two types in one value", `{"items":[{"pk":{"S":"commit#1","N":"1"},"sk":{"S":"x"}}]}`, "attribute pk: 2 types given"},
		{"no key", `{"items":[{"kind":{"S":"build"}}]}`, "item 0 has no pk or sk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := ledger.OpenFile(path); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenFile(%s) = %v, want an error naming the file and saying %q", tt.content, err, tt.want)
			}
		})
	}
}
