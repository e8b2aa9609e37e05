package drift_test

import (
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// A security group opened to the world is critical by the policy; the tag the
// cost tool rewrites is a known false positive: reported, never alerted on.
func ExampleTriage() {
	rules := &policy.Drift{
		Severities: []policy.SeverityRule{
			{Type: "AWS::EC2::SecurityGroup", Property: "/SecurityGroupIngress", Severity: "critical"},
		},
		Suppressions: []policy.Suppression{
			{Type: "AWS::EC2::*", Property: "/Tags", Reason: "the cost tool retags"},
		},
	}
	rep := &ledger.DriftReport{
		Stack: "checkout-prod-network", Account: "444444444444", Region: "eu-west-1",
		Status: "DRIFTED", Resources: 5, DetectionID: "b78ac9b0-c44f-11f0-94c2-0a3f1e2b8c41",
		Drifted: []ledger.DriftedResource{
			{LogicalID: "WebSecurityGroup", Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", PhysicalID: "sg-0c5e2f1a9b8d7e6f4",
				Differences: []ledger.PropertyDifference{
					{Path: "/SecurityGroupIngress/2", Expected: "null", Actual: `{"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22}`, Type: "ADD"},
				}},
			{LogicalID: "NatGateway", Type: "AWS::EC2::NatGateway", Status: "MODIFIED",
				Differences: []ledger.PropertyDifference{{Path: "/Tags/0/Value", Expected: "cc-4411", Actual: "cc-9001", Type: "NOT_EQUAL"}}},
		},
	}
	drift.Triage(rules, rep.Drifted, time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC))
	fmt.Print(drift.Explain(rep))
	// Output:
	// Stack checkout-prod-network in 444444444444/eu-west-1: DRIFTED, 2 of 5 resources drifted (detection b78ac9b0-c44f-11f0-94c2-0a3f1e2b8c41)
	//   [critical] WebSecurityGroup AWS::EC2::SecurityGroup (sg-0c5e2f1a9b8d7e6f4) MODIFIED
	//       ADD /SecurityGroupIngress/2: expected null, actual {"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22}
	// Suppressed (reported, not alerted):
	//   [medium] NatGateway AWS::EC2::NatGateway MODIFIED (suppressed: the cost tool retags)
	//       NOT_EQUAL /Tags/0/Value: expected cc-4411, actual cc-9001
}
