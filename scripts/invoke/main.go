// Command invoke is `make invoke`: it builds one of Highway's functions as it
// ships (for this machine), runs it under the Lambda Runtime Interface
// Emulator with every variable the CDK app sets, and invokes it with event
// files, one after the other, printing each answer. Nothing calls AWS: the
// ledger is a table of its own in DynamoDB Local, and every other service
// (STS, EventBridge, SNS, Secrets Manager, CodeCommit, CodeBuild, ECR, S3,
// CodePipeline, CloudFormation, SQS, SSM, Step Functions) is the wire-level
// fake of shared/awsfake, answering from the samples in events/.
//
//	invoke [-policy FILE] [-out DIR] [-check] FUNCTION EVENT-FILE...
//
// samples.go says which function each events/ file is meant for. The
// answers go to stdout, what the function logged and the AWS calls it made
// to stderr. The exit status is 1 when an invocation failed (the handler
// returned an error, or the function did not start), 2 on a usage error.
// scripts/services.sh invoke runs it with DynamoDB Local started
// (HIGHWAY_DYNAMODB_ENDPOINT) and the emulator installed (HIGHWAY_RIE).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

// Exit statuses.
const (
	exitFailed = 1 // an invocation failed
	exitUsage  = 2 // bad arguments, or not run through make invoke
)

// usage is the command line.
const usage = "usage: make invoke FUNCTION=<function> EVENT=\"<event file>...\" [POLICY=<policy file>]"

func main() {
	dynamoDB, rie := os.Getenv(localaws.EnvDynamoDB), os.Getenv(localaws.EnvRIE)
	forgetAWS()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], dynamoDB, rie, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// forgetAWS unsets the caller's AWS and Highway variables, which the
// emulator would pass on to the function: a profile, a session token or a
// service endpoint from the caller's shell must not send the function to
// AWS with the site's dummy credentials.
func forgetAWS() {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "HIGHWAY_") {
			os.Unsetenv(name)
		}
	}
}

// run is the command: args are its arguments, dynamoDB and rie what
// scripts/services.sh exports. It returns the exit status.
func run(ctx context.Context, args []string, dynamoDB, rie string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("invoke", flag.ContinueOnError)
	flags.SetOutput(stderr)
	policyFile := flags.String("policy", "", "the policy the function ships with (default infra/highway.yaml)")
	check := flags.Bool("check", false, "check the arguments, and do nothing else (no warnings)")
	out := flags.String("out", "", "the folder the function is built in, kept: the next build of the same function links only when something changed (default build/invoke)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, usage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return exitUsage
	}
	root, err := localaws.ModuleRoot()
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return exitUsage
	}
	warnings := stderr
	if *check {
		warnings = io.Discard // the run that follows warns
	}
	fn, files, err := parse(root, flags.Args(), warnings)
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return exitUsage
	}
	if *policyFile == "" {
		*policyFile = filepath.Join(root, "infra", "highway.yaml")
	}
	if _, err := policy.Load(*policyFile); err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return exitUsage
	}
	if *check {
		return 0
	}
	if dynamoDB == "" || rie == "" {
		fmt.Fprintf(stderr, "invoke: %s and %s are unset: run it with make invoke, which starts DynamoDB Local\n", localaws.EnvDynamoDB, localaws.EnvRIE)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if *out == "" {
		*out = filepath.Join(root, "build", "invoke")
	}
	bootstrap, err := build(root, fn, *out, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return exitFailed
	}
	s, err := newSite(ctx, root, *policyFile, dynamoDB)
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return exitFailed
	}
	defer s.Close()
	fmt.Fprintf(stderr, "invoke: %s under the Lambda RIE; ledger: table %s in DynamoDB Local (%s); every other AWS service: the wire-level fake at %s, answering from events/\n",
		fn, s.table, dynamoDB, s.fake.srv.URL())
	for _, f := range files {
		fmt.Fprintf(stderr, "invoke: %s ← %s\n", fn, f)
	}
	outcomes, log, err := s.invoke(ctx, rie, bootstrap, fn, files)
	for _, o := range outcomes {
		fmt.Fprintf(stdout, "%s\n", o.Answer)
	}
	if l := functionLog(log); l != "" {
		fmt.Fprint(stderr, "invoke: the function's log:\n", indent(l))
	}
	if calls := s.calls(); len(calls) > 0 {
		fmt.Fprint(stderr, "invoke: the AWS calls the function made:\n", indent(strings.Join(calls, "\n")))
	}
	for _, op := range s.fake.unanswered() {
		fmt.Fprintf(stderr, "invoke: the fake has no answer for %s: add one to scripts/invoke/answers.go\n", op)
	}
	if err != nil {
		fmt.Fprintln(stderr, "invoke:", err)
		return exitFailed
	}
	code := 0
	for _, o := range outcomes {
		if o.Failed != "" {
			fmt.Fprintf(stderr, "invoke: %s failed on %s: %s\n", fn, o.File, o.Failed)
			code = exitFailed
		}
	}
	if code == 0 {
		fmt.Fprintf(stderr, "invoke: %s answered %d event(s) without error\n", fn, len(outcomes))
	}
	return code
}

// parse checks the arguments: a function of functions/ and event files that
// hold JSON. It warns on warnings when a sample of events/ is meant for
// another function, and refuses a file that is an AWS answer.
func parse(root string, args []string, warnings io.Writer) (fn string, files []string, err error) {
	fns, err := functions(root)
	if err != nil {
		return "", nil, err
	}
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%s\nfunctions: %s", usage, strings.Join(fns, ", "))
	}
	fn, files = args[0], args[1:]
	if !slices.Contains(fns, fn) {
		return "", nil, fmt.Errorf("no function %q: one of %s", fn, strings.Join(fns, ", "))
	}
	if len(files) == 0 {
		var names []string
		for _, s := range samplesOf(fn) {
			names = append(names, "events/"+s.File)
		}
		return "", nil, fmt.Errorf("%s\n%s's samples: %s", usage, fn, strings.Join(names, " "))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return "", nil, fmt.Errorf("event file: %w", err)
		}
		if !json.Valid(raw) {
			return "", nil, fmt.Errorf("%s does not hold JSON", f)
		}
		name, inEvents := eventsName(root, f)
		if !inEvents {
			continue
		}
		if i := slices.IndexFunc(answers, func(a answer) bool { return a.File == name }); i >= 0 {
			return "", nil, fmt.Errorf("%s is not an event but AWS's answer to %s %s, which the fake serves", f, answers[i].Service, answers[i].Operation)
		}
		if s, ok := sampleNamed(name); ok && !slices.Contains(s.Functions, fn) {
			fmt.Fprintf(warnings, "invoke: %s is meant for %s, not %s (%s); sending it anyway\n", f, strings.Join(s.Functions, ", "), fn, s.Via)
		}
	}
	return fn, files, nil
}

// eventsName is file's path under root's events folder, if it is there.
func eventsName(root, file string) (string, bool) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(filepath.Join(root, "events"), abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// functions are the directories under functions/ with a main package.
func functions(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var fns []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			fns = append(fns, e.Name())
		}
	}
	return fns, nil
}

// indent indents every line of s by two spaces, and ends it with a newline.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
