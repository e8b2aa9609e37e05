package localaws

import (
	"os"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
)

// Ship replaces the policy the site's functions ship with by p, as the CDK
// app writes it beside each function; functions deployed to the site later
// read it.
func (s *Site) Ship(tb testing.TB, p *policy.Policy) {
	tb.Helper()
	js, err := p.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(s.policyFile, js, 0o600); err != nil {
		tb.Fatal(err)
	}
	s.Policy = p
}
