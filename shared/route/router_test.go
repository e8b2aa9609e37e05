package route

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestNewRouterErrors(t *testing.T) {
	valid := Pattern{"source": []string{"aws.codecommit"}}
	tests := []struct {
		name      string
		give      []Route
		wantParts []string
	}{
		{
			name:      "invalid pattern names the function and the path",
			give:      []Route{{Function: "push", Pattern: valid}, {Function: "gate", Pattern: Pattern{"detail": Pattern{"status": "FAILED"}}}},
			wantParts: []string{`route "gate"`, "detail.status"},
		},
		{
			name:      "unknown operator",
			give:      []Route{{Function: "alarm", Pattern: Pattern{"detail": Pattern{"state": []any{map[string]any{"is": "ALARM"}}}}}},
			wantParts: []string{`route "alarm"`, "detail.state[0]", `unknown operator "is"`},
		},
		{
			name:      "two routes for one function",
			give:      []Route{{Function: "push", Pattern: valid}, {Function: "push", Pattern: valid}},
			wantParts: []string{`route "push"`, "more than one route"},
		},
		{
			name:      "empty function name",
			give:      []Route{{Function: "push", Pattern: valid}, {Function: "", Pattern: valid}},
			wantParts: []string{"route 1", "empty"},
		},
		{
			name:      "missing pattern",
			give:      []Route{{Function: "drift"}},
			wantParts: []string{`route "drift"`, "nil"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRouter(tt.give)
			if err == nil {
				t.Fatalf("NewRouter(%v) = %v, nil; want an error", tt.give, r)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("NewRouter error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestNewRouterPatternErrorUnwraps(t *testing.T) {
	_, err := NewRouter([]Route{{Function: "gate", Pattern: Pattern{"source": "aws.codebuild"}}})
	var pe *PatternError
	if !errors.As(err, &pe) || pe.Path != "source" {
		t.Errorf("NewRouter error = %v, want a wrapped *PatternError at path source", err)
	}
}

func TestRouterFunctions(t *testing.T) {
	codecommit := Route{Function: "push", Pattern: Pattern{"source": []string{"aws.codecommit"}}}
	anyAWS := Route{Function: "audit", Pattern: Pattern{"source": []any{map[string]any{"prefix": "aws."}}}}
	ec2 := Route{Function: "ec2", Pattern: Pattern{"source": []string{"aws.ec2"}}}
	push := []byte(`{"source": "aws.codecommit", "detail": {}}`)

	tests := []struct {
		name   string
		routes []Route
		event  []byte
		want   []string
	}{
		{name: "route order is kept", routes: []Route{codecommit, anyAWS, ec2}, event: push, want: []string{"push", "audit"}},
		{name: "reversed table, reversed result", routes: []Route{ec2, anyAWS, codecommit}, event: push, want: []string{"audit", "push"}},
		{name: "one match", routes: []Route{codecommit, anyAWS, ec2}, event: []byte(ec2Terminated), want: []string{"audit", "ec2"}},
		{name: "no match", routes: []Route{codecommit, ec2}, event: []byte(`{"source": "com.highwayhq.gate"}`), want: []string{}},
		{name: "Highway routes on the sample push", routes: Routes(testPolicy()), event: []byte(readSample(t)), want: []string{FunctionPush}},
		{name: "Highway routes on an EC2 event", routes: Routes(testPolicy()), event: []byte(ec2Terminated), want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRouter(tt.routes)
			if err != nil {
				t.Fatalf("NewRouter error: %v", err)
			}
			got, err := r.Functions(tt.event)
			if err != nil {
				t.Fatalf("Functions error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Functions(%s) = %q, want %q", tt.event, got, tt.want)
			}
		})
	}
}

func TestRouterDispatch(t *testing.T) {
	r, err := NewRouter(Routes(testPolicy()))
	if err != nil {
		t.Fatalf("NewRouter error: %v", err)
	}
	got, err := r.Dispatch([]byte(readSample(t)))
	if err != nil {
		t.Fatalf("Dispatch error: %v", err)
	}
	if len(got) != 1 || got[0].Function != FunctionPush || got[0].Description != mustLookup(t, FunctionPush).Description {
		t.Errorf("Dispatch(sample push) = %+v, want the push route", got)
	}
}

func TestRouterBadEvent(t *testing.T) {
	r, err := NewRouter(Routes(testPolicy()))
	if err != nil {
		t.Fatalf("NewRouter error: %v", err)
	}
	tests := []struct {
		name  string
		event string
	}{
		{name: "not JSON", event: `{"source": `},
		{name: "a list of events", event: `[` + readSample(t) + `]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := r.Functions([]byte(tt.event)); err == nil {
				t.Errorf("Functions(%.40s) = %q, nil; want an error", tt.event, got)
			}
		})
	}
}

func TestRouterSendsEachSampleWhereItWent(t *testing.T) {
	// Every real-shaped event of events/ reaches the route it reached when the
	// patterns named each app's repository, project, pipeline and service.
	// Sent from an account Highway does not reach, an AWS event reaches none:
	// the rules name the accounts. Highway's own events name no account: only
	// the hub account can put them on the hub bus (spokes may put AWS sources
	// only), and the demo publishes them from a local account.
	tests := []struct {
		sample     string
		want       []string // function/name of each route reached
		anyAccount bool     // reaches want from any account
	}{
		{sample: "approval-link-post.json"},
		{sample: "approval-request.json"},
		{sample: "cloudformation-drift-detection.json", want: []string{"drift/"}},
		{sample: "cloudwatch-alarm-state-change-ok.json", want: []string{"respond/"}},
		{sample: "cloudwatch-alarm-state-change.json", want: []string{"respond/"}},
		{sample: "cloudwatch-custom-widget.json"},
		{sample: "codebuild-build-failed.json", want: []string{"gate/"}},
		{sample: "codebuild-build-storefront.json", want: []string{"gate/"}},
		{sample: "codebuild-build-succeeded.json", want: []string{"gate/"}},
		{sample: "codebuild-build-vulnerable.json", want: []string{"gate/"}},
		{sample: "codebuild-terraform-drift.json", want: []string{"drift/terraform-builds"}},
		{sample: "codecommit-push-2.json", want: []string{"push/"}},
		{sample: "codecommit-push.json", want: []string{"push/"}},
		{sample: "codepipeline-execution-succeeded.json", want: []string{"promote/pipeline-finished"}},
		{sample: "codepipeline-job.json"},
		{sample: "dora-scheduled.json"},
		{sample: "drift-scheduled.json"},
		{sample: "ecr-image-scan-c3a97e0.json"},
		{sample: "ecr-image-scan.json"},
		{sample: "ecs-deployment-completed.json", want: []string{"promote/ecs-finished"}},
		{sample: "gate-decided.json", want: []string{"promote/gate-passed"}, anyAccount: true},
		{sample: "github-ping.json"},
		{sample: "github-push.json"},
		{sample: "highway-rollback-requested.json", want: []string{"promote/rollback-requested"}, anyAccount: true},
		{sample: "secretsmanager-github-webhook.json"},
		{sample: "sqs-drift-detections.json"},
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var samples []string
	for _, f := range files {
		if raw, err := os.ReadFile(f); err == nil && strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
			samples = append(samples, filepath.Base(f))
		}
	}
	var listed []string
	for _, tt := range tests {
		listed = append(listed, tt.sample)
	}
	if !slices.Equal(listed, samples) {
		t.Errorf("samples listed = %q, want every JSON object of events/ %q", listed, samples)
	}
	r, err := NewRouter(Routes(examplePolicy(t)))
	if err != nil {
		t.Fatal(err)
	}
	dispatch := func(t *testing.T, event []byte) []string {
		t.Helper()
		routes, err := r.Dispatch(event)
		if err != nil {
			t.Fatalf("Dispatch error: %v", err)
		}
		var got []string
		for _, rt := range routes {
			got = append(got, rt.Function+"/"+rt.Name)
		}
		return got
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			event := readEvent(t, tt.sample)
			if got := dispatch(t, event); !slices.Equal(got, tt.want) {
				t.Errorf("Dispatch(%s) = %q, want %q", tt.sample, got, tt.want)
			}
			want := tt.want
			if !tt.anyAccount {
				want = nil
			}
			if got := dispatch(t, withAccount(t, event, "999999999999")); !slices.Equal(got, want) {
				t.Errorf("Dispatch(%s from account 999999999999) = %q, want %q", tt.sample, got, want)
			}
		})
	}
}

func TestRouterLeavesWhatIsInThePolicyToTheFunctions(t *testing.T) {
	// What the rules no longer name, the functions judge: an event of a
	// repository, project, pipeline or service no app has, from an account
	// Highway reaches, reaches its function, which ignores it.
	tests := []struct {
		sample string
		edit   func(ev map[string]any)
		want   string
	}{
		{"codecommit-push.json", func(ev map[string]any) { detail(ev)["repositoryName"] = "someone-elses-service" }, FunctionPush},
		{"codebuild-build-succeeded.json", func(ev map[string]any) { detail(ev)["project-name"] = "someone-elses-build" }, FunctionGate},
		{"codepipeline-execution-succeeded.json", func(ev map[string]any) { detail(ev)["pipeline"] = "someone-elses-pipeline" }, FunctionPromote},
		{"ecs-deployment-completed.json", func(ev map[string]any) {
			ev["resources"] = []string{"arn:aws:ecs:eu-west-1:444444444444:service/shop/someone-elses-service"}
		}, FunctionPromote},
	}
	r, err := NewRouter(Routes(examplePolicy(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			var ev map[string]any
			if err := json.Unmarshal(readEvent(t, tt.sample), &ev); err != nil {
				t.Fatal(err)
			}
			tt.edit(ev)
			event, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := r.Functions(event); err != nil || !slices.Equal(got, []string{tt.want}) {
				t.Errorf("Functions(%s) = %q, %v; want [%s]", event, got, err, tt.want)
			}
		})
	}
}

// detail is the detail object of a decoded event.
func detail(ev map[string]any) map[string]any { return ev["detail"].(map[string]any) }
