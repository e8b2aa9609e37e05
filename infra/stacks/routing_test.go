package stacks

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

func TestEveryRouteBecomesRulesOnTheRightBuses(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *policy.Policy
	}{
		{name: "example policy", give: examplePolicy},
		{name: "promotion to hub and spoke accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, promotionPolicyYAML) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN the routes and a policy
			p := tt.give(t)
			h := synth(t, p)

			// WHEN the hub is synthesized
			tpl := templateOf(t, h.Hub.Stack)

			// THEN each route has a rule on the hub bus and, when it names AWS
			// sources, one on the default bus; each has the route's exact
			// pattern, invokes the route's function and, when the route is
			// named, carries its name in its id; and no other rule exists but
			// schedules
			checkRouteRules(t, p, tpl)
		})
	}
}

// checkRouteRules checks the rules of tpl, schedules aside, against the routes
// of p.
func checkRouteRules(t *testing.T, p *policy.Policy, tpl cfnTemplate) {
	t.Helper()
	bus := only(t, tpl.ofType("AWS::Events::EventBus"))
	type key struct{ function, bus, pattern string }
	got := map[key]int{}
	ids := map[string][]string{} // pattern -> rule ids
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		if r.Properties["ScheduleExpression"] != nil {
			continue
		}
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
		ids[string(pattern)] = append(ids[string(pattern)], id)
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
		fn := FunctionName(p.Hub, r.Function)
		want[key{fn, "hub", pattern}]++
		if slices.ContainsFunc(strs(r.Pattern["source"]), func(s string) bool { return strings.HasPrefix(s, "aws.") }) {
			want[key{fn, "default", pattern}]++
		}
		name := strings.ToLower(strings.ReplaceAll(r.Name, "-", ""))
		for _, id := range ids[pattern] {
			if !strings.Contains(strings.ToLower(id), name) {
				t.Errorf("rule %s of route %s %q: id without the route's name", id, r.Function, r.Name)
			}
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
