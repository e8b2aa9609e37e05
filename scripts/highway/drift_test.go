package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

func TestWriteDrift(t *testing.T) {
	at := time.Date(2026, 11, 17, 6, 0, 0, 0, time.UTC)
	reports := []*ledger.DriftReport{
		{Header: ledger.Header{ID: "444444444444/eu-west-1/checkout-prod-network", At: at}, Stack: "checkout-prod-network", Status: "DRIFTED",
			Account: "444444444444", Region: "eu-west-1", Drifted: []ledger.DriftedResource{
				{LogicalID: "WebSecurityGroup", Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Severity: "critical",
					Differences: []ledger.PropertyDifference{{Path: "/SecurityGroupIngress/2", Actual: `{"CidrIp":"0.0.0.0/0","FromPort":22}`, Type: "ADD"}}},
				{LogicalID: "Api", Type: "AWS::Lambda::Function", Status: "MODIFIED", Severity: "medium", Suppressed: true, SuppressedBecause: "set by the deploy job"},
			}},
		{Header: ledger.Header{ID: "checkout/dev", App: "checkout", Env: "dev", Digest: "sha256:0bad", At: at}, Status: "DIGEST_MISMATCH",
			Account: "222222222222", Region: "eu-west-1", Target: "ssm /checkout/dev/image", ExpectedDigest: "sha256:e648"},
	}
	var out bytes.Buffer
	if err := writeDrift(&out, reports, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"checkout-prod-network                    DRIFTED",
		"CRITICAL MODIFIED  AWS::EC2::SecurityGroup WebSecurityGroup",
		`ADD /SecurityGroupIngress/2: - → {"CidrIp":"0.0.0.0/0","FromPort":22}`,
		"(suppressed: set by the deploy job)",
		"checkout/dev", "DIGEST_MISMATCH", "ssm /checkout/dev/image runs sha256:0bad, promoted sha256:e648",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("drift report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := writeDrift(&out, reports, true); err != nil {
		t.Fatal(err)
	}
	var back []*ledger.DriftReport
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back) != 2 || back[0].Drifted[0].Differences[0].Path != "/SecurityGroupIngress/2" {
		t.Errorf("--json = %s (%v), want the reports", out.String(), err)
	}
}
