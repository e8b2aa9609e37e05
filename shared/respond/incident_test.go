package respond

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/ledger"
)

// transition is the sample alarm event, in state (with the state's time).
func transition(t *testing.T, state string, at time.Time) alarm.StateChange {
	t.Helper()
	b, err := os.ReadFile("../../events/cloudwatch-alarm-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatal(err)
	}
	st := d["state"].(map[string]any)
	st["value"], st["timestamp"] = state, at.UTC().Format("2006-01-02T15:04:05.000-0700")
	if ev.Detail, err = json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	s, err := alarm.Decode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIncidentOpensOnceBlamedOnTheLatestDeployment(t *testing.T) {
	ctx := context.Background()
	l := ledger.NewMemory()
	fired := time.Date(2026, 11, 17, 11, 52, 27, 121e6, time.UTC)
	for _, d := range []*ledger.Deployment{
		{Header: ledger.Header{ID: "dep-old", App: "checkout", Env: "prod", Digest: "sha256:old", At: fired.Add(-5 * time.Hour)}, Status: ledger.DeploymentSuccess},
		{Header: ledger.Header{ID: "dep-1", App: "checkout", Env: "prod", Digest: "sha256:e648", At: fired.Add(-20 * time.Minute)}, Status: ledger.DeploymentSuccess},
		{Header: ledger.Header{ID: "dep-failed", App: "checkout", Env: "prod", Digest: "sha256:bad", At: fired.Add(-10 * time.Minute)}, Status: ledger.DeploymentFailure},
		{Header: ledger.Header{ID: "dep-dev", App: "checkout", Env: "dev", Digest: "sha256:dev", At: fired.Add(-time.Minute)}, Status: ledger.DeploymentSuccess},
	} {
		if err := l.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	s := transition(t, alarm.StateAlarm, fired)
	inc, created, err := OpenIncident(ctx, l, s, "checkout", "prod", 2*time.Hour)
	if err != nil || !created {
		t.Fatalf("OpenIncident() = %v, %v", created, err)
	}
	if inc.DeploymentID != "dep-1" || inc.Digest != "sha256:e648" || !inc.At.Equal(fired) || inc.Alarm != s.ARN {
		t.Errorf("incident = %+v, want it blamed on dep-1 (the latest that did not fail) at the alarm's time", inc)
	}
	again, created, err := OpenIncident(ctx, l, s, "checkout", "prod", 2*time.Hour)
	if err != nil || created || again.ID != inc.ID {
		t.Errorf("redelivered OpenIncident() = %+v, %v, %v; want the stored incident", again, created, err)
	}
	if open, _ := l.OpenIncidents(ctx); len(open) != 1 {
		t.Errorf("open incidents = %d, want 1", len(open))
	}

	// The alarm's next ALARM, with nothing deployed within the window: no blame.
	quiet, created, err := OpenIncident(ctx, l, transition(t, alarm.StateAlarm, fired.Add(time.Hour)), "checkout", "prod", 10*time.Minute)
	if err != nil || !created || quiet.DeploymentID != "" || quiet.Digest != "" {
		t.Errorf("OpenIncident(10m window) = %+v, %v; want no deployment blamed", quiet, err)
	}
}

func TestIncidentResolvesWhenTheAlarmIsOK(t *testing.T) {
	ctx := context.Background()
	l := ledger.NewMemory()
	fired := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	inc, _, err := OpenIncident(ctx, l, transition(t, alarm.StateAlarm, fired), "checkout", "prod", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenIncident(ctx, l, transition(t, alarm.StateAlarm, fired), "checkout", "dev", time.Hour); err != nil {
		t.Fatal(err)
	}
	ok := transition(t, alarm.StateOK, fired.Add(14*time.Minute))
	open, err := IncidentsToResolve(ctx, l, ok, "checkout", "prod")
	if err != nil || len(open) != 1 || open[0].ID != inc.ID {
		t.Fatalf("IncidentsToResolve() = %+v, %v; want prod's incident", open, err)
	}
	if err := ResolveIncident(ctx, l, open[0], ok.StateTime); err != nil {
		t.Fatal(err)
	}
	if ttr := open[0].ResolvedAt.Sub(open[0].At); ttr != 14*time.Minute {
		t.Errorf("time to restore = %v, want 14m", ttr)
	}
	again, err := IncidentsToResolve(ctx, l, ok, "checkout", "prod")
	if err != nil || len(again) != 0 {
		t.Errorf("IncidentsToResolve() once resolved = %d, %v; want none", len(again), err)
	}
	left, _ := l.OpenIncidents(ctx)
	if len(left) != 1 || left[0].Env != "dev" {
		t.Errorf("open incidents = %+v, want dev's only", left)
	}
	if _, err := IncidentsToResolve(ctx, l, transition(t, alarm.StateAlarm, fired), "checkout", "prod"); err == nil {
		t.Error("IncidentsToResolve(ALARM) succeeded, want an error")
	}
}
