package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// gateArgs are the flags of a gate eval of the checkout app, with the demo's
// real reports unless a test replaces them.
func gateArgs(extra ...string) []string {
	a := "../../events/artifacts/Xq7Rb2K/reports/"
	return append([]string{"--policy", "../../infra/highway.yaml", "--app", "checkout",
		"--junit", a + "junit/unit.xml", "--sarif", a + "gosec.sarif", "--coverage", a + "coverage.out"}, extra...)
}

// highway gate eval exits 0 on pass, 1 on fail, 2 on bad input or policy.
func TestGateEvalExitStatus(t *testing.T) {
	badPolicy := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badPolicy, []byte("version: 1\nhub: {acount: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	malformed := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(malformed, []byte("<testsuite><testcase"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		want     int
		wantText string
	}{
		{"passing reports", gateArgs(), 0, "Gate PASS"},
		{"critical CVEs", gateArgs("--sarif", "../../events/artifacts/Vn3Kp8Q/reports/trivy.sarif"), 1, "FAIL   security   3 critical (max 0)"},
		{"failed compile in the build event", gateArgs("--build-event", "../../events/codebuild-build-failed.json"), 1, "FAIL   compile    BUILD phase FAILED"},
		{"no reports: fail closed", []string{"--policy", "../../infra/highway.yaml", "--app", "checkout"}, 1, "no --junit given"},
		{"malformed report: explained, not a crash", gateArgs("--junit", malformed), 1, "unreadable"},
		{"missing report file", gateArgs("--junit", "nope.xml"), 2, ""},
		{"unknown app", []string{"--policy", "../../infra/highway.yaml", "--app", "billing"}, 2, ""},
		{"bad policy", []string{"--policy", badPolicy, "--app", "checkout"}, 2, ""},
		{"no app", []string{"--policy", "../../infra/highway.yaml"}, 2, ""},
		{"unknown flag", gateArgs("--colour"), 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := gateEval(&out, tt.args, time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC))
			if got := exitStatus(err); got != tt.want {
				t.Errorf("gate eval %v: exit status %d (%v), want %d\n%s", tt.args, got, err, tt.want, out.String())
			}
			if !strings.Contains(out.String(), tt.wantText) {
				t.Errorf("gate eval printed:\n%s\nwant it to contain %q", out.String(), tt.wantText)
			}
		})
	}
}

func TestGateEvalJSON(t *testing.T) {
	var out bytes.Buffer
	if err := gateEval(&out, gateArgs("--json"), time.Now()); err != nil {
		t.Fatal(err)
	}
	var d ledger.GateDecision
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatalf("--json printed %q: %v", out.String(), err)
	}
	if d.Verdict != ledger.VerdictPass || len(d.Checks) == 0 {
		t.Errorf("--json decision = %+v, want a pass with its checks", d)
	}
}
