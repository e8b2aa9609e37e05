package stacks

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/route"
)

func TestEveryRouteBecomesRulesOnTheRightBuses(t *testing.T) {
	// GIVEN the routes and the example policy
	p := examplePolicy(t)
	h := synth(t, p)

	// WHEN the hub is synthesized
	tpl := templateOf(t, h.Hub.Stack)

	// THEN each route has a rule on the hub bus and, when it names AWS sources,
	// one on the default bus; each has the route's exact pattern and invokes the
	// route's function, and no other rule exists
	bus := only(t, tpl.ofType("AWS::Events::EventBus"))
	type key struct{ function, bus, pattern string }
	got := map[key]int{}
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		where := "default"
		if b := r.Properties["EventBusName"]; b != nil {
			if refTo(b) != bus {
				t.Errorf("rule %s is on bus %v, want the hub bus or the default bus", id, b)
			}
			where = "hub"
		}
		pattern, err := json.Marshal(r.Properties["EventPattern"])
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range list(r.Properties["Targets"]) {
			fn := tpl.Resources[refTo(path(target, "Arn"))]
			got[key{flat(fn.Properties["FunctionName"]), where, string(pattern)}]++
		}
	}
	want := map[key]int{}
	for _, r := range route.Routes(p) {
		pattern, err := r.Pattern.JSON()
		if err != nil {
			t.Fatal(err)
		}
		fn := FunctionName(h.Hub.Policy.Hub, r.Function)
		want[key{fn, "hub", pattern}]++
		if slices.ContainsFunc(strs(r.Pattern["source"]), func(s string) bool { return strings.HasPrefix(s, "aws.") }) {
			want[key{fn, "default", pattern}]++
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules (function, bus, pattern) = %v, want %v", got, want)
	}
}

func TestEventPatternNeedsLiteralSources(t *testing.T) {
	tests := []struct {
		name    string
		give    route.Pattern
		want    []string
		wantErr bool
	}{
		{name: "AWS source", give: route.Pattern{"source": []string{"aws.codecommit"}}, want: []string{"aws.codecommit"}},
		{name: "two sources", give: route.Pattern{"source": []string{"highway", "aws.ecr"}}, want: []string{"highway", "aws.ecr"}},
		{name: "no source", give: route.Pattern{"detail-type": []string{"Gate Decided"}}, wantErr: true},
		{name: "prefix matcher", give: route.Pattern{"source": []any{map[string]any{"prefix": "aws."}}}, wantErr: true},
		{name: "invalid pattern", give: route.Pattern{"source": "aws.codecommit"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := eventPattern(tt.give)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("eventPattern(%v) = %v, %v; want %v, error %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
