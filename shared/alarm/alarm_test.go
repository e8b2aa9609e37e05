package alarm

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
)

const sampleEvent = "../../events/cloudwatch-alarm-state-change.json"

func sample(t *testing.T, edit func(map[string]any)) events.CloudWatchEvent {
	t.Helper()
	b, err := os.ReadFile(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func detailOf(m map[string]any) map[string]any { return m["detail"].(map[string]any) }

func TestDecodeReadsTheSample(t *testing.T) {
	s, err := Decode(sample(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Metric{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188"}}
	if s.Name != "checkout-prod-5xx" || s.ARN != "arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-5xx" ||
		s.Account != "444444444444" || s.Region != "eu-west-1" || s.State != StateAlarm || s.Previous != StateOK ||
		len(s.Metrics) != 1 || s.Metrics[0].Name != want.Name || s.Metrics[0].Dimensions["LoadBalancer"] != want.Dimensions["LoadBalancer"] || s.Composite() {
		t.Errorf("Decode() = %+v", s)
	}
	if at := time.Date(2026, 11, 17, 11, 52, 27, 121e6, time.UTC); !s.StateTime.Equal(at) {
		t.Errorf("StateTime = %v, want %v", s.StateTime, at)
	}
	if s.Key() != s.ARN+"|ALARM|2026-11-17T11:52:27.121+0000" {
		t.Errorf("Key() = %q", s.Key())
	}
}

func TestDecodeCompositeAlarm(t *testing.T) {
	s, err := Decode(sample(t, func(m map[string]any) {
		m["resources"] = []string{"arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-degraded"}
		d := detailOf(m)
		d["alarmName"] = "checkout-prod-degraded"
		d["configuration"] = map[string]any{"alarmRule": `ALARM("checkout-prod-5xx") OR ALARM("checkout-prod-latency")`}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Composite() || len(s.Metrics) != 0 || !strings.Contains(s.Rule, "checkout-prod-latency") {
		t.Errorf("Decode(composite) = %+v", s)
	}
}

// compositeEvent is the "Composite Alarm" example of the Alarm State Change
// Events in the CloudWatch User Guide, "Alarm events and EventBridge"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
// copied as published: ServiceAggregatedAlarm goes to ALARM while its
// suppressor alarm's wait period suppresses its actions.
const compositeEvent = "../../events/aws-docs/cloudwatch-alarm-state-change-composite.json"

func TestDecodeCompositeAlarmWithSuppressedActions(t *testing.T) {
	b, err := os.ReadFile(compositeEvent)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	s, err := Decode(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := StateChange{
		ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceAggregatedAlarm", Name: "ServiceAggregatedAlarm",
		Account: "123456789012", Region: "us-east-1", State: StateAlarm, Previous: StateOK,
		Reason:            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:SuppressionDemo.EventBridge.FirstChild transitioned to ALARM at Friday 22 July, 2022 15:57:45 UTC",
		StateTime:         time.Date(2022, 7, 22, 15, 57, 45, 394e6, time.UTC),
		StateStamp:        "2022-07-22T15:57:45.394+0000",
		Rule:              "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)",
		ActionsSuppressor: "ServiceMaintenanceAlarm", ActionsSuppressedBy: SuppressedByWaitPeriod,
		ActionsSuppressedReason: "Actions suppressed by WaitPeriod",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Decode(composite) =\n%+v\nwant\n%+v", s, want)
	}
	if why, ok := s.Suppressed(); !ok || why != "actions suppressed by WaitPeriod (suppressor alarm ServiceMaintenanceAlarm)" {
		t.Errorf("Suppressed() = %q, %v; want the wait period and the suppressor", why, ok)
	}
}

func TestSuppressed(t *testing.T) {
	tests := []struct {
		name       string
		by, reason string
		want       string // "" when not suppressed
	}{
		{"not suppressed", "", "", ""},
		{"a reason without a cause is no suppression", "", "Actions suppressed by WaitPeriod", ""},
		{"wait period", SuppressedByWaitPeriod, "Actions suppressed by WaitPeriod", "actions suppressed by WaitPeriod (suppressor alarm maintenance)"},
		{"extension period", SuppressedByExtensionPeriod, "Actions suppressed by ExtensionPeriod", "actions suppressed by ExtensionPeriod (suppressor alarm maintenance)"},
		{"suppressor in alarm, with its own words", SuppressedByAlarm, "maintenance window",
			"actions suppressed by Alarm (suppressor alarm maintenance): maintenance window"},
		{"a cause CloudWatch adds later", "Schedule", "", "actions suppressed by Schedule (suppressor alarm maintenance)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StateChange{ActionsSuppressor: "maintenance", ActionsSuppressedBy: tt.by, ActionsSuppressedReason: tt.reason}
			why, ok := s.Suppressed()
			if why != tt.want || ok != (tt.want != "") {
				t.Errorf("Suppressed(%q, %q) = %q, %v; want %q", tt.by, tt.reason, why, ok, tt.want)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"another event", func(m map[string]any) { m["detail-type"] = "EC2 Instance State-change Notification" }, "not a CloudWatch Alarm State Change"},
		{"no alarm ARN", func(m map[string]any) { m["resources"] = []string{} }, "lacks alarm ARN"},
		{"no state", func(m map[string]any) { delete(detailOf(m), "state") }, "lacks state.value, state.timestamp"},
		{"unknown state", func(m map[string]any) { detailOf(m)["state"].(map[string]any)["value"] = "FIRING" }, `unknown state "FIRING"`},
		{"bad timestamp", func(m map[string]any) { detailOf(m)["state"].(map[string]any)["timestamp"] = "yesterday" }, `state timestamp "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(sample(t, tt.edit)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode() error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Decode(sample(t, func(m map[string]any) { m["source"] = "aws.ec2" })); !errors.Is(err, ErrNotAlarmEvent) {
		t.Errorf("Decode(aws.ec2) error = %v, want ErrNotAlarmEvent", err)
	}
}

const matchPolicy = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1, deploy: {ssm: {parameter: /checkout/dev/image}}}
      - {name: prod, account: "444444444444", region: eu-west-1, deploy: {ecs: {cluster: shop, service: checkout, container: app}}}
alarms:
  runbooks:
    - {name: by-name, app: checkout, env: prod, match: {names: [checkout-prod-*]}, actions: [notify: {}]}
    - {name: by-other-name, app: checkout, env: prod, match: {names: [payments-*, checkout-prod-latency]}, actions: [notify: {}]}
    - {name: by-tag, app: checkout, env: prod, match: {tags: {team: payments}}, actions: [notify: {}]}
    - {name: by-wrong-tag, app: checkout, env: prod, match: {tags: {team: search}}, actions: [notify: {}]}
    - {name: by-metric, app: checkout, env: prod, match: {metric: {namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count}}, actions: [notify: {}]}
    - {name: by-dimension, app: checkout, env: prod, match: {metric: {namespace: AWS/ApplicationELB, dimensions: {LoadBalancer: app/checkout-prod/*}}}, actions: [notify: {}]}
    - {name: by-other-dimension, app: checkout, env: prod, match: {metric: {namespace: AWS/ApplicationELB, dimensions: {LoadBalancer: app/search-*}}}, actions: [notify: {}]}
    - {name: by-other-namespace, app: checkout, env: prod, match: {metric: {namespace: AWS/Lambda}}, actions: [notify: {}]}
    - {name: all-parts, app: checkout, env: prod, match: {names: ["*-5xx"], tags: {team: payments}, metric: {namespace: AWS/ApplicationELB}}, actions: [notify: {}]}
    - {name: dev-by-name, app: checkout, env: dev, match: {names: ["checkout-*"]}, actions: [notify: {}]}
`

func TestRunbooksMatch(t *testing.T) {
	p, err := policy.Parse([]byte(matchPolicy), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tagged := map[string]string{"team": "payments", "app": "checkout"}
	tests := []struct {
		name  string
		edit  func(map[string]any)
		tags  map[string]string
		want  []string
		reads int // tag reads
	}{
		{"the sample", nil, tagged,
			[]string{"by-name", "by-tag", "by-metric", "by-dimension", "all-parts"}, 1},
		{"untagged alarm", nil, map[string]string{},
			[]string{"by-name", "by-metric", "by-dimension"}, 1},
		{"another name", func(m map[string]any) {
			m["resources"] = []string{"arn:aws:cloudwatch:eu-west-1:444444444444:alarm:checkout-prod-latency"}
			detailOf(m)["alarmName"] = "checkout-prod-latency"
		}, tagged, []string{"by-name", "by-other-name", "by-tag", "by-metric", "by-dimension"}, 1},
		{"composite: no metric", func(m map[string]any) {
			detailOf(m)["configuration"] = map[string]any{"alarmRule": `ALARM("a")`}
		}, tagged, []string{"by-name", "by-tag"}, 1},
		{"the same alarm in dev's account", func(m map[string]any) { m["account"] = "222222222222" }, tagged,
			[]string{"dev-by-name"}, 0},
		{"another account", func(m map[string]any) { m["account"] = "999999999999" }, tagged, nil, 0},
		{"another region", func(m map[string]any) { m["region"] = "us-east-1" }, tagged, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(sample(t, tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			reads := 0
			got, err := Runbooks(context.Background(), p, s, func(context.Context) (map[string]string, error) {
				reads++
				return tt.tags, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, rb := range got {
				names = append(names, rb.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("Runbooks() = %v, want %v", names, tt.want)
			}
			if reads != tt.reads {
				t.Errorf("tags read %d times, want %d", reads, tt.reads)
			}
		})
	}
}

func TestRunbooksFailsWhenTagsCannotBeRead(t *testing.T) {
	p, err := policy.Parse([]byte(matchPolicy), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(sample(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	denied := errors.New("AccessDenied")
	if _, err := Runbooks(context.Background(), p, s, func(context.Context) (map[string]string, error) { return nil, denied }); !errors.Is(err, denied) {
		t.Errorf("Runbooks() error = %v, want the tag read's error", err)
	}
}

func TestTagsAreReadOncePerTTL(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("ListTagsForResource", awsfake.JSON(200, `{"Tags":[{"Key":"team","Value":"payments"},{"Key":"app","Value":"checkout"}]}`))
	client := cloudwatch.NewFromConfig(srv.Config(), func(o *cloudwatch.Options) {
		o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
	})
	now := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	var asked []string
	tags := NewTags(func(account, region string) TagLister {
		asked = append(asked, account+"/"+region)
		return client
	}, time.Minute, func() time.Time { return now })
	s, err := Decode(sample(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		got, err := tags.Of(ctx, s)
		if err != nil || got["team"] != "payments" || got["app"] != "checkout" {
			t.Fatalf("Of() = %v, %v", got, err)
		}
		got["team"] = "changed by the caller"
	}
	if n := len(srv.Invocations("ListTagsForResource")); n != 1 {
		t.Errorf("ListTagsForResource calls = %d, want 1 within the TTL", n)
	}
	var in struct{ ResourceARN string }
	if err := srv.Invocations("ListTagsForResource")[0].DecodeJSON(&in); err != nil || in.ResourceARN != s.ARN {
		t.Errorf("ListTagsForResource(%+v), %v; want the alarm's ARN", in, err)
	}
	if !slices.Equal(asked, []string{"444444444444/eu-west-1"}) {
		t.Errorf("clients asked for %v, want the alarm's account and region", asked)
	}
	now = now.Add(2 * time.Minute)
	if _, err := tags.Of(ctx, s); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Invocations("ListTagsForResource")); n != 2 {
		t.Errorf("ListTagsForResource calls = %d, want 2 after the TTL", n)
	}
}
