package policy

import "strings"

// GitHub is an app's repository on GitHub. Its pushes reach Highway through a
// webhook, signed with the secret Highway keeps, and its builds run in
// CodePipeline (V2) with a CodeConnections source, whose revisions are the
// commits the webhook recorded.
type GitHub struct {
	// Repository is owner/name, as in https://github.com/owner/name.
	Repository string `yaml:"repository" json:"repository" policy:"required"`
}

// AppOfGitHub finds the app built from the GitHub repository owner/name,
// which GitHub matches without regard to case.
func (p *Policy) AppOfGitHub(repository string) (*App, bool) {
	for i := range p.Apps {
		if g := p.Apps[i].GitHub; g != nil && strings.EqualFold(g.Repository, repository) {
			return &p.Apps[i], true
		}
	}
	return nil, false
}

// UsesGitHub reports whether an app of the policy is built from GitHub, and
// so whether Highway needs its webhook.
func (p *Policy) UsesGitHub() bool {
	for _, a := range p.Apps {
		if a.GitHub != nil {
			return true
		}
	}
	return false
}
