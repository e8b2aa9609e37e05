package dora

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/telemetry"
)

func TestAllAndPublish(t *testing.T) {
	p, err := policy.Parse([]byte(`version: 1
hub: {account: "111111111111", region: eu-west-1}
apps: [{name: checkout, repository: checkout-service, environments: [{name: dev, account: "222222222222", region: eu-west-1}, {name: prod, account: "444444444444", region: eu-west-1}]}]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := ledger.NewMemory()
	now := at(17, 0, 0)
	if err := l.Put(ctx, dep("dep-1", "p1", ledger.DeploymentSuccess, at(16, 12, 0), "c1")); err != nil {
		t.Fatal(err)
	}
	rows, err := All(ctx, l, p, now, Only("", "prod"))
	if err != nil || len(rows) != 3 {
		t.Fatalf("All(prod) = %d rows, %v; want prod's 3 windows", len(rows), err)
	}
	if rows[0].Window != "1d" || rows[0].Metrics.Deployments != 1 || rows[0].Bands.DeploymentFrequency != Elite {
		t.Errorf("prod 1d = %+v", rows[0])
	}

	var out bytes.Buffer
	m := telemetry.NewMetrics(&out, "Highway")
	if err := Publish(m, rows[0]); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &doc); err != nil {
		t.Fatalf("EMF %q: %v", out.String(), err)
	}
	if doc["App"] != "checkout" || doc["Env"] != "prod" || doc["Window"] != "1d" || doc[telemetry.MetricDeploymentsInWindow] != 1.0 ||
		doc[telemetry.MetricChangeFailureRate] != 0.0 {
		t.Errorf("EMF document = %v", doc)
	}
	// No commit time on the ledger, no restore: no lead time or restore metric, rather than a zero.
	for _, absent := range []string{telemetry.MetricLeadTimeP50, telemetry.MetricTimeToRestoreP50} {
		if _, ok := doc[absent]; ok {
			t.Errorf("EMF document has %s without data", absent)
		}
	}
}
