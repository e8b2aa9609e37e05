package route

import (
	"errors"
	"reflect"
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
