package policy_test

import (
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
)

// fromGitHub is small with a second app, built from GitHub; the error cases
// below are edits of it, so their line numbers can be read off directly.
const fromGitHub = small + `  - name: storefront
    github: {repository: octo-org/storefront}
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
`

func TestParseGitHubSource(t *testing.T) {
	p, err := policy.Parse([]byte(fromGitHub), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(fromGitHub) error: %v", err)
	}
	app, ok := p.AppOfGitHub("Octo-Org/StoreFront")
	if !ok || app.Name != "storefront" || app.Repository != "" || app.GitHub.Repository != "octo-org/storefront" {
		t.Errorf("AppOfGitHub(Octo-Org/StoreFront) = %+v, %v; want storefront, matched without regard to case", app, ok)
	}
	if _, ok := p.AppOfGitHub("checkout-service"); ok {
		t.Error("AppOfGitHub(checkout-service) found an app: a CodeCommit repository is not a GitHub one")
	}
	if !p.UsesGitHub() {
		t.Error("UsesGitHub() = false with a GitHub app")
	}
	// What a function loads is what the file said.
	data, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := policy.Parse(data, policy.FunctionFileName)
	if err != nil || again.Apps[1].GitHub == nil || again.Apps[1].GitHub.Repository != "octo-org/storefront" || again.Apps[1].Repository != "" {
		t.Errorf("Encode() then Parse() = %+v, %v; want the GitHub source kept", again, err)
	}
	only, err := policy.Parse([]byte(small), "p.yaml")
	if err != nil || only.UsesGitHub() {
		t.Errorf("UsesGitHub() of a CodeCommit-only policy = true (%v)", err)
	}
}

func TestGitHubSourceErrors(t *testing.T) {
	tests := []struct{ name, old, new, want string }{
		{"both sources", "    github: {repository: octo-org/storefront}", "    repository: storefront\n    github: {repository: octo-org/storefront}",
			`p.yaml:10:13: apps[1].github: app "storefront" has both repository (CodeCommit) and github: its source is one of them`},
		{"no source", "    github: {repository: octo-org/storefront}\n", "",
			`p.yaml:8:5: apps[1].repository: app "storefront" has no source: set repository (a CodeCommit repository) or github: {repository: owner/name}`},
		{"no owner", "octo-org/storefront", "storefront",
			`p.yaml:9:26: apps[1].github.repository: "storefront" is not owner/name, like octo-org/checkout`},
		{"a URL", "{repository: octo-org/storefront}", "{repository: \"https://github.com/octo-org/storefront\"}",
			`p.yaml:9:26: apps[1].github.repository: "https://github.com/octo-org/storefront" is a URL; write the repository as owner/name, like octo-org/checkout`},
		{"three parts", "octo-org/storefront", "octo-org/web/storefront",
			`p.yaml:9:26: apps[1].github.repository: "octo-org/web/storefront" is not owner/name, like octo-org/checkout`},
		{"owner with a trailing hyphen", "octo-org/storefront", "octo-/storefront",
			`p.yaml:9:26: apps[1].github.repository: owner "octo-" is not a GitHub user or organization name (letters, digits and single '-' inside, at most 39)`},
		{"name with a space", "{repository: octo-org/storefront}", "{repository: \"octo-org/store front\"}",
			`p.yaml:9:26: apps[1].github.repository: name "store front" is not a GitHub repository name (letters, digits, '.', '_' and '-', at most 100)`},
		{"with .git", "octo-org/storefront", "octo-org/storefront.git",
			`p.yaml:9:26: apps[1].github.repository: write the repository without .git: octo-org/storefront`},
		{"missing repository", "{repository: octo-org/storefront}", "{}",
			`p.yaml:9:5: apps[1].github: missing required key "repository"`},
		{"misspelt key", "    github: {repository: octo-org/storefront}", "    gihub: {repository: octo-org/storefront}",
			`p.yaml:9:5: apps[1]: unknown key "gihub" (did you mean "github"?)`},
		{"repository of two apps", "  - name: storefront\n    github: {repository: octo-org/storefront}",
			"  - name: storefront\n    github: {repository: octo-org/storefront}\n    environments: [{name: dev, account: \"222222222222\", region: eu-west-1}]\n" +
				"  - name: storefront-v2\n    github: {repository: Octo-Org/Storefront}",
			`p.yaml:12:26: apps[2].github.repository: GitHub repository "Octo-Org/Storefront" is already app "storefront"'s (line 9): a repository builds one app`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(fromGitHub, tt.old, tt.new, 1)
			if give == fromGitHub {
				t.Fatalf("the edit %q → %q changes nothing", tt.old, tt.new)
			}
			_, err := policy.Parse([]byte(give), "p.yaml")
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse(%s) error =\n%v\nwant\n%s", tt.name, err, tt.want)
			}
		})
	}
}
