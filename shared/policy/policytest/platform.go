// Package policytest builds policies of platform size from a policy's first app,
// for the scale test, the synth timings and the benchmarks that must hold at
// the size of a real platform.
package policytest

import (
	"fmt"
	"strings"

	"github.com/highwayhq/highway/shared/policy"
)

// Platform says how many apps a platform has and where they are delivered from.
type Platform struct {
	// Apps is the number of apps.
	Apps int
	// Central is how many of them are delivered from one central CI account,
	// and deployed to three shared accounts (dev, staging, prod).
	Central int
	// Teams is the number of team accounts the other apps are spread over, each
	// app delivered from and deployed to its team's account.
	Teams int
}

// The accounts of a platform: the central CI account, the shared environment
// accounts of its apps, and the team accounts, numbered from 1.
const (
	CentralAccount = "222222222222"
	sharedDev      = "333333333331"
	sharedStaging  = "333333333332"
	sharedProd     = "333333333333"
)

// TeamAccount is the account of team i (1-based).
func TeamAccount(i int) string { return fmt.Sprintf("4000000%05d", i) }

// AppName is the name of the platform's app i (0-based): app-000, app-001, ...
func AppName(i int) string { return fmt.Sprintf("app-%03d", i) }

// Build returns base with its first app copied pl.Apps times, each copy with
// its own repository, projects, pipelines, image repositories, artifact
// buckets, parameters, services and functions (every name of the first app is
// renamed after the copy), its own runbooks (the first app's, renamed), and
// drift selecting every copy's stacks (and no Terraform workspace). The first pl.Central apps are delivered
// from CentralAccount and deployed to the three shared accounts; the others
// are spread over pl.Teams team accounts, where each is delivered and deployed.
// The result is parsed again, so it is as valid as a policy file.
func Build(base *policy.Policy, pl Platform) (*policy.Policy, error) {
	if len(base.Apps) == 0 {
		return nil, fmt.Errorf("policytest: the base policy has no app to copy")
	}
	if pl.Central > pl.Apps || (pl.Central < pl.Apps && pl.Teams < 1) {
		return nil, fmt.Errorf("policytest: %d apps, %d central and %d teams do not add up", pl.Apps, pl.Central, pl.Teams)
	}
	tpl := base.Apps[0]
	out := *base
	out.Apps = nil
	var runbooks []policy.Runbook
	if base.Alarms != nil {
		alarms := *base.Alarms
		out.Alarms = &alarms
		for _, r := range base.Alarms.Runbooks {
			if r.App == tpl.Name {
				runbooks = append(runbooks, r)
			}
		}
	}
	for i := range pl.Apps {
		name := AppName(i)
		rename := strings.NewReplacer(tpl.Name, name).Replace
		delivery, envAccounts := CentralAccount, []string{sharedDev, sharedStaging, sharedProd}
		if i >= pl.Central {
			team := TeamAccount(1 + (i-pl.Central)%pl.Teams)
			delivery, envAccounts = team, []string{team}
		}
		app, err := copyApp(tpl, name, rename, delivery, envAccounts)
		if err != nil {
			return nil, err
		}
		out.Apps = append(out.Apps, app)
	}
	if out.Alarms != nil {
		out.Alarms.Runbooks = nil
		for i := range pl.Apps {
			rename := strings.NewReplacer(tpl.Name, AppName(i)).Replace
			for _, r := range runbooks {
				r.Name, r.App = rename(r.Name), AppName(i)
				r.Match.Names = renameAll(r.Match.Names, rename)
				out.Alarms.Runbooks = append(out.Alarms.Runbooks, r)
			}
		}
	}
	if base.Drift != nil {
		d := *base.Drift
		d.Stacks.Prefixes = []string{"app-"}
		d.Terraform = nil // its accounts are the base's, which the platform has not
		out.Drift = &d
	}
	data, err := out.Encode()
	if err != nil {
		return nil, err
	}
	return policy.Parse(data, fmt.Sprintf("platform-%d.yaml", pl.Apps))
}

// copyApp is tpl renamed to name, delivered from account delivery, its
// environments spread over envAccounts in order (the last one taking the rest).
func copyApp(tpl policy.App, name string, rename func(string) string, delivery string, envAccounts []string) (policy.App, error) {
	app := tpl
	app.Name = name
	app.Repository = rename(tpl.Repository)
	if app.Repository == tpl.Repository {
		app.Repository = name + "-" + tpl.Repository
	}
	app.Account = delivery
	app.Pipelines = renameAll(tpl.Pipelines, rename)
	if tpl.Gate != nil {
		g := *tpl.Gate
		g.Projects = renameAll(g.Projects, rename)
		g.ImageRepositories = renameAll(g.ImageRepositories, rename)
		g.ArtifactBuckets = nil
		for range tpl.Gate.ArtifactBuckets {
			g.ArtifactBuckets = append(g.ArtifactBuckets, name+"-artifacts-"+delivery)
		}
		app.Gate = &g
	}
	app.Environments = nil
	for j, e := range tpl.Environments {
		e.Account = envAccounts[min(j, len(envAccounts)-1)]
		if e.Deploy != nil {
			d := *e.Deploy
			switch {
			case d.SSM != nil:
				d.SSM = &policy.SSMDeploy{Parameter: "/" + name + "/" + e.Name + "/image"}
			case d.Pipeline != nil:
				v := *d.Pipeline
				v.Name = name + "-deploy-" + e.Name
				d.Pipeline = &v
			case d.Lambda != nil:
				v := *d.Lambda
				v.Function = name + "-" + e.Name
				d.Lambda = &v
			case d.ECS != nil:
				v := *d.ECS
				v.Service = name
				d.ECS = &v
			default:
				return policy.App{}, fmt.Errorf("policytest: environment %s deploys in a way Build does not copy", e.Name)
			}
			e.Deploy = &d
		}
		app.Environments = append(app.Environments, e)
	}
	return app, nil
}

func renameAll(names []string, rename func(string) string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = rename(n)
	}
	return out
}
