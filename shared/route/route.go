// Package route declares, once, which events each Highway function listens to.
// The CDK app turns every Route into an EventBridge rule; the local router matches
// events against the same patterns with EventBridge's semantics, so what runs in
// the demo and tests is what runs in the account.
package route

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

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
	// empty for a function's only route (or the first shard of it, when its
	// accounts are split over several rules).
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

// The AWS events the routes select. The rules do not name each app's
// resources, so a rule wider than a handler's concern is possible (through
// another rule, or a future one): the handlers check these names themselves.
const (
	// SourceCodeCommit is the source of CodeCommit's events.
	SourceCodeCommit = "aws.codecommit"
	// DetailTypeRepositoryStateChange is CodeCommit's event for a created,
	// updated or deleted branch or tag of a repository.
	DetailTypeRepositoryStateChange = "CodeCommit Repository State Change"
	// SourceCodePipeline is the source of CodePipeline's events.
	SourceCodePipeline = "aws.codepipeline"
	// DetailTypePipelineExecutionStateChange is CodePipeline's event for the
	// state of a whole pipeline execution. Stages and actions send their own
	// detail types, whose details also carry pipeline, execution-id and state.
	DetailTypePipelineExecutionStateChange = "CodePipeline Pipeline Execution State Change"
	// SourceECS is the source of Amazon ECS's events.
	SourceECS = "aws.ecs"
	// DetailTypeECSDeploymentStateChange is ECS's event for the progress of a
	// service deployment.
	DetailTypeECSDeploymentStateChange = "ECS Deployment State Change"
)

// Routes returns the table of Highway's routes for policy p, in a fixed order.
//
// A pattern selects the events Highway wants by what identifies them (source,
// detail-type, the fixed detail filters) and by the accounts they come from (the
// event's account field), never by each app's repository, project, pipeline or
// service: a rule's size then depends on the accounts Highway reaches, not on the
// number of apps. Which repository, project, pipeline or service belongs to the
// policy, and in which account, the handlers decide. Routes of AWS events are
// limited to the accounts that send what they want: CodeCommit and CodeBuild
// events to the apps' delivery accounts, pipeline and ECS events to the accounts
// of the environments that deploy with them, CloudFormation drift and CloudWatch
// alarms to every account Highway reaches, and CodeBuild events to the drift
// function from the accounts of the projects that plan Terraform workspaces. A
// route whose accounts would make its pattern longer than EventBridge allows is
// split by account (see byAccount).
//
// Adding a route is adding one entry here; the CDK app creates one EventBridge
// rule per entry and the local router dispatches with the same patterns. Each
// call builds a fresh table, so callers may modify what they get.
func Routes(p *policy.Policy) []Route {
	var delivery, gated, reached accountSet
	reached.add(p.Hub.Account)
	for _, a := range p.Apps {
		account := cmp.Or(a.Account, p.Hub.Account) // the default, in a policy not parsed
		delivery.add(account)
		reached.add(account)
		if a.Gate != nil && len(a.Gate.Projects) > 0 {
			gated.add(account)
		}
		for _, e := range a.Environments {
			reached.add(e.Account)
		}
	}
	routes := byAccount(delivery.sorted(), func(accounts []string) Route {
		return Route{
			Function:    FunctionPush,
			Description: "CodeCommit pushes to a branch, from the apps' delivery accounts",
			Pattern: Pattern{
				"source":      []string{SourceCodeCommit},
				"detail-type": []string{DetailTypeRepositoryStateChange},
				"account":     accounts,
				"detail": Pattern{
					"event":         []string{"referenceCreated", "referenceUpdated"},
					"referenceType": []string{"branch"},
				},
			},
		}
	})
	routes = append(routes, byAccount(gated.sorted(), func(accounts []string) Route {
		return Route{
			Function:    FunctionGate,
			Description: "finished CodeBuild builds, from the delivery accounts of gated apps",
			Pattern: Pattern{
				"source":      []string{"aws.codebuild"},
				"detail-type": []string{"CodeBuild Build State Change"},
				"account":     accounts,
				"detail":      Pattern{"build-status": []string{"SUCCEEDED", "FAILED", "STOPPED"}},
			},
		}
	})...)
	routes = append(routes, promoteRoutes(p)...)
	if p.Drift != nil {
		routes = append(routes, byAccount(reached.sorted(), func(accounts []string) Route {
			return Route{
				Function:    FunctionDrift,
				Description: "finished CloudFormation drift detections, in every account Highway reaches",
				Pattern: Pattern{
					"source":      []string{"aws.cloudformation"},
					"detail-type": []string{"CloudFormation Drift Detection Status Change"},
					"account":     accounts,
				},
			}
		})...)
		var terraform accountSet
		for _, w := range p.Drift.Terraform {
			terraform.add(w.Account)
		}
		routes = append(routes, byAccount(terraform.sorted(), func(accounts []string) Route {
			return Route{
				Function:    FunctionDrift,
				Name:        "terraform-builds",
				Description: "finished CodeBuild builds, from the accounts of the projects that plan the Terraform workspaces",
				Pattern: Pattern{
					"source":      []string{"aws.codebuild"},
					"detail-type": []string{"CodeBuild Build State Change"},
					"account":     accounts,
					"detail":      Pattern{"build-status": []string{"SUCCEEDED", "FAILED", "STOPPED"}},
				},
			}
		})...)
	}
	if p.Alarms != nil {
		routes = append(routes, byAccount(reached.sorted(), func(accounts []string) Route {
			return Route{
				Function:    FunctionRespond,
				Description: "CloudWatch alarm state changes, in every account Highway reaches",
				Pattern: Pattern{
					"source":      []string{"aws.cloudwatch"},
					"detail-type": []string{"CloudWatch Alarm State Change"},
					"account":     accounts,
				},
			}
		})...)
	}
	return routes
}

// promoteRoutes are the events that start promotions (a passed gate) and finish
// deployments (an environment's pipeline or ECS service), for the environments
// Highway deploys to.
func promoteRoutes(p *policy.Policy) []Route {
	var pipelines, services accountSet
	deploys := false
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if e.Deploy == nil {
				continue
			}
			deploys = true
			if e.Deploy.Pipeline != nil {
				pipelines.add(e.Account)
			}
			if e.Deploy.ECS != nil {
				services.add(e.Account)
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
	routes = append(routes, byAccount(pipelines.sorted(), func(accounts []string) Route {
		return Route{
			Function:    FunctionPromote,
			Name:        "pipeline-finished",
			Description: "finished pipeline executions, from the accounts of environments deployed by pipeline",
			Pattern: Pattern{
				"source":      []string{SourceCodePipeline},
				"detail-type": []string{DetailTypePipelineExecutionStateChange},
				"account":     accounts,
				"detail":      Pattern{"state": []string{"SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED"}},
			},
		}
	})...)
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
	routes = append(routes, byAccount(services.sorted(), func(accounts []string) Route {
		return Route{
			Function:    FunctionPromote,
			Name:        "ecs-finished",
			Description: "finished ECS service deployments, from the accounts of environments deployed on ECS",
			Pattern: Pattern{
				"source":      []string{SourceECS},
				"detail-type": []string{DetailTypeECSDeploymentStateChange},
				"account":     accounts,
				"detail":      Pattern{"eventName": []string{"SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"}},
			},
		}
	})...)
	return routes
}

// byAccount is the route that build makes for accounts, or nothing when there
// is no account (a rule cannot select from an empty list). When its pattern
// would be longer than MaxPatternLength, the EventBridge quota
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html),
// the accounts, in order, are split into shards, each as many as fit: each
// shard is a route, and so a rule, of its own. The first keeps the route's name,
// so a table that grows past one shard keeps its first rule; shard k after it is
// named after the route (or its function, for an unnamed route) with "-k".
// build must return a fresh route, its pattern selecting exactly accounts.
func byAccount(accounts []string, build func(accounts []string) Route) []Route {
	if len(accounts) == 0 {
		return nil
	}
	var shards [][]string
	start := 0
	for end := 1; end <= len(accounts); end++ {
		if end-start > 1 && !fits(build(accounts[start:end]).Pattern) {
			shards = append(shards, accounts[start:end-1])
			start = end - 1
		}
	}
	shards = append(shards, accounts[start:])
	routes := make([]Route, len(shards))
	for i, shard := range shards {
		r := build(slices.Clone(shard))
		if len(shards) > 1 {
			if i > 0 {
				r.Name = fmt.Sprintf("%s-%d", cmp.Or(r.Name, r.Function), i+1)
			}
			r.Description += fmt.Sprintf(" (accounts %s to %s)", shard[0], shard[len(shard)-1])
		}
		routes[i] = r
	}
	return routes
}

// fits says p's JSON is within EventBridge's quota, counted as Compile counts it.
// An invalid pattern fits: Compile reports it where the route is used.
func fits(p Pattern) bool {
	text, err := encode(p)
	return err != nil || utf8.RuneCountInString(text) <= MaxPatternLength
}

// accountSet collects account ids, each once; the empty id is left out.
type accountSet map[string]bool

func (s *accountSet) add(account string) {
	if account == "" {
		return
	}
	if *s == nil {
		*s = accountSet{}
	}
	(*s)[account] = true
}

// sorted lists the accounts in order, so that a rule does not change with the
// order of the policy's apps and environments.
func (s accountSet) sorted() []string {
	return slices.Sorted(maps.Keys(s))
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

// Lookup returns the first route of the named function from Routes(p).
func Lookup(p *policy.Policy, function string) (Route, bool) {
	for _, r := range Routes(p) {
		if r.Function == function {
			return r, true
		}
	}
	return Route{}, false
}
