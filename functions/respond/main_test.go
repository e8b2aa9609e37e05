package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/respond"
)

// deploy prepares the respond function with the example policy's runbook
// for checkout in prod (rollback, notify); EventBridge and SNS accept
// everything.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "respond")
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	return d
}

// read is the event events/name.
func read(tb testing.TB, name string) []byte {
	tb.Helper()
	return localaws.SampleFile(tb, name)
}

// TestBootstrapUnderEmulator runs respond as built, under the Lambda Runtime
// Interface Emulator, with the example policy's runbook for checkout in prod
// (rollback, notify): the alarm's event opens an incident in DynamoDB Local,
// asks promotion for the rollback on the bus and notifies; the same event
// again does nothing; the alarm's OK resolves the incident.
func TestBootstrapUnderEmulator(t *testing.T) {
	t.Parallel() // each test runs on a site of its own
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	invoke := func(event string) respond.Result {
		t.Helper()
		body, err := emu.Invoke(ctx, read(t, event))
		if err != nil || strings.Contains(string(body), `"errorMessage"`) {
			t.Fatalf("%s: %s, %v\nlog:\n%s", event, body, err, emu.Log())
		}
		var res respond.Result
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatalf("%s: response %s: %v", event, body, err)
		}
		return res
	}

	res := invoke("cloudwatch-alarm-state-change.json")
	if res.Outcome != "opened" || len(res.Runbooks) != 1 || len(res.Runbooks[0].Actions) != 2 ||
		res.Runbooks[0].Actions[0].Outcome != respond.ActionDone || res.Runbooks[0].Actions[1].Outcome != respond.ActionDone {
		t.Fatalf("ALARM → %+v, want the runbook's rollback and notify done", res)
	}
	var rollbackAsked bool
	for _, c := range d.AWS.Invocations("PutEvents") {
		var in struct {
			Entries []struct{ DetailType, Detail string }
		}
		if err := c.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		for _, e := range in.Entries {
			if e.DetailType == "Rollback Requested" && strings.Contains(e.Detail, `"env":"prod"`) {
				rollbackAsked = true
			}
		}
	}
	if !rollbackAsked {
		t.Error("no Rollback Requested event for prod on the bus")
	}
	if alerts := d.AWS.Invocations("Publish"); len(alerts) != 1 || !strings.Contains(alerts[0].Form.Get("Subject"), "checkout-prod-5xx") {
		t.Errorf("notifications = %d, want one about checkout-prod-5xx", len(alerts))
	}

	if again := invoke("cloudwatch-alarm-state-change.json"); again.Outcome != "duplicate" {
		t.Errorf("the same event again → %+v, want duplicate", again)
	}
	ok := invoke("cloudwatch-alarm-state-change-ok.json")
	if ok.Outcome != "resolved" || ok.Runbooks[0].TimeToRestore != "14m0s" {
		t.Errorf("OK → %+v, want resolved in 14m0s", ok)
	}
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)
	incs, err := l.Incidents(ctx, "checkout", "prod", time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC))
	if err != nil || len(incs) != 1 || incs[0].ResolvedAt.IsZero() {
		t.Errorf("incidents in DynamoDB Local = %+v, %v; want one, resolved", incs, err)
	}
}

// TestBootstrapResumesAfterATransientError runs respond as built, under the
// emulator, against an EventBridge that rejects the first Incident Opened
// (InternalFailure, as PutEvents reports a failed entry) and an SNS whose
// first publish is throttled by KMS (which the SDK does not retry): the
// first invocation asks the rollback, then fails; the next delivery of the
// event (the emulator gives it another request id, as EventBridge does a
// redelivery) sends the notice and the notification, and asks no second
// rollback; a third does nothing.
func TestBootstrapResumesAfterATransientError(t *testing.T) {
	t.Parallel()
	d := localaws.Deploy(t, "respond")
	var (
		mu                  sync.Mutex
		accepted            = map[string]int{}
		rejected, throttled bool
		notified            int
	)
	d.AWS.OnFunc("PutEvents", func(r awsfake.Request) awsfake.Response {
		var in struct {
			Entries []struct{ DetailType string }
		}
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "ValidationException", err.Error())
		}
		mu.Lock()
		defer mu.Unlock()
		var answers []string
		failed := 0
		for _, e := range in.Entries {
			if e.DetailType == respond.DetailTypeIncidentOpened && !rejected {
				rejected = true
				failed++
				answers = append(answers, `{"ErrorCode":"InternalFailure","ErrorMessage":"Internal service error."}`)
				continue
			}
			accepted[e.DetailType]++
			answers = append(answers, `{"EventId":"e-1"}`)
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"FailedEntryCount":%d,"Entries":[%s]}`, failed, strings.Join(answers, ",")))
	})
	d.AWS.OnFunc("Publish", func(awsfake.Request) awsfake.Response {
		mu.Lock()
		defer mu.Unlock()
		if !throttled {
			throttled = true
			return awsfake.APIError(400, "KMSThrottling", "The request was denied due to request throttling by AWS KMS.")
		}
		notified++
		return awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`)
	})
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	event := read(t, "cloudwatch-alarm-state-change.json")
	counts := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("Incident Opened %d, Rollback Requested %d, Remediation Ran %d, notifications %d",
			accepted[respond.DetailTypeIncidentOpened], accepted["Rollback Requested"], accepted[respond.DetailTypeRemediation], notified)
	}

	body, err := emu.Invoke(ctx, event)
	if err != nil || !strings.Contains(string(body), `"errorMessage"`) {
		t.Fatalf("first invocation = %s, %v; want an error, for a retry\nlog:\n%s", body, err, emu.Log())
	}
	if got := counts(); got != "Incident Opened 0, Rollback Requested 1, Remediation Ran 1, notifications 0" {
		t.Errorf("after the first invocation, AWS accepted %s; want the rollback asked and recorded", got)
	}
	for i, want := range []string{respond.OutcomeResumed, respond.OutcomeDuplicate} {
		body, err := emu.Invoke(ctx, event)
		var res respond.Result
		if err != nil || json.Unmarshal(body, &res) != nil || res.Outcome != want {
			t.Fatalf("delivery %d = %s, %v; want %s\nlog:\n%s", i+2, body, err, want, emu.Log())
		}
	}
	if got := counts(); got != "Incident Opened 1, Rollback Requested 1, Remediation Ran 2, notifications 1" {
		t.Errorf("AWS accepted %s; want each once", got)
	}
}

// BenchmarkInvoke measures respond as built, under the emulator, with
// checkout-prod-5xx's change to ALARM from events/ (localaws.BenchInvoke);
// make bench runs it. The first delivery opens the incident and runs the
// runbook (rollback asked, notification sent); every redelivery of the same
// transition answers duplicate and acts on nothing, which the check accepts
// beside opened.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, read(b, "cloudwatch-alarm-state-change.json"), func(body []byte) error {
		var res respond.Result
		if err := json.Unmarshal(body, &res); err != nil {
			return fmt.Errorf("response %s: %w", body, err)
		}
		if (res.Outcome != "opened" && res.Outcome != "duplicate") || res.Alarm != "checkout-prod-5xx" {
			return fmt.Errorf("ALARM → %s, want checkout-prod-5xx opened or duplicate", body)
		}
		return nil
	})
}
