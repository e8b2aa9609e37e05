package stacks

import (
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/telemetry"
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

func TestDashboardShowsDORAAndHighwaysHealth(t *testing.T) {
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

	// AND it ends with Highway's own health: every function's invocations,
	// errors, p99 duration and throttles, every dead-letter queue's depth,
	// prod's approvals waiting, checkout's gate pass rate, and drift
	var health []string
	for _, name := range []string{"push", "gate", "gatejob", "approval", "approvalrequest", "promote", "drift", "respond", FunctionDORA, FunctionHeatmap} {
		id := functionID(t, tpl, p.Hub, name)
		for _, m := range []string{"Invocations", "Errors", "Duration", "Throttles"} {
			health = append(health, `["AWS/Lambda","`+m+`","FunctionName","${`+id+`}",{"label":"`+name+`"`)
		}
	}
	health = append(health, `"Duration","FunctionName","${`+heatmap+`}",{"label":"heatmap","stat":"p99"}`)
	queues := 0
	for id, q := range tpl.ofType("AWS::SQS::Queue") {
		if q.Properties["MessageRetentionPeriod"] == float64(deadLetterRetentionDays*24*3600) {
			queues++
			health = append(health, `["AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","${`+id+`}"`)
		}
	}
	if queues < 20 {
		t.Errorf("%d dead-letter queues found in the hub, want one per function, rule and queue", queues)
	}
	health = append(health,
		`["Highway","`+telemetry.MetricApprovalsWaiting+`","App","checkout","Env","prod"`,
		`"expression":"100 * passed0"`, `["Highway","`+telemetry.MetricGatePassed+`","App","checkout",{"id":"passed0"`,
		`["Highway","`+telemetry.MetricDriftedStacks+`",`,
		`["Highway","`+telemetry.MetricDriftedResources+`","Severity","critical"`,
		`["Highway","`+telemetry.MetricArtifactDrift+`","App","checkout","Env","dev"`)
	for _, d := range dashboards {
		body := flat(d.Properties["DashboardBody"])
		for _, want := range health {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard body lacks %s", want)
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
