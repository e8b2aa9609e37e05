package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

func TestIncidentsListsTheirTimeToRestore(t *testing.T) {
	ctx := context.Background()
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.NewMemory()
	at := time.Date(2026, 11, 17, 11, 52, 27, 0, time.UTC)
	for _, inc := range []*ledger.Incident{
		{Header: ledger.Header{ID: "inc-old", App: "checkout", Env: "prod", At: at.Add(-30 * 24 * time.Hour)}, Alarm: "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx"},
		{Header: ledger.Header{ID: "inc-1", App: "checkout", Env: "prod", Digest: "sha256:e648", At: at}, Alarm: "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx",
			DeploymentID: "dep-1", ResolvedAt: at.Add(14 * time.Minute)},
		{Header: ledger.Header{ID: "inc-2", App: "checkout", Env: "dev", At: at.Add(time.Hour)}, Alarm: "checkout-dev-latency"},
	} {
		if err := l.Put(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	now := at.Add(2 * time.Hour)
	incs, err := listIncidents(ctx, l, p, false, now.Add(-7*24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeIncidents(&out, incs, false, now); err != nil {
		t.Fatal(err)
	}
	want := "inc-1  checkout/prod  checkout-prod-5xx  opened 2026-11-17 11:52:27Z  resolved, time to restore 14m0s  blamed on dep-1 (sha256:e648)\n" +
		"inc-2  checkout/dev  checkout-dev-latency  opened 2026-11-17 12:52:27Z  OPEN for 1h0m0s  no deployment blamed\n"
	if out.String() != want {
		t.Errorf("incidents:\n%s\nwant:\n%s", out.String(), want)
	}
	open, err := listIncidents(ctx, l, p, true, time.Time{}, now)
	if err != nil || len(open) != 2 {
		t.Errorf("open incidents = %d, %v; want inc-old and inc-2", len(open), err)
	}
}
