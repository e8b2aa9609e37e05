package route

import (
	"fmt"
	"slices"
)

// Router decides, locally, which functions receive an event: the demo and tests
// use it in place of EventBridge rules, with the same patterns and semantics.
type Router struct {
	routes   []Route
	matchers []*Matcher
}

// NewRouter compiles the pattern of every route. It fails, naming the function,
// if a pattern is invalid, a function name is empty, or two routes share a
// function (each function has exactly one rule).
func NewRouter(routes []Route) (*Router, error) {
	r := &Router{
		routes:   make([]Route, 0, len(routes)),
		matchers: make([]*Matcher, 0, len(routes)),
	}
	seen := make(map[[2]string]bool, len(routes))
	for i, rt := range routes {
		if rt.Function == "" {
			return nil, fmt.Errorf("route %d: function name is empty", i)
		}
		if seen[[2]string{rt.Function, rt.Name}] {
			return nil, fmt.Errorf("route %q %q: more than one route of this function with this name", rt.Function, rt.Name)
		}
		seen[[2]string{rt.Function, rt.Name}] = true
		m, err := Compile(rt.Pattern)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rt.Function, err)
		}
		r.routes = append(r.routes, rt)
		r.matchers = append(r.matchers, m)
	}
	return r, nil
}

// Dispatch returns the routes whose pattern matches the event, in the order the
// routes were given to NewRouter. It fails only if event is not a JSON object.
func (r *Router) Dispatch(event []byte) ([]Route, error) {
	obj, err := decodeEvent(event)
	if err != nil {
		return nil, err
	}
	var matched []Route
	for i, m := range r.matchers {
		if m.root.match(obj) {
			matched = append(matched, r.routes[i])
		}
	}
	return matched, nil
}

// Functions returns the names of the functions whose route matches the event, in
// route order; none is an empty result, not an error.
func (r *Router) Functions(event []byte) ([]string, error) {
	routes, err := r.Dispatch(event)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(routes))
	for _, rt := range routes {
		if !slices.Contains(names, rt.Function) {
			names = append(names, rt.Function) // once, though several of its routes match
		}
	}
	return names, nil
}
