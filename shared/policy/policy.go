// Package policy is Highway's configuration as code: one YAML file that names the
// hub, the apps and their ordered environments, and the sections each capability
// adds. The same package validates it when the CDK app synthesizes and when a
// function starts, so a bad policy fails before it reaches an account.
//
// The struct tags are the schema: `yaml` names each key (JSON uses the same
// names) and `policy:"required"` makes a key mandatory. Parse rejects unknown
// keys and values of the wrong shape, then runs the checks in validate.go.
package policy

import (
	"cmp"
	"slices"
	"time"
)

// Policy is the whole, validated configuration.
type Policy struct {
	// Version is the schema version of the file; only 1 is known.
	Version int `yaml:"version" json:"version" policy:"required"`
	// Hub is the account that runs Highway's control plane.
	Hub Hub `yaml:"hub" json:"hub" policy:"required"`
	// Apps are the delivery units Highway watches, each with its environments.
	Apps []App `yaml:"apps" json:"apps" policy:"required"`
	// Drift configures drift detection; nil turns it off.
	Drift *Drift `yaml:"drift,omitempty" json:"drift,omitempty"`
	// Alarms configures alarm response; nil turns it off.
	Alarms *Alarms `yaml:"alarms,omitempty" json:"alarms,omitempty"`
}

// Hub describes where Highway itself is deployed and how its resources are named.
type Hub struct {
	// Account is the 12-digit AWS account id of the hub.
	Account string `yaml:"account" json:"account" policy:"required"`
	// Region is the AWS region of the hub, for example eu-west-1.
	Region string `yaml:"region" json:"region" policy:"required"`
	// Name prefixes every named resource (table, bus, topic); default "highway".
	Name string `yaml:"name" json:"name"`
	// LogRetentionDays is how long function logs are kept; default 30.
	LogRetentionDays int `yaml:"logRetentionDays" json:"logRetentionDays"`
	// NotifyEmails are subscribed to the notification topic.
	NotifyEmails []string `yaml:"notifyEmails,omitempty" json:"notifyEmails,omitempty"`
	// AppTag is the tag key that names, on every resource of an app Highway
	// acts on, the app it belongs to; default "highway:app". Highway's access
	// roles reach a resource only from a session tagged with the same app.
	AppTag string `yaml:"appTag,omitempty" json:"appTag,omitempty"`
}

// App is one delivery unit: a repository whose artifacts move through Environments
// in order.
type App struct {
	// Name identifies the app in the ledger, events and metrics.
	Name string `yaml:"name" json:"name" policy:"required"`
	// Repository is the CodeCommit repository the app is built from. An app's
	// source is either Repository or GitHub.
	Repository string `yaml:"repository,omitempty" json:"repository,omitempty"`
	// GitHub is the GitHub repository the app is built from, whose pushes
	// reach Highway through the webhook function, when it is not in CodeCommit.
	GitHub *GitHub `yaml:"github,omitempty" json:"github,omitempty"`
	// Environments are ordered: an artifact is promoted from the first to the last.
	Environments []Environment `yaml:"environments" json:"environments" policy:"required"`
	// Account is where the app's repository, builds and pipelines live (the
	// delivery account); default the hub's. Highway reaches another account
	// through its spoke role.
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	// Region is the delivery account's region; default the hub's.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// Pipelines are the CodePipeline pipelines that build the app; a failed gate
	// stops their execution, and only they may receive a gate's job result.
	Pipelines []string `yaml:"pipelines,omitempty" json:"pipelines,omitempty"`
	// Gate is the app's build gate; nil means builds are recorded, not gated.
	Gate *Gate `yaml:"gate,omitempty" json:"gate,omitempty"`
}

// Environment is one stage of an app, living in one account and region.
type Environment struct {
	// Name is unique within the app, for example dev, staging or prod.
	Name string `yaml:"name" json:"name" policy:"required"`
	// Account is the 12-digit AWS account id the environment runs in.
	Account string `yaml:"account" json:"account" policy:"required"`
	// Region is the AWS region the environment runs in.
	Region string `yaml:"region" json:"region" policy:"required"`
	// Approval, when set, makes promotion into this environment wait for people
	// to approve it; nil promotes automatically.
	Approval *Approval `yaml:"approval,omitempty" json:"approval,omitempty"`
	// Soak is how long an artifact must have run in the previous environment,
	// successfully deployed, before it may be promoted here; 0: no wait.
	Soak time.Duration `yaml:"soak,omitempty" json:"soak,omitempty"`
	// Deploy says how the artifact reaches the environment; nil means Highway
	// does not deploy there, and promotion stops before it.
	Deploy *Deploy `yaml:"deploy,omitempty" json:"deploy,omitempty"`
}

// Spoke is one workload account and region that forwards its events to the hub.
type Spoke struct {
	// Account is the 12-digit AWS account id.
	Account string
	// Region is the AWS region.
	Region string
}

// Spokes lists the distinct account and region pairs the environments live in,
// leaving out the hub's own, sorted by account then region so that the stacks
// built from them keep stable names.
func (p *Policy) Spokes() []Spoke {
	hub := Spoke{Account: p.Hub.Account, Region: p.Hub.Region}
	seen := map[Spoke]bool{hub: true}
	var out []Spoke
	add := func(s Spoke) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, app := range p.Apps {
		if app.Account != "" {
			add(Spoke{Account: app.Account, Region: app.Region})
		}
		for _, env := range app.Environments {
			add(Spoke{Account: env.Account, Region: env.Region})
		}
	}
	slices.SortFunc(out, func(a, b Spoke) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	return out
}

// App finds the app called name.
func (p *Policy) App(name string) (*App, bool) {
	for i := range p.Apps {
		if p.Apps[i].Name == name {
			return &p.Apps[i], true
		}
	}
	return nil, false
}

// Environment finds the environment called name in the app.
func (a *App) Environment(name string) (*Environment, bool) {
	for i := range a.Environments {
		if a.Environments[i].Name == name {
			return &a.Environments[i], true
		}
	}
	return nil, false
}

// Next is the environment an artifact is promoted to after env; false when env
// is the last one or not in the app.
func (a *App) Next(env string) (*Environment, bool) {
	for i := range a.Environments[:max(len(a.Environments)-1, 0)] {
		if a.Environments[i].Name == env {
			return &a.Environments[i+1], true
		}
	}
	return nil, false
}
