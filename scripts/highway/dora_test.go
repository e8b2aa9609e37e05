package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// The demo ends by writing the DORA page of its scenario: a cell per day
// from the Monday eleven weeks before its last week to its last day, the
// scenario's deployments on their day, prod's rollback apart.
func TestDemoWritesTheDORAPage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dora.html")
	var out bytes.Buffer
	if err := demo(context.Background(), &out, "../../infra/highway.yaml", "../../events", file); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if n := strings.Count(html, `<rect class="day"`); n <= 7*(dora.HeatmapWeeks-1) || n > 7*dora.HeatmapWeeks {
		t.Errorf("day cells = %d, want the %d weeks' days to the last", n, dora.HeatmapWeeks)
	}
	// Nov 17: the release in each environment, and prod's rollback apart;
	// Nov 10: last week's release in three environments.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`data-date="2026-11-17" data-count="[1-9][0-9]*" data-rollbacks="1"`),
		regexp.MustCompile(`data-date="2026-11-10" data-count="3" data-rollbacks="0"`),
		regexp.MustCompile(`<tr data-app="checkout" data-env="prod" data-window="7d">`),
	} {
		if !want.MatchString(html) {
			t.Errorf("the page lacks %s", want)
		}
	}
}
