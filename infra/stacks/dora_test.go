package stacks

import (
	"slices"
	"strings"
	"testing"
)

func TestDORAReadsTheLedgerHourly(t *testing.T) {
	// GIVEN the example policy
	p := examplePolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	fn := functionID(t, tpl, p.Hub, FunctionDORA)

	// THEN one schedule of the default bus invokes dora every hour
	schedules := 0
	for _, r := range tpl.ofType("AWS::Events::Rule") {
		targets := list(r.Properties["Targets"])
		if len(targets) == 1 && refTo(path(targets[0], "Arn")) == fn {
			schedules++
			if r.Properties["ScheduleExpression"] != doraSchedule {
				t.Errorf("dora's rule schedule = %v, want %s", r.Properties["ScheduleExpression"], doraSchedule)
			}
		}
	}
	if schedules != 1 {
		t.Errorf("%d rules invoke dora, want its schedule alone", schedules)
	}

	// AND its role reads the ledger and writes its checkpoints there, and
	// nothing anywhere else
	role := refTo(path(tpl.Resources[fn].Properties, "Role"))
	read, write := false, false
	for _, st := range statementsOf(tpl, role) {
		for _, a := range st.actions {
			service, op, _ := strings.Cut(a, ":")
			switch {
			case service == "dynamodb" && (op == "Query" || op == "GetItem"):
				read = true
			case service == "dynamodb" && slices.Contains([]string{"PutItem", "UpdateItem"}, op):
				write = true
				if !slices.ContainsFunc(st.resources, func(r string) bool { return strings.Contains(r, "Ledger") }) {
					t.Errorf("dora may %s on %v: only the ledger", a, st.resources)
				}
			case service == "events" || service == "sns" || service == "sts":
				t.Errorf("dora may %s: it only reads the ledger", a)
			}
		}
	}
	if !read || !write {
		t.Errorf("dora can query the ledger: %v, write its checkpoints: %v", read, write)
	}
}

func TestDashboardShowsEachAppsDORAAndHeatmap(t *testing.T) {
	// GIVEN the example policy
	p := examplePolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	heatmap := functionID(t, tpl, p.Hub, FunctionHeatmap)

	// THEN one dashboard graphs checkout's DORA metrics in prod over 7 days
	// and embeds the heatmap function as a custom widget
	dashboards := tpl.ofType("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("dashboards = %d, want 1", len(dashboards))
	}
	for _, d := range dashboards {
		body := flat(d.Properties["DashboardBody"])
		for _, want := range []string{`"type":"custom"`, "${" + heatmap + "}", `"params":{"app":"checkout"}`,
			`"DeploymentsPerDay","App","checkout","Env","prod","Window","7d"`, `"LeadTimeP50"`, `"ChangeFailureRate"`, `"TimeToRestoreP50"`} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard body lacks %s:\n%s", want, body)
			}
		}
	}

	// AND the heatmap function only reads the ledger
	role := refTo(path(tpl.Resources[heatmap].Properties, "Role"))
	for _, st := range statementsOf(tpl, role) {
		for _, a := range st.actions {
			if strings.HasPrefix(a, "dynamodb:") && slices.Contains([]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, a) {
				t.Errorf("heatmap may %s", a)
			}
		}
	}
}
