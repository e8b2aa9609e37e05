package policy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// small is a valid policy; the error cases below are edits of it, so their line
// numbers can be read off directly.
const small = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
`

func TestParseSmall(t *testing.T) {
	p, err := policy.Parse([]byte(small), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(small) error: %v", err)
	}
	want := &policy.Policy{
		Version: 1,
		Hub:     policy.Hub{Account: "111111111111", Region: "eu-west-1", Name: "highway", LogRetentionDays: 30, AppTag: "highway:app"},
		Apps: []policy.App{{
			Name:         "checkout",
			Repository:   "checkout-service",
			Environments: []policy.Environment{{Name: "dev", Account: "222222222222", Region: "eu-west-1"}},
			// The delivery account defaults to the hub's.
			Account: "111111111111",
			Region:  "eu-west-1",
		}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Parse(small) = %+v, want %+v", p, want)
	}
}

func TestParseExampleFile(t *testing.T) {
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatalf("Load(infra/highway.yaml) error:\n%v", err)
	}
	if p.Hub.Account != "111111111111" || p.Hub.Region != "eu-west-1" {
		t.Errorf("hub = %s/%s, want 111111111111/eu-west-1", p.Hub.Account, p.Hub.Region)
	}
	app, ok := p.App("checkout")
	if !ok {
		t.Fatalf(`App("checkout") not found in %+v`, p.Apps)
	}
	if app.Repository != "checkout-service" {
		t.Errorf("checkout repository = %q, want checkout-service", app.Repository)
	}
	want := []policy.Environment{
		{Name: "dev", Account: "222222222222", Region: "eu-west-1",
			Deploy: &policy.Deploy{SSM: &policy.SSMDeploy{Parameter: "/checkout/dev/image"}}},
		{Name: "staging", Account: "333333333333", Region: "eu-west-1", Soak: 30 * time.Minute,
			Deploy: &policy.Deploy{Pipeline: &policy.PipelineDeploy{Name: "checkout-deploy-staging"}}},
		{Name: "prod", Account: "444444444444", Region: "eu-west-1", Soak: time.Hour,
			Approval: &policy.Approval{Approvers: []string{"ana.silva@example.com", "lee.chen@example.com"}, Quorum: 1, Timeout: 24 * time.Hour},
			Deploy:   &policy.Deploy{ECS: &policy.ECSDeploy{Cluster: "shop", Service: "checkout", Container: "app"}}},
	}
	if !reflect.DeepEqual(app.Environments, want) {
		t.Errorf("checkout environments = %+v, want %+v", app.Environments, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{
			name: "unknown top-level key with suggestion",
			give: strings.Replace(small, "version: 1\n", "version: 1\nhubs: {}\n", 1),
			want: `p.yaml:2:1: unknown key "hubs" (did you mean "hub"?)`,
		},
		{
			name: "unknown key without a close match",
			give: strings.Replace(small, "    repository:", "    team: payments\n    repository:", 1),
			want: `p.yaml:5:5: apps[0]: unknown key "team"`,
		},
		{
			name: "misspelt required key is reported once",
			give: strings.Replace(small, "    environments:", "    enviroments:", 1),
			want: `p.yaml:6:5: apps[0]: unknown key "enviroments" (did you mean "environments"?)`,
		},
		{
			name: "key prefix suggests the full key",
			give: strings.Replace(small, "    repository:", "    repo:", 1),
			want: `p.yaml:5:5: apps[0]: unknown key "repo" (did you mean "repository"?)`,
		},
		{
			name: "key in the wrong case",
			give: strings.Replace(small, `region: eu-west-1}`+"\napps", `region: eu-west-1, logretentiondays: 30}`+"\napps", 1),
			want: `p.yaml:2:51: hub: unknown key "logretentiondays" (did you mean "logRetentionDays"?)`,
		},
		{
			name: "section of the wrong type",
			give: strings.Replace(small, `hub: {account: "111111111111", region: eu-west-1}`, "hub: [a, b]", 1),
			want: `p.yaml:2:6: hub: want a mapping, got a sequence`,
		},
		{
			name: "string of the wrong type",
			give: strings.Replace(small, `account: "111111111111"`, `account: ["111111111111"]`, 1),
			want: `p.yaml:2:16: hub.account: want a string, got a sequence`,
		},
		{
			name: "unquoted account id",
			give: strings.Replace(small, `account: "222222222222"`, `account: 012345678901`, 1),
			want: `p.yaml:7:30: apps[0].environments[0].account: want a string, got a number (YAML reads an unquoted 012345678901 as a number); quote it: "012345678901"`,
		},
		{
			name: "integer given as a string",
			give: strings.Replace(small, `region: eu-west-1}`+"\napps", `region: eu-west-1, logRetentionDays: "30"}`+"\napps", 1),
			want: `p.yaml:2:69: hub.logRetentionDays: want an integer, got a string ("30")`,
		},
		{
			name: "list item of the wrong type",
			give: strings.Replace(small, "      - {name: dev,", "      - dev\n      - {name: dev,", 1),
			want: `p.yaml:7:9: apps[0].environments[0]: want a mapping, got a string ("dev")`,
		},
		{
			name: "missing required key",
			give: strings.Replace(small, `, region: eu-west-1}`+"\napps", "}\napps", 1),
			want: `p.yaml:2:1: hub: missing required key "region"`,
		},
		{
			name: "missing version",
			give: strings.Replace(small, "version: 1\n", "", 1),
			want: `p.yaml:1:1: missing required key "version"`,
		},
		{
			name: "required key without a value",
			give: strings.Replace(small, "      - {name: dev, account: \"222222222222\", region: eu-west-1}", "      - {name: dev, account: \"222222222222\", region: }", 1),
			want: `p.yaml:7:46: apps[0].environments[0].region: missing value`,
		},
		{
			name: "empty app",
			give: strings.Replace(small, "    environments:\n      - {name: dev, account: \"222222222222\", region: eu-west-1}", "    environments: []", 1),
			want: `p.yaml:6:19: apps[0].environments: app "checkout" has no environments; list at least one`,
		},
		{
			name: "no apps",
			give: "version: 1\nhub: {account: \"111111111111\", region: eu-west-1}\napps: []\n",
			want: `p.yaml:3:7: apps: no apps; list at least one`,
		},
		{
			name: "duplicate app name",
			give: small + "  - name: checkout\n    repository: other\n    environments:\n      - {name: dev, account: \"222222222222\", region: eu-west-1}\n",
			want: `p.yaml:8:11: apps[1].name: duplicate app "checkout" (first at line 4)`,
		},
		{
			name: "duplicate environment name",
			give: small + "      - {name: prod, account: \"333333333333\", region: eu-west-1}\n" +
				"      - {name: dev, account: \"444444444444\", region: eu-west-1}\n",
			want: `p.yaml:9:16: apps[0].environments[2].name: duplicate environment "dev" (first at line 7)`,
		},
		{
			name: "account id too short",
			give: strings.Replace(small, `"111111111111"`, `"11111111111"`, 1),
			want: `p.yaml:2:16: hub.account: account id "11111111111" must be exactly 12 digits`,
		},
		{
			name: "account id with letters",
			give: strings.Replace(small, `"222222222222"`, `"22222222222x"`, 1),
			want: `p.yaml:7:30: apps[0].environments[0].account: account id "22222222222x" must be exactly 12 digits`,
		},
		{
			name: "region without number",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west}\napps", 1),
			want: `p.yaml:2:40: hub.region: region "eu-west" is not an AWS region name like eu-west-1`,
		},
		{
			name: "region in upper case",
			give: strings.Replace(small, `"222222222222", region: eu-west-1`, `"222222222222", region: EU-WEST-1`, 1),
			want: `p.yaml:7:54: apps[0].environments[0].region: region "EU-WEST-1" is not an AWS region name like eu-west-1`,
		},
		{
			name: "unknown version",
			give: strings.Replace(small, "version: 1", "version: 2", 1),
			want: `p.yaml:1:10: version: unknown version 2; this Highway reads version 1`,
		},
		{
			name: "retention CloudWatch does not accept",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west-1, logRetentionDays: 45}\napps", 1),
			want: `p.yaml:2:69: hub.logRetentionDays: 45 is not a CloudWatch Logs retention period; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653`,
		},
		{
			name: "explicit zero retention",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west-1, logRetentionDays: 0}\napps", 1),
			want: `p.yaml:2:69: hub.logRetentionDays: 0 is not a CloudWatch Logs retention period; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653`,
		},
		{
			name: "hub name with a space",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west-1, name: my highway}\napps", 1),
			want: `p.yaml:2:57: hub.name: name "my highway" must start with a letter and hold only letters, digits and '-', at most 32 (it prefixes resource names)`,
		},
		{
			name: "app tag in the aws: namespace",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west-1, appTag: \"aws:app\"}\napps", 1),
			want: `p.yaml:2:59: hub.appTag: "aws:app" is not a tag key IAM accepts: 1 to 128 letters, digits, spaces and _ . : / = + - @, not starting with aws:`,
		},
		{
			name: "app tag with a character IAM refuses",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west-1, appTag: \"app#name\"}\napps", 1),
			want: `p.yaml:2:59: hub.appTag: "app#name" is not a tag key IAM accepts: 1 to 128 letters, digits, spaces and _ . : / = + - @, not starting with aws:`,
		},
		{
			name: "environment name with a space",
			give: strings.Replace(small, "{name: dev,", "{name: dev env,", 1),
			want: `p.yaml:7:16: apps[0].environments[0].name: environment name "dev env" may hold only letters, digits, '-' and '_', at most 64, starting with a letter or digit`,
		},
		{
			name: "empty app name",
			give: strings.Replace(small, "  - name: checkout", `  - name: ""`, 1),
			want: `p.yaml:4:11: apps[0].name: app name must not be empty`,
		},
		{
			name: "repository ending in .git",
			give: strings.Replace(small, "checkout-service", "checkout-service.git", 1),
			want: `p.yaml:5:17: apps[0].repository: repository "checkout-service.git" is not a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100, not ending in .git)`,
		},
		{
			name: "bad and duplicate notification emails",
			give: strings.Replace(small, "region: eu-west-1}\napps", "region: eu-west-1, notifyEmails: [ops@example.com, Ops <ops@example.com>, ops@example.com]}\napps", 1),
			want: "p.yaml:2:83: hub.notifyEmails[1]: \"Ops <ops@example.com>\" is not an email address (write only the address, like ops@example.com)\n" +
				`p.yaml:2:106: hub.notifyEmails[2]: duplicate email "ops@example.com" (first at line 2)`,
		},
		{
			name: "duplicate key",
			give: strings.Replace(small, "    repository: checkout-service\n", "    repository: checkout-service\n    repository: cart\n", 1),
			want: `p.yaml:6:5: apps[0]: duplicate key "repository" (first at line 5)`,
		},
		{
			name: "YAML syntax error",
			give: strings.Replace(small, "apps:\n", "apps: [\n", 1),
			want: `p.yaml:3: did not find expected node content`,
		},
		{
			name: "empty file",
			give: "# nothing yet\n",
			want: `p.yaml: the policy is empty; want version, hub and apps`,
		},
		{
			name: "two documents",
			give: small + "---\nversion: 1\n",
			want: `p.yaml:8:1: the policy must be a single YAML document`,
		},
		{
			name: "root is not a mapping",
			give: "- version: 1\n",
			want: `p.yaml:1:1: want a mapping, got a sequence`,
		},
		{
			name: "JSON with a numeric account id",
			give: "{\n  \"version\": 1,\n  \"hub\": {\"account\": 111111111111, \"region\": \"eu-west-1\"},\n" +
				"  \"apps\": [{\"name\": \"a\", \"repository\": \"r\", \"environments\": [{\"name\": \"dev\", \"account\": \"222222222222\", \"region\": \"eu-west-1\"}]}]\n}\n",
			want: `p.yaml:3:22: hub.account: want a string, got a number (YAML reads an unquoted 111111111111 as a number); quote it: "111111111111"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.give), "p.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.give, p, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error =\n%s\nwant\n%s", tt.give, got, tt.want)
			}
			if p != nil {
				t.Errorf("Parse(%q) policy = %+v, want nil on error", tt.give, p)
			}
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	give := `version: 3
hub:
  account: 111111111111
  region: eu-west
  colour: blue
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
      - {name: dev, account: "3333", region: eu-west-1}
  - name: checkout
    repository: cart
    environments: []
`
	_, err := policy.Parse([]byte(give), "many.yaml")
	var errs policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error %T %v, want policy.Errors", err, err)
	}
	want := []struct {
		line int
		path string
	}{
		{1, "version"},
		{3, "hub.account"},
		{4, "hub.region"},
		{5, "hub"},
		{11, "apps[0].environments[1].name"},
		{11, "apps[0].environments[1].account"},
		{12, "apps[1].name"},
		{14, "apps[1].environments"},
	}
	if len(errs) != len(want) {
		t.Fatalf("Parse found %d problems, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].Line != w.line || errs[i].Path != w.path || errs[i].File != "many.yaml" {
			t.Errorf("problem %d = %s:%d %s, want many.yaml:%d %s", i, errs[i].File, errs[i].Line, errs[i].Path, w.line, w.path)
		}
	}
}

func TestErrorIsReachableWithErrorsAs(t *testing.T) {
	_, err := policy.Parse([]byte(strings.Replace(small, "version: 1", "version: 7", 1)), "p.yaml")
	var e *policy.Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) = false, want true", err)
	}
	want := policy.Error{File: "p.yaml", Line: 1, Column: 10, Path: "version", Msg: "unknown version 7; this Highway reads version 1"}
	if *e != want {
		t.Errorf("Error = %+v, want %+v", *e, want)
	}
}

func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil || len(files) == 0 {
		t.Fatalf("Glob(testdata/*.*) = %v, %v; want files", files, err)
	}
	for _, file := range files {
		if filepath.Ext(file) == ".golden" {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := policy.Load(file)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want errors", file)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("Load(%s) error =\n%s\nwant\n%s", file, got, want)
			}
		})
	}
}

func TestParseAnchorsAndMerge(t *testing.T) {
	give := `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - &dev {name: dev, account: "222222222222", region: eu-west-1}
      - {<<: *dev, name: prod, account: "444444444444"}
`
	p, err := policy.Parse([]byte(give), "p.yaml")
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	want := []policy.Environment{
		{Name: "dev", Account: "222222222222", Region: "eu-west-1"},
		{Name: "prod", Account: "444444444444", Region: "eu-west-1"},
	}
	if got := p.Apps[0].Environments; !reflect.DeepEqual(got, want) {
		t.Errorf("environments = %+v, want %+v", got, want)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name          string
		give          string
		wantName      string
		wantRetention int
	}{
		{name: "left out", give: `{account: "111111111111", region: eu-west-1}`, wantName: "highway", wantRetention: 30},
		{name: "null", give: `{account: "111111111111", region: eu-west-1, name: ~, logRetentionDays: ~}`, wantName: "highway", wantRetention: 30},
		{name: "set", give: `{account: "111111111111", region: eu-west-1, name: hw, logRetentionDays: 365}`, wantName: "hw", wantRetention: 365},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(small, `{account: "111111111111", region: eu-west-1}`, tt.give, 1)
			p, err := policy.Parse([]byte(src), "p.yaml")
			if err != nil {
				t.Fatalf("Parse(hub: %s) error: %v", tt.give, err)
			}
			if p.Hub.Name != tt.wantName || p.Hub.LogRetentionDays != tt.wantRetention {
				t.Errorf("Parse(hub: %s) hub = %q, %d; want %q, %d", tt.give, p.Hub.Name, p.Hub.LogRetentionDays, tt.wantName, tt.wantRetention)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	example, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	two, err := policy.Parse([]byte(small+"  - name: cart\n    repository: cart\n    environments:\n"+
		"      - {name: prod, account: \"555555555555\", region: us-east-1}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give *policy.Policy
	}{
		{name: "example file", give: example},
		{name: "two apps, no emails", give: two},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.give.Encode()
			if err != nil {
				t.Fatalf("JSON() error: %v", err)
			}
			got, err := policy.Parse(data, "highway.yaml")
			if err != nil {
				t.Fatalf("Parse(JSON()) error: %v\n%s", err, data)
			}
			if !reflect.DeepEqual(got, tt.give) {
				t.Errorf("Parse(JSON()) = %+v, want %+v", got, tt.give)
			}
		})
	}
}

func TestJSONOfPolicyBuiltInCode(t *testing.T) {
	built := &policy.Policy{
		Version: 1,
		Hub:     policy.Hub{Account: "111111111111", Region: "eu-west-1"},
		Apps: []policy.App{{Name: "a", Repository: "r",
			Environments: []policy.Environment{{Name: "dev", Account: "222222222222", Region: "eu-west-1"}}}},
	}
	data, err := built.Encode()
	if err != nil {
		t.Fatalf("JSON() error: %v", err)
	}
	p, err := policy.Parse(data, "highway.yaml")
	if err != nil {
		t.Fatalf("Parse(JSON()) error: %v", err)
	}
	if p.Hub.Name != policy.DefaultHubName || p.Hub.LogRetentionDays != policy.DefaultLogRetentionDays {
		t.Errorf("JSON() hub = %+v, want defaults applied", p.Hub)
	}
	if built.Hub.Name != "" {
		t.Errorf("JSON() changed its receiver: hub name %q", built.Hub.Name)
	}

	built.Apps[0].Environments[0].Account = "2222"
	if _, err := built.Encode(); err == nil || !strings.Contains(err.Error(), `account id "2222"`) {
		t.Errorf("JSON() of a bad account = %v, want an account id error", err)
	}
}

func TestYAMLAndJSONKeysAgree(t *testing.T) {
	// Functions read the JSON form with the same parser, so each field must have
	// the same name in both tags.
	var visit func(t *testing.T, typ reflect.Type)
	visit = func(t *testing.T, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			y, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			j, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if y != j {
				t.Errorf("%s.%s: yaml key %q, json key %q, want equal", typ.Name(), f.Name, y, j)
			}
			ft := f.Type
			for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Map {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				visit(t, ft)
			}
		}
	}
	visit(t, reflect.TypeFor[policy.Policy]())
}

func TestLoadForFunction(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(data, "highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, policy.FunctionFileName), js, 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")

	tests := []struct {
		name     string
		file     string
		taskRoot string
		wantApp  string
		wantErr  string
	}{
		{name: "task root", taskRoot: dir, wantApp: "checkout"},
		{name: "override wins", file: other, taskRoot: t.TempDir(), wantApp: "checkout"},
		{name: "missing file", file: missing, wantErr: "policy file " + missing + " not found"},
		{name: "missing in task root", taskRoot: t.TempDir(), wantErr: "highway.yaml not found"},
		{name: "nothing set", wantErr: "neither HIGHWAY_POLICY_FILE nor LAMBDA_TASK_ROOT is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(policy.PolicyFileEnv, tt.file)
			t.Setenv("LAMBDA_TASK_ROOT", tt.taskRoot)
			p, err := policy.LoadForFunction()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadForFunction() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadForFunction() error: %v", err)
			}
			if _, ok := p.App(tt.wantApp); !ok {
				t.Errorf("LoadForFunction() apps = %+v, want %q", p.Apps, tt.wantApp)
			}
		})
	}
}

func TestFunctionsDecodeWhatEncodeValidated(t *testing.T) {
	example, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	platform, err := policytest.Build(example, policytest.Platform{Apps: 12, Central: 6, Teams: 3})
	if err != nil {
		t.Fatal(err)
	}
	load := func(t *testing.T, data []byte) (*policy.Policy, error) {
		t.Helper()
		file := filepath.Join(t.TempDir(), policy.FunctionFileName)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv(policy.PolicyFileEnv, file)
		return policy.LoadForFunction()
	}
	for _, tt := range []struct {
		name string
		give *policy.Policy
	}{{"example", example}, {"platform of 12 apps", platform}} {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN the policy as the CDK app ships it
			data, err := tt.give.Encode()
			if err != nil {
				t.Fatal(err)
			}

			// WHEN a function loads it without validating it again
			got, err := load(t, data)

			// THEN it is the policy Parse validates from the same file
			if err != nil {
				t.Fatal(err)
			}
			want, err := policy.Parse(data, policy.FunctionFileName)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("LoadForFunction() = %+v\nParse() = %+v", got, want)
			}
		})
	}

	data, err := example.Encode()
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(string(data), "\n")
	broken := strings.Replace(body, "111111111111", "11111111111x", 1)
	t.Run("a file changed since it was encoded is validated", func(t *testing.T) {
		_, err := load(t, []byte(header+"\n"+broken))
		if err == nil || !strings.Contains(err.Error(), "11111111111x") {
			t.Errorf("LoadForFunction() error = %v, want the validation's, naming the bad account", err)
		}
	})
	t.Run("a file whose digest matches is not validated again", func(t *testing.T) {
		sum := sha256.Sum256([]byte(broken))
		p, err := load(t, []byte(header[:len(header)-64]+hex.EncodeToString(sum[:])+"\n"+broken))
		if err != nil || p.Hub.Account != "11111111111x" {
			t.Errorf("LoadForFunction() = %v, %v; want the file decoded as it is, its digest vouching for it", p, err)
		}
	})
}
