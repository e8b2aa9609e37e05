// Package route declares, once, which events each Highway function listens to.
// The CDK app turns every Route into an EventBridge rule; the local router matches
// events against the same patterns with EventBridge's semantics, so what runs in
// the demo and tests is what runs in the account.
package route

import (
	"fmt"
	"slices"

	"github.com/highwayhq/highway/shared/bus"
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
	// Name tells apart the routes of one function (one EventBridge rule each);
	// empty for a function's only route.
	Name string
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
	// FunctionPromote is the function that moves passed artifacts through their
	// environments and records deployments.
	FunctionPromote = "promote"
	// FunctionDrift is the function that detects drift: it sweeps on schedule,
	// detects stack by stack from its queue, and reports on completion events.
	FunctionDrift = "drift"
	// FunctionRespond is the function that answers CloudWatch alarms with the
	// policy's runbooks.
	FunctionRespond = "respond"
)

// DetailTypeGateDecided is the domain event the gate publishes for every build.
const DetailTypeGateDecided = "Gate Decided"

// DetailTypeRollbackRequested is the domain event alarm response publishes
// to ask promotion for a rollback; its detail is {app, env, reason}.
const DetailTypeRollbackRequested = "Rollback Requested"

// SourceHighway is the source of Highway's own domain events.
const SourceHighway = bus.Source

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
	routes = append(routes, promoteRoutes(p)...)
	if p.Drift != nil {
		routes = append(routes, Route{
			Function:    FunctionDrift,
			Description: "finished CloudFormation drift detections, in every account Highway reaches",
			Pattern: Pattern{
				"source":      []string{"aws.cloudformation"},
				"detail-type": []string{"CloudFormation Drift Detection Status Change"},
			},
		})
	}
	if p.Alarms != nil {
		routes = append(routes, Route{
			Function:    FunctionRespond,
			Description: "CloudWatch alarm state changes, in every account Highway reaches",
			Pattern: Pattern{
				"source":      []string{"aws.cloudwatch"},
				"detail-type": []string{"CloudWatch Alarm State Change"},
			},
		})
	}
	return routes
}

// promoteRoutes are the events that start promotions (a passed gate) and finish
// deployments (an environment's pipeline or ECS service), for the environments
// Highway deploys to.
func promoteRoutes(p *policy.Policy) []Route {
	var pipelines, services []string
	deploys := false
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if e.Deploy == nil {
				continue
			}
			deploys = true
			if d := e.Deploy.Pipeline; d != nil {
				pipelines = appendNew(pipelines, d.Name)
			}
			if d := e.Deploy.ECS; d != nil {
				services = appendNew(services, fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", e.Region, e.Account, d.Cluster, d.Service))
			}
		}
	}
	if !deploys {
		return nil
	}
	routes := []Route{{
		Function:    FunctionPromote,
		Name:        "gate-passed",
		Description: "passed gate decisions: their artifacts start promotion",
		Pattern: Pattern{
			"source":      []string{SourceHighway},
			"detail-type": []string{DetailTypeGateDecided},
			"detail":      Pattern{"verdict": []string{"pass"}},
		},
	}}
	if len(pipelines) > 0 {
		routes = append(routes, Route{
			Function:    FunctionPromote,
			Name:        "pipeline-finished",
			Description: "finished executions of the environments' deployment pipelines",
			Pattern: Pattern{
				"source":      []string{"aws.codepipeline"},
				"detail-type": []string{"CodePipeline Pipeline Execution State Change"},
				"detail": Pattern{
					"state":    []string{"SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED"},
					"pipeline": pipelines,
				},
			},
		})
	}
	if rollsBack(p) {
		routes = append(routes, Route{
			Function:    FunctionPromote,
			Name:        "rollback-requested",
			Description: "rollbacks the alarm runbooks ask for",
			Pattern: Pattern{
				"source":      []string{SourceHighway},
				"detail-type": []string{DetailTypeRollbackRequested},
			},
		})
	}
	if len(services) > 0 {
		routes = append(routes, Route{
			Function:    FunctionPromote,
			Name:        "ecs-finished",
			Description: "finished deployments of the environments' ECS services",
			Pattern: Pattern{
				"source":      []string{"aws.ecs"},
				"detail-type": []string{"ECS Deployment State Change"},
				"resources":   services,
				"detail":      Pattern{"eventName": []string{"SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"}},
			},
		})
	}
	return routes
}

// rollsBack says some runbook of the policy rolls back.
func rollsBack(p *policy.Policy) bool {
	if p.Alarms == nil {
		return false
	}
	for _, rb := range p.Alarms.Runbooks {
		for _, a := range rb.Actions {
			if a.Rollback != nil {
				return true
			}
		}
	}
	return false
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
