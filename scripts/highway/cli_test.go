package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// Exit status 0 is success, 1 a failing verdict or a refusal, 2 a usage
// error or bad input, each with one line saying why.
func TestExitStatusAndMessages(t *testing.T) {
	hub := demoHub(t)
	const (
		promoted = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
		unknown  = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	)
	policyFile := []string{"--policy", "../../infra/highway.yaml"}
	tests := []struct {
		name    string
		args    []string
		status  int
		wantOut string // in stdout
		wantErr string // in stderr
	}{
		{"no command", nil, 2, "", "highway: no command given"},
		{"an unknown command", []string{"deploy"}, 2, "", `highway: unknown command "deploy": highway help lists the commands`},
		{"a group without its command", []string{"drift"}, 2, "", "highway: drift needs a subcommand: highway drift report [--json]"},
		{"an unknown command of a group", []string{"gate", "judge"}, 2, "", `unknown command "gate judge": highway gate eval --app NAME`},
		{"an unknown flag", []string{"incidents", "--colour"}, 2, "", "flag provided but not defined: -colour (highway incidents --help lists its flags)"},
		{"a bad flag value", []string{"incidents", "--since", "soon"}, 2, "", `invalid value "soon" for flag -since`},
		{"a negative window", append([]string{"incidents", "--since", "-1h"}, policyFile...), 2, "", "--since -1h0m0s: want a positive duration"},
		{"a missing argument", []string{"timeline"}, 2, "", "usage: highway timeline <commit SHA|sha256:DIGEST>"},
		{"timeline of a short commit", []string{"timeline", "9f4e2c1"}, 0, "approved  by ana.silva@example.com", "highway: the local hub"},
		{"timeline of a digest", []string{"timeline", promoted}, 0, "QUARANTINED", ""},
		{"timeline of neither", []string{"timeline", "xyz"}, 2, "", `highway: "xyz" is neither a commit SHA (7 to 40 hex digits) nor an artifact digest (sha256: and 64 hex digits)`},
		{"timeline of too short a SHA", []string{"timeline", "9f4e2c"}, 2, "", "is neither a commit SHA"},
		{"timeline of a short digest", []string{"timeline", "sha256:e648cabf"}, 2, "", "is neither a commit SHA"},
		{"timeline of a commit the ledger lacks", []string{"timeline", "abcdef1"}, 2, "", "highway: the hub's ledger holds no commit abcdef1"},
		{"timeline of a digest the ledger lacks", []string{"timeline", unknown}, 2, "", "highway: the hub's ledger holds nothing of " + unknown},
		{"dora of an unknown app", append([]string{"dora", "--app", "billing"}, policyFile...), 2, "", `--app "billing": ../../infra/highway.yaml has no such app (its apps: checkout`},
		{"dora of an unknown env of the app", append([]string{"dora", "--app", "checkout", "--env", "qa"}, policyFile...), 2, "",
			`--env "qa": app checkout has no such environment in ../../infra/highway.yaml (its environments: dev, staging, prod)`},
		{"dora of an env no app has", append([]string{"dora", "--env", "qa"}, policyFile...), 2, "", `--env "qa": no app of ../../infra/highway.yaml has such an environment`},
		{"dora of one environment", append([]string{"dora", "--app", "checkout", "--env", "prod"}, policyFile...), 0, "checkout/prod      7d", ""},
		{"dora's page in a folder that does not exist", append([]string{"dora", "--html", "/nonexistent/dora.html"}, policyFile...), 2, "",
			"cannot write /nonexistent/dora.html: folder /nonexistent does not exist"},
		{"quarantine of a malformed digest", []string{"quarantine", "sha256:e648", "--reason", "x"}, 2, "", `"sha256:e648" is not an artifact digest: want sha256: and 64 hex digits`},
		{"quarantine of a digest the ledger never saw", []string{"quarantine", unknown, "--reason", "x"}, 2, "", "the hub's ledger has no artifact " + unknown + ": nothing to quarantine"},
		{"quarantine without a reason", []string{"quarantine", promoted}, 2, "", "a quarantine needs --reason"},
		{"quarantine of a quarantined artifact", []string{"quarantine", promoted, "--reason", "x"}, 0, promoted + " was quarantined already: alarm checkout-prod-5xx", ""},
		{"approve of a request that does not exist", []string{"approve", "--as", "lee.chen@example.com", "apr-x"}, 2, "", "approval: no such request: apr-x"},
		{"approve without an approver", []string{"approve", "apr-1"}, 2, "", "who decides? give --as EMAIL (or set HIGHWAY_APPROVER)"},
		{"reject without a reason", []string{"reject", "apr-1", "--as", "ana@example.com"}, 2, "", "a rejection needs --reason"},
		{"promote of a quarantined artifact", append([]string{"promote", "--app", "checkout", "--env", "prod", "--digest", promoted}, policyFile...), 1, "",
			"refused: artifact quarantined: " + promoted},
		{"nag without reports", []string{"nag", t.TempDir()}, 2, "", "no cdk-nag reports in"},
		{"nag with an unsuppressed error", []string{"nag", "testdata/nag-fail"}, 1, "1 errors", "1 unsuppressed cdk-nag errors"},
		{"nag passing", []string{"nag", "testdata/nag-ok"}, 0, "cdk-nag: 0 unsuppressed errors", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := highway(t, hub, tt.args...)
			if r.status != tt.status {
				t.Errorf("highway %v: exit status %d, want %d\n%s%s", tt.args, r.status, tt.status, r.out, r.errOut)
			}
			if !strings.Contains(r.out, tt.wantOut) {
				t.Errorf("highway %v printed\n%s\nwant %q", tt.args, r.out, tt.wantOut)
			}
			if !strings.Contains(r.errOut, tt.wantErr) {
				t.Errorf("highway %v: stderr %q, want %q", tt.args, r.errOut, tt.wantErr)
			}
			why := 0
			for _, line := range strings.Split(r.errOut, "\n") {
				if strings.HasPrefix(line, "highway: ") && !strings.HasPrefix(line, "highway: the local hub") {
					why++
				}
			}
			if r.status != 0 && why != 1 {
				t.Errorf("highway %v: stderr %q, want one line saying why", tt.args, r.errOut)
			}
		})
	}
}

// The demo's approval was decided there: deciding it again says by whom, and
// a request left waiting is refused, since no workflow runs on the local hub.
func TestDecisionsOnTheLocalHub(t *testing.T) {
	hub := demoHub(t)
	f, err := ledger.OpenFile(hub)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := decidedApproval(context.Background(), f, promoted)
	if err != nil || id == "" {
		t.Fatalf("the demo's approval request: %q, %v", id, err)
	}
	at := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	waiting := &ledger.ApprovalRequest{Header: ledger.Header{ID: "apr-waiting", App: "checkout", Env: "prod", Digest: "sha256:ab", At: at},
		PromotionID: "prm-1", TaskToken: "token-1", Approvers: []string{"ana.silva@example.com"}, Quorum: 1, Expires: at.Add(24 * time.Hour), Status: ledger.ApprovalWaiting}
	if err := f.Put(context.Background(), waiting); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		status  int
		wantErr string
	}{
		{[]string{"approve", id, "--as", "lee.chen@example.com"}, 1, "approval: request already decided: " + id + " approved by ana.silva@example.com"},
		{[]string{"reject", id, "--as", "lee.chen@example.com", "--reason", "too late"}, 1, "already decided"},
		{[]string{"approve", "apr-waiting", "--as", "ana.silva@example.com"}, 1, "approval apr-waiting waits for a workflow the local hub does not run: decide it on the deployed hub"},
	}
	for _, tt := range tests {
		r := highway(t, hub, tt.args...)
		if r.status != tt.status || !strings.Contains(r.errOut, tt.wantErr) {
			t.Errorf("highway %v: exit status %d, stderr %q; want %d and %q", tt.args, r.status, r.errOut, tt.status, tt.wantErr)
		}
	}
	again, err := ledger.OpenFile(hub)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := again.Latest(context.Background(), ledger.KindApprovalRequest, "apr-waiting")
	if req, ok := rec.(*ledger.ApprovalRequest); err != nil || !ok || req.Status != ledger.ApprovalWaiting || len(req.Approved) != 0 {
		t.Errorf("the waiting request after the refusal: %+v, %v; want it untouched", rec, err)
	}
}

// The commands that act on the local hub write to it, at the scenario's
// time, and what they wrote is there for the next command.
func TestQuarantineOnTheLocalHub(t *testing.T) {
	hub := demoHub(t)
	const digest = "sha256:5d2c8e1f4a7b0c3e6d9f2a5b8c1e4d7a0b3f6c9e2d5a8b1c4f7e0a3d6b9c2f5e" // last week's release
	r := highway(t, hub, "quarantine", digest, "--reason", "CVE-2026-1234 found after release")
	if r.status != 0 || !strings.Contains(r.out, digest+" is quarantined") || !strings.Contains(r.out, `would publish "Artifact Quarantined"`) {
		t.Fatalf("quarantine: exit status %d\n%s%s", r.status, r.out, r.errOut)
	}
	r = highway(t, hub, "timeline", digest)
	if !strings.Contains(r.out, "QUARANTINED") {
		t.Errorf("the next command does not see the quarantine:\n%s", r.out)
	}
	r = highway(t, hub, "quarantine", digest, "--reason", "again")
	if r.status != 0 || !strings.Contains(r.out, "was quarantined already: quarantined by hand: CVE-2026-1234 found after release") {
		t.Errorf("quarantine again: exit status %d\n%s%s", r.status, r.out, r.errOut)
	}
}

func TestNoHub(t *testing.T) {
	hub := filepath.Join(t.TempDir(), "highway-local.json")
	for _, args := range [][]string{{"timeline", "9f4e2c1"}, {"incidents", "--policy", "../../infra/highway.yaml"}, {"drift", "report"}} {
		r := highway(t, hub, args...)
		want := "highway: no hub: set HIGHWAY_TABLE to a deployed hub's ledger table (with AWS_REGION and AWS credentials), or run make demo to leave a local hub in " + hub + "\n"
		if r.status != 2 || r.errOut != want {
			t.Errorf("highway %v without a hub: exit status %d, stderr %q; want 2 and %q", args, r.status, r.errOut, want)
		}
	}
}

// --json prints the same shape whatever there is: a list, [] when empty.
func TestJSONIsAlwaysAList(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "highway-local.json")
	if err := os.WriteFile(empty, []byte(`{"items":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	full := demoHub(t)
	l, err := ledger.OpenFile(full)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := l.CurrentDriftReports(context.Background())
	if err != nil || len(reports) == 0 {
		t.Fatalf("the demo's drift reports: %d, %v", len(reports), err)
	}
	tests := []struct {
		hub  string
		args []string
		want int
	}{
		{empty, []string{"incidents", "--json", "--policy", "../../infra/highway.yaml"}, 0},
		{empty, []string{"incidents", "--json", "--open", "--policy", "../../infra/highway.yaml"}, 0},
		{empty, []string{"drift", "report", "--json"}, 0},
		{full, []string{"incidents", "--json", "--policy", "../../infra/highway.yaml"}, 1},
		{full, []string{"drift", "report", "--json"}, len(reports)},
	}
	for _, tt := range tests {
		r := highway(t, tt.hub, tt.args...)
		var list []map[string]any
		if err := json.Unmarshal([]byte(r.out), &list); err != nil || list == nil || len(list) != tt.want {
			t.Errorf("highway %v: exit status %d, printed %q (%v); want a JSON list of %d", tt.args, r.status, r.out, err, tt.want)
		}
	}
}

// Every command explains itself with --help, -h and help COMMAND, on stdout,
// exit status 0, whatever the environment holds: nothing is read or called.
func TestHelpNeedsNothing(t *testing.T) {
	t.Setenv(function.EnvTable, "a-table-that-is-not-read")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_REGION", "")
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := highway(t, "", args...)
		if r.status != 0 || r.errOut != "" || r.out != usage() {
			t.Errorf("highway %v: exit status %d, stderr %q; want 0 and the usage on stdout", args, r.status, r.errOut)
		}
	}
	for _, cmd := range commands {
		name := strings.Fields(cmd.name)
		for _, args := range [][]string{append(name, "--help"), append(name, "-h"), append([]string{"help"}, name...)} {
			r := highway(t, "", args...)
			if r.status != 0 || r.errOut != "" || !strings.HasPrefix(r.out, "usage: highway "+cmd.synopsis+"\n") {
				t.Errorf("highway %v: exit status %d, stderr %q, printed\n%s\nwant 0 and its usage", args, r.status, r.errOut, r.out)
			}
		}
	}
}

// Every command refuses arguments it does not take, naming them.
func TestExtraArgumentsAreRefused(t *testing.T) {
	for _, cmd := range commands {
		args := strings.Fields(cmd.name)
		for range cmd.maxArgs {
			args = append(args, "9f4e2c1")
		}
		args = append(args, "surplus")
		r := highway(t, "", args...)
		want := "highway: unexpected argument surplus: usage: highway " + cmd.synopsis + "\n"
		if r.status != 2 || r.errOut != want || r.out != "" {
			t.Errorf("highway %v: exit status %d, stderr %q; want 2 and %q", args, r.status, r.errOut, want)
		}
	}
}

// The usage shows each command's flags, no more, no fewer.
func TestUsageShowsEveryFlag(t *testing.T) {
	for _, cmd := range commands {
		if got, want := flagsIn(cmd.synopsis), flagsOf(cmd); !slices.Equal(got, want) {
			t.Errorf("the usage of %s shows flags %v, it has %v", cmd.name, got, want)
		}
	}
}

// The README's table of the local command's commands lists every command and
// every flag the binary has, and nothing it has not.
func TestREADMEListsEveryCommandAndFlag(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `highway ([a-z]+(?: [a-z]+)*)(?: [^`]*)?` \\|([^|]*)\\|")
	readme := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		readme[m[1]] = flagsIn(m[2])
	}
	want := map[string][]string{"help": nil}
	for _, cmd := range commands {
		want[cmd.name] = flagsOf(cmd)
	}
	for name, flags := range want {
		got, ok := readme[name]
		switch {
		case !ok:
			t.Errorf("the README's table of commands lacks highway %s", name)
		case !slices.Equal(got, flags):
			t.Errorf("the README lists the flags %v for highway %s, it has %v", got, name, flags)
		}
	}
	for name := range readme {
		if _, ok := want[name]; !ok {
			t.Errorf("the README lists highway %s, which is no command", name)
		}
	}
}

// flagsIn returns the --flags text names, sorted, each once.
func flagsIn(text string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(text, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// flagsOf returns the names of cmd's flags, sorted.
func flagsOf(cmd command) []string {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.define(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// A deployed hub that cannot be reached says what to set, in one sentence.
func TestDeployedHubSaysWhatToSet(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no region", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
			"highway: HIGHWAY_TABLE names a deployed hub, but no AWS region is set: set AWS_REGION to the hub's region\n"},
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true"},
			"highway: HIGHWAY_TABLE names a deployed hub, but no AWS credentials were found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or unset HIGHWAY_TABLE to use the local hub\n"},
		{"a profile that does not exist", map[string]string{"AWS_REGION": "eu-west-1", "AWS_PROFILE": "nope"},
			"highway: HIGHWAY_TABLE names a deployed hub, but the AWS configuration does not load (failed to get shared config profile, nope): check AWS_PROFILE and AWS_CONFIG_FILE\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(function.EnvTable, "highway-ledger")
			for _, name := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
				"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
				t.Setenv(name, "")
			}
			t.Setenv("AWS_CONFIG_FILE", none)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := highway(t, "", "drift", "report")
			if r.status != 2 || r.errOut != tt.want {
				t.Errorf("highway drift report: exit status %d, stderr %q; want 2 and %q", r.status, r.errOut, tt.want)
			}
		})
	}
}

// Against DynamoDB Local, a table that does not exist is named, and one that
// does is read, without a word about the local hub.
func TestDeployedHub(t *testing.T) {
	client := localaws.DynamoDB(t)
	table := localaws.LedgerTable(t, client)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", os.Getenv(localaws.EnvDynamoDB))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "highway")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")

	t.Setenv(function.EnvTable, "no-such-table")
	r := highway(t, "", "drift", "report")
	want := "highway: the hub's ledger table no-such-table does not exist in this account and region: set HIGHWAY_TABLE to the table the hub stack made, and AWS_REGION to its region\n"
	if r.status != 2 || r.errOut != want {
		t.Errorf("highway drift report on a missing table: exit status %d, stderr %q; want 2 and %q", r.status, r.errOut, want)
	}

	t.Setenv(function.EnvTable, table)
	r = highway(t, "", "drift", "report", "--json")
	if r.status != 0 || r.out != "[]\n" || r.errOut != "" {
		t.Errorf("highway drift report --json on an empty table: exit status %d, printed %q, stderr %q; want 0, [] and nothing", r.status, r.out, r.errOut)
	}
}
