package stacks

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/policy"
)

func TestLogRetentionComesFromPolicy(t *testing.T) {
	tests := []struct {
		name string
		give string
		want float64
	}{
		{name: "default", give: "", want: policy.DefaultLogRetentionDays},
		{name: "a week", give: "  logRetentionDays: 7\n", want: 7},
		{name: "ten years", give: "  logRetentionDays: 3653\n", want: 3653},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy with this log retention
			yaml := strings.Replace(policyYAML(env("dev", "222222222222", "eu-west-1")),
				"  region: eu-west-1\napps:", "  region: eu-west-1\n"+tt.give+"apps:", 1)
			h := synth(t, parsePolicy(t, yaml))

			// WHEN the hub is synthesized
			tpl := templateOf(t, h.Hub.Stack)

			// THEN every function logs to a log group of the hub that keeps its
			// logs that long
			groups := tpl.ofType("AWS::Logs::LogGroup")
			fns := tpl.ofType("AWS::Lambda::Function")
			if len(fns) == 0 {
				t.Fatal("no functions")
			}
			for id, fn := range fns {
				g, ok := groups[refTo(path(fn.Properties, "LoggingConfig", "LogGroup"))]
				if !ok {
					t.Errorf("function %s logs to %v, want a log group of the stack", id, path(fn.Properties, "LoggingConfig", "LogGroup"))
					continue
				}
				if got := g.Properties["RetentionInDays"]; got != tt.want {
					t.Errorf("function %s log retention = %v, want %v", id, got, tt.want)
				}
			}
		})
	}
}

func TestRetentionDaysCoverEveryPolicyValue(t *testing.T) {
	// GIVEN the retention periods the policy accepts
	// WHEN each is looked up
	// THEN the app maps it to a CloudWatch Logs retention, and maps nothing else
	for _, d := range policy.LogRetentionDays {
		if _, ok := retentionDays[d]; !ok {
			t.Errorf("retentionDays[%d] missing", d)
		}
	}
	if len(retentionDays) != len(policy.LogRetentionDays) {
		t.Errorf("len(retentionDays) = %d, want %d", len(retentionDays), len(policy.LogRetentionDays))
	}
}

func TestFunctionsFollowHighwayDefaults(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	// WHEN the hub is synthesized
	tpl := templateOf(t, h.Hub.Stack)

	// THEN every function runs the bootstrap on arm64 and provided.al2023,
	// traced, logging JSON, finds the ledger, bus, topic and policy from its
	// environment, and runs as a role under the hub's function path
	fns := tpl.ofType("AWS::Lambda::Function")
	if len(fns) == 0 {
		t.Fatal("no functions")
	}
	table := only(t, tpl.ofType("AWS::DynamoDB::Table"))
	bus := only(t, tpl.ofType("AWS::Events::EventBus"))
	topic, _ := notificationTopic(t, tpl, h.Hub.Policy.Hub)
	for id, fn := range fns {
		p := fn.Properties
		checks := []struct {
			name string
			got  any
			want any
		}{
			{"runtime", p["Runtime"], "provided.al2023"},
			{"architectures", strs(p["Architectures"]), []string{"arm64"}},
			{"handler", p["Handler"], "bootstrap"},
			{"tracing", path(p, "TracingConfig", "Mode"), "Active"},
			{"log format", path(p, "LoggingConfig", "LogFormat"), "JSON"},
			{function.EnvTable, refTo(path(p, "Environment", "Variables", function.EnvTable)), table},
			{function.EnvBus, refTo(path(p, "Environment", "Variables", function.EnvBus)), bus},
			{function.EnvTopic, refTo(path(p, "Environment", "Variables", function.EnvTopic)), topic},
			{policy.PolicyFileEnv, path(p, "Environment", "Variables", policy.PolicyFileEnv), "/var/task/" + policy.FunctionFileName},
			{"role path", path(tpl.Resources[refTo(p["Role"])].Properties, "Path"), functionRolePath(h.Hub.Policy.Hub)},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("function %s %s = %v, want %v", id, c.name, c.got, c.want)
			}
		}
	}
}

// notificationTopic returns the logical ids of the notification topic of tpl
// and of its key.
func notificationTopic(t *testing.T, tpl cfnTemplate, hub policy.Hub) (topic, key string) {
	t.Helper()
	for id, r := range tpl.ofType("AWS::SNS::Topic") {
		if r.Properties["TopicName"] == TopicName(hub) {
			return id, refTo(r.Properties["KmsMasterKeyId"])
		}
	}
	t.Fatalf("no topic %s", TopicName(hub))
	return "", ""
}

// only returns the logical id of the one resource in rs.
func only(t *testing.T, rs map[string]cfnResource) string {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("resources = %d, want 1", len(rs))
	}
	for id := range rs {
		return id
	}
	return ""
}

func TestFunctionAssetCarriesBootstrapAndPolicy(t *testing.T) {
	// GIVEN a build directory with a bootstrap
	dir := buildDir(t)
	p := examplePolicy(t)
	want, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}

	// WHEN the function's code is staged
	staged, err := stageCode(dir, "push", want)
	if err != nil {
		t.Fatalf("stageCode() = %v", err)
	}

	// THEN the asset holds the same, executable bootstrap and the policy's JSON
	bin, err := os.ReadFile(filepath.Join(dir, "push", "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(staged, "bootstrap"))
	if err != nil || !bytes.Equal(got, bin) {
		t.Errorf("staged bootstrap = %q, %v; want %q", got, err, bin)
	}
	if info, err := os.Stat(filepath.Join(staged, "bootstrap")); err != nil || info.Mode().Perm()&0o111 == 0 {
		t.Errorf("staged bootstrap mode = %v, %v; want executable", info.Mode(), err)
	}
	got, err = os.ReadFile(filepath.Join(staged, policy.FunctionFileName))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("staged %s = %q, %v; want %q", policy.FunctionFileName, got, err, want)
	}
}

func TestPolicyChangeDeploysNewCode(t *testing.T) {
	// GIVEN two policies that differ only in their notification e-mails
	a := examplePolicy(t)
	b := examplePolicy(t)
	b.Hub.NotifyEmails = append(slices.Clone(b.Hub.NotifyEmails), "oncall@example.com")

	// WHEN the hub is synthesized from each
	codeA := functionCode(t, templateOf(t, synth(t, a).Hub.Stack))
	codeB := functionCode(t, templateOf(t, synth(t, b).Hub.Stack))
	codeA2 := functionCode(t, templateOf(t, synth(t, a).Hub.Stack))

	// THEN every function's asset changes with the policy, and only with it
	for fn, key := range codeA {
		if codeB[fn] == key {
			t.Errorf("function %s code = %s for both policies, want a new asset", fn, key)
		}
		if codeA2[fn] != key {
			t.Errorf("function %s code = %s then %s for the same policy, want the same asset", fn, key, codeA2[fn])
		}
	}
}

// functionCode returns each function's code S3 key.
func functionCode(t *testing.T, tpl cfnTemplate) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, fn := range tpl.ofType("AWS::Lambda::Function") {
		out[id] = flat(path(fn.Properties, "Code", "S3Key"))
	}
	if len(out) == 0 {
		t.Fatal("no functions")
	}
	return out
}

func TestMissingBootstrapAsksForBuild(t *testing.T) {
	// GIVEN an empty build directory
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})

	// WHEN the app is built
	_, err := New(app, Props{Policy: examplePolicy(t), BuildDir: t.TempDir()})

	// THEN it fails, naming the missing file and the fix
	if err == nil || !strings.Contains(err.Error(), "bootstrap") || !strings.Contains(err.Error(), "run make build") {
		t.Errorf("New() = %v, want an error naming the bootstrap and \"run make build\"", err)
	}
}
