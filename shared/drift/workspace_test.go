package drift

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// workspacePolicy is testPolicy with a Terraform workspace in prod, whose
// security groups' ingress is critical.
const workspacePolicy = testPolicy + `    - {type: aws_security_group, property: ingress, severity: critical}
  terraform:
    - {name: network-prod, project: terraform-drift-network-prod, account: "444444444444", region: eu-west-1, artifactBucket: terraform-plans-444444444444}
`

const (
	// planBucket is the workspace's artifactBucket; sampleBuildEvent's
	// build left its artifact there.
	planBucket       = "terraform-plans-444444444444"
	sampleBuildEvent = "../../events/codebuild-terraform-drift.json"
)

// workspaceFixture is a fixture whose prod account also serves CodeBuild
// (the wire-level fake) and S3 (gofakes3).
type workspaceFixture struct {
	*fixture
	s3 *localaws.S3
	w  policy.TerraformWorkspace
}

func newWorkspaceFixture(t *testing.T, configure ...func(*Config)) *workspaceFixture {
	t.Helper()
	s3srv := localaws.StartS3(t, planBucket, "someone-elses-bucket")
	var fx *fixture // the Builds of New's config are called once it is made
	f := newFixture(t, workspacePolicy, append([]func(*Config){func(c *Config) {
		c.Builds = func(account, region string) BuildClients {
			srv := fx.aws
			if account == hubAccount {
				srv = fx.hub
			}
			return BuildClients{Builds: codebuild.NewFromConfig(srv.Config(), func(o *codebuild.Options) { o.Region = region }), Artifacts: s3srv.Client}
		}
	}}, configure...)...)
	fx = f
	return &workspaceFixture{fixture: f, s3: s3srv, w: f.h.drift.Terraform[0]}
}

// buildID is the build id of the n-th build of the workspace's project.
func buildID(n int) string {
	return fmt.Sprintf("terraform-drift-network-prod:%08d-3b8d-4a6e-9f05-1d4c8b7a2e63", n)
}

// onStartBuild answers StartBuild with build n, counting from 1.
func onStartBuild(srv *awsfake.Server) {
	srv.OnFunc("StartBuild", func(r awsfake.Request) awsfake.Response {
		var in struct{ ProjectName string }
		_ = r.DecodeJSON(&in)
		return awsfake.JSON(200, fmt.Sprintf(`{"build":{"id":%q,"arn":"arn:aws:codebuild:eu-west-1:444444444444:build/%s","projectName":%q,"buildStatus":"IN_PROGRESS"}}`,
			buildID(r.Call), buildID(r.Call), in.ProjectName))
	})
}

// putPlan stores the plan file testdata/terraform/name as drift.json in a
// zip at key of the workspace's bucket.
func (f *workspaceFixture) putPlan(key, name string) evidence.Location {
	f.t.Helper()
	plan, err := os.ReadFile(filepath.Join("testdata", "terraform", name))
	if err != nil {
		f.t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(TerraformPlanFile)
	if err == nil {
		_, err = w.Write(plan)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return f.put(planBucket, key, b.Bytes())
}

func (f *workspaceFixture) put(bucket, key string, body []byte) evidence.Location {
	f.t.Helper()
	if _, err := f.s3.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		f.t.Fatal(err)
	}
	return evidence.Location{Bucket: bucket, Key: key}
}

// buildEvent is the sample build event of build n, with its status and
// artifact, at time at.
func buildEvent(t *testing.T, n int, status string, artifact evidence.Location, at time.Time) events.CloudWatchEvent {
	t.Helper()
	b, err := os.ReadFile(sampleBuildEvent)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var detail map[string]any
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	detail["build-id"] = "arn:aws:codebuild:eu-west-1:444444444444:build/" + buildID(n)
	detail["build-status"] = status
	info := detail["additional-information"].(map[string]any)
	info["artifact"] = map[string]any{"location": "arn:aws:s3:::" + artifact.Bucket + "/" + artifact.Key}
	if artifact.Bucket == "" {
		delete(info, "artifact")
	}
	if ev.Detail, err = json.Marshal(detail); err != nil {
		t.Fatal(err)
	}
	ev.ID, ev.Time = fmt.Sprintf("ev-build-%d", n), at
	return ev
}

// workspaceReport is the workspace's last report.
func (f *workspaceFixture) workspaceReport() *ledger.DriftReport {
	f.t.Helper()
	r, err := latestReport(context.Background(), f.ledger, WorkspaceReportID(f.w))
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func TestSampleBuildEventIsTheWorkspacesBuild(t *testing.T) {
	b, err := os.ReadFile(sampleBuildEvent)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	be, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := evidence.Location{Bucket: planBucket, Key: "terraform-drift-network-prod/Tf7Kd2W"}
	if be.Build.Project != "terraform-drift-network-prod" || be.Account != prodAccount || be.Build.Status != "SUCCEEDED" || be.Artifact != want {
		t.Errorf("DecodeBuildEvent(sample) = project %s, account %s, %s, artifact %v; want the workspace's build, SUCCEEDED, %v",
			be.Build.Project, be.Account, be.Build.Status, be.Artifact, want)
	}
}

func TestRoundQueuesWorkspacesAndDetectStartsEachBuildOnce(t *testing.T) {
	f := newWorkspaceFixture(t)
	onDescribeStacks(f.aws, nil, 10)
	onStartBuild(f.aws)
	q := &fakeQueue{}
	q.serve(f.aws)
	f.h.queue, f.h.queueURL = sqs.NewFromConfig(f.aws.Config()), queueURL

	res, err := f.h.Sweep(context.Background())
	if err != nil || res.Workspaces != 1 {
		t.Fatalf("Sweep() = %+v, %v; want the workspace queued", res, err)
	}
	want := `{"account":"444444444444","region":"eu-west-1","workspace":"network-prod"}`
	if !slices.Equal(q.bodies, []string{want}) {
		t.Fatalf("queued %q, want %q", q.bodies, want)
	}

	// The message, delivered twice (a second receive, a round run again),
	// and by two deliveries at once.
	batch := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: want}, {MessageId: "m-2", Body: want}}}
	for range 2 {
		resp, err := f.h.Detect(context.Background(), batch)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Detect() = %+v, %v; want every message acknowledged", resp, err)
		}
	}
	calls := f.aws.Calls("StartBuild")
	if len(calls) != 1 {
		t.Fatalf("StartBuild called %d times, want once", len(calls))
	}
	var in struct{ ProjectName, IdempotencyToken string }
	if err := calls[0].DecodeJSON(&in); err != nil || in.ProjectName != "terraform-drift-network-prod" || len(in.IdempotencyToken) != 32 {
		t.Errorf("StartBuild(%+v, %v), want the workspace's project and an idempotency token", in, err)
	}
	p, err := latestReport(context.Background(), f.ledger, WorkspacePendingID(f.w))
	if err != nil || p == nil || p.Status != StatusDetecting || p.DetectionID != buildID(1) || p.Workspace != "network-prod" || p.Project != "terraform-drift-network-prod" {
		t.Errorf("pending build = %+v, %v; want DETECTING %s of network-prod", p, err, buildID(1))
	}
}

func TestDetectGivesBackAWorkspaceWhileTheAccountRunsAllTheBuildsItMay(t *testing.T) {
	f := newWorkspaceFixture(t)
	f.aws.On("StartBuild", awsfake.APIError(400, "AccountLimitExceededException", "Cannot have more than 20 active builds for the account"))
	body := `{"account":"444444444444","region":"eu-west-1","workspace":"network-prod"}`
	resp, err := f.h.Detect(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: body}}})
	if err != nil || !slices.Equal(failedIDs(resp), []string{"m-1"}) {
		t.Errorf("Detect() = %v, %v; want m-1 given back to the queue", failedIDs(resp), err)
	}
	if n := len(f.aws.Calls("StartBuild")); n != testBackoff.Attempts {
		t.Errorf("StartBuild called %d times, want %d (retried with backoff)", n, testBackoff.Attempts)
	}
}

func TestOnBuildReportsTheWorkspacesDrift(t *testing.T) {
	f := newWorkspaceFixture(t)
	onStartBuild(f.aws)
	ctx := context.Background()
	if _, err := f.h.StartWorkspace(ctx, f.w); err != nil {
		t.Fatal(err)
	}
	started := f.clock.Now()

	// The first build finds the SSH rule someone added by hand.
	f.clock.Set(started.Add(5 * time.Minute))
	loc := f.putPlan("terraform-drift-network-prod/b1", "aws/refresh-only-drift.json")
	ev := buildEvent(t, 1, "SUCCEEDED", loc, f.clock.Now())
	res, err := f.h.OnBuild(ctx, ev)
	if err != nil || res.Outcome != OutcomeReported || res.Status != StatusDrifted || !res.Changed {
		t.Fatalf("OnBuild(drift) = %+v, %v; want a changed DRIFTED report", res, err)
	}
	rep := f.workspaceReport()
	if rep.Workspace != "network-prod" || rep.Project != "terraform-drift-network-prod" || rep.DetectionID != buildID(1) ||
		!rep.At.Equal(started) || rep.Resources != 1 || !rep.Current || len(rep.Drifted) != 1 {
		t.Fatalf("report = %+v, want build 1's, at its start, one of one resource drifted", rep)
	}
	if d := rep.Drifted[0]; d.LogicalID != "aws_security_group.web" || d.Severity != "critical" || d.PhysicalID != "sg-0c1d2e3f4a5b6c7d8" ||
		len(d.Differences) != 1 || d.Differences[0].Path != "ingress[0]" || d.Differences[0].Type != "ADD" {
		t.Errorf("drifted = %+v, want the security group's added ingress rule, critical", d)
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected}) {
		t.Errorf("published %v, want Drift Detected", got)
	}
	var notice Notice
	b, _ := json.Marshal(f.bus.events[0].Detail)
	if err := json.Unmarshal(b, &notice); err != nil || notice.Workspace != "network-prod" || notice.Stack != "" || notice.Severity != "critical" ||
		notice.Report != WorkspaceReportID(f.w) {
		t.Errorf("Drift Detected = %s, want the workspace's, critical", b)
	}
	alerts := f.alerts()
	if len(alerts) != 1 || !strings.HasPrefix(alerts[0], "Highway drift DETECTED (critical): terraform:network-prod\n"+
		"Terraform workspace network-prod (CodeBuild project terraform-drift-network-prod) in 444444444444/eu-west-1: DRIFTED, 1 of 1 resources drifted") ||
		!strings.Contains(alerts[0], `ADD ingress[0]: expected (none), actual {"cidr_blocks":["0.0.0.0/0"],"description":"debug, remove after the incident"`) {
		t.Errorf("alerts = %q, want the workspace's drift, property by property", alerts)
	}
	if m := f.metricLines(); !slices.Equal(m["DriftedWorkspaces"], []float64{1}) || !slices.Equal(m["DriftedResources/critical"], []float64{1}) || len(m["DriftedStacks"]) != 0 {
		t.Errorf("metrics = %v, want one drifted workspace, one critical resource, no stack", m)
	}

	// EventBridge delivers the event again: nothing new.
	res, err = f.h.OnBuild(ctx, ev)
	if err != nil || res.Outcome != OutcomeDuplicate || len(f.alerts()) != 1 || len(f.bus.types()) != 1 {
		t.Errorf("OnBuild(again) = %+v, %v; %d alerts; want a silent duplicate", res, err, len(f.alerts()))
	}

	// The next round's build finds the same drift: no alert.
	f.clock.Set(started.Add(6 * time.Hour))
	if _, err := f.h.StartWorkspace(ctx, f.w); err != nil {
		t.Fatal(err)
	}
	loc = f.putPlan("terraform-drift-network-prod/b2", "aws/normal-with-drift.json")
	if res, err = f.h.OnBuild(ctx, buildEvent(t, 2, "FAILED", loc, f.clock.Now())); err != nil || res.Status != StatusDrifted || res.Changed {
		t.Errorf("OnBuild(same drift, build FAILED by -detailed-exitcode) = %+v, %v; want DRIFTED, unchanged", res, err)
	}

	// The rule is removed: Drift Resolved.
	f.clock.Set(started.Add(12 * time.Hour))
	if _, err := f.h.StartWorkspace(ctx, f.w); err != nil {
		t.Fatal(err)
	}
	loc = f.putPlan("terraform-drift-network-prod/b3", "aws/refresh-only-in-sync.json")
	if res, err = f.h.OnBuild(ctx, buildEvent(t, 3, "SUCCEEDED", loc, f.clock.Now())); err != nil || res.Status != StatusInSync || !res.Changed {
		t.Errorf("OnBuild(in sync) = %+v, %v; want IN_SYNC, changed", res, err)
	}
	if got := f.bus.types(); !slices.Equal(got, []string{DetailTypeDriftDetected, DetailTypeDriftResolved}) {
		t.Errorf("published %v, want Drift Detected then Drift Resolved", got)
	}
	current, err := f.ledger.CurrentDriftReports(ctx)
	if err != nil || len(current) != 1 || current[0].DetectionID != buildID(3) {
		t.Errorf("current reports = %v, %v; want build 3's alone", current, err)
	}
}

func TestOnBuildFailsClosedOnAPlanItCannotRead(t *testing.T) {
	tests := []struct {
		name       string
		status     string
		artifact   func(f *workspaceFixture) evidence.Location
		wantReason string
	}{
		{"no artifact", "FAILED", func(*workspaceFixture) evidence.Location { return evidence.Location{} }, "build FAILED, no plan Highway can read: the build left no S3 artifact"},
		{"another bucket", "SUCCEEDED", func(f *workspaceFixture) evidence.Location {
			return f.put("someone-elses-bucket", "p", []byte("PK"))
		}, "is not in terraform-plans-444444444444, the workspace's artifactBucket, and was not read"},
		{"no drift.json in the zip", "SUCCEEDED", func(f *workspaceFixture) evidence.Location {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			w, _ := zw.Create("plan.txt")
			w.Write([]byte("No changes."))
			zw.Close()
			return f.put(planBucket, "k", b.Bytes())
		}, "no such file in the artifact: drift.json"},
		{"not a plan", "SUCCEEDED", func(f *workspaceFixture) evidence.Location { return f.putPlan("k", "state.json") }, "this is a Terraform state"},
		{"a plan that errored", "FAILED", func(f *workspaceFixture) evidence.Location { return f.putPlan("k", "errored.json") }, "Terraform could not finish this plan"},
		{"not a zip", "SUCCEEDED", func(f *workspaceFixture) evidence.Location {
			return f.put(planBucket, "k", []byte(`{"format_version":"1.2"}`))
		}, "read artifact zip"},
		{"neither a zip nor a folder", "SUCCEEDED", func(*workspaceFixture) evidence.Location { return evidence.Location{Bucket: planBucket, Key: "gone"} },
			"neither a zip at s3://terraform-plans-444444444444/gone nor s3://terraform-plans-444444444444/gone/drift.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWorkspaceFixture(t)
			// What the last check found stays known.
			prev := &ledger.DriftReport{Header: ledger.Header{ID: WorkspaceReportID(f.w), At: f.clock.Now().Add(-6 * time.Hour)}, Workspace: f.w.Name,
				Status: StatusDrifted, DetectionID: buildID(0), Current: true,
				Drifted: []ledger.DriftedResource{{LogicalID: "aws_security_group.web", Type: "aws_security_group", Status: ResourceModified}}}
			if err := f.ledger.Put(context.Background(), prev); err != nil {
				t.Fatal(err)
			}
			res, err := f.h.OnBuild(context.Background(), buildEvent(t, 1, tt.status, tt.artifact(f), f.clock.Now()))
			if err != nil || res.Status != StatusDetectionFailed || !res.Changed {
				t.Fatalf("OnBuild() = %+v, %v; want a changed DETECTION_FAILED report", res, err)
			}
			rep := f.workspaceReport()
			if !strings.Contains(rep.Reason, tt.wantReason) || len(rep.Drifted) != 1 {
				t.Errorf("report reason %q, %d drifted; want %q and the drift last seen", rep.Reason, len(rep.Drifted), tt.wantReason)
			}
			if a := f.alerts(); len(a) != 1 || !strings.HasPrefix(a[0], "Highway drift detection FAILED: terraform:network-prod") || !strings.Contains(a[0], "Why: ") {
				t.Errorf("alerts = %q, want the failure, with why", a)
			}
		})
	}
}

func TestOnBuildReadsAPlanLeftUnzipped(t *testing.T) {
	f := newWorkspaceFixture(t)
	plan, err := os.ReadFile(filepath.Join("testdata", "terraform", "aws", "refresh-only-drift.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.put(planBucket, "terraform-drift-network-prod/b1/drift.json", plan) // packaging NONE
	res, err := f.h.OnBuild(context.Background(), buildEvent(t, 1, "SUCCEEDED", evidence.Location{Bucket: planBucket, Key: "terraform-drift-network-prod/b1"}, f.clock.Now()))
	if err != nil || res.Status != StatusDrifted {
		t.Errorf("OnBuild(unzipped plan) = %+v, %v; want DRIFTED", res, err)
	}
}

func TestOnBuildIgnoresOtherBuilds(t *testing.T) {
	f := newWorkspaceFixture(t)
	loc := f.putPlan("k", "aws/refresh-only-drift.json")
	tests := []struct {
		name string
		edit func(ev *events.CloudWatchEvent, detail map[string]any)
		want string
	}{
		{"another project", func(_ *events.CloudWatchEvent, d map[string]any) { d["project-name"] = "checkout-build" }, "plans no Terraform workspace"},
		{"the project in another account", func(ev *events.CloudWatchEvent, _ map[string]any) { ev.AccountID = "999999999999" }, "plans no Terraform workspace"},
		{"still running", func(_ *events.CloudWatchEvent, d map[string]any) { d["build-status"] = "IN_PROGRESS" }, "still running"},
		{"not a build", func(_ *events.CloudWatchEvent, d map[string]any) { delete(d, "build-id") }, "bad event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := buildEvent(t, 1, "SUCCEEDED", loc, f.clock.Now())
			var detail map[string]any
			if err := json.Unmarshal(ev.Detail, &detail); err != nil {
				t.Fatal(err)
			}
			tt.edit(&ev, detail)
			ev.Detail, _ = json.Marshal(detail)
			res, err := f.h.OnBuild(context.Background(), ev)
			if err != nil || res.Outcome != OutcomeIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("OnBuild(%s) = %+v, %v; want ignored: %q", tt.name, res, err, tt.want)
			}
		})
	}
	if r := f.workspaceReport(); r != nil {
		t.Errorf("report %+v filed, want none", r)
	}
}

func TestOnBuildRetriesWhatARetryMayRead(t *testing.T) {
	f := newWorkspaceFixture(t)
	f.h.builds = func(string, string) BuildClients { return BuildClients{Artifacts: s3.NewFromConfig(f.aws.Config())} }
	f.aws.Route("GetObject", "GET /{Bucket}/{Key...}")
	f.aws.On("GetObject", awsfake.APIError(503, "SlowDown", "Please reduce your request rate."))
	_, err := f.h.OnBuild(context.Background(), buildEvent(t, 1, "SUCCEEDED", evidence.Location{Bucket: planBucket, Key: "k"}, f.clock.Now()))
	if err == nil || !strings.Contains(err.Error(), "StatusCode: 503") {
		t.Errorf("OnBuild(S3 unavailable) error = %v, want the 503, for a retry", err)
	}
	if r := f.workspaceReport(); r != nil {
		t.Errorf("report %+v filed, want none until the plan is read", r)
	}
}

func TestInvokeRoutesBuildEventsToOnBuild(t *testing.T) {
	f := newWorkspaceFixture(t)
	loc := f.putPlan("terraform-drift-network-prod/Tf7Kd2W", "aws/refresh-only-drift.json")
	ev := buildEvent(t, 1, "SUCCEEDED", loc, f.clock.Now())
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.h.Invoke(context.Background(), payload)
	if res, ok := out.(Result); err != nil || !ok || res.Status != StatusDrifted {
		t.Errorf("Invoke(build event) = %+v, %v; want the workspace reported DRIFTED", out, err)
	}
}

func TestSweepStaleReportsABuildWhoseEventNeverCame(t *testing.T) {
	f := newWorkspaceFixture(t)
	onDescribeStacks(f.aws, nil, 10)
	onStartBuild(f.aws)
	loc := f.putPlan("terraform-drift-network-prod/b1", "aws/refresh-only-drift.json")
	running := true
	f.aws.OnFunc("BatchGetBuilds", func(r awsfake.Request) awsfake.Response {
		if running {
			return awsfake.JSON(200, fmt.Sprintf(`{"builds":[{"id":%q,"buildStatus":"IN_PROGRESS","buildComplete":false}]}`, buildID(1)))
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"builds":[{"id":%q,"buildStatus":"SUCCEEDED","buildComplete":true,"endTime":%d,"artifacts":{"location":"arn:aws:s3:::%s/%s"}}]}`,
			buildID(1), f.clock.Now().Unix(), loc.Bucket, loc.Key))
	})
	ctx := context.Background()
	if _, err := f.h.StartWorkspace(ctx, f.w); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(f.clock.Now().Add(time.Hour))
	res, err := f.h.SweepStale(ctx, StaleAfter)
	if err != nil || res.Workspaces != 1 || res.Stale != 1 || res.Running != 1 {
		t.Fatalf("SweepStale(running) = %+v, %v; want the build still running", res, err)
	}
	running = false
	res, err = f.h.SweepStale(ctx, StaleAfter)
	if err != nil || res.Reported != 1 {
		t.Fatalf("SweepStale(finished) = %+v, %v; want it reported", res, err)
	}
	if r := f.workspaceReport(); r == nil || r.Status != StatusDrifted || r.DetectionID != buildID(1) {
		t.Errorf("report = %+v, want build 1's, DRIFTED", r)
	}
	// The event comes after all: a duplicate.
	if res, err := f.h.OnBuild(ctx, buildEvent(t, 1, "SUCCEEDED", loc, f.clock.Now())); err != nil || res.Outcome != OutcomeDuplicate {
		t.Errorf("OnBuild(late event) = %+v, %v; want a duplicate", res, err)
	}
}

func TestNewNeedsBuildClientsForWorkspaces(t *testing.T) {
	p, err := policy.Parse([]byte(workspacePolicy), "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Policy: p, Clients: func(string, string) Clients { return Clients{} }, Ledger: ledger.NewMemory(), Bus: &recordingBus{}, Metrics: discardMetrics{}})
	if err == nil || !strings.Contains(err.Error(), "Builds") {
		t.Errorf("New(workspaces, no Builds) error = %v, want Builds named", err)
	}
}
