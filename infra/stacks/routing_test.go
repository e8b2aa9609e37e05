package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
	"github.com/highwayhq/highway/shared/route"
)

func TestEveryRouteBecomesRulesOnTheRightBuses(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *policy.Policy
		// wantDefault are the routes, "function name", with a rule on the
		// hub account's default bus: those of AWS sources that select the
		// hub account's events.
		wantDefault []string
	}{
		{name: "example policy", give: examplePolicy, wantDefault: []string{"drift ", "respond "}},
		{name: "promotion to hub and spoke accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, promotionPolicyYAML) },
			wantDefault: []string{"push ", "promote ecs-finished"}},
		{name: "platform of 100 apps", give: func(t *testing.T) *policy.Policy {
			p, err := policytest.Build(examplePolicy(t), policytest.Platform{Apps: 100, Central: 60, Teams: 20})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, wantDefault: []string{"drift ", "respond "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN the routes and a policy
			p := tt.give(t)
			h := synth(t, p)

			// WHEN the hub is synthesized
			tpl := templateOf(t, h.Hub.Stack)

			// THEN each route has a rule on the hub bus and, when it names AWS
			// sources and selects the hub account's events, one on the default
			// bus; each has the route's exact pattern, invokes the route's
			// function and, when the route is named, carries its name in its
			// id; and no other rule exists but schedules
			checkRouteRules(t, p, tpl)
			var onDefault []string
			for _, r := range route.Routes(p) {
				pattern, sources, err := eventPattern(r.Pattern)
				if err != nil {
					t.Fatal(err)
				}
				if onDefaultBus(pattern, sources, p.Hub.Account) {
					onDefault = append(onDefault, r.Function+" "+r.Name)
				}
			}
			if !slices.Equal(onDefault, tt.wantDefault) {
				t.Errorf("routes with a rule on the default bus = %q, want %q", onDefault, tt.wantDefault)
			}

			// AND the rules, matched locally, send each sample event of
			// events/ where the route table sends it
			checkRulesRouteSamples(t, p, tpl)
		})
	}
}

// ruleOf is one rule of a template, schedules aside.
type ruleOf struct {
	id, function, bus string // bus: "hub" or "default"
	pattern           any    // the EventPattern, decoded
}

// routeRules returns the rules of tpl that are not schedules, one per target.
func routeRules(t *testing.T, tpl cfnTemplate) []ruleOf {
	t.Helper()
	hubBus := only(t, tpl.ofType("AWS::Events::EventBus"))
	var out []ruleOf
	for id, r := range tpl.ofType("AWS::Events::Rule") {
		if r.Properties["ScheduleExpression"] != nil {
			continue
		}
		where := "default"
		if b := r.Properties["EventBusName"]; b != nil {
			if refTo(b) != hubBus {
				t.Errorf("rule %s is on bus %v, want the hub bus or the default bus", id, b)
			}
			where = "hub"
		}
		for _, target := range list(r.Properties["Targets"]) {
			fn := tpl.Resources[refTo(path(target, "Arn"))]
			out = append(out, ruleOf{id: id, function: flat(fn.Properties["FunctionName"]), bus: where, pattern: r.Properties["EventPattern"]})
		}
	}
	return out
}

// canonical renders a decoded JSON value with sorted keys: two decoded
// values are equal exactly when their renderings are.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkRouteRules checks the rules of tpl, schedules aside, against the routes
// of p: the EventPattern of each, decoded, is its route's pattern, decoded.
func checkRouteRules(t *testing.T, p *policy.Policy, tpl cfnTemplate) {
	t.Helper()
	type key struct{ function, bus, pattern string }
	got := map[key]int{}
	ids := map[string][]string{} // pattern -> rule ids
	for _, r := range routeRules(t, tpl) {
		pattern := canonical(t, r.pattern)
		ids[pattern] = append(ids[pattern], r.id)
		got[key{r.function, r.bus, pattern}]++
	}
	want := map[key]int{}
	for _, r := range route.Routes(p) {
		text, err := r.Pattern.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var decoded map[string]any
		if err := json.Unmarshal([]byte(text), &decoded); err != nil {
			t.Fatal(err)
		}
		pattern := canonical(t, decoded)
		fn := FunctionName(p.Hub, r.Function)
		want[key{fn, "hub", pattern}]++
		if onDefaultBus(decoded, strs(decoded["source"]), p.Hub.Account) {
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

// checkRulesRouteSamples runs the local matcher, with the template's patterns,
// over the sample events of events/, and checks that each event reaches the
// functions, on the buses, that the route table's patterns send it to.
func checkRulesRouteSamples(t *testing.T, p *policy.Policy, tpl cfnTemplate) {
	t.Helper()
	samples := sampleEvents(t)
	got := map[string][]string{} // sample -> function@bus, sorted
	for _, r := range routeRules(t, tpl) {
		pattern, _ := r.pattern.(map[string]any)
		m, err := route.Compile(route.Pattern(pattern))
		if err != nil {
			t.Errorf("rule %s: the template's pattern does not compile: %v", r.id, err)
			continue
		}
		for name, ev := range samples {
			ok, err := m.Match(ev)
			if err != nil {
				t.Fatalf("rule %s: Match(%s): %v", r.id, name, err)
			}
			if ok {
				got[name] = append(got[name], r.function+"@"+r.bus)
			}
		}
	}
	router, err := route.NewRouter(route.Routes(p))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for name, ev := range samples {
		routes, err := router.Dispatch(ev)
		if err != nil {
			t.Fatalf("Dispatch(%s): %v", name, err)
		}
		for _, r := range routes {
			fn := FunctionName(p.Hub, r.Function)
			want[name] = append(want[name], fn+"@hub")
			pattern, sources, err := eventPattern(r.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			if onDefaultBus(pattern, sources, p.Hub.Account) {
				want[name] = append(want[name], fn+"@default")
			}
		}
	}
	for name := range samples {
		slices.Sort(got[name])
		slices.Sort(want[name])
		if !slices.Equal(got[name], want[name]) {
			t.Errorf("the template's rules send %s to %q, the route table to %q", name, got[name], want[name])
		}
	}
	if len(want) == 0 {
		t.Error("no sample event reaches any route: the comparison proves nothing")
	}
}

// sampleEvents reads the events of events/ that are JSON objects, by file name.
func sampleEvents(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if json.Unmarshal(raw, &obj) == nil {
			out[filepath.Base(f)] = raw
		}
	}
	if len(out) == 0 {
		t.Fatal("no sample event in events/")
	}
	return out
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
