package main

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/runtimecheck"
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
	if want := deployedTo(d.Policy); round.Runtime.Checked != 0 || !slices.Equal(round.Runtime.Skipped, want) || len(round.Runtime.Failed) != 0 {
		t.Errorf("scheduled round runtime = %+v, want %q skipped (nothing promoted)", round.Runtime, want)
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

// The digests of the runtime check: promoted passed the gate, hotfix was
// put in place by hand.
const (
	promoted = "sha256:dce6076a9db1931ce247727b49c0c6aaa57dbd673cf1101e2cb2275bc1bd8337"
	hotfix   = "sha256:9d8d105ac90cc56852c704633b4c2e233802a97757660935930d86e746d515ea"
)

// TestRuntimeCheckOfAppRunnerAndEKSUnderEmulator runs drift as built, under
// the emulator, through the scheduled round, after an App Runner, an EKS and
// a GitOps environment each had promoted deployed (on the ledger in DynamoDB
// Local). It reads each through the access role of the environment's
// account: App Runner's DescribeService (the service found by name), and the
// Deployment of a fake Kubernetes API that EKS DescribeCluster points at,
// with a token from STS. What runs is promoted everywhere but in the GitOps
// environment, changed by hand: that one drifted.
func TestRuntimeCheckOfAppRunnerAndEKSUnderEmulator(t *testing.T) {
	d := deploy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	at := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC) // drift-scheduled.json's time
	l := ledger.NewDynamo(localaws.DynamoDB(t), d.Table)

	// The example policy's App Runner, EKS and GitOps environments (the
	// IAM the CDK app synthesizes from it is what the recorded calls are
	// checked against): one GitOps environment runs a hand-made image.
	var apps []policy.App
	for _, app := range d.Policy.Apps {
		var envs []policy.Environment
		for _, env := range app.Environments {
			if env.Deploy != nil && (env.Deploy.AppRunner != nil || env.Deploy.EKSTarget() != nil) {
				envs = append(envs, env)
			}
		}
		if len(envs) > 0 {
			app.Environments = envs
			apps = append(apps, app)
		}
	}
	if len(apps) == 0 {
		t.Fatal("the example policy has no App Runner, EKS or GitOps environment")
	}

	want := map[string]string{}     // app/env → status
	services := map[string]string{} // App Runner service ARN → image it runs
	clusters := map[string]*kubefake.Server{}
	accounts := map[string]string{} // EKS cluster → its account
	appRunnerAccount := ""
	for _, app := range apps {
		for _, env := range app.Environments {
			id := runtimecheck.ReportID(app.Name, env.Name)
			dep := &ledger.Deployment{Header: ledger.Header{ID: "dep-" + app.Name + "-" + env.Name, App: app.Name, Env: env.Name,
				Commit: "9fceb02d0ae598e95dc970b74767f19372d61af8", Digest: promoted, At: at.Add(-2 * time.Hour)},
				Status: ledger.DeploymentSuccess, FinishedAt: at.Add(-time.Hour), Duration: time.Hour}
			if err := l.Put(ctx, dep); err != nil {
				t.Fatal(err)
			}
			image, status := env.Account+".dkr.ecr."+env.Region+".amazonaws.com/"+app.Repository+"@"+promoted, runtimecheck.StatusInSync
			if env.Deploy.GitOps != nil {
				image, status = strings.Replace(image, promoted, hotfix, 1), runtimecheck.StatusMismatch
			}
			want[id] = status
			if s := env.Deploy.AppRunner; s != nil {
				arn := "arn:aws:apprunner:" + env.Region + ":" + env.Account + ":service/" + s.Service + "/8fe1e10304f84fd2b0df550fe98a71fa"
				services[arn], appRunnerAccount = image, env.Account
				continue
			}
			target := env.Deploy.EKSTarget()
			k := clusters[target.Cluster]
			if k == nil {
				k = kubefake.New(t)
				clusters[target.Cluster], accounts[target.Cluster] = k, env.Account
			}
			k.Put(rolledOut(target, image))
		}
	}
	serveAppRunner(t, d.AWS, services)
	d.AWS.Route("DescribeCluster", "GET /clusters/{name}")
	d.AWS.OnFunc("DescribeCluster", func(r awsfake.Request) awsfake.Response {
		name := r.PathValues["name"]
		k, ok := clusters[name]
		if !ok {
			return awsfake.APIError(http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: "+name+".")
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"cluster":{"name":%q,"arn":"arn:aws:eks:eu-west-1:%s:cluster/%s","version":"1.33","endpoint":%q,`+
			`"status":"ACTIVE","certificateAuthority":{"data":%q},"accessConfig":{"authenticationMode":"API"}}}`,
			name, accounts[name], name, k.Config("").Host, base64.StdEncoding.EncodeToString(k.CA())))
	})

	emu := localaws.Emulate(t, d.Bootstrap, d.Env)
	body, err := emu.Invoke(ctx, []byte(read(t, "drift-scheduled.json")))
	if err != nil {
		t.Fatalf("drift-scheduled.json: %v\nlog:\n%s", err, emu.Log())
	}
	var round drift.Round
	if err := json.Unmarshal(body, &round); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	if r := round.Runtime; r.Checked != len(want) || r.Drifted != 1 || len(r.Failed) != 0 {
		t.Errorf("runtime round = %+v, want %d checked, 1 drifted, none failed\nlog:\n%s", r, len(want), emu.Log())
	}
	for id, status := range want {
		rec, err := l.Latest(ctx, ledger.KindDriftReport, id)
		if err != nil {
			t.Errorf("report of %s: %v", id, err)
			continue
		}
		if rep := rec.(*ledger.DriftReport); rep.Status != status || rep.ExpectedDigest != promoted {
			t.Errorf("report of %s = %s expected %s (%s), want %s expected %s", id, rep.Status, rep.ExpectedDigest, rep.Target, status, promoted)
		}
	}

	// Each read went through the access role of the account it reads.
	signed := func(c awsfake.Request, account string) {
		t.Helper()
		if role := d.RoleOf(c); role != d.AccessRole(account) {
			t.Errorf("%s %s signed by %s, want %s", c.Operation, c.URL.Path, role, d.AccessRole(account))
		}
	}
	for _, c := range d.AWS.Calls("ListServices") {
		signed(c, appRunnerAccount)
	}
	for _, c := range d.AWS.Calls("DescribeService") {
		var in struct{ ServiceArn string }
		if err := c.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		signed(c, strings.Split(in.ServiceArn, ":")[4])
	}
	for _, c := range d.AWS.Calls("DescribeCluster") {
		signed(c, accounts[c.PathValues["name"]])
	}
	if n, m := len(d.AWS.Calls("DescribeService")), len(d.AWS.Calls("DescribeCluster")); n != len(services) || m != len(clusters) {
		t.Errorf("%d DescribeService and %d DescribeCluster calls, want %d and %d", n, m, len(services), len(clusters))
	}
	for name, k := range clusters {
		reqs := k.Requests()
		if len(reqs) != 1 || reqs[0].Method != http.MethodGet || !strings.HasPrefix(reqs[0].Authorization, "Bearer k8s-aws-v1.") {
			t.Errorf("cluster %s: requests %+v, want one GET with an EKS token", name, reqs)
		}
	}
}

// serveAppRunner answers App Runner's ListServices and DescribeService for
// services (ARN → image), with the DescribeService answer of
// shared/apprunner/testdata.
func serveAppRunner(t *testing.T, srv *awsfake.Server, services map[string]string) {
	t.Helper()
	var list []map[string]string
	for arn := range services {
		parts := strings.Split(arn, "/")
		list = append(list, map[string]string{"ServiceName": parts[1], "ServiceArn": arn, "Status": "RUNNING"})
	}
	srv.On("ListServices", awsfake.JSONOf(t, map[string]any{"ServiceSummaryList": list}))
	fixture, err := os.ReadFile(filepath.Join("..", "..", "shared", "apprunner", "testdata", "describe-service.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnFunc("DescribeService", func(r awsfake.Request) awsfake.Response {
		var in struct{ ServiceArn string }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(http.StatusBadRequest, "SerializationException", err.Error())
		}
		image, ok := services[in.ServiceArn]
		if !ok {
			return awsfake.APIError(http.StatusBadRequest, "ResourceNotFoundException", "Service not found: "+in.ServiceArn)
		}
		var m map[string]any
		if err := json.Unmarshal(fixture, &m); err != nil {
			t.Error(err)
		}
		svc := m["Service"].(map[string]any)
		svc["ServiceArn"], svc["ServiceName"] = in.ServiceArn, strings.Split(in.ServiceArn, "/")[1]
		svc["SourceConfiguration"].(map[string]any)["ImageRepository"].(map[string]any)["ImageIdentifier"] = image
		return awsfake.JSONOf(t, m)
	})
}

// rolledOut is the watched Deployment once its rollout finished, its
// container running image.
func rolledOut(w *policy.EKSDeploy, image string) *appsv1.Deployment {
	return kubefake.RolledOut(w.Namespace, w.Deployment, w.Container, image, 2, 3)
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

// deployedTo names the environments that Highway deploys to and can read
// at runtime, every one but a pipeline's, in the policy's order.
func deployedTo(p *policy.Policy) []string {
	var ids []string
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if e.Deploy != nil && e.Deploy.Pipeline == nil {
				ids = append(ids, runtimecheck.ReportID(a.Name, e.Name))
			}
		}
	}
	return ids
}

func read(tb testing.TB, name string) string {
	tb.Helper()
	return string(localaws.SampleFile(tb, name))
}
