package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

func TestDORATableFilters(t *testing.T) {
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	rows, err := doraTable(context.Background(), ledger.NewMemory(), p, "checkout", "prod", now)
	if err != nil || len(rows) != len(dora.Windows) || rows[0].Env != "prod" || rows[2].Window != "30d" {
		t.Errorf("doraTable(checkout, prod) = %+v, %v; want prod's three windows", rows, err)
	}
	if _, err := doraTable(context.Background(), ledger.NewMemory(), p, "cart", "", now); !errors.Is(err, errBadInput) {
		t.Errorf("doraTable(cart) error = %v, want bad input", err)
	}
}
