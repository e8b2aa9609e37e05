// Package linkcache keeps the binaries Go links for tests, by what went into
// them. Go caches each compiled package but links every test binary and every
// `go build` again, which for Highway's packages (the AWS SDK, the CDK) is
// most of a warm `make test`. A binary is kept under a key hashed from the
// Go version, the build flags and environment, and the build ID of every
// package linked into it, so a change to any of them links it again.
package linkcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// Binary is one binary go would link: a main package, or the test binary of
// a package.
type Binary struct {
	ImportPath string // the main package, or the package under test
	Dir        string // its directory
	Key        string // changes whenever anything linked into it changes
}

// listed is one package of `go list -deps -export -json`.
type listed struct {
	ImportPath string
	Dir        string
	Name       string
	BuildID    string
	ForTest    string
	DepOnly    bool
	Deps       []string
}

// Keys compiles patterns as go list -deps -export does, in dir, with the
// build flags and extra environment given, and returns a key for each binary
// they make: each main package or, with test, each package's test binary
// (packages without tests make none). Compile errors are returned with go's
// own message.
func Keys(dir string, env, flags []string, test bool, patterns ...string) ([]Binary, error) {
	args := []string{"list", "-deps", "-export", "-json=ImportPath,Dir,Name,BuildID,ForTest,DepOnly,Deps"}
	if test {
		args = append(args, "-test")
	}
	args = append(append(args, flags...), patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.Bytes())
	}
	ids := map[string]string{}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %v", err)
		}
		ids[p.ImportPath] = p.BuildID
		pkgs = append(pkgs, p)
	}
	version := runtime.Version()
	if v, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		version = strings.TrimSpace(string(v))
	}
	var bins []Binary
	for _, p := range pkgs {
		if p.Name != "main" || (test && !strings.HasSuffix(p.ImportPath, ".test")) || (!test && p.DepOnly) {
			continue
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%q\x00%q\x00%s %s\n", version, env, flags, p.ImportPath, p.BuildID)
		for _, d := range p.Deps {
			id, ok := ids[d] // unsafe alone has no build ID: nothing is compiled
			if !ok {
				return nil, fmt.Errorf("go list gave no build ID for %s, a dependency of %s", d, p.ImportPath)
			}
			fmt.Fprintf(h, "%s %s\n", d, id)
		}
		b := Binary{ImportPath: p.ImportPath, Dir: p.Dir, Key: hex.EncodeToString(h.Sum(nil))[:32]}
		if test {
			b.ImportPath = strings.TrimSuffix(p.ImportPath, ".test")
		}
		bins = append(bins, b)
	}
	for i, b := range bins {
		if b.Dir == "" {
			for _, p := range pkgs {
				if p.ImportPath == b.ImportPath {
					bins[i].Dir = p.Dir
				}
			}
		}
	}
	return bins, nil
}

// unsafeInName is what a name may not keep in a folder's name.
var unsafeInName = regexp.MustCompile(`[^A-Za-z0-9._,=-]+`)

// Get returns the binary kept in cache under name and key, linking it first
// with link (which writes the binary to the path it is given) when it is not
// there. Other keys kept under the same name are removed: one binary per name
// is kept. Runs side by side that link the same binary each write their own
// file and rename it into place, so a reader never sees half a binary.
func Get(cache, name, key string, link func(out string) error) (path string, cached bool, err error) {
	folder := filepath.Join(cache, unsafeInName.ReplaceAllString(name, "_"))
	path = filepath.Join(folder, key)
	if _, err := os.Stat(path); err == nil {
		return path, true, nil
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp(folder, ".link-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "bin")
	if err := link(out); err != nil {
		return "", false, err
	}
	if _, err := os.Stat(out); err != nil {
		return "", false, errors.New("the link wrote no binary")
	}
	if err := os.Rename(out, path); err != nil {
		return "", false, err
	}
	old, _ := filepath.Glob(filepath.Join(folder, "*"))
	for _, o := range old {
		if o != path && !strings.HasPrefix(filepath.Base(o), ".link-") {
			os.Remove(o)
		}
	}
	return path, false, nil
}
