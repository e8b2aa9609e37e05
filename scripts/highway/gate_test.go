package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	const build = "../../events/codebuild-build-succeeded.json"
	tests := []struct {
		name     string
		args     []string
		want     int
		wantText string // in stdout, or stderr on exit status 2
	}{
		{"passing reports", gateArgs(), 0, "Gate PASS"},
		{"critical CVEs", gateArgs("--sarif", "../../events/artifacts/Vn3Kp8Q/reports/trivy.sarif"), 1, "FAIL   security   3 critical (max 0)"},
		{"failed compile in the build event", gateArgs("--build-event", "../../events/codebuild-build-failed.json"), 1, "FAIL   compile    BUILD phase FAILED"},
		{"no reports: fail closed, saying what to pass", []string{"--policy", "../../infra/highway.yaml", "--app", "checkout"}, 1,
			"FAIL   tests      no test report given: pass --junit\n"},
		{"a passing build without its image scan", gateArgs("--build-event", build), 1,
			"FAIL   security   within limits: 0 critical, 0 high, 0 medium, 0 low; no image scan given: pass --image-scan or set security.image: false [../../events/artifacts/Xq7Rb2K/reports/gosec.sarif]\n"},
		{"a passing build with its scan event", gateArgs("--build-event", build, "--image-scan", "../../events/ecr-image-scan.json"), 0,
			"PASS   security   within limits: 0 critical, 0 high, 4 medium, 9 low [../../events/artifacts/Xq7Rb2K/reports/gosec.sarif, ../../events/ecr-image-scan.json]"},
		{"a build with its DescribeImageScanFindings answer", gateArgs("--build-event", build, "--image-scan", "testdata/describe-image-scan-findings.json"), 1,
			"FAIL   security   1 critical (max 0): 1 in the image scan [../../events/artifacts/Xq7Rb2K/reports/gosec.sarif, testdata/describe-image-scan-findings.json]"},
		{"an image scan without a build event", gateArgs("--image-scan", "testdata/describe-image-scan-findings.json"), 1, "1 in the image scan"},
		{"the scan of another image", gateArgs("--build-event", build, "--image-scan", "../../events/ecr-image-scan-c3a97e0.json"), 2,
			"is a scan of sha256:1d9a4f7c2e5b8a0d3f6c9e2b5a8d1f4c7e0b3a6d9c2f5e8b1a4d7c0f3e6b9a2d, but the build's image is sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"},
		{"an image scan that is not one", gateArgs("--build-event", build, "--image-scan", build), 2, `is not an "ECR Image Scan" event`},
		{"an image scan file that is not a scan", gateArgs("--image-scan", "../../infra/highway.yaml"), 2, "--image-scan ../../infra/highway.yaml:"},
		{"a missing image scan file", gateArgs("--image-scan", "nope.json"), 2, "--image-scan: open nope.json: no such file or directory"},
		{"malformed report: explained, not a crash", gateArgs("--junit", malformed), 1, "unreadable"},
		{"missing report file", gateArgs("--junit", "nope.xml"), 2, "--junit: open nope.xml: no such file or directory"},
		{"unknown app", []string{"--policy", "../../infra/highway.yaml", "--app", "billing"}, 2, `app "billing" has no gate in ../../infra/highway.yaml`},
		{"bad policy", []string{"--policy", badPolicy, "--app", "checkout"}, 2, "bad.yaml:2"},
		{"no app", []string{"--policy", "../../infra/highway.yaml"}, 2, "--app is required"},
		{"unknown flag", gateArgs("--colour"), 2, "flag provided but not defined: -colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := highway(t, "", append([]string{"gate", "eval"}, tt.args...)...)
			if r.status != tt.want {
				t.Errorf("gate eval %v: exit status %d, want %d\n%s%s", tt.args, r.status, tt.want, r.out, r.errOut)
			}
			printed := r.out
			if tt.want == 2 {
				printed = r.errOut
			}
			if !strings.Contains(printed, tt.wantText) {
				t.Errorf("gate eval printed:\n%s\nwant it to contain %q", printed, tt.wantText)
			}
		})
	}
}

func TestGateEvalJSON(t *testing.T) {
	r := highway(t, "", append([]string{"gate", "eval"}, gateArgs("--json")...)...)
	var d ledger.GateDecision
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("--json printed %q: %v", r.out, err)
	}
	if r.status != 0 || d.Verdict != ledger.VerdictPass || len(d.Checks) == 0 {
		t.Errorf("--json: exit status %d, decision %+v; want a pass with its checks", r.status, d)
	}
}
