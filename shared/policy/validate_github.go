package policy

import (
	"fmt"
	"strings"
)

var (
	// githubOwnerPattern is a GitHub user or organization name: letters,
	// digits and single hyphens, not at either end, at most 39.
	githubOwnerPattern = lazy(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)
	// githubNamePattern is a GitHub repository name.
	githubNamePattern = lazyLength(`^[A-Za-z0-9_.-]+$`, 1, 100)
)

// checkSource reports an app whose source is not exactly one of a CodeCommit
// repository and a GitHub repository, or whose repository name is not one.
func checkSource(c *checker, path string, app App) {
	hasRepo, hasGitHub := c.has(path+".repository"), c.has(path+".github")
	switch {
	case hasRepo && hasGitHub:
		c.errorf(path+".github", "app %q has both repository (CodeCommit) and github: its source is one of them", app.Name)
		return
	case !hasRepo && !hasGitHub:
		if c.broken[path+".github"] || c.broken[path+".repository"] {
			return // a misspelt key already names the source
		}
		c.errorf(path+".repository", "app %q has no source: set repository (a CodeCommit repository) or github: {repository: owner/name}", app.Name)
		return
	case hasGitHub:
		checkGitHubRepository(c, path+".github.repository", app.GitHub.Repository)
		return
	}
	if !repositoryPattern.MatchString(app.Repository) || strings.HasSuffix(app.Repository, ".git") {
		c.errorf(path+".repository", "repository %q is not a CodeCommit repository name (letters, digits, '.', '_' and '-', at most 100, not ending in .git)", app.Repository)
	}
}

// checkGitHubRepository reports a GitHub repository that is not owner/name.
func checkGitHubRepository(c *checker, path, repo string) {
	owner, name, ok := strings.Cut(repo, "/")
	switch {
	case strings.HasPrefix(repo, "https://") || strings.HasPrefix(repo, "git@"):
		c.errorf(path, "%q is a URL; write the repository as owner/name, like octo-org/checkout", repo)
	case !ok || strings.Contains(name, "/"):
		c.errorf(path, "%q is not owner/name, like octo-org/checkout", repo)
	case !githubOwnerPattern.MatchString(owner):
		c.errorf(path, "owner %q is not a GitHub user or organization name (letters, digits and single '-' inside, at most 39)", owner)
	case !githubNamePattern.MatchString(name) || name == "." || name == "..":
		c.errorf(path, "name %q is not a GitHub repository name (letters, digits, '.', '_' and '-', at most 100)", name)
	case strings.HasSuffix(strings.ToLower(name), ".git"):
		c.errorf(path, "write the repository without .git: %s/%s", owner, name[:len(name)-len(".git")])
	}
}

// checkGitHubRepositories reports a GitHub repository named by two apps: the
// webhook tells a push's app by its repository alone (GitHub's names ignore
// case).
func checkGitHubRepositories(c *checker, p *Policy) {
	type owner struct{ app, path string }
	first := map[string]owner{}
	for i, app := range p.Apps {
		if app.GitHub == nil || app.GitHub.Repository == "" {
			continue
		}
		path := fmt.Sprintf("apps[%d].github.repository", i)
		key := strings.ToLower(app.GitHub.Repository)
		if prev, ok := first[key]; ok {
			c.errorf(path, "GitHub repository %q is already app %q's (line %d): a repository builds one app",
				app.GitHub.Repository, prev.app, c.line(prev.path))
			continue
		}
		first[key] = owner{app.Name, path}
	}
}
