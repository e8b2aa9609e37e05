package stacks

import (
	"maps"
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

func TestOverviewDashboardShowsHighwaysHealthAndAllAppsBySearch(t *testing.T) {
	// GIVEN the example policy
	p := examplePolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	dashboards := dashboardsOf(t, tpl)

	// THEN the overview, named after the hub, starts with a link to the app
	// dashboard of its one app
	overview, ok := dashboards[p.Hub.Name]
	if !ok {
		t.Fatalf("dashboards %v, want one named %s", slices.Sorted(maps.Keys(dashboards)), p.Hub.Name)
	}
	if link := "[highway-apps-1](#dashboards:name=highway-apps-1) checkout"; !strings.Contains(overview.Widgets[0].markdown(), link) {
		t.Errorf("the overview's first widget %q lacks %s", overview.Widgets[0].markdown(), link)
	}

	// AND it shows Highway's own health: every function's invocations,
	// errors, p99 duration and throttles, and every dead-letter queue's depth
	var health []string
	for _, name := range []string{"push", "gate", "gatejob", "approval", "approvalrequest", "promote", "drift", "respond", FunctionDORA, FunctionHeatmap} {
		id := functionID(t, tpl, p.Hub, name)
		for _, m := range []string{"Invocations", "Errors", "Duration", "Throttles"} {
			health = append(health, `["AWS/Lambda","`+m+`","FunctionName","${`+id+`}",{"label":"`+name+`"`)
		}
	}
	health = append(health, `"Duration","FunctionName","${`+functionID(t, tpl, p.Hub, FunctionHeatmap)+`}",{"label":"heatmap","stat":"p99"}`)
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
		`["Highway","`+telemetry.MetricDriftedStacks+`",`,
		`["Highway","`+telemetry.MetricDriftedResources+`","Severity","critical"`)
	for _, want := range health {
		if !strings.Contains(overview.body, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}

	// AND it finds the approvals waiting, the gate pass rate, the artifacts
	// not as promoted and the DORA metrics of all apps' last environment
	// (checkout's prod, storefront's dev) by SEARCH, each with the sums and
	// means over the apps
	doraSearch := func(metric string) string {
		return `SEARCH('{Highway,App,Env,Window} MetricName="` + metric + `" Window="7d" (Env="prod" OR Env="dev")', 'Maximum', 3600)`
	}
	for _, want := range []string{
		`SEARCH('{Highway,App,Env} MetricName="` + telemetry.MetricApprovalsWaiting + `"', 'Maximum', 300)`, "SUM(waiting)",
		`SEARCH('{Highway,App} MetricName="` + telemetry.MetricGatePassed + `"', 'Average', 3600)`, "100 * passed", "100 * AVG(passed)",
		`SEARCH('{Highway,App,Env} MetricName="` + telemetry.MetricArtifactDrift + `"', 'Maximum', 3600)`,
		doraSearch(telemetry.MetricDeploymentsPerDay), "SUM(perDay)",
		doraSearch(telemetry.MetricLeadTimeP50), "AVG(lead)", "MAX(lead)",
		doraSearch(telemetry.MetricFailedChangesInWindow), doraSearch(telemetry.MetricDeploymentsInWindow), "100 * SUM(failed) / SUM(deployed)",
		doraSearch(telemetry.MetricTimeToRestoreP50), "AVG(restore)", "MAX(restore)",
	} {
		if !slices.Contains(overview.expressions(), want) {
			t.Errorf("the overview lacks the expression %s; it has %q", want, overview.expressions())
		}
	}

	// AND it lists no metric of one app, and no app's heatmap
	for _, w := range overview.Widgets {
		if w.Type == "custom" {
			t.Errorf("the overview has a custom widget %v", w.Properties)
		}
		for _, m := range w.metrics() {
			if slices.Contains(m, any(dimApp)) {
				t.Errorf("the overview graphs %v: one app's metric", m)
			}
		}
	}
}

func TestAppDashboardShowsEachAppsDORAAndHeatmap(t *testing.T) {
	// GIVEN the example policy, of three apps
	p := examplePolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	heatmap := functionID(t, tpl, p.Hub, FunctionHeatmap)
	dashboards := dashboardsOf(t, tpl)

	// THEN one app dashboard starts with a text naming checkout, storefront
	// and payments, says where each one's environments deploy to, graphs its
	// DORA metrics in its last environment over 7 days and embeds the
	// heatmap function for it
	if len(dashboards) != 2 {
		t.Errorf("dashboards %v, want the overview and one app dashboard", slices.Sorted(maps.Keys(dashboards)))
	}
	d, ok := dashboards[AppDashboardName(p.Hub, 0)]
	if !ok {
		t.Fatalf("no dashboard %s among %v", AppDashboardName(p.Hub, 0), slices.Sorted(maps.Keys(dashboards)))
	}
	if len(d.Widgets) != 19 || d.Widgets[0].Type != "text" || !strings.Contains(d.Widgets[0].markdown(), "checkout, storefront, payments") {
		t.Errorf("%s widgets = %v, want a text naming checkout, storefront and payments, then each one's targets, 4 graphs and heatmap", AppDashboardName(p.Hub, 0), d.Widgets)
	}
	if want := "**payments** deploys dev → App Runner payments-dev (222222222222/eu-west-1) · staging → EKS platform-staging payments/payments container app (333333333333/eu-west-1) · " +
		"prod → GitOps platform-gitops@main:apps/payments/prod/kustomization.yaml → EKS platform-prod payments/payments container app (444444444444/eu-west-1)"; !strings.Contains(d.body, want) {
		t.Errorf("%s does not say where payments deploys: want %q", AppDashboardName(p.Hub, 0), want)
	}
	for _, last := range []struct{ app, env string }{{"checkout", "prod"}, {"storefront", "dev"}, {"payments", "prod"}} {
		for _, metric := range []string{telemetry.MetricDeploymentsPerDay, telemetry.MetricLeadTimeP50, telemetry.MetricChangeFailureRate, telemetry.MetricTimeToRestoreP50} {
			if want := `["Highway","` + metric + `","App","` + last.app + `","Env","` + last.env + `","Window","7d",`; !strings.Contains(d.body, want) {
				t.Errorf("%s lacks %s", AppDashboardName(p.Hub, 0), want)
			}
		}
		for _, want := range []string{`"type":"custom"`, `"endpoint":"${` + heatmap + `}"`, `"params":{"app":"` + last.app + `"}`} {
			if !strings.Contains(d.body, want) {
				t.Errorf("%s lacks %s:\n%s", AppDashboardName(p.Hub, 0), want, d.body)
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
