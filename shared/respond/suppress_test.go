package respond

import (
	"context"
	"slices"
	"testing"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/localaws"
)

// compositePolicy answers the composite alarm of the AWS documentation's
// sample in its account and region.
const compositePolicy = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: service
    repository: service
    environments:
      - {name: prod, account: "123456789012", region: us-east-1, deploy: {ecs: {cluster: main, service: service, container: app}}}
alarms:
  runbooks:
    - name: service-degraded
      app: service
      env: prod
      match: {names: [ServiceAggregatedAlarm]}
      actions:
        - rollback: {}
        - ecs-redeploy: {}
        - notify: {}
`

// While CloudWatch suppresses a composite alarm's actions, its ALARM opens
// the incident and runs no action: the incident's notice and each action's
// record say why. The event is events/aws-docs/cloudwatch-alarm-state-change-composite.json,
// the "Composite Alarm" example of the CloudWatch User Guide's "Alarm events
// and EventBridge"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
// as published (suppressed by WaitPeriod), and variants of it.
func TestSuppressedActionsOpenAnIncidentAndRunNothing(t *testing.T) {
	tests := []struct {
		name       string
		by, reason string // actionsSuppressedBy and actionsSuppressedReason; "" removes them
		want       string // the actions' detail, "" when they run
	}{
		{"wait period, as published", alarm.SuppressedByWaitPeriod, "Actions suppressed by WaitPeriod",
			"actions suppressed by WaitPeriod (suppressor alarm ServiceMaintenanceAlarm)"},
		{"extension period", alarm.SuppressedByExtensionPeriod, "Actions suppressed by ExtensionPeriod",
			"actions suppressed by ExtensionPeriod (suppressor alarm ServiceMaintenanceAlarm)"},
		{"suppressor alarm in ALARM", alarm.SuppressedByAlarm, "Actions suppressed by Alarm",
			"actions suppressed by Alarm (suppressor alarm ServiceMaintenanceAlarm)"},
		{"not suppressed", "", "", ""},
	}
	for _, l := range ledgers {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				w := newWire(t, compositePolicy, l.open)
				ev := localaws.Event(t, "aws-docs/cloudwatch-alarm-state-change-composite.json", func(d map[string]any) {
					st := d["state"].(map[string]any)
					st["actionsSuppressedBy"], st["actionsSuppressedReason"] = tt.by, tt.reason
					if tt.by == "" {
						delete(st, "actionsSuppressedBy")
						delete(st, "actionsSuppressedReason")
					}
				})
				res, err := w.h.Handle(invocation("req-1"), ev)
				if err != nil || res.Outcome != OutcomeOpened || len(res.Runbooks) != 1 {
					t.Fatalf("Handle() = %+v, %v; want the incident opened", res, err)
				}
				rr := res.Runbooks[0]
				open, err := w.ledger.OpenIncidents(context.Background())
				if err != nil || len(open) != 1 || open[0].ID != rr.Incident || open[0].App != "service" {
					t.Errorf("open incidents = %+v, %v; want the alarm's, in service/prod", open, err)
				}
				n := w.incidentNotice(t)
				if n.ActionsSuppressedBy != tt.by || n.ActionsSuppressedReason != tt.reason {
					t.Errorf("Incident Opened says suppressed by %q (%q), want %q (%q)", n.ActionsSuppressedBy, n.ActionsSuppressedReason, tt.by, tt.reason)
				}
				rs, err := w.ledger.Remediations(context.Background(), "service", "prod", w.clock.Now().Add(-1), w.clock.Now().Add(1))
				if err != nil || len(rs) != 3 {
					t.Fatalf("remediations = %+v, %v; want one record per action", rs, err)
				}
				if tt.want == "" {
					if got := outcomes(rr); !slices.Equal(got, []string{"rollback:done", "ecs-redeploy:done", "notify:done"}) || w.counts() != once {
						t.Errorf("actions = %v, AWS accepted %s; want each run once", got, w.counts())
					}
					return
				}
				if rr.Suppressed != tt.want {
					t.Errorf("runbook's Suppressed = %q, want %q", rr.Suppressed, tt.want)
				}
				for _, a := range rr.Actions {
					if a.Outcome != ActionSuppressed || a.Detail != tt.want {
						t.Errorf("action %s = %s %q, want suppressed %q", a.Action, a.Outcome, a.Detail, tt.want)
					}
				}
				for _, r := range rs {
					if r.Result != "suppressed: "+tt.want || r.Failed || r.IncidentID != rr.Incident {
						t.Errorf("remediation %s on the ledger = %q, want it suppressed", r.Action, r.Result)
					}
				}
				if got := w.counts(); got != "Incident Opened 1, Rollback Requested 0, Remediation Ran 3, redeploys 0, notifications 0" {
					t.Errorf("AWS accepted %s; want the incident's notice and the records of the actions, no action", got)
				}
			})
		}
	}
}
