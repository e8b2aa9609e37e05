package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

func TestFileDriftReport(t *testing.T) {
	ctx := context.Background()
	l := ledger.NewMemory()
	at := time.Date(2026, 11, 17, 6, 0, 0, 0, time.UTC)
	first := &ledger.DriftReport{Header: ledger.Header{ID: "444444444444/eu-west-1/checkout-prod-network", At: at}, Status: "DRIFTED"}
	if prev, err := ledger.FileDriftReport(ctx, l, first); err != nil || prev != nil {
		t.Fatalf("first report: previous %v, %v; want none", prev, err)
	}
	if _, err := ledger.FileDriftReport(ctx, l, &ledger.DriftReport{Header: first.Header, Status: "DRIFTED"}); !errors.Is(err, ledger.ErrExists) {
		t.Errorf("the same report again = %v, want ErrExists", err)
	}
	second := &ledger.DriftReport{Header: ledger.Header{ID: first.ID, At: at.Add(6 * time.Hour)}, Status: "IN_SYNC"}
	prev, err := ledger.FileDriftReport(ctx, l, second)
	if err != nil || prev == nil || prev.Status != "DRIFTED" {
		t.Fatalf("second report: previous %+v, %v; want the DRIFTED one", prev, err)
	}
	current, err := l.CurrentDriftReports(ctx)
	if err != nil || len(current) != 1 || current[0].Status != "IN_SYNC" {
		t.Errorf("current reports = %+v, %v; want only the IN_SYNC one", current, err)
	}
}
