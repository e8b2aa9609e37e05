package stacks

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
)

func TestLedgerTableFollowsSchema(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	// WHEN the hub is synthesized
	tables := templateOf(t, h.Hub.Stack).ofType("AWS::DynamoDB::Table")

	// THEN there is one table, keyed, indexed and expiring as ledger.Schema says,
	// billed per request, recoverable, encrypted and retained
	table := tables[only(t, tables)]
	s := ledger.Schema
	props := table.Properties
	if got, want := keySchema(props["KeySchema"]), keys(s.PartitionKey, s.SortKey); !reflect.DeepEqual(got, want) {
		t.Errorf("KeySchema = %v, want %v", got, want)
	}
	wantAttrs := []string{s.PartitionKey, s.SortKey}
	wantIndexes := map[string][]string{}
	for _, ix := range s.Indexes {
		wantIndexes[ix.Name] = keys(ix.PartitionKey, ix.SortKey)
		wantAttrs = append(wantAttrs, ix.PartitionKey, ix.SortKey)
	}
	gotIndexes := map[string][]string{}
	for _, gsi := range list(props["GlobalSecondaryIndexes"]) {
		name := flat(path(gsi, "IndexName"))
		gotIndexes[name] = keySchema(path(gsi, "KeySchema"))
		if got := path(gsi, "Projection", "ProjectionType"); got != "ALL" {
			t.Errorf("index %s projection = %v, want ALL", name, got)
		}
	}
	if !reflect.DeepEqual(gotIndexes, wantIndexes) {
		t.Errorf("GlobalSecondaryIndexes = %v, want %v", gotIndexes, wantIndexes)
	}
	var gotAttrs []string
	for _, a := range list(props["AttributeDefinitions"]) {
		gotAttrs = append(gotAttrs, flat(path(a, "AttributeName"))+":"+flat(path(a, "AttributeType")))
	}
	for i, a := range wantAttrs {
		wantAttrs[i] = a + ":S"
	}
	sort.Strings(gotAttrs)
	sort.Strings(wantAttrs)
	if !reflect.DeepEqual(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions = %v, want %v", gotAttrs, wantAttrs)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"TTL attribute", path(props, "TimeToLiveSpecification", "AttributeName"), s.TTLAttribute},
		{"TTL enabled", path(props, "TimeToLiveSpecification", "Enabled"), true},
		{"PITR", path(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"), true},
		{"SSE", path(props, "SSESpecification", "SSEEnabled"), true},
		{"billing", props["BillingMode"], "PAY_PER_REQUEST"},
		{"deletion protection", props["DeletionProtectionEnabled"], true},
		{"deletion policy", table.DeletionPolicy, "Retain"},
		{"name", props["TableName"], TableName(h.Hub.Policy.Hub)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// keys renders a key schema as ["HASH pk", "RANGE sk"].
func keys(partition, sort string) []string {
	out := []string{"HASH " + partition}
	if sort != "" {
		out = append(out, "RANGE "+sort)
	}
	return out
}

// keySchema renders a template's KeySchema like keys.
func keySchema(v any) []string {
	var out []string
	for _, k := range list(v) {
		out = append(out, flat(path(k, "KeyType"))+" "+flat(path(k, "AttributeName")))
	}
	return out
}

func TestBusAcceptsOnlySpokeAccounts(t *testing.T) {
	tests := []struct {
		name string
		give string // apps section of the policy
		want []string
	}{
		{
			name: "no spokes: no bus policy",
			give: env("prod", "111111111111", "eu-west-1"),
			want: nil,
		},
		{
			name: "one account in two regions, hub account in another region",
			give: env("dev", "222222222222", "eu-west-1") + env("prod", "222222222222", "us-east-1") +
				env("dr", "111111111111", "us-east-1"),
			want: []string{"111111111111", "222222222222"},
		},
		{
			name: "hub account and region are not a spoke",
			give: env("dev", "111111111111", "eu-west-1") + env("prod", "333333333333", "eu-west-1"),
			want: []string{"333333333333"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy with these environments
			h := synth(t, parsePolicy(t, policyYAML(tt.give)))

			// WHEN the hub is synthesized
			tpl := templateOf(t, h.Hub.Stack)

			// THEN the bus policy lets exactly the spoke accounts put events, and
			// only events of the forwarded sources
			var got []string
			for _, pol := range tpl.ofType("AWS::Events::EventBusPolicy") {
				st := pol.Properties["Statement"]
				if path(st, "Effect") != "Allow" || !slices.Equal(strs(path(st, "Action")), []string{"events:PutEvents"}) {
					t.Errorf("statement = %v, want Allow events:PutEvents", st)
				}
				for _, p := range strs(path(st, "Principal", "AWS")) {
					got = append(got, accountOf(p))
				}
				sources := strs(path(st, "Condition", "ForAllValues:StringEquals", "events:source"))
				if !slices.Equal(sources, forwardedSources) {
					t.Errorf("events:source = %v, want %v", sources, forwardedSources)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("accounts allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// policyYAML is a valid policy whose one app has the given environments.
func policyYAML(envs string) string {
	return `version: 1
hub:
  account: "111111111111"
  region: eu-west-1
apps:
  - name: shop
    repository: shop
    environments:
` + envs
}

// env is one environment entry of policyYAML.
func env(name, account, region string) string {
	return fmt.Sprintf("      - {name: %s, account: %q, region: %s}\n", name, account, region)
}
