// Package functions_test checks what every function under functions/ links.
package functions_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const servicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// implied are the service packages the SDK itself brings along: the default
// credential chain (config) needs sts, sso, ssooidc and signin, and DynamoDB's
// attributevalue needs dynamodbstreams.
var implied = map[string][]string{
	"":         {"sts", "sso", "ssooidc", "signin"},
	"dynamodb": {"dynamodbstreams"},
}

// TestFunctionsLinkOnlyTheServicesTheyUse fails when a function binary contains
// an AWS service client its main package does not ask for, for example because a
// shared package started importing one: every function would pay for it in size
// and cold start.
func TestFunctionsLinkOnlyTheServicesTheyUse(t *testing.T) {
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			pkg := "./" + d.Name()
			allowed := services(t, "go", "list", "-f", `{{join .Imports "\n"}}`, pkg)
			for _, s := range append(slices.Clone(allowed), "") {
				allowed = append(allowed, implied[s]...)
			}
			for _, s := range services(t, "go", "list", "-deps", "-f", "{{.ImportPath}}", pkg) {
				if !slices.Contains(allowed, s) {
					t.Errorf("%s links service %s, which its main package does not import (allowed: %v)", pkg, s, allowed)
				}
			}
		})
	}
}

// services runs a go list command and returns the AWS service names among the
// packages it prints.
func services(t *testing.T, name string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	var svcs []string
	for _, p := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(p, servicePrefix)
		if !ok {
			continue
		}
		svc, _, _ := strings.Cut(rest, "/")
		if svc != "internal" && !slices.Contains(svcs, svc) {
			svcs = append(svcs, svc)
		}
	}
	return svcs
}
