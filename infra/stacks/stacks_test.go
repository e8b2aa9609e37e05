package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// examplePolicyFile is the policy shipped with the repository.
const examplePolicyFile = "../highway.yaml"

// sharedDir holds the output and build directories of the apps tests share;
// it outlives each test and is removed when the package's tests end.
var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "highway-stacks-")
	if err != nil {
		panic(err)
	}
	sharedDir = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// examplePolicy loads the repository's example policy.
func examplePolicy(t *testing.T) *policy.Policy {
	t.Helper()
	return loadExample(t)
}

// loadExample is examplePolicy for any test or benchmark.
func loadExample(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load(examplePolicyFile)
	if err != nil {
		t.Fatalf("policy.Load(%s) = %v", examplePolicyFile, err)
	}
	return p
}

// parsePolicy parses a test policy written in YAML.
func parsePolicy(t *testing.T, yaml string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("policy.Parse:\n%v", err)
	}
	return p
}

// buildDir creates a build directory holding a dummy bootstrap for every routed
// function, every promotion function and every directory under functions/, as
// make build would.
func buildDir(t *testing.T) string {
	t.Helper()
	return buildDirIn(t, t.TempDir())
}

// buildDirIn is buildDir in dir.
func buildDirIn(t testing.TB, dir string) string {
	t.Helper()
	names := map[string]bool{}
	for _, r := range route.Routes(loadExample(t)) {
		names[r.Function] = true
	}
	for _, name := range promotionFunctions {
		names[name] = true
	}
	if entries, err := os.ReadDir("../../functions"); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				names[e.Name()] = true
			}
		}
	}
	for name := range names {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("#!/bin/sh\n# "+name+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// synthesized are the apps tests share, by the policy they were built from.
var synthesized = map[string]*Highway{}

// synth builds the whole app from p with dummy bootstraps, once per policy:
// tests given the same policy share its app, synthesized once (CDK through
// jsii takes about a second an app). A test that changes the app takes its
// own, from synthFresh. The example policy's app is synthesized as cdk synth
// does it, with cdk.json's context and CDK's built-in CloudFormation
// validation, which fails its synthesis on a template CloudFormation's schemas
// refuse; the other apps skip that validation, which costs about half a
// second of CPU each.
func synth(t *testing.T, p *policy.Policy) *Highway {
	t.Helper()
	key, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := synthesized[string(key)]; ok {
		return h
	}
	example, err := loadExample(t).Encode()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(sharedDir, "app-")
	if err != nil {
		t.Fatal(err)
	}
	props := awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "out")), BuiltinCloudFormationValidation: jsii.Bool(false)}
	if string(key) == string(example) {
		ctx := cdkJSONContext(t)
		props.Context = &ctx
		props.BuiltinCloudFormationValidation = nil
	}
	h := synthApp(t, awscdk.NewApp(&props), p, buildDirIn(t, filepath.Join(dir, "build")))
	synthesized[string(key)] = h
	return h
}

// synthFresh builds the whole app from p with dummy bootstraps, for this test
// alone.
func synthFresh(t *testing.T, p *policy.Policy) *Highway {
	t.Helper()
	return synthIn(t, p, t.TempDir(), buildDir(t))
}

// synthIn builds the app from p, to write to outDir from the bootstraps in
// buildDir, without CDK's built-in CloudFormation validation.
func synthIn(t testing.TB, p *policy.Policy, outDir, buildDir string) *Highway {
	t.Helper()
	return synthApp(t, awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outDir), BuiltinCloudFormationValidation: jsii.Bool(false)}), p, buildDir)
}

// synthApp builds Highway from p in app, from the bootstraps in buildDir.
func synthApp(t testing.TB, app awscdk.App, p *policy.Policy, buildDir string) *Highway {
	t.Helper()
	h, err := New(app, Props{Policy: p, BuildDir: buildDir})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return h
}

// cdkJSONContext is the context cdk.json gives the app, without the policy
// file, which the tests pass themselves.
func cdkJSONContext(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct{ Context map[string]any }
	if err := json.Unmarshal(b, &cdkJSON); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	delete(cdkJSON.Context, "policy")
	return cdkJSON.Context
}

// cfnTemplate is the part of a synthesized template the tests read.
type cfnTemplate struct {
	Resources map[string]cfnResource
	Outputs   map[string]cfnOutput
}

// cfnOutput is one output of a template.
type cfnOutput struct {
	Description string
	Value       any
}

// cfnResource is one resource of a template.
type cfnResource struct {
	Type           string
	Properties     map[string]any
	DeletionPolicy string
	Metadata       map[string]any
}

// templateOf decodes the template of stack from its app's cloud assembly. The
// app is synthesized once, by the first call: later calls read the same
// assembly, so a test changes the app before it reads any template.
func templateOf(t *testing.T, stack awscdk.Stack) cfnTemplate {
	t.Helper()
	if tpl, ok := templates[stack]; ok {
		return tpl
	}
	// The template is read from the file the synthesis wrote: asking jsii
	// for it as an object costs more than the synthesis.
	assembly := awscdk.Stage_Of(stack).Synth(nil)
	raw, err := os.ReadFile(filepath.Join(*assembly.Directory(), *stack.TemplateFile()))
	if err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	templates[stack] = tpl
	return tpl
}

// templates are the templates templateOf has read, by stack: a stack's app is
// synthesized once, so its template does not change.
var templates = map[awscdk.Stack]cfnTemplate{}

// ofType returns the resources of one CloudFormation type, by logical id.
func (tpl cfnTemplate) ofType(typ string) map[string]cfnResource {
	out := map[string]cfnResource{}
	for id, r := range tpl.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// refTo returns the logical id v refers to with Ref or Fn::GetAtt, or "".
func refTo(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if id, ok := m["Ref"].(string); ok {
		return id
	}
	if att, ok := m["Fn::GetAtt"].([]any); ok && len(att) > 0 {
		id, _ := att[0].(string)
		return id
	}
	return ""
}

// flat renders an intrinsic-built string (Fn::Join of literals and pseudo
// parameters) as text, with ${Ref} for references and "aws" for the partition.
func flat(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			out := make([]string, len(parts))
			for i, p := range parts {
				out[i] = flat(p)
			}
			return strings.Join(out, sep)
		}
		if id := refTo(v); id == "AWS::Partition" {
			return "aws"
		} else if id != "" {
			return "${" + id + "}"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// path walks nested maps by key.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// list returns v as a list, wrapping a single value (IAM allows both forms).
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	default:
		return []any{v}
	}
}

// strs returns the strings of a list.
func strs(v any) []string {
	var out []string
	for _, s := range list(v) {
		out = append(out, flat(s))
	}
	return out
}

// accountOf returns the account id of an IAM principal ARN such as
// arn:${AWS::Partition}:iam::123456789012:root.
func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
