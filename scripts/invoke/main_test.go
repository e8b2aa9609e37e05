package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// root is the module root: the run of the command starts there.
var root = func() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return dir
}()

// want is what each sample's invocation shows when it works: fragments of
// the function's answer or of the AWS calls it made, as the command prints
// them, by function and sample.
var want = map[string][]string{
	"approval/approval-link-post.json":                              {`"statusCode":200`, "states SendTaskSuccess", "events PutEvents: Approval Decided"},
	"approvalrequest/approval-request.json":                         {`"notified":true`, `sns Publish: "Highway: approve checkout to prod?`},
	"respond/aws-docs/cloudwatch-alarm-state-change-composite.json": {`"outcome":"unmatched"`},
	"drift/cloudformation-drift-detection.json": {`"outcome":"reported"`, `"status":"DRIFTED"`,
		"cloudformation DescribeStackResourceDrifts (as arn:aws:iam::444444444444:role/highway-access-drift)", "events PutEvents: Drift Detected"},
	"respond/cloudwatch-alarm-state-change-ok.json": {`"alarm":"checkout-prod-5xx","state":"OK"`},
	"respond/cloudwatch-alarm-state-change.json":    {`"outcome":"opened"`, "events PutEvents: Rollback Requested", `sns Publish: "Highway incident`},
	"heatmap/cloudwatch-custom-widget.json":         {`<svg`},
	"gate/codebuild-build-failed.json": {`"verdict":"fail"`, `"enforcement":"stopped execution exec-5490fd06 of checkout-pipeline"`,
		"codepipeline StopPipelineExecution (as arn:aws:iam::222222222222:role/highway-access-gate)"},
	"gate/codebuild-build-succeeded.json": {`"verdict":"pass"`, "s3 GetObject (as arn:aws:iam::222222222222:role/highway-access-gate)",
		"ecr DescribeImageScanFindings"},
	"gate/codebuild-build-storefront.json":          {`"app":"storefront"`, `"verdict":"pass"`, "codebuild BatchGetBuilds (as arn:aws:iam::222222222222:role/highway-access-gate)"},
	"drift/codebuild-terraform-drift.json":          {`"outcome":"reported"`, `"status":"DRIFTED"`, "s3 GetObject (as arn:aws:iam::444444444444:role/highway-access-drift)"},
	"webhook/github-ping.json":                      {`\"outcome\":\"pong\"`, "secretsmanager GetSecretValue"},
	"webhook/github-push.json":                      {`\"outcome\":\"recorded\"`, `\"app\":\"storefront\"`, "events PutEvents: Commit Recorded"},
	"gate/codebuild-build-vulnerable.json":          {`"verdict":"fail"`, "codepipeline StopPipelineExecution"},
	"push/codecommit-push-2.json":                   {`"outcome":"recorded"`, `"commit":"c3a97e0d5f1b2a4c6e8d0f2a4b6c8e0d1f3a5b7c"`},
	"push/codecommit-push.json":                     {`"outcome":"recorded"`, "codecommit GetCommit (as arn:aws:iam::222222222222:role/highway-access-push)", "events PutEvents: Commit Recorded"},
	"promote/codepipeline-execution-succeeded.json": {`"outcome":"ignored"`},
	"gatejob/codepipeline-job.json":                 {`"verdict":"pass"`, "codepipeline PutJobSuccessResult (as arn:aws:iam::222222222222:role/highway-access-gatejob)"},
	"dora/dora-scheduled.json":                      {`"app":"checkout","env":"prod","window":"30d"`},
	"drift/drift-scheduled.json": {`"sweep":{"accounts":4,"stacks":1`,
		"cloudformation DescribeStacks (as arn:aws:iam::444444444444:role/highway-access-drift)"},
	"promote/ecs-deployment-completed.json":   {`"outcome":"ignored"`},
	"promote/gate-decided.json":               {`"outcome":"registered"`, "ssm PutParameter (as arn:aws:iam::222222222222:role/highway-access-promote)"},
	"promote/highway-rollback-requested.json": {`"outcome":"ignored"`, `no open incident \"inc-3b59700a5562f2ca\" in checkout/prod`},
	"drift/sqs-drift-detections.json":         {"cloudformation DetectStackDrift (as arn:aws:iam::444444444444:role/highway-access-drift)"},

	// The pings (events/ping), answered as events/ping/README.md says.
	"approval/ping/approval.json":               {`"statusCode":400`, "This link is incomplete or malformed.", "secretsmanager GetSecretValue"},
	"approvalrequest/ping/approvalrequest.json": {`"approvalId":""`, "secretsmanager GetSecretValue"},
	"dora/ping/dora.json":                       {`"app":"storefront","env":"dev","window":"30d"`},
	"drift/ping/drift.json":                     {`{"batchItemFailures":null}`, "drift message dropped: account and region not in the policy"},
	"gate/ping/gate.json":                       {`"outcome":"ignored"`, `project \"checkout-docs\" is gated by no app`},
	"gatejob/ping/gatejob.json":                 {`"outcome":"ignored"`, `claims account \"333333333333\"`},
	"heatmap/ping/heatmap.json":                 {`"## Highway deployments\n`},
	"promote/ping/promote.json":                 {`"outcome":"ignored"`, "service/shop/cart deploys no environment"},
	"push/ping/push.json":                       {`"outcome":"ignored"`, `repository \"platform-docs\" belongs to no app`},
	"respond/ping/respond.json":                 {`"outcome":"unmatched","alarm":"search-prod-5xx"`},
	"webhook/ping/webhook.json":                 {`"statusCode":401`, "no X-Hub-Signature-256"},
}

// TestEverySampleUnderTheEmulator does what `make invoke FUNCTION=f EVENT=e`
// does, for every function f and every sample e meant for it: f, built as it
// ships, runs under the Lambda Runtime Interface Emulator against a ledger
// table of its own in DynamoDB Local and the fake answering from events/.
// The command exits 0, prints f's answer alone on stdout, reports no call
// the fake has no answer for, and shows what the sample is for.
func TestEverySampleUnderTheEmulator(t *testing.T) {
	dynamoDB, rie := localaws.Require(t, localaws.EnvDynamoDB), localaws.Require(t, localaws.EnvRIE)
	fns, err := functions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		t.Run(fn, func(t *testing.T) {
			out := t.TempDir() // built once: the next builds find it up to date
			for _, s := range samplesOf(fn) {
				t.Run(s.File, func(t *testing.T) {
					fragments, ok := want[fn+"/"+s.File]
					if !ok {
						t.Fatalf("want has nothing for %s/%s: add what its invocation shows when it works", fn, s.File)
					}
					args := []string{"-out", out, fn, filepath.Join(root, "events", s.File)}
					var stdout, stderr bytes.Buffer
					if code := run(context.Background(), args, dynamoDB, rie, &stdout, &stderr); code != 0 {
						t.Fatalf("run(%q) = %d, want 0\n%s", args, code, stderr.String())
					}
					if lines := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(lines) != 1 {
						t.Errorf("stdout holds %d lines, want the answer alone:\n%s", len(lines), stdout.String())
					}
					if strings.Contains(stderr.String(), "the fake has no answer") {
						t.Errorf("a call went unanswered:\n%s", stderr.String())
					}
					for _, w := range fragments {
						if !strings.Contains(stdout.String(), w) && !strings.Contains(stderr.String(), w) {
							t.Errorf("the answer and the calls lack %s:\n%s\n%s", w, stdout.String(), stderr.String())
						}
					}
				})
			}
		})
	}
}

// TestRunSaysWhichInvocationFailed sends the schedule's function its own
// event and then a push: the command prints both answers in order, exits 1,
// names the invocation that failed and why, and says which function the
// push was meant for.
func TestRunSaysWhichInvocationFailed(t *testing.T) {
	dynamoDB, rie := localaws.Require(t, localaws.EnvDynamoDB), localaws.Require(t, localaws.EnvRIE)
	scheduled, push := filepath.Join(root, "events", "dora-scheduled.json"), filepath.Join(root, "events", "codecommit-push.json")
	args := []string{"-out", t.TempDir(), "dora", scheduled, push}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, dynamoDB, rie, &stdout, &stderr); code != exitFailed {
		t.Errorf("run(%q) = %d, want %d\n%s", args, code, exitFailed, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"rows":[`) || !strings.Contains(lines[1], `"errorMessage":"dora: want the schedule's event`) {
		t.Errorf("stdout = %q, want the rows, then the handler's error", stdout.String())
	}
	for _, w := range []string{push + " is meant for push, not dora", "dora failed on " + push + ": ", "want the schedule's event"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "dora failed on "+scheduled) {
		t.Errorf("stderr says the scheduled event failed:\n%s", stderr.String())
	}
}

// TestRunRefusesBadArguments checks the arguments as make invoke does
// before anything starts (-check), and without the local services.
func TestRunRefusesBadArguments(t *testing.T) {
	push := root + "/events/codecommit-push.json"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no function", []string{"-check"}, exitUsage, "functions: approval, approvalrequest, dora, drift, gate, gatejob, heatmap, promote, push, respond"},
		{"an unknown function", []string{"-check", "pushh", push}, exitUsage, `no function "pushh": one of approval,`},
		{"no event lists the function's samples", []string{"-check", "push"}, exitUsage,
			"push's samples: events/codecommit-push-2.json events/codecommit-push.json"},
		{"a missing file", []string{"-check", "push", root + "/events/no-such.json"}, exitUsage, "no-such.json: no such file"},
		{"a file that is not JSON", []string{"-check", "push", root + "/README.md"}, exitUsage, "README.md does not hold JSON"},
		{"an AWS answer", []string{"-check", "push", root + "/events/codecommit-getcommit.json"}, exitUsage,
			"is not an event but AWS's answer to codecommit GetCommit"},
		{"a policy with a mistake", []string{"-check", "-policy", root + "/events/codecommit-push.json", "push", push}, exitUsage, "codecommit-push.json:"},
		{"a sample of another function: the run warns, not the check", []string{"-check", "gate", push}, 0, ""},
		{"good arguments", []string{"-check", "push", push}, 0, ""},
		{"without the local services", []string{"push", push}, exitUsage, "run it with make invoke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, "", "", &stdout, &stderr); code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d\n%s", tt.args, code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want it to hold %q", tt.args, stderr.String(), tt.wantStderr)
			}
			if tt.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("run(%q) stderr = %q, want nothing", tt.args, stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("run(%q) stdout = %q, want nothing", tt.args, stdout.String())
			}
		})
	}
}

// TestTableCoversEventsFolder holds the table to events/: every file there
// but a folder's README.md is a sample or an answer, every entry names a
// file there, every function has a sample, and every sample names functions
// that exist.
func TestTableCoversEventsFolder(t *testing.T) {
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "events"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(root, "events"), p)
		rel = filepath.ToSlash(rel)
		if slices.ContainsFunc(answers, func(a answer) bool { return a.File == rel }) && d.IsDir() {
			files = append(files, rel)
			return fs.SkipDir // an answer folder: its files are one answer
		}
		if !d.IsDir() && d.Name() != "README.md" {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, s := range samples {
		listed = append(listed, s.File)
	}
	for _, a := range answers {
		listed = append(listed, a.File)
	}
	slices.Sort(listed)
	slices.Sort(files)
	if !slices.Equal(listed, files) {
		t.Errorf("samples and answers list %q, want every file of events/, %q", listed, files)
	}
	fns, err := functions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		if len(samplesOf(fn)) == 0 {
			t.Errorf("no sample is meant for %s", fn)
		}
	}
	for _, s := range samples {
		for _, fn := range s.Functions {
			if !slices.Contains(fns, fn) {
				t.Errorf("%s is meant for %s, which is not a function of functions/", s.File, fn)
			}
		}
	}
}

// TestSamplesAgreeWithTheRoutes holds the table to shared/route: under the
// example policy, the routes deliver a sample a rule delivers to its
// functions, and no other sample to any function.
func TestSamplesAgreeWithTheRoutes(t *testing.T) {
	p, err := policy.Load(filepath.Join(root, "infra", "highway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := route.NewRouter(route.Routes(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		t.Run(s.File, func(t *testing.T) {
			event, err := os.ReadFile(filepath.Join(root, "events", s.File))
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Functions(event)
			if err != nil {
				t.Fatalf("Functions(%s): %v", s.File, err)
			}
			var want []string
			if s.Rule {
				want = s.Functions
			}
			if !slices.Equal(got, want) && len(got)+len(want) > 0 {
				t.Errorf("the routes send %s to %q, the table (rule %v) to %q", s.File, got, s.Rule, want)
			}
		})
	}
}
