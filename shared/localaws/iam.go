package localaws

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// IAMRequest is one request IAM would authorize, with the policies that
// decide it: the identity policies of the principal's role, and the session
// policy and resource policy when there are.
type IAMRequest struct {
	// Name tells the request apart in messages.
	Name string `json:"name"`
	// Principal is the ARN of the caller, for a role's session
	// arn:aws:sts::<account>:assumed-role/<role>/<session>.
	Principal string `json:"principal"`
	// Action is the IAM action, such as ecs:UpdateService.
	Action string `json:"action"`
	// Resource is the ARN the request acts on, or "*".
	Resource string `json:"resource"`
	// Account is the account that owns the resource.
	Account string `json:"account"`
	// Context holds the request's condition keys, such as
	// aws:PrincipalTag/<key> and aws:ResourceTag/<key>.
	Context map[string]any `json:"context,omitempty"`
	// IdentityPolicies are the policy documents of the principal, by name.
	IdentityPolicies []NamedPolicy `json:"identityPolicies"`
	// SessionPolicy is the session's policy document, if any.
	SessionPolicy any `json:"sessionPolicy,omitempty"`
	// ResourcePolicy is the resource's policy document, if any.
	ResourcePolicy any `json:"resourcePolicy,omitempty"`
}

// NamedPolicy is one policy document and its name.
type NamedPolicy struct {
	// Name names the policy in messages.
	Name string `json:"name"`
	// Policy is the document, as IAM reads it (intrinsics resolved).
	Policy any `json:"policy"`
}

// IAMDecision is IAM's answer to one request.
type IAMDecision struct {
	// Name is the request's.
	Name string `json:"name"`
	// Result is Allowed, ImplicitlyDenied, ExplicitlyDenied, or Error when the
	// simulator could not evaluate the request (Errors says why).
	Result string `json:"result"`
	// IgnoredContextKeys are the context keys that do not apply to the
	// action and resource type, by the Service Authorization Reference.
	IgnoredContextKeys []string `json:"ignoredContextKeys,omitempty"`
	// Errors explains a Result of Error.
	Errors string `json:"errors,omitempty"`
}

// Allowed reports whether IAM allows the request.
func (d IAMDecision) Allowed() bool { return d.Result == "Allowed" }

// SimulateIAM decides requests the way IAM does, with the npm package
// @cloud-copilot/iam-simulate (scripts/node, pinned), an IAM policy simulator
// written independently of Highway, which knows each action's resource types
// and condition keys from the Service Authorization Reference. The test skips
// when Node or the package is missing, or fails under make test.
func SimulateIAM(tb testing.TB, requests []IAMRequest) []IAMDecision {
	tb.Helper()
	root := moduleRoot(tb)
	script := filepath.Join(root, "scripts", "node", "iam-simulate.mjs")
	if _, err := os.Stat(filepath.Join(root, "scripts", "node", "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		missing(tb, "the npm package @cloud-copilot/iam-simulate (scripts/node; make setup installs it)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing(tb, "node")
	}
	in, err := json.Marshal(requests)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("iam-simulate: %v\n%s", err, stderr.Bytes())
	}
	var decisions []IAMDecision
	if err := json.Unmarshal(out, &decisions); err != nil {
		tb.Fatalf("iam-simulate answered %q: %v", out, err)
	}
	if len(decisions) != len(requests) {
		tb.Fatalf("iam-simulate answered %d requests of %d", len(decisions), len(requests))
	}
	return decisions
}

// missing skips the test for want of what, or fails it when services are
// required.
func missing(tb testing.TB, what string) {
	tb.Helper()
	if os.Getenv(EnvServices) == "required" {
		tb.Fatalf("%s is missing although %s=required", what, EnvServices)
	}
	tb.Skipf("%s is missing: run `make test`, which installs it", what)
}
