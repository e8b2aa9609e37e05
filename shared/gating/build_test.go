package gating

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// listRequest is the body of a ListActionExecutions request.
type listRequest struct {
	PipelineName string
	MaxResults   int
	NextToken    string
	Filter       *struct{ PipelineExecutionId string }
}

// actionExecutions answers ListActionExecutions as CodePipeline does, from
// the action executions of testdata/file (newest first): those of the
// filter's execution when there is one, perPage at a time, with a nextToken
// while more remain.
func actionExecutions(t *testing.T, file string, perPage int) func(awsfake.Request) awsfake.Response {
	var all struct {
		ActionExecutionDetails []map[string]any `json:"actionExecutionDetails"`
	}
	if err := json.Unmarshal([]byte(testdata(t, file)), &all); err != nil {
		t.Fatal(err)
	}
	return func(r awsfake.Request) awsfake.Response {
		var in listRequest
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "ValidationException", err.Error())
		}
		var matching []map[string]any
		for _, a := range all.ActionExecutionDetails {
			if in.Filter == nil || a["pipelineExecutionId"] == in.Filter.PipelineExecutionId {
				matching = append(matching, a)
			}
		}
		from, _ := strconv.Atoi(in.NextToken)
		to := min(from+perPage, len(matching))
		out := map[string]any{"actionExecutionDetails": matching[from:to]}
		if to < len(matching) {
			out["nextToken"] = strconv.Itoa(to)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return awsfake.APIError(500, "InternalFailure", err.Error())
		}
		return awsfake.JSON(200, string(b))
	}
}

// withExecution adds the pipeline execution id to a build event's
// environment, as a CodeBuild action sets it from #{codepipeline.PipelineExecutionId}.
func withExecution(id string) func(detail map[string]any) {
	return func(detail map[string]any) {
		env := field(detail, "additional-information", "environment")
		env["environment-variables"] = append(env["environment-variables"].([]any),
			map[string]any{"name": evidence.EnvPipelineExecution, "type": "PLAINTEXT", "value": id})
	}
}

// A build the gate fails stops the pipeline execution that ran it, wherever
// that execution has got to: its build action is found among the pipeline's
// action executions (the execution's own, when the build names it), not only
// in the build stage's latest state, which a newer execution may hold.
func TestStopFindsTheExecutionThatRanTheBuild(t *testing.T) {
	type call struct {
		filter    string
		nextToken string
	}
	tests := []struct {
		name      string
		edit      func(detail map[string]any)
		file      string
		want      string
		wantCalls []call
	}{
		{
			name: "the execution moved on to Deploy, a newer one builds",
			file: "list-action-executions-moved-on.json",
			want: "stopped execution e-42 of checkout-pipeline",
			// e-43's Build and e-42's Deploy, then e-42's Build
			wantCalls: []call{{"", ""}, {"", "2"}},
		},
		{
			name: "the build names its execution",
			edit: withExecution("e-42"),
			file: "list-action-executions-moved-on.json",
			want: "stopped execution e-42 of checkout-pipeline",
			// e-42's Deploy and Build
			wantCalls: []call{{"e-42", ""}},
		},
		{
			name:      "the build names an execution that did not run it",
			edit:      withExecution("e-43"),
			file:      "list-action-executions-moved-on.json",
			want:      "stopped execution e-42 of checkout-pipeline",
			wantCalls: []call{{"e-43", ""}, {"", ""}, {"", "2"}},
		},
		{
			name:      "no recent execution ran the build",
			file:      "list-action-executions.json",
			want:      "no recent execution of checkout-pipeline ran build checkout-build:b5f1b25e-6315-5b77-bc06-2cf217427490: nothing to stop",
			wantCalls: []call{{"", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a build that CodeBuild passed and the gate fails (a
			// failing test), and the pipeline's action executions
			f := newFixture(t)
			f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitFail, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
			f.aws.OnFunc("ListActionExecutions", actionExecutions(t, tt.file, 2))

			// WHEN the gate judges it
			res, err := f.builds().Handle(context.Background(), localaws.Event(t, "codebuild-build-succeeded.json", tt.edit))

			// THEN it looked for the build's action as wanted, and stopped
			// the execution that ran it, abandoning the deployment
			if err != nil || res.Verdict != ledger.VerdictFail || res.Enforcement != tt.want {
				t.Fatalf("Handle() = %+v, %v; want a fail, enforced with %q", res, err, tt.want)
			}
			var got []call
			for _, r := range f.aws.Invocations("ListActionExecutions") {
				var in listRequest
				if err := r.DecodeJSON(&in); err != nil {
					t.Fatal(err)
				}
				c := call{nextToken: in.NextToken}
				if in.Filter != nil {
					c.filter = in.Filter.PipelineExecutionId
				}
				if in.PipelineName != "checkout-pipeline" {
					t.Errorf("ListActionExecutions(%+v), want checkout-pipeline's", in)
				}
				got = append(got, c)
			}
			if !slices.Equal(got, tt.wantCalls) {
				t.Errorf("ListActionExecutions (filter, nextToken) = %v, want %v", got, tt.wantCalls)
			}
			stops := f.aws.Invocations("StopPipelineExecution")
			wantStops := 0
			if strings.HasPrefix(tt.want, "stopped") {
				wantStops = 1
			}
			if len(stops) != wantStops {
				t.Fatalf("StopPipelineExecution calls = %d, want %d", len(stops), wantStops)
			}
			if wantStops == 1 {
				var in struct {
					PipelineName, PipelineExecutionId string
					Abandon                           bool
				}
				if err := stops[0].DecodeJSON(&in); err != nil || in.PipelineExecutionId != "e-42" || !in.Abandon {
					t.Errorf("StopPipelineExecution(%+v), %v; want e-42 abandoned", in, err)
				}
			}
		})
	}
}

// The search among a pipeline's action executions is bounded: a build that
// none of the latest maxActionPages pages ran stops nothing.
func TestStopSearchIsBounded(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitFail})
	// Every page has one more execution of another build, and a next page.
	f.aws.OnFunc("ListActionExecutions", func(r awsfake.Request) awsfake.Response {
		return awsfake.JSON(200, `{"actionExecutionDetails":[{"pipelineExecutionId":"e-`+strconv.Itoa(r.Call)+`","stageName":"Build","actionName":"Build","status":"Succeeded",
			"output":{"executionResult":{"externalExecutionId":"checkout-build:00000000-0000-0000-0000-00000000000`+strconv.Itoa(r.Call%10)+`"}}}],"nextToken":"t`+strconv.Itoa(r.Call)+`"}`)
	})

	res, err := f.builds().Handle(context.Background(), localaws.Event(t, "codebuild-build-succeeded.json", nil))
	if err != nil || !strings.Contains(res.Enforcement, "nothing to stop") {
		t.Fatalf("Handle() = %+v, %v; want nothing stopped", res, err)
	}
	if n := len(f.aws.Invocations("ListActionExecutions")); n != maxActionPages {
		t.Errorf("ListActionExecutions calls = %d, want %d", n, maxActionPages)
	}
	if n := len(f.aws.Invocations("StopPipelineExecution")); n != 0 {
		t.Errorf("StopPipelineExecution calls = %d, want 0", n)
	}
}

// An artifact beyond what the function's memory can read fails the checks that
// read it, closed, with the reason in the decision, and crashes nothing.
func TestArtifactBeyondTheLimitsFailsClosed(t *testing.T) {
	reports := map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80}
	many := map[string]string{}
	for k, v := range reports {
		many[k] = v
	}
	for i := range 20 {
		many["node_modules/m"+strconv.Itoa(i)+"/index.js"] = "x"
	}
	tests := []struct {
		name   string
		files  map[string]string
		limits func(l *evidence.Limits)
		want   string
	}{
		{"within the limits", reports, func(l *evidence.Limits) { l.Entries = 3 }, ""},
		{"more entries than the limit", many, func(l *evidence.Limits) { l.Entries = 3 }, "the artifact's zip holds 23 entries, more than the 3 Highway reads at 256 MB of function memory"},
		{"an archive over its bound", reports, func(l *evidence.Limits) { l.ArchiveBytes = 512 }, "artifact too large: s3://codepipeline-eu-west-1-222222222222/checkout-pipeline/BuildArtif/Xq7Rb2K has 789 bytes, more than the 512 Highway reads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.artifact(t, succeededKey, tt.files)
			limits := evidence.LimitsFor(evidence.DefaultMemoryMB)
			tt.limits(&limits)
			f.opts = []Option{WithArtifactLimits(limits)}

			res, err := f.builds().Handle(context.Background(), localaws.Event(t, "codebuild-build-succeeded.json", nil))
			if err != nil {
				t.Fatal(err)
			}
			ds := f.decisions(t, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f")
			if len(ds) != 1 {
				t.Fatalf("decisions = %d, want 1", len(ds))
			}
			if tt.want == "" {
				if res.Verdict != ledger.VerdictPass {
					t.Errorf("Handle() = %+v, want a pass:\n%s", res, Explain(ds[0]))
				}
				return
			}
			if res.Verdict != ledger.VerdictFail {
				t.Fatalf("Handle() = %+v, want a fail", res)
			}
			for _, c := range ds[0].Checks {
				if c.Name == "tests" || c.Name == "coverage" {
					if c.Passed || !strings.Contains(c.Reason, tt.want) {
						t.Errorf("check %s = passed %v, %q; want failed because %q", c.Name, c.Passed, c.Reason, tt.want)
					}
				}
			}
		})
	}
}

// throttledOnce answers the first request it sees with S3's throttle (503
// SlowDown), and passes the others on.
type throttledOnce struct {
	base http.RoundTripper
	done atomic.Bool
}

func (t *throttledOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.done.CompareAndSwap(false, true) {
		body := `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`
		return &http.Response{StatusCode: 503, Status: "503 Slow Down", Header: http.Header{"Content-Type": {"application/xml"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
	}
	return t.base.RoundTrip(req)
}

// A throttled artifact read is no evidence missing: the gate decides
// nothing on it, and fails the invocation; its retry reads the artifact and
// passes the build. (Failing the checks closed on it would stop a good build
// for good.)
func TestThrottledEvidenceIsReadAgainNotFailed(t *testing.T) {
	f := newFixture(t)
	f.artifact(t, succeededKey, map[string]string{"reports/junit/unit.xml": junitPass, "reports/gosec.sarif": sarifClean, "reports/coverage.xml": coverage80})
	store := f.s3opts
	throttle := &throttledOnce{base: http.DefaultTransport}
	f.s3opts = func(o *s3.Options) {
		store(o)
		o.HTTPClient = &http.Client{Transport: throttle}
		o.RetryMaxAttempts = 1 // the SDK gave up, as it does after its retries
	}
	h := f.builds()
	ev := localaws.Event(t, "codebuild-build-succeeded.json", nil)

	if _, err := h.Handle(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "a retry reads it again") {
		t.Fatalf("Handle() with the artifact read throttled = %v, want an error for the retry", err)
	}
	if ds := f.decisions(t, "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f"); len(ds) != 0 {
		t.Fatalf("decisions after the throttled read = %d, want none", len(ds))
	}
	res, err := h.Handle(context.Background(), ev)
	if err != nil || res.Verdict != ledger.VerdictPass {
		t.Fatalf("Handle() retried = %+v, %v; want the build passed", res, err)
	}
}
