package drift_test

import (
	"fmt"
	"os"
	"time"

	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/policy"
)

// A refresh-only plan of a Terraform workspace in which someone opened SSH on
// a security group by hand: its resource_drift is the drift, and the policy
// rates a security group's ingress critical.
func ExampleParseTerraformPlan() {
	f, err := os.Open("testdata/terraform/aws/refresh-only-drift.json") // terraform show -json of the plan
	if err != nil {
		panic(err)
	}
	defer f.Close()
	plan, err := drift.ParseTerraformPlan(f)
	if err != nil {
		panic(err)
	}
	rules := &policy.Drift{Severities: []policy.SeverityRule{{Type: "aws_security_group", Property: "ingress", Severity: "critical"}}}
	drift.Triage(rules, plan.Drifted, time.Now())
	fmt.Printf("Terraform %s: %d of %d resources drifted\n", plan.TerraformVersion, len(plan.Drifted), plan.Resources)
	for _, r := range plan.Drifted {
		fmt.Println(r.Severity, r.Status, r.LogicalID)
		for _, d := range r.Differences {
			fmt.Println(" ", d.Type, d.Path)
		}
	}
	// Output:
	// Terraform 1.11.4: 1 of 1 resources drifted
	// critical MODIFIED aws_security_group.web
	//   ADD ingress[0]
}
