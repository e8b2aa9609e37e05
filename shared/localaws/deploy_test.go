package localaws

import (
	"os"
	"path/filepath"
	"testing"
)

// tinyModule writes a module of two main packages, cmd/a and cmd/b, and a
// scripts/build.sh whose -n prints the flags it builds with: -trimpath, and
// -tags x when TAGS is set.
func tinyModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":           "module example.com/m\n\ngo 1.24\n",
		"cmd/a/main.go":    "package main\n\nfunc main() {}\n",
		"cmd/b/main.go":    "package main\n\nfunc main() { println(1) }\n",
		"lib/lib.go":       "package lib\n",
		"scripts/build.sh": "#!/bin/sh\necho -trimpath\nif [ -n \"$TAGS\" ]; then echo -tags; echo x; fi\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSharedKeysAreTheKeysEachPackageGets(t *testing.T) {
	// GIVEN a module, and the keys of its main packages written once for a
	// run, as scripts/testrun -shipped writes them
	root := tinyModule(t)
	t.Setenv("TAGS", "")
	file := filepath.Join(t.TempDir(), "keys.json")
	if err := WriteShippedKeys(root, file, "cmd/..."); err != nil {
		t.Fatal(err)
	}
	flags, err := shippedFlags(filepath.Join(root, "scripts", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}

	// WHEN a test process looks up each package's key in the file
	t.Setenv(EnvShippedKeys, file)
	for _, src := range []string{"cmd/a", "cmd/b"} {
		shared, err := sharedKey(root, flags, src)
		if err != nil {
			t.Fatal(err)
		}

		// THEN it finds the key go gives the package alone
		alone, err := shippedKeys(root, flags, src)
		if err != nil {
			t.Fatal(err)
		}
		if shared == "" || shared != alone[src] {
			t.Errorf("%s: shared key %q, want %q, the key asked alone", src, shared, alone[src])
		}
	}

	// AND not for a package the file lacks, nor for other flags: it asks go
	for _, tt := range []struct {
		src  string
		tags string
	}{{"lib", ""}, {"cmd/a", "1"}} {
		t.Setenv("TAGS", tt.tags)
		flags, err := shippedFlags(filepath.Join(root, "scripts", "build.sh"))
		if err != nil {
			t.Fatal(err)
		}
		if key, err := sharedKey(root, flags, tt.src); key != "" || err != nil {
			t.Errorf("sharedKey(%q, %s) = %q, %v; want none", flags, tt.src, key, err)
		}
	}

	// AND not for another module's packages
	t.Setenv("TAGS", "")
	if key, err := sharedKey(t.TempDir(), flags, "cmd/a"); key != "" || err != nil {
		t.Errorf("sharedKey of another module = %q, %v; want none", key, err)
	}

	// AND a package that is not a main package is refused when written
	if err := WriteShippedKeys(root, file, "lib"); err == nil {
		t.Error("WriteShippedKeys(lib) = nil, want an error: lib is not a main package")
	}
}
