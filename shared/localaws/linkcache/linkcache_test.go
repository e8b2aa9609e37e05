package linkcache

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// module writes a module of a main package importing dep, whose F returns
// body, with a test beside main.
func module(t *testing.T, dir, body string) {
	t.Helper()
	files := map[string]string{
		"go.mod":       "module example.com/m\n\ngo 1.24\n",
		"dep/dep.go":   "package dep\n\n//go:noinline\nfunc F() int { return " + body + " }\n",
		"main.go":      "package main\n\nimport \"example.com/m/dep\"\n\nfunc main() { println(dep.F()) }\n",
		"main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) { main() }\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func keyOf(t *testing.T, dir string, test bool, flags ...string) string {
	t.Helper()
	bins, err := Keys(dir, nil, flags, test, "./...")
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 1 || bins[0].ImportPath != "example.com/m" || bins[0].Dir != dir {
		t.Fatalf("Keys = %+v, want the one binary of example.com/m in %s", bins, dir)
	}
	return bins[0].Key
}

func TestKeyChangesWithWhatIsLinked(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, test := range []bool{false, true} {
		dir := t.TempDir()
		module(t, dir, "1")
		before := keyOf(t, dir, test)

		if again := keyOf(t, dir, test); again != before {
			t.Errorf("test=%v: key %s, then %s with nothing changed", test, before, again)
		}
		if tagged := keyOf(t, dir, test, "-tags", "x"); tagged == before {
			t.Errorf("test=%v: another build flag kept the key %s", test, before)
		}
		// A dependency's function body (not inlined) changes its object
		// code, not its export data: the key must still change.
		module(t, dir, "2")
		if after := keyOf(t, dir, test); after == before {
			t.Errorf("test=%v: the key %s stayed when dep.F's body changed", test, before)
		}
	}
}

func TestKeysReportCompileErrors(t *testing.T) {
	dir := t.TempDir()
	module(t, dir, `"not an int"`)
	if _, err := Keys(dir, nil, nil, false, "./..."); err == nil {
		t.Fatal("Keys of a package that does not compile = nil error")
	}
}

func TestGetLinksOnceAndKeepsOneBinaryAName(t *testing.T) {
	cache := t.TempDir()
	links := 0
	link := func(out string) error {
		links++
		return os.WriteFile(out, []byte("binary"), 0o755)
	}
	first, cached, err := Get(cache, "example.com/m@tags x", "k1", link)
	if err != nil || cached || links != 1 {
		t.Fatalf("first Get = %s, cached %v, %v after %d links; want one link", first, cached, err, links)
	}
	again, cached, err := Get(cache, "example.com/m@tags x", "k1", link)
	if err != nil || !cached || again != first || links != 1 {
		t.Fatalf("second Get = %s, cached %v, %v after %d links; want %s without a link", again, cached, err, links, first)
	}
	next, _, err := Get(cache, "example.com/m@tags x", "k2", link)
	if err != nil || links != 2 {
		t.Fatalf("Get of another key = %v after %d links, want a second link", err, links)
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("the binary of the old key is still kept (%v)", err)
	}
	if _, err := os.Stat(next); err != nil {
		t.Errorf("the binary of the new key: %v", err)
	}
	if filepath.Dir(next) != filepath.Join(cache, "example.com_m_tags_x") {
		t.Errorf("binary kept at %s, want under a folder named for the binary", next)
	}
}

func TestGetKeepsNothingAFailedLinkWrote(t *testing.T) {
	cache := t.TempDir()
	_, _, err := Get(cache, "m", "k", func(out string) error {
		os.WriteFile(out, []byte("half"), 0o755)
		return os.ErrInvalid
	})
	if err == nil {
		t.Fatal("Get = nil error after a failed link")
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "m", "*")); len(left) != 0 {
		t.Errorf("a failed link left %v", left)
	}
}
