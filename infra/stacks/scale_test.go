package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
)

// The AWS quotas a platform's stacks must stay within, each as AWS states it.
// They are written here, not taken from the code that keeps to some of them,
// so that the test checks the code rather than repeats it.
const (
	// CloudFormation (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
	// resources and outputs in a template, and a template's size when it is
	// uploaded to S3, as the CDK CLI does with every template over 50 KiB.
	quotaResourcesPerStack = 500
	quotaOutputsPerStack   = 200
	quotaTemplateBytes     = 1 << 20

	// IAM (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
	// managed policies attached to a role (the default quota), characters of
	// a managed policy, of all of a role's inline policies together, and of
	// its trust policy; IAM does not count white space.
	quotaManagedPoliciesPerRole = 10
	quotaManagedPolicyChars     = 6144
	quotaInlineCharsPerRole     = 10240
	quotaTrustPolicyChars       = 2048

	// EventBridge (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html):
	// rules on one event bus (the default quota in most regions) and the
	// characters of an event pattern.
	quotaRulesPerBus      = 300
	quotaEventPatternSize = 2048

	// CloudWatch (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
	// widgets on one dashboard, metrics and expressions in one graph.
	quotaWidgetsPerDashboard = 500
	quotaMetricsPerWidget    = 500

	// Lambda (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
	// the total size of a function's environment variables.
	quotaEnvironmentBytes = 4096
)

// platform is the platform the scale test builds: 100 apps, 60 of them
// delivered from one central CI account to three shared environment
// accounts, 40 over 20 team accounts.
var platform = policytest.Platform{Apps: 100, Central: 60, Teams: 20}

// figure is one quota's use, printed as "<where>: <used> of <limit> <what>".
type figure struct {
	where, what string
	used, limit int
}

func (f figure) String() string {
	return fmt.Sprintf("%s: %d of %d %s (headroom %d%%)", f.where, f.used, f.limit, f.what, 100*(f.limit-f.used)/f.limit)
}

// platformApp synthesizes, once for the package's tests, the platform of
// 100 apps from a policy file as a platform team would write it, cdk-nag
// included, and says how long the synthesis took.
func platformApp(t *testing.T) (*Highway, cxapi.CloudAssembly, time.Duration) {
	t.Helper()
	if platformOnce.h != nil {
		return platformOnce.h, platformOnce.assembly, platformOnce.took
	}
	p, err := policytest.Build(examplePolicy(t), platform)
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sharedDir, "platform.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err = policy.Load(file); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	dir, err := os.MkdirTemp(sharedDir, "platform-")
	if err != nil {
		t.Fatal(err)
	}
	h := synthIn(t, p, filepath.Join(dir, "out"), buildDirIn(t, filepath.Join(dir, "build")))
	assembly := awscdk.Stage_Of(h.Hub.Stack).Synth(nil)
	platformOnce.h, platformOnce.assembly, platformOnce.took = h, assembly, time.Since(start)
	return h, assembly, platformOnce.took
}

// platformOnce is the platform platformApp synthesized.
var platformOnce struct {
	h        *Highway
	assembly cxapi.CloudAssembly
	took     time.Duration
}

func TestPlatformStaysWithinAWSQuotas(t *testing.T) {
	// GIVEN a policy file of 100 apps, 60 delivered from one account and 40
	// over 20 others, as a platform team would write it
	// WHEN it is synthesized, cdk-nag included, and the cloud assembly read
	// as the CDK CLI hands it to CloudFormation
	h, assembly, took := platformApp(t)
	p := h.Hub.Policy
	t.Logf("figure: synthesized %d apps (%d stacks) in %v", len(p.Apps), len(stacksOf(h)), took.Round(100*time.Millisecond))
	dir := *assembly.Directory()

	// THEN no quota is passed, and cdk-nag has no unsuppressed error
	var figures []figure
	check := func(f figure) {
		figures = append(figures, f)
		if f.used > f.limit {
			t.Errorf("%v: over the quota", f)
		}
	}
	rules := map[string]int{} // account/region/bus -> rules
	for _, stack := range stacksOf(h) {
		name := *stack.StackName()
		art := assembly.GetStackArtifact(stack.ArtifactId())
		raw, err := os.ReadFile(*art.TemplateFullPath())
		if err != nil {
			t.Fatal(err)
		}
		var tpl cfnTemplate
		if err := json.Unmarshal(raw, &tpl); err != nil {
			t.Fatal(err)
		}
		check(figure{name, "resources", len(tpl.Resources), quotaResourcesPerStack})
		check(figure{name, "outputs", len(tpl.Outputs), quotaOutputsPerStack})
		check(figure{name, "template bytes", len(raw), quotaTemplateBytes})
		for id, r := range tpl.ofType("AWS::IAM::Role") {
			for _, f := range roleFigures(name, id, r, tpl, stack) {
				check(f)
			}
		}
		for id, r := range tpl.ofType("AWS::Events::Rule") {
			bus := "default"
			if b := r.Properties["EventBusName"]; b != nil {
				bus = flat(b)
			}
			rules[*stack.Account()+"/"+*stack.Region()+" "+bus]++
			if pattern := r.Properties["EventPattern"]; pattern != nil {
				b, err := json.Marshal(pattern)
				if err != nil {
					t.Fatal(err)
				}
				check(figure{name + " " + id, "characters of an event pattern", len(b), quotaEventPatternSize})
			}
		}
		for id, d := range tpl.ofType("AWS::CloudWatch::Dashboard") {
			var body struct{ Widgets []map[string]any }
			if err := json.Unmarshal([]byte(resolveText(d.Properties["DashboardBody"], stack)), &body); err != nil {
				t.Fatalf("dashboard %s: %v", id, err)
			}
			check(figure{name + " " + id, "widgets", len(body.Widgets), quotaWidgetsPerDashboard})
			most := 0
			for _, w := range body.Widgets {
				most = max(most, len(list(path(w, "properties", "metrics"))))
			}
			check(figure{name + " " + id, "metrics in its largest graph", most, quotaMetricsPerWidget})
		}
		for id, fn := range tpl.ofType("AWS::Lambda::Function") {
			size := 0
			for k, v := range path(fn.Properties, "Environment", "Variables").(map[string]any) {
				size += len(k) + len(resolveText(v, stack))
			}
			check(figure{name + " " + id, "bytes of environment variables", size, quotaEnvironmentBytes})
		}
	}
	for bus, n := range rules {
		check(figure{bus + " bus", "rules", n, quotaRulesPerBus})
	}
	for _, e := range nagErrors(t, dir) {
		t.Errorf("cdk-nag: %s", e)
	}

	// AND the figures nearest their quota are printed, one per kind
	slices.SortFunc(figures, func(a, b figure) int {
		return strings.Compare(a.what, b.what)*4 + cmpHeadroom(a, b)
	})
	for i, f := range figures {
		if i == 0 || figures[i-1].what != f.what {
			t.Logf("figure: %v", f)
		}
	}
}

// roleFigures are the IAM quotas' use by role id of the template tpl of
// stack (named name): its managed policies, the size of each, of its inline
// policies together and of its trust policy.
func roleFigures(name, id string, r cfnResource, tpl cfnTemplate, stack awscdk.Stack) []figure {
	role := name + " " + roleName(id, r)
	var out []figure
	managed := len(list(r.Properties["ManagedPolicyArns"]))
	inline := 0
	for _, pol := range list(r.Properties["Policies"]) {
		inline += iamChars(path(pol, "PolicyDocument"), stack)
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for pid, pol := range tpl.ofType(typ) {
			if !slices.ContainsFunc(list(pol.Properties["Roles"]), func(v any) bool { return refTo(v) == id }) {
				continue
			}
			n := iamChars(pol.Properties["PolicyDocument"], stack)
			if typ == "AWS::IAM::Policy" {
				inline += n
				continue
			}
			managed++
			out = append(out, figure{role + " " + pid, "characters of a managed policy", n, quotaManagedPolicyChars})
		}
	}
	return append(out,
		figure{role, "managed policies", managed, quotaManagedPoliciesPerRole},
		figure{role, "characters of inline policies", inline, quotaInlineCharsPerRole},
		figure{role, "characters of its trust policy", iamChars(r.Properties["AssumeRolePolicyDocument"], stack), quotaTrustPolicyChars})
}

// cmpHeadroom orders figures by how little of their quota is left.
func cmpHeadroom(a, b figure) int {
	ha, hb := float64(a.limit-a.used)/float64(a.limit), float64(b.limit-b.used)/float64(b.limit)
	switch {
	case ha < hb:
		return -1
	case ha > hb:
		return 1
	}
	return 0
}

// roleName is a role's name in the template, or its logical id.
func roleName(id string, r cfnResource) string {
	if n, ok := r.Properties["RoleName"].(string); ok {
		return n
	}
	return id
}

// iamChars is how many characters IAM counts in a policy document: its JSON
// without white space, each intrinsic resolved to the longest it can be (the
// aws-us-gov partition, a 100-character ARN for an attribute).
func iamChars(doc any, stack awscdk.Stack) int {
	b, err := json.Marshal(resolveLongest(doc, stack))
	if err != nil {
		panic(err)
	}
	return len(b)
}

// resolveText renders an intrinsic-built string as resolve does.
func resolveText(v any, stack awscdk.Stack) string {
	if s, ok := resolve(v, stack).(string); ok {
		return s
	}
	b, _ := json.Marshal(resolve(v, stack))
	return string(b)
}

// resolveLongest resolves v as resolve does, but to the longest value each
// intrinsic may take.
func resolveLongest(v any, stack awscdk.Stack) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = resolveLongest(e, stack)
		}
		return out
	case map[string]any:
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			var parts []string
			for _, p := range list(join[1]) {
				s, ok := resolveLongest(p, stack).(string)
				if !ok {
					b, _ := json.Marshal(p)
					s = string(b)
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, sep)
		}
		if id, ok := v["Ref"].(string); ok && len(v) == 1 {
			switch id {
			case "AWS::Partition":
				return "aws-us-gov"
			case "AWS::URLSuffix":
				return "amazonaws.com.cn"
			}
			if s, ok := resolve(v, stack).(string); ok && !strings.HasPrefix(s, "${") {
				return s
			}
			return strings.Repeat("r", 64)
		}
		if _, ok := v["Fn::GetAtt"]; ok && len(v) == 1 {
			return strings.Repeat("a", 100)
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = resolveLongest(e, stack)
		}
		return out
	}
	return v
}

// nagErrors returns the cdk-nag errors the cloud assembly in dir records, as
// `cdk synth` reports them: the error entries of every artifact's metadata,
// in the manifest or in the file it names.
func nagErrors(t *testing.T, dir string) []string {
	t.Helper()
	type entries = map[string][]struct {
		Type string
		Data any
	}
	var manifest struct {
		Artifacts map[string]struct {
			Metadata               entries
			AdditionalMetadataFile string
		}
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &manifest)
	var out []string
	for _, art := range manifest.Artifacts {
		all := []entries{art.Metadata}
		if art.AdditionalMetadataFile != "" {
			var more entries
			readJSON(t, filepath.Join(dir, art.AdditionalMetadataFile), &more)
			all = append(all, more)
		}
		for _, metadata := range all {
			for where, list := range metadata {
				for _, e := range list {
					if e.Type == "aws:cdk:error" {
						out = append(out, fmt.Sprintf("%s: %v", where, e.Data))
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// readJSON decodes the JSON file at path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// BenchmarkSynth measures building and synthesizing the whole app, cdk-nag
// included, for platforms of 1, 10 and 100 apps.
func BenchmarkSynth(b *testing.B) {
	base, err := policy.Load(examplePolicyFile)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 10, 100} {
		pl := policytest.Platform{Apps: n, Central: n * 6 / 10, Teams: min(20, n-n*6/10)}
		p, err := policytest.Build(base, pl)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			for i := range b.N {
				out := filepath.Join(dir, fmt.Sprint(i))
				h := synthIn(b, p, out, buildDirIn(b, out+"-build"))
				awscdk.Stage_Of(h.Hub.Stack).Synth(nil)
			}
		})
	}
}
