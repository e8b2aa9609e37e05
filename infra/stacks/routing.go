package stacks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/route"
)

// Delivery from a rule to its function: EventBridge retries a failed invocation
// this many times within the maximum age, then sends the event to the rule
// target's dead-letter queue. (EventBridge only retries when Lambda refuses the
// event, a throttle or a service error; failures inside the function are retried
// by the function's own asynchronous invocation config.)
const (
	ruleRetryAttempts    = 8
	ruleMaxEventAgeHours = 2
)

// Route creates the EventBridge rules of every route of function name (see
// route.Routes), each delivering to fn with a retry policy and its own
// dead-letter queue. A route always gets a rule on the hub bus, where spokes
// forward their AWS events. A route of AWS sources that selects the hub
// account's events also gets one on the hub account's default bus, because AWS
// delivers the events of the hub account's own resources there and nowhere else.
// A named route's rules carry its name in their ids (a route split by account
// has a name per shard); an unnamed one's, its place among the function's routes.
func (h *Hub) Route(scope constructs.Construct, name string, fn awslambda.IFunction) error {
	var routes []route.Route
	for _, r := range route.Routes(h.Policy) {
		if r.Function == name {
			routes = append(routes, r)
		}
	}
	if len(routes) == 0 {
		return fmt.Errorf("function %s has no route in route.Routes", name)
	}
	for i, r := range routes {
		pattern, sources, err := eventPattern(r.Pattern)
		if err != nil {
			return fmt.Errorf("route %q of function %s: %w", r.Name, name, err)
		}
		id := fmt.Sprintf("Route%d", i)
		if r.Name != "" {
			id = "Route" + pascal(r.Name)
		}
		h.rule(scope, id+"HubBus", r, h.Bus, pattern, sources, fn)
		if onDefaultBus(pattern, sources, h.Policy.Hub.Account) {
			h.rule(scope, id+"DefaultBus", r, nil, pattern, sources, fn)
		}
	}
	h.routed[name] = true
	return nil
}

// rule creates one rule of route r on bus (nil: the account's default bus).
func (h *Hub) rule(scope constructs.Construct, id string, r route.Route, bus awsevents.IEventBus, pattern map[string]any, sources []string, fn awslambda.IFunction) {
	where := "the hub bus"
	if bus == nil {
		where = "the default bus"
	}
	rule := awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
		EventBus:    bus,
		Description: jsii.String(r.Description + " (" + where + ")"),
		// The L2 pattern only carries the sources; the L1 below gets the route's
		// whole pattern, matchers included, which the typed EventPattern cannot hold.
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(sources...)},
	})
	rule.Node().DefaultChild().(awsevents.CfnRule).SetEventPattern(pattern)
	name := r.Function
	if r.Name != "" {
		name += " " + r.Name
	}
	h.deliver(scope, id, rule, fmt.Sprintf("the %s rule on %s", name, where), fn)
}

// Schedule creates a rule on the hub account's default bus that invokes fn on
// schedule, with the routes' retry policy and a dead-letter queue of its own.
// fn receives EventBridge's "Scheduled Event" (source aws.events).
func (h *Hub) Schedule(scope constructs.Construct, id, description string, schedule awsevents.Schedule, fn awslambda.IFunction) awsevents.Rule {
	rule := awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
		Description: jsii.String(description),
		Schedule:    schedule,
	})
	h.deliver(scope, id, rule, "the "+id+" schedule", fn)
	return rule
}

// deliver makes fn the target of rule, with a retry policy and its own
// dead-letter queue, id+"Failures".
func (h *Hub) deliver(scope constructs.Construct, id string, rule awsevents.Rule, purpose string, fn awslambda.IFunction) {
	dlq := h.deadLetterQueue(scope, id+"Failures", purpose)
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: dlq,
		RetryAttempts:   jsii.Number(ruleRetryAttempts),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(ruleMaxEventAgeHours)),
	}))
}

// pascal turns a route name such as gate-passed into GatePassed, for construct
// ids.
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// eventPattern validates p and returns it as the JSON object EventBridge receives,
// with the literal sources it names. A route must name its sources: they decide
// which buses carry its events.
func eventPattern(p route.Pattern) (map[string]any, []string, error) {
	text, err := p.JSON()
	if err != nil {
		return nil, nil, err
	}
	var pattern map[string]any
	if err := json.Unmarshal([]byte(text), &pattern); err != nil {
		return nil, nil, fmt.Errorf("event pattern: %w", err)
	}
	list, _ := pattern["source"].([]any)
	var sources []string
	for _, s := range list {
		if s, ok := s.(string); ok {
			sources = append(sources, s)
		}
	}
	if len(sources) == 0 || len(sources) != len(list) {
		return nil, nil, fmt.Errorf("event pattern: source must list literal sources, got %v", pattern["source"])
	}
	return pattern, sources, nil
}

// onDefaultBus reports whether a rule of pattern, of sources, belongs on the
// hub account's default bus too: some source is an AWS service, which delivers
// the events of the hub account's resources there, and the pattern selects
// events of hub (it names no account, or names hub among them). A rule there
// that selects only other accounts would never match.
func onDefaultBus(pattern map[string]any, sources []string, hub string) bool {
	if !slices.ContainsFunc(sources, func(s string) bool { return strings.HasPrefix(s, "aws.") }) {
		return false
	}
	accounts, named := pattern["account"].([]any)
	return !named || slices.Contains(accounts, any(hub))
}
