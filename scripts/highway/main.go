// Command highway is Highway's local command: it judges report files with an
// app's gate, replays the sample scenario with the functions' handlers
// in-process (with a ledger of its own and the local router, without an AWS
// account), and reads and acts on a hub's ledger: a deployed hub's
// ($HIGHWAY_TABLE), or the local hub the demo leaves. Run `highway help` for
// its commands.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/policy"
)

func main() {
	// Handlers log as they do in Lambda; here only warnings (ignored events) matter.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c := &cli{out: os.Stdout, errOut: os.Stderr, now: time.Now, localHub: localHubFile}
	os.Exit(c.main(context.Background(), os.Args[1:]))
}

// cli is one run of the command: where it prints, its clock, and where the
// local hub is.
type cli struct {
	out, errOut io.Writer
	now         func() time.Time
	localHub    string // the demo's ledger file, read when $HIGHWAY_TABLE is unset
	deployed    string // the table of the deployed hub the command opened, if any
}

// main runs the command args name, says on stderr why it failed, if it did
// and has not said so, and returns the process's exit status.
func (c *cli) main(ctx context.Context, args []string) int {
	err := c.run(ctx, args)
	var code exitCode
	if err != nil && !errors.As(err, &code) {
		fmt.Fprintln(c.errOut, "highway:", err)
	}
	return exitStatus(err)
}

// errBadInput marks errors that exit 2: a usage error, or input the command
// could not act on at all.
var errBadInput = errors.New("bad input")

// inputError is an error of bad input: it says what is wrong, and is
// errBadInput.
type inputError struct{ err error }

func (e inputError) Error() string   { return e.err.Error() }
func (e inputError) Unwrap() []error { return []error{errBadInput, e.err} }

// badInput is an error of bad input (exit status 2), formatted as by
// fmt.Errorf.
func badInput(format string, a ...any) error { return inputError{fmt.Errorf(format, a...)} }

// exitCode is an error carrying the process's exit status, for a command that
// has said why already (a failing verdict is 1).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exitStatus is the process's exit status for run's error: 0 on success, the
// status an exitCode carries, 2 for bad input, 1 for anything else.
func exitStatus(err error) int {
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, errBadInput):
		return 2
	}
	return 1
}

// command is one of highway's commands: how it is typed, what it does, and
// what runs it once its flags are parsed.
type command struct {
	name     string // as typed: "timeline", "gate eval"
	synopsis string // its arguments and flags, as the usage shows them
	about    string // what it does, in a line or two
	details  string // more, for its --help
	// minArgs and maxArgs bound its positional arguments.
	minArgs, maxArgs int
	// define defines its flags on fs and returns what runs it.
	define func(fs *flag.FlagSet) action
}

// action runs a command with its positional arguments, its flags parsed.
type action func(ctx context.Context, c *cli, args []string) error

// commands are highway's commands, in the order the usage lists them.
var commands = []command{
	demoCommand,
	gateEvalCommand,
	timelineCommand,
	incidentsCommand,
	doraCommand,
	driftReportCommand,
	driftTerraformCommand,
	approveCommand,
	rejectCommand,
	quarantineCommand,
	promoteCommand,
	nagCommand,
}

// usage is the list of commands, as `highway help` prints it.
func usage() string {
	var b strings.Builder
	b.WriteString(`usage: highway <command> [arguments] [flags]

Highway's local command. The commands that read or act on a hub use the
deployed hub $HIGHWAY_TABLE names (with your AWS credentials) or, when it is
unset, the local hub make demo leaves in ` + localHubFile + `.

commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(&b, "  %s\n          %s\n", cmd.synopsis, strings.ReplaceAll(cmd.about, "\n", "\n          "))
	}
	b.WriteString(`  help [COMMAND]
          this list, or a command's arguments and flags

Exit status: 0 success, 1 a failing verdict or a failure, 2 a usage error or
bad input. Run highway <command> --help for a command's flags.
`)
	return b.String()
}

// run runs the command args name.
func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.errOut, usage())
		return badInput("no command given")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 1 || args[0] != "help" {
			_, err := io.WriteString(c.out, usage())
			return err
		}
		cmds, rest, _, err := lookup(args[1:])
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return badInput("unexpected %s: usage: highway help [COMMAND]", strings.Join(rest, " "))
		}
		return c.help(cmds)
	}
	cmds, rest, group, err := lookup(args)
	if err != nil {
		return err
	}
	if group {
		if len(rest) > 0 && isHelp(rest[0]) {
			return c.help(cmds)
		}
		return badInput("%s needs a subcommand: %s", args[0], synopses(cmds))
	}
	cmd := cmds[0]
	fs := flag.NewFlagSet("highway "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	act := cmd.define(fs)
	positional, err := parse(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		return c.help(cmds)
	}
	if err != nil {
		return badInput("%v (highway %s --help lists its flags)", err, cmd.name)
	}
	switch {
	case len(positional) > cmd.maxArgs:
		extra, word := positional[cmd.maxArgs:], "argument"
		if len(extra) > 1 {
			word += "s"
		}
		return badInput("unexpected %s %s: usage: highway %s", word, strings.Join(extra, " "), cmd.synopsis)
	case len(positional) < cmd.minArgs:
		return badInput("usage: highway %s", cmd.synopsis)
	}
	err = act(ctx, c, positional)
	if c.deployed != "" {
		err = deployedHubError(err, c.deployed)
	}
	return err
}

// lookup finds the command args name, and returns the arguments after its
// name. A group's name without one of its commands (gate, drift) returns the
// group's commands, and group true.
func lookup(args []string) (cmds []command, rest []string, group bool, err error) {
	for _, cmd := range commands {
		words := strings.Fields(cmd.name)
		if len(args) >= len(words) && slices.Equal(words, args[:len(words)]) {
			return []command{cmd}, args[len(words):], false, nil
		}
		if len(words) > 1 && words[0] == args[0] {
			cmds = append(cmds, cmd)
		}
	}
	switch {
	case len(cmds) > 0 && (len(args) == 1 || strings.HasPrefix(args[1], "-")):
		return cmds, args[1:], true, nil
	case len(cmds) > 0:
		return nil, nil, false, badInput("unknown command %q: %s", strings.Join(args[:2], " "), synopses(cmds))
	}
	return nil, nil, false, badInput("unknown command %q: highway help lists the commands", args[0])
}

// synopses lists commands as `highway <synopsis>`, separated by "; ".
func synopses(cmds []command) string {
	var s []string
	for _, cmd := range cmds {
		s = append(s, "highway "+cmd.synopsis)
	}
	return strings.Join(s, "; ")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return slices.Contains([]string{"-h", "-help", "--help"}, arg) }

// help prints the usage, details and flags of cmds.
func (c *cli) help(cmds []command) error {
	for i, cmd := range cmds {
		if i > 0 {
			fmt.Fprintln(c.out)
		}
		fmt.Fprintf(c.out, "usage: highway %s\n\n%s\n", cmd.synopsis, cmd.about)
		if cmd.details != "" {
			fmt.Fprintf(c.out, "\n%s", cmd.details)
		}
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.define(fs)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(c.out, "\nflags:")
			fs.SetOutput(c.out)
			fs.PrintDefaults()
		}
	}
	return nil
}

// parse parses args with fs, flags and positional arguments in any order
// (`approve ID --as EMAIL` as well as `approve --as EMAIL ID`), and returns
// the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
}

// defaultPolicy is the policy file the commands read unless told otherwise.
const defaultPolicy = "infra/highway.yaml"

// loadPolicy loads the policy file; one that does not load is bad input.
func loadPolicy(file string) (*policy.Policy, error) {
	p, err := policy.Load(file)
	if err != nil {
		return nil, badInput("%v", err)
	}
	return p, nil
}

// writeJSON prints v as indented JSON.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil is s, or an empty list when s is nil: JSON output is always a list.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writable checks that file can be written: its folder exists and takes a
// new file, and file itself is not a folder.
func writable(file string) error {
	dir := filepath.Dir(file)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return badInput("cannot write %s: folder %s does not exist", file, dir)
	}
	if st, err := os.Stat(file); err == nil {
		if st.IsDir() {
			return badInput("cannot write %s: it is a folder", file)
		}
		f, err := os.OpenFile(file, os.O_WRONLY, 0)
		if err != nil {
			return badInput("cannot write %s: %v", file, errors.Unwrap(err))
		}
		return f.Close()
	}
	probe, err := os.CreateTemp(dir, ".highway-write-check-*")
	if err != nil {
		return badInput("cannot write %s: folder %s is not writable", file, dir)
	}
	probe.Close()
	return os.Remove(probe.Name())
}
