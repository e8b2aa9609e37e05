package functions_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/localaws"
)

// TestEveryFunctionAnswersItsPingWithoutAWS runs every function, built as
// it ships, under the Lambda Runtime Interface Emulator on a site of its
// own, and invokes it once with its ping: the function answers as
// events/ping/README.md says, without an error, and makes no AWS call (the
// site records every call, to the fake and to DynamoDB Local) but those
// localaws.Pings lists for the few functions that have no path without them.
// events/ping holds one ping per function, each named in its README.
func TestEveryFunctionAnswersItsPingWithoutAWS(t *testing.T) {
	root, err := localaws.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns := functionNames(t, filepath.Join(root, "functions"))
	folder := filepath.Join(root, "events", "ping")
	files, err := filepath.Glob(filepath.Join(folder, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(folder, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, f := range files {
		named = append(named, strings.TrimSuffix(filepath.Base(f), ".json"))
		if !bytes.Contains(readme, []byte("`"+filepath.Base(f)+"`")) {
			t.Errorf("events/ping/README.md does not name %s", filepath.Base(f))
		}
	}
	if !slices.Equal(named, fns) || !slices.Equal(slices.Sorted(maps.Keys(localaws.Pings)), fns) {
		t.Fatalf("functions %q, pings in events/ping %q, localaws.Pings %q: want one of each per function", fns, named, slices.Sorted(maps.Keys(localaws.Pings)))
	}
	localaws.Require(t, localaws.EnvDynamoDB)
	localaws.Require(t, localaws.EnvRIE)

	for _, fn := range fns {
		t.Run(fn, func(t *testing.T) {
			t.Parallel() // each on a site of its own
			p := localaws.Pings[fn]
			site, d, event := localaws.DeployPing(t, fn)
			emu := localaws.Emulate(t, d.Bootstrap, d.Env)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			body, err := emu.Invoke(ctx, event)
			if err != nil {
				t.Fatalf("invoke: %v\nlog:\n%s", err, emu.Log())
			}
			if bytes.Contains(body, []byte(`"errorMessage"`)) {
				t.Errorf("answer = %s, an error\nlog:\n%s", body, emu.Log())
			}
			for _, w := range p.Answer {
				if !bytes.Contains(body, []byte(w)) {
					t.Errorf("answer = %s, want it to hold %s", body, w)
				}
			}

			calls, err := site.Calls()
			if err != nil {
				t.Error(err)
			}
			var made []string
			for _, c := range calls {
				if !slices.Contains(made, c.API) {
					made = append(made, c.API)
				}
			}
			// The fake's requests that Calls leaves out, unsigned ones, are
			// calls too.
			for _, r := range site.AWS.Requests() {
				if !slices.ContainsFunc(calls, func(c localaws.Call) bool { return strings.HasSuffix(c.API, ":"+r.Operation) }) {
					made = append(made, "unsigned:"+r.Operation)
				}
			}
			slices.Sort(made)
			if want := slices.Sorted(slices.Values(p.Calls)); !slices.Equal(made, want) {
				t.Errorf("AWS calls = %q, want %q", made, want)
				for _, c := range calls {
					t.Logf("%s %v by %s", c.API, c.Resources, c.Role)
				}
			}
		})
	}
}

// functionNames are the functions under dir (functions/): the folders with
// a main.go, sorted.
func functionNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var fns []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "main.go")); e.IsDir() && err == nil {
			fns = append(fns, e.Name())
		}
	}
	return fns
}
