package localaws

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/localaws/linkcache"
	"github.com/highwayhq/highway/shared/policy"
)

// SpokeAccessKey begins the access key of every credentials the fake STS
// hands out for a function's access role (each session its own key): a call
// signed with one was made through the role, in the app's account (the hub's
// included). RoleOf says which role.
const SpokeAccessKey = "ASIASPOKE"

// Deployment is a function as Lambda runs it, recreated on this machine: its
// binary built as it ships (for this machine's architecture), the policy the
// CDK app ships beside it, the ledger in DynamoDB Local, and every other AWS
// service answered by the wire-level fake, STS included.
type Deployment struct {
	// Bootstrap is the built binary.
	Bootstrap string
	// Env is the function's environment, as the CDK app and Lambda set it.
	Env []string
	// Table is the ledger table in DynamoDB Local.
	Table string
	// AWS answers every service but DynamoDB; stub the operations the function
	// calls. AssumeRole is stubbed already.
	AWS *awsfake.Server
	// Policy is the example policy (infra/highway.yaml) the function ships with.
	Policy *policy.Policy

	site *Site
	name string
}

// Site is a hub recreated on this machine for functions that work together:
// one ledger table in DynamoDB Local and one wire-level fake for every other
// service, STS included, shared by every function deployed to it.
type Site struct {
	// Table is the ledger table in DynamoDB Local.
	Table string
	// AWS answers every service but DynamoDB. AssumeRole is stubbed already.
	AWS *awsfake.Server
	// Policy is the example policy (infra/highway.yaml) the functions ship with.
	Policy *policy.Policy

	dir         string
	policyFile  string
	dynamoDB    string // the endpoint the functions reach DynamoDB Local at
	rec         *recorder
	deployments []*Deployment
}

// NewSite prepares a site for one test: a ledger table, a fake whose STS
// hands out an access role's credentials (each session its own, so RoleOf
// tells which role signed a call), and the example policy as the CDK app
// ships it beside each function. The functions reach DynamoDB Local through
// a proxy that records their calls, except in benchmarks, which measure them
// without it; with HIGHWAY_CALLS set, the site writes every call its
// functions made there when the test ends (see Recording).
func NewSite(tb testing.TB) *Site {
	tb.Helper()
	root := moduleRoot(tb)
	db := DynamoDB(tb)
	s := &Site{Table: LedgerTable(tb, db), AWS: awsfake.New(tb), dir: tb.TempDir(), rec: newRecorder()}
	s.AWS.OnFunc("AssumeRole", s.rec.assumeRole)
	s.dynamoDB = os.Getenv(EnvDynamoDB)
	if _, bench := tb.(*testing.B); !bench {
		s.dynamoDB = s.rec.proxy(tb, s.dynamoDB)
	}
	if dir := os.Getenv(EnvCalls); dir != "" {
		tb.Cleanup(func() { s.write(tb, dir) })
	}
	p, err := policy.Load(filepath.Join(root, "infra", "highway.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	s.Policy = p
	js, err := p.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	s.policyFile = filepath.Join(s.dir, policy.FunctionFileName)
	if err := os.WriteFile(s.policyFile, js, 0o600); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Deploy builds functions/<name> and prepares what it needs to run under the
// emulator (Emulate(tb, d.Bootstrap, d.Env)) on a site of its own.
func Deploy(tb testing.TB, name string) *Deployment {
	tb.Helper()
	return NewSite(tb).Deploy(tb, name)
}

// Deploy builds functions/<name> and prepares it to run on the site, with
// the environment every function gets.
func (s *Site) Deploy(tb testing.TB, name string) *Deployment {
	tb.Helper()
	dir := filepath.Join(s.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return s.Install(name, Build(tb, dir, "functions/"+name))
}

// Install prepares bootstrap, built already, to run on the site as the
// function name, with the environment every function gets and then env,
// whose values win (as in exec, the last of a name counts).
func (s *Site) Install(name, bootstrap string, env ...string) *Deployment {
	d := &Deployment{Bootstrap: bootstrap, Table: s.Table, AWS: s.AWS, Policy: s.Policy, site: s, name: name}
	// The function's own credentials stand for its execution role's.
	s.rec.mu.Lock()
	s.rec.keys[functionKey(name)] = credential{function: name, role: ExecutionRole}
	s.deployments = append(s.deployments, d)
	s.rec.mu.Unlock()
	d.Env = []string{
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + functionKey(name), "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL=" + s.AWS.URL(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.dynamoDB,
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"HIGHWAY_TABLE=" + s.Table,
		"HIGHWAY_BUS=highway",
		"HIGHWAY_TOPIC=arn:aws:sns:eu-west-1:111111111111:highway-notifications",
		// Every function that acts on the apps' resources does so through its
		// access role; the fake STS answers for any.
		function.EnvAccessRole + "=highway-access-" + name,
		policy.PolicyFileEnv + "=" + s.policyFile,
	}
	d.Env = append(d.Env, env...)
	return d
}

// Build compiles the main package src (a path from the module root, such as
// functions/push or scripts/hello) with scripts/build.sh, the flags it ships
// with, for this machine's architecture, and returns the bootstrap's path
// under dir, where it is placed (see BuildShipped and Place).
func Build(tb testing.TB, dir, src string) string {
	tb.Helper()
	bin, err := BuildShipped(moduleRoot(tb), src)
	if err != nil {
		tb.Fatalf("build %s: %v", src, err)
	}
	bootstrap := filepath.Join(dir, filepath.Base(src), "bootstrap")
	if err := Place(bin, bootstrap); err != nil {
		tb.Fatal(err)
	}
	return bootstrap
}

// BuildShipped returns the path of the binary scripts/build.sh links from
// the main package src (a path from the module root root) for this machine's
// architecture, kept in build/cache/functions by what went into it (package
// linkcache) and linked again only when something that goes into it
// changed. A process asks go once for each package; later calls return the
// same path. Place puts it where it runs.
func BuildShipped(root, src string) (string, error) {
	// What scripts/build.sh reads from the environment makes another binary.
	key := strings.Join([]string{root, src, os.Getenv("TAGS"), os.Getenv("KEEP_SYMBOLS")}, "\x00")
	built.mu.Lock()
	b := built.binaries[key]
	if b == nil {
		b = &binary{}
		built.binaries[key] = b
	}
	built.mu.Unlock()
	b.mu.Lock() // one build of a package at a time; others go on
	defer b.mu.Unlock()
	if b.bin == "" {
		bin, err := buildShipped(root, src)
		if err != nil {
			return "", err
		}
		b.bin = bin
	}
	return b.bin, nil
}

// buildShipped is BuildShipped without the process's memory of what it
// built.
func buildShipped(root, src string) (string, error) {
	script := filepath.Join(root, "scripts", "build.sh")
	flags, err := shippedFlags(script)
	if err != nil {
		return "", err
	}
	cache := filepath.Join(root, "build", "cache", "functions")
	name := src + "@" + runtime.GOARCH + "@" + strings.Join(flags, " ")
	// A key computed at the run's start finds a binary kept already; a
	// binary to build now is built from the code as it is now, so it is kept
	// under the key go gives now, not under one the code may have left.
	key, err := sharedKey(root, flags, src)
	if err != nil {
		return "", err
	}
	if key != "" {
		path, _, err := linkcache.Get(cache, name, key, func(string) error { return errNotKept })
		if !errors.Is(err, errNotKept) {
			return path, err
		}
	}
	keys, err := shippedKeys(root, flags, src)
	if err != nil {
		return "", err
	}
	path, _, err := linkcache.Get(cache, name, keys[src], func(out string) error {
		dir := filepath.Join(filepath.Dir(out), "out")
		cmd := exec.Command(script, src)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "OUT="+dir, "GOARCH="+runtime.GOARCH)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v\n%s", err, msg)
		}
		return os.Rename(filepath.Join(dir, filepath.Base(src), "bootstrap"), out)
	})
	return path, err
}

// errNotKept says a shared key names no binary kept yet.
var errNotKept = errors.New("not kept")

// shippedFlags are the go build flags script (scripts/build.sh) ships with,
// for what the environment sets now.
func shippedFlags(script string) ([]string, error) {
	printed, err := exec.Command(script, "-n").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -n: %v", script, err)
	}
	return strings.Split(strings.TrimSuffix(string(printed), "\n"), "\n"), nil
}

// shippedKeys asks go, once, for the linkcache keys of the main packages
// srcs (paths from the module root root, or patterns such as functions/...)
// built with flags for this machine's architecture, by path.
func shippedKeys(root string, flags []string, srcs ...string) (map[string]string, error) {
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH}
	patterns := make([]string, len(srcs))
	for i, src := range srcs {
		patterns[i] = "./" + src
	}
	bins, err := linkcache.Keys(root, env, flags, false, patterns...)
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, b := range bins {
		rel, err := filepath.Rel(root, b.Dir)
		if err != nil {
			return nil, err
		}
		keys[filepath.ToSlash(rel)] = b.Key
	}
	for _, src := range srcs {
		if _, ok := keys[src]; !ok && !strings.Contains(src, "...") {
			return nil, fmt.Errorf("%s is not a main package", src)
		}
	}
	return keys, nil
}

// EnvShippedKeys names a file of the keys of the binaries BuildShipped links
// (see WriteShippedKeys), computed once for a whole test run: a process that
// finds its package there, for the same flags, asks go nothing.
const EnvShippedKeys = "HIGHWAY_SHIPPED_KEYS"

// shippedKeysFile is what EnvShippedKeys's file holds.
type shippedKeysFile struct {
	Root  string            // the module root the keys are of
	Arch  string            // runtime.GOARCH
	Flags []string          // scripts/build.sh -n
	Keys  map[string]string // by main package path from the module root
}

// WriteShippedKeys writes to file the keys BuildShipped would compute now
// for the main packages srcs (paths from the module root root, or patterns
// such as functions/...), asking go once for all of them. A test runner
// writes it before the tests start and names it in EnvShippedKeys, for the
// tests run on the same code.
func WriteShippedKeys(root, file string, srcs ...string) error {
	flags, err := shippedFlags(filepath.Join(root, "scripts", "build.sh"))
	if err != nil {
		return err
	}
	keys, err := shippedKeys(root, flags, srcs...)
	if err != nil {
		return err
	}
	b, err := json.Marshal(shippedKeysFile{Root: root, Arch: runtime.GOARCH, Flags: flags, Keys: keys})
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// sharedKey is src's key in EnvShippedKeys's file, when the file was written
// for the module at root, flags and this architecture; "" when there is none.
func sharedKey(root string, flags []string, src string) (string, error) {
	file := os.Getenv(EnvShippedKeys)
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %v", EnvShippedKeys, err)
	}
	var f shippedKeysFile
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("%s %s: %v", EnvShippedKeys, file, err)
	}
	if f.Root != root || f.Arch != runtime.GOARCH || !slices.Equal(f.Flags, flags) {
		return "", nil
	}
	return f.Keys[src], nil
}

// Place makes bin's binary appear at path, as a hard link where the file
// system allows (a binary of tens of megabytes is not copied for each
// emulator), as a copy elsewhere.
func Place(bin, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	os.Remove(path) // a binary placed before
	if os.Link(bin, path) == nil {
		return nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o755)
}

// built holds the binaries Build built in this process, by package and the
// build's environment.
var built = struct {
	mu       sync.Mutex
	binaries map[string]*binary
}{binaries: map[string]*binary{}}

// binary is one package's bootstrap, once built.
type binary struct {
	mu  sync.Mutex
	bin string // its path in build/cache/functions
}
