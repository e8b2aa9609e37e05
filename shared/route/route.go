// Package route declares, once, which events each Highway function listens to.
// The CDK app turns every Route into an EventBridge rule; the local router matches
// events against the same patterns with EventBridge's semantics, so what runs in
// the demo and tests is what runs in the account.
package route

import (
	"slices"

	"github.com/highwayhq/highway/shared/policy"
)

// Pattern is an EventBridge event pattern, in the JSON shape EventBridge takes:
// top-level fields (source, detail-type, account, region, resources, detail) map to
// either a list of allowed values or matchers ({"prefix": ...}, {"anything-but": ...},
// {"exists": ...}, {"numeric": [...]}), and "detail" nests further Patterns.
type Pattern map[string]any

// Route binds one function to the patterns of the events it receives.
type Route struct {
	// Function is the directory name under functions/ and the Lambda's logical name.
	Function string
	// Description says in one line what the rule forwards, for the console.
	Description string
	// Pattern selects the events, with EventBridge semantics.
	Pattern Pattern
}

// Function names, one per directory under functions/, for the routes below.
const (
	// FunctionPush is the function that receives pushes to CodeCommit branches.
	FunctionPush = "push"
	// FunctionGate is the function that judges finished CodeBuild builds.
	FunctionGate = "gate"
)

// Routes returns the table of Highway's routes for policy p, in a fixed order.
// Patterns name the policy's repositories and projects, so EventBridge invokes a
// function only for what it watches. Adding a route is adding one entry here; the
// CDK app creates one EventBridge rule per entry and the local router dispatches
// with the same patterns. Each call builds a fresh table, so callers may modify
// what they get.
func Routes(p *policy.Policy) []Route {
	var repos, projects []string
	for _, a := range p.Apps {
		repos = appendNew(repos, a.Repository)
		if a.Gate != nil {
			for _, pr := range a.Gate.Projects {
				projects = appendNew(projects, pr)
			}
		}
	}
	routes := []Route{{
		Function:    FunctionPush,
		Description: "CodeCommit pushes to a branch of the policy's repositories",
		Pattern: Pattern{
			"source":      []string{"aws.codecommit"},
			"detail-type": []string{"CodeCommit Repository State Change"},
			"detail": Pattern{
				"event":          []string{"referenceCreated", "referenceUpdated"},
				"referenceType":  []string{"branch"},
				"repositoryName": repos,
			},
		},
	}}
	if len(projects) > 0 {
		routes = append(routes, Route{
			Function:    FunctionGate,
			Description: "finished builds of the policy's gated CodeBuild projects",
			Pattern: Pattern{
				"source":      []string{"aws.codebuild"},
				"detail-type": []string{"CodeBuild Build State Change"},
				"detail": Pattern{
					"build-status": []string{"SUCCEEDED", "FAILED", "STOPPED"},
					"project-name": projects,
				},
			},
		})
	}
	return routes
}

// Lookup returns the route of the named function from Routes(p).
func Lookup(p *policy.Policy, function string) (Route, bool) {
	for _, r := range Routes(p) {
		if r.Function == function {
			return r, true
		}
	}
	return Route{}, false
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
