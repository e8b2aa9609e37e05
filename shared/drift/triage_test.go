package drift

import (
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

func TestTriage(t *testing.T) {
	at := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	rules := &policy.Drift{
		Severities: []policy.SeverityRule{
			{Type: "AWS::EC2::SecurityGroup", Property: "/SecurityGroupIngress", Severity: "critical"},
			{Type: "AWS::EC2::SecurityGroup", Severity: "low"},
			{Type: "AWS::IAM::*", Severity: "high"},
			{Type: "AWS::IAM::Role", Severity: "low"}, // never reached: the rule above wins
		},
		Suppressions: []policy.Suppression{
			{Type: "AWS::EC2::SecurityGroup", Property: "/Tags", Reason: "the cost tool retags"},
			{Type: "AWS::EC2::SecurityGroup", Property: "/SecurityGroupIngress/9", Reason: "the bastion rule"},
			{Type: "AWS::Lambda::*", Property: "/Environment/Variables/BUILD", Reason: "stamped at deploy", Until: at.Add(time.Hour)},
			{Type: "AWS::SSM::Parameter", Property: "/Value", Reason: "rotated", Until: at},
		},
	}
	diff := func(paths ...string) []ledger.PropertyDifference {
		var out []ledger.PropertyDifference
		for _, p := range paths {
			out = append(out, ledger.PropertyDifference{Path: p, Type: "NOT_EQUAL"})
		}
		return out
	}
	type want struct {
		severity   string
		suppressed bool
		because    string
	}
	tests := []struct {
		name string
		give ledger.DriftedResource
		want want
	}{
		{"first matching rule", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/SecurityGroupIngress/2")},
			want{"critical", false, ""}},
		{"prefix by segment", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/SecurityGroupIngressRules/0")},
			want{"low", false, ""}},
		{"highest of the differences", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/GroupDescription", "/SecurityGroupIngress")},
			want{"critical", false, ""}},
		{"type pattern", ledger.DriftedResource{Type: "AWS::IAM::Role", Status: "MODIFIED", Differences: diff("/Policies/0")},
			want{"high", false, ""}},
		{"no rule: medium", ledger.DriftedResource{Type: "AWS::SQS::Queue", Status: "MODIFIED", Differences: diff("/VisibilityTimeout")},
			want{"medium", false, ""}},
		{"deleted: rules without a property", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "DELETED"},
			want{"low", false, ""}},
		{"all differences suppressed", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/Tags/0/Value", "/Tags/1")},
			want{"low", true, "the cost tool retags"}},
		{"some differences suppressed", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/Tags/1", "/SecurityGroupIngress/0")},
			want{"critical", false, "/Tags/1: the cost tool retags"}},
		{"unsuppressed differences rate the resource", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/GroupDescription", "/SecurityGroupIngress/9")},
			want{"low", false, "/SecurityGroupIngress/9: the bastion rule"}},
		{"all suppressed: the highest rates it", ledger.DriftedResource{Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Differences: diff("/Tags/0", "/SecurityGroupIngress/9")},
			want{"critical", true, "the cost tool retags; the bastion rule"}},
		{"suppression until later", ledger.DriftedResource{Type: "AWS::Lambda::Function", Status: "MODIFIED", Differences: diff("/Environment/Variables/BUILD")},
			want{"medium", true, "stamped at deploy"}},
		{"suppression ended", ledger.DriftedResource{Type: "AWS::SSM::Parameter", Status: "MODIFIED", Differences: diff("/Value")},
			want{"medium", false, ""}},
		{"deleted: suppression with a property does not apply", ledger.DriftedResource{Type: "AWS::Lambda::Function", Status: "DELETED"},
			want{"medium", false, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := []ledger.DriftedResource{tt.give}
			Triage(rules, rs, at)
			got := want{rs[0].Severity, rs[0].Suppressed, rs[0].SuppressedBecause}
			if got != tt.want {
				t.Errorf("Triage(%s %v) = %+v, want %+v", tt.give.Type, diffPaths(&tt.give), got, tt.want)
			}
		})
	}
}
