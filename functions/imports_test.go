// Package functions_test checks what every function under functions/ links.
package functions_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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

// heavy are packages no function may link: the X-Ray SDK's xray package
// brings the v1 AWS SDK, whose endpoint tables cost about 15 ms of every cold
// start, and gRPC, whose reflection keeps every SDK operation in the binary.
// shared/telemetry writes X-Ray's documents without them.
var heavy = []string{
	"github.com/aws/aws-xray-sdk-go/xray",
	"github.com/aws/aws-xray-sdk-go/instrumentation",
	"github.com/aws/aws-sdk-go",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
}

// reachCluster are the functions that may link client-go (k8s.io/...), the
// ones that act on an EKS cluster: about 7 MB and 5.5 ms of package
// initialization each (shared/kube), which no other function should pay.
var reachCluster = []string{"drift", "promote", "respond"}

// TestFunctionsLinkOnlyTheServicesTheyUse fails when a function binary contains
// an AWS service client its main package does not ask for, for example because a
// shared package started importing one, any of the heavy packages, or
// client-go outside reachCluster: every function would pay for it in size and
// cold start.
func TestFunctionsLinkOnlyTheServicesTheyUse(t *testing.T) {
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, d := range dirs {
		if d.IsDir() {
			pkgs = append(pkgs, "./"+d.Name())
		}
	}
	// One go list for all of them: what each main package imports, and every
	// package it links.
	out, err := exec.Command("go", append([]string{"list", "-json=Dir,Imports,Deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", pkgs, err)
	}
	listed := map[string]struct{ Imports, Deps []string }{} // by directory name
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p struct {
			Dir           string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list: %v", err)
		}
		listed[filepath.Base(p.Dir)] = struct{ Imports, Deps []string }{p.Imports, p.Deps}
	}
	for _, pkg := range pkgs {
		t.Run(filepath.Base(pkg), func(t *testing.T) {
			p, ok := listed[filepath.Base(pkg)]
			if !ok {
				t.Fatalf("go list did not list %s", pkg)
			}
			allowed := services(p.Imports)
			for _, s := range append(slices.Clone(allowed), "") {
				allowed = append(allowed, implied[s]...)
			}
			for _, s := range services(p.Deps) {
				if !slices.Contains(allowed, s) {
					t.Errorf("%s links service %s, which its main package does not import (allowed: %v)", pkg, s, allowed)
				}
			}
			for _, d := range p.Deps {
				if strings.HasPrefix(d, "k8s.io/") && !slices.Contains(reachCluster, filepath.Base(pkg)) {
					t.Errorf("%s links %s, but acts on no cluster", pkg, d)
				}
				for _, h := range heavy {
					if d == h || strings.HasPrefix(d, h+"/") {
						t.Errorf("%s links %s", pkg, d)
					}
				}
			}
		})
	}
}

// services returns the AWS service names among the packages pkgs.
func services(pkgs []string) []string {
	var svcs []string
	for _, p := range pkgs {
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
