package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

var driftTerraformCommand = command{
	name:     "drift terraform",
	synopsis: "drift terraform --plan FILE [--policy FILE] [--workspace NAME] [--json]",
	about: `the resources a Terraform plan found changed outside Terraform, rated by the
policy as the drift function rates them; exit 0 none, 1 drift, 2 not a plan`,
	details: `FILE is what terraform show -json prints of a saved plan: best a refresh-only
one (terraform plan -refresh-only -out plan), which any CI can make. Drift is
what Terraform lists in resource_drift; the changes of resource_changes are
what applying the configuration would do, and are not drift. Severities and
suppressions come from the policy's drift section, by Terraform resource type
and attribute path; a suppressed change is shown and does not fail. Sensitive
values are masked. Without --policy, infra/highway.yaml rates the changes when
it exists; otherwise every change is medium.
`,
	define: func(fs *flag.FlagSet) action {
		var f terraformFlags
		fs.StringVar(&f.plan, "plan", "", "the `FILE` terraform show -json wrote (required)")
		fs.StringVar(&f.policy, "policy", "", "the policy `FILE` (default "+defaultPolicy+" when there is one)")
		fs.StringVar(&f.workspace, "workspace", "", "the policy's drift.terraform workspace `NAME` the plan is of")
		fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
		return func(_ context.Context, c *cli, _ []string) error { return driftTerraform(c.out, f, c.now()) }
	},
}

// terraformFlags are the flags of drift terraform.
type terraformFlags struct {
	plan, policy, workspace string
	asJSON                  bool
}

// terraformReport is what drift terraform prints with --json.
type terraformReport struct {
	// Workspace is the workspace the plan is of, when --workspace names it.
	Workspace string `json:"workspace,omitempty"`
	// Status is DRIFTED when a resource drifted, else IN_SYNC.
	Status string `json:"status"`
	// Unsuppressed says some drift is not suppressed: the exit status is 1.
	Unsuppressed bool `json:"unsuppressed"`
	drift.TerraformPlan
}

// driftTerraform reads a plan, rates its drift by the policy and prints it.
// It returns exitCode(1) when a resource drifted that no suppression covers;
// a file that cannot be read or is not a plan is bad input (2).
func driftTerraform(out io.Writer, f terraformFlags, now time.Time) error {
	if f.plan == "" {
		return badInput("--plan is required (highway drift terraform --help lists the flags)")
	}
	rules, err := terraformRules(f)
	if err != nil {
		return err
	}
	file, err := os.Open(f.plan)
	if err != nil {
		return badInput("--plan: %v", err)
	}
	defer file.Close()
	if st, err := file.Stat(); err == nil && st.Size() > report.MaxBytes {
		return badInput("%s: %d bytes, more than the %d Highway reads", f.plan, st.Size(), report.MaxBytes)
	}
	plan, err := drift.ParseTerraformPlan(io.LimitReader(file, report.MaxBytes))
	switch {
	case errors.Is(err, drift.ErrNotPlan):
		return badInput("%s: %v", f.plan, err)
	case err != nil:
		return badInput("--plan %s: %v", f.plan, err)
	}
	drift.Triage(rules, plan.Drifted, now)
	rep := terraformReport{Workspace: f.workspace, Status: drift.StatusInSync, TerraformPlan: plan,
		Unsuppressed: slices.ContainsFunc(plan.Drifted, func(r ledger.DriftedResource) bool { return !r.Suppressed })}
	if len(plan.Drifted) > 0 {
		rep.Status = drift.StatusDrifted
	}
	if f.asJSON {
		err = writeJSON(out, rep)
	} else {
		err = writeTerraform(out, rep)
	}
	if err == nil && rep.Unsuppressed {
		return exitCode(1)
	}
	return err
}

// terraformRules are the drift rules that rate the plan: the policy's drift
// section, or none. A --workspace the policy does not name is bad input.
func terraformRules(f terraformFlags) (*policy.Drift, error) {
	file := f.policy
	if file == "" {
		if _, err := os.Stat(defaultPolicy); err != nil {
			return &policy.Drift{}, nil
		}
		file = defaultPolicy
	}
	p, err := loadPolicy(file)
	if err != nil {
		return nil, err
	}
	if p.Drift == nil {
		return &policy.Drift{}, nil
	}
	if f.workspace != "" && len(p.Drift.Terraform) > 0 &&
		!slices.ContainsFunc(p.Drift.Terraform, func(w policy.TerraformWorkspace) bool { return w.Name == f.workspace }) {
		var names []string
		for _, w := range p.Drift.Terraform {
			names = append(names, w.Name)
		}
		return nil, badInput("--workspace %s: %s names no such Terraform workspace (it has %s)", f.workspace, file, strings.Join(names, ", "))
	}
	return p.Drift, nil
}

// writeTerraform prints the report as drift report prints a stack's: a
// line for the workspace, then each drifted resource with its severity and
// the attributes that changed, state value → refreshed value.
func writeTerraform(out io.Writer, r terraformReport) error {
	what := "terraform"
	if r.Workspace != "" {
		what = "terraform:" + r.Workspace
	}
	version := ""
	if r.TerraformVersion != "" {
		version = ", Terraform " + r.TerraformVersion
	}
	fmt.Fprintf(out, "%-40s %-16s %d of %d resources changed outside Terraform%s\n", what, r.Status, len(r.Drifted), r.Resources, version)
	for _, d := range r.Drifted {
		note := ""
		if d.Suppressed {
			note = "  (suppressed: " + d.SuppressedBecause + ")"
		}
		id := ""
		if d.PhysicalID != "" {
			id = " (" + d.PhysicalID + ")"
		}
		fmt.Fprintf(out, "    %-8s %-9s %s %s%s%s\n", strings.ToUpper(d.Severity), d.Status, d.Type, d.LogicalID, id, note)
		for _, p := range d.Differences {
			fmt.Fprintf(out, "        %s %s: %s → %s\n", p.Type, p.Path, orNone(p.Expected), orNone(p.Actual))
		}
	}
	if len(r.Drifted) > 0 && !r.Unsuppressed {
		fmt.Fprintln(out, "every change is suppressed by the policy: reported, not failed")
	}
	switch {
	case r.Planned == 1:
		fmt.Fprintln(out, "1 planned change in resource_changes: what applying would do, not drift")
	case r.Planned > 1:
		fmt.Fprintf(out, "%d planned changes in resource_changes: what applying would do, not drift\n", r.Planned)
	}
	return nil
}
