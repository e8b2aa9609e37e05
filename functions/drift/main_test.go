package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/111111111111/highway-DriftQueue"

// deploy prepares the drift function with its queue and the fake's answers
// for its three triggers: every account lists the checkout- stack of
// events/, SQS takes every message, CloudFormation starts the detection and
// reads the security group rule added by hand, and EventBridge and SNS
// accept everything.
func deploy(tb testing.TB) *localaws.Deployment {
	tb.Helper()
	d := localaws.Deploy(tb, "drift")
	d.Env = append(d.Env, function.EnvDriftQueue+"="+queueURL)
	d.AWS.On("DescribeStacks", awsfake.XML(200, read(tb, "cloudformation-describestacks.xml")))
	d.AWS.OnFunc("SendMessageBatch", func(r awsfake.Request) awsfake.Response {
		var in struct {
			Entries []struct{ Id, MessageBody string }
		}
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "InvalidParameterValue", err.Error())
		}
		type sent struct{ Id, MessageId, MD5OfMessageBody string }
		var out struct{ Successful []sent }
		for _, e := range in.Entries {
			sum := md5.Sum([]byte(e.MessageBody))
			out.Successful = append(out.Successful, sent{e.Id, "m-" + e.Id, hex.EncodeToString(sum[:])})
		}
		b, _ := json.Marshal(out)
		return awsfake.JSON(200, string(b))
	})
	d.AWS.On("DetectStackDrift", awsfake.XML(200, `<DetectStackDriftResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DetectStackDriftResult>`+
		`<StackDriftDetectionId>b78ac9b0-c44f-11f0-94c2-0a3f1e2b8c41</StackDriftDetectionId></DetectStackDriftResult>`+
		`<ResponseMetadata><RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ResponseMetadata></DetectStackDriftResponse>`))
	d.AWS.On("DescribeStackResourceDrifts", awsfake.XML(200, read(tb, "cloudformation-describestackresourcedrifts.xml")))
	d.AWS.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	d.AWS.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	return d
}

// queued is the body of every message the function sent to its queue, in
// the order the fake received them.
func queued(t *testing.T, d *localaws.Deployment) []string {
	t.Helper()
	var bodies []string
	for _, c := range d.AWS.Calls("SendMessageBatch") {
		var in struct {
			Entries []struct{ MessageBody string }
		}
		if err := c.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		for _, e := range in.Entries {
			bodies = append(bodies, e.MessageBody)
		}
	}
	return bodies
}

// TestBootstrapUnderEmulator runs drift as built, under the Lambda Runtime
// Interface Emulator, through its three triggers with their events/ files:
// the schedule queues the selected stack, the queue's batch starts its
// detection, and CloudFormation's completion event files the report of the
// security group rule added by hand, in DynamoDB Local, and announces it;
// the same event again is a duplicate.
func TestBootstrapUnderEmulator(t *testing.T) {
	d := deploy(t)
	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	invoke := func(event string, out any) {
		t.Helper()
		body, err := emu.Invoke(ctx, []byte(read(t, event)))
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", event, err, emu.Log())
		}
		if strings.Contains(string(body), `"errorMessage"`) {
			t.Fatalf("%s: function error %s", event, body)
		}
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: response %s: %v", event, body, err)
		}
	}

	var round drift.Round
	invoke("drift-scheduled.json", &round)
	// The one fake answers for every account: each lists the same checkout-
	// stack; the policy's Terraform workspace is queued among them.
	if q := queued(t, d); round.Sweep.Accounts != 4 || round.Sweep.Stacks != 4 || round.Sweep.Workspaces != 1 || len(q) != 5 ||
		!strings.Contains(q[0], `"stackName":"checkout-prod-network"`) || !slices.Contains(q, `{"account":"444444444444","region":"eu-west-1","workspace":"network-prod"}`) {
		t.Errorf("scheduled round sweep = %+v, queued %q; want 4 accounts with one stack each, and the workspace", round.Sweep, q)
	}
	if round.Runtime.Checked != 0 || len(round.Runtime.Skipped) != 3 {
		t.Errorf("scheduled round runtime = %+v, want checkout's dev and prod and storefront's dev skipped (nothing promoted)", round.Runtime)
	}

	var batch struct {
		BatchItemFailures []any `json:"batchItemFailures"`
	}
	invoke("sqs-drift-detections.json", &batch)
	if len(batch.BatchItemFailures) != 0 || len(d.AWS.Calls("DetectStackDrift")) != 1 {
		t.Errorf("queue batch: failures %v, %d detections started; want none and 1", batch.BatchItemFailures, len(d.AWS.Calls("DetectStackDrift")))
	}

	for _, want := range []drift.Outcome{drift.OutcomeReported, drift.OutcomeDuplicate} {
		var res drift.Result
		invoke("cloudformation-drift-detection.json", &res)
		if res.Outcome != want || res.Status != "DRIFTED" {
			t.Errorf("completion event → %+v, want %s DRIFTED", res, want)
		}
	}
	if n := len(d.AWS.Calls("PutEvents")); n != 1 {
		t.Errorf("PutEvents calls = %d, want 1 (Drift Detected, once)", n)
	}
	alerts := d.AWS.Calls("Publish")
	if len(alerts) != 1 || !strings.Contains(alerts[0].Form.Get("Message"), "/SecurityGroupIngress/2") {
		t.Errorf("alerts = %d, want one naming the added ingress rule", len(alerts))
	}

	current, err := ledger.NewDynamo(localaws.DynamoDB(t), d.Table).CurrentDriftReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(current) != 1 || current[0].Stack != "checkout-prod-network" || len(current[0].Drifted) != 1 ||
		current[0].Drifted[0].Severity != "critical" {
		t.Errorf("current reports in DynamoDB Local = %+v, want the network stack's critical security group drift", current)
	}
}

// BenchmarkInvoke measures drift as built, under the emulator, with
// CloudFormation's drift-detection completion event (localaws.BenchInvoke);
// make bench runs it. The completion is drift's hot path: one arrives per
// selected stack each round, where the schedule's event comes once a round.
// No detection is pending on the ledger, so the first delivery files the
// report as that of a detection started outside Highway, of a stack the
// policy selects, and announces it; every redelivery answers duplicate,
// which the check accepts beside reported.
func BenchmarkInvoke(b *testing.B) {
	d := deploy(b)
	localaws.BenchInvoke(b, d.Bootstrap, d.Env, []byte(read(b, "cloudformation-drift-detection.json")), func(body []byte) error {
		var res drift.Result
		if err := json.Unmarshal(body, &res); err != nil {
			return fmt.Errorf("response %s: %w", body, err)
		}
		if (res.Outcome != drift.OutcomeReported && res.Outcome != drift.OutcomeDuplicate) || res.Status != "DRIFTED" {
			return fmt.Errorf("completion event → %s, want reported or duplicate, DRIFTED", body)
		}
		return nil
	})
}

func read(tb testing.TB, name string) string {
	tb.Helper()
	return string(localaws.SampleFile(tb, name))
}
