// Package stacks is Highway's CDK app: the hub stack, one stack per spoke, and
// one construct per capability, checked by cdk-nag on every synth.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/highwayhq/highway/shared/policy"
)

// Props configures the whole app.
type Props struct {
	// Policy is the validated policy.
	Policy *policy.Policy
	// BuildDir holds <function>/bootstrap for every function (make build).
	BuildDir string
}

// Highway is the synthesizable app: the hub and its spokes.
type Highway struct {
	// Hub is the hub with its capabilities.
	Hub *Hub
	// Spokes are the spoke stacks, in the order of policy.Spokes.
	Spokes []awscdk.Stack
}

// Capabilities are Highway's capabilities, each one construct, in the order they
// are added to the hub.
func Capabilities() []Capability {
	return []Capability{
		newPushRecording,
		newGating,
		newPromotion,
		newDrift,
		newRespond,
		newDORA,
	}
}

// New adds the hub and every spoke of props.Policy to scope (the app), and the
// cdk-nag packs that check them.
func New(scope constructs.Construct, props Props) (*Highway, error) {
	hub, err := NewHub(scope, HubProps{
		Policy:       props.Policy,
		BuildDir:     props.BuildDir,
		Capabilities: Capabilities(),
	})
	if err != nil {
		return nil, err
	}
	h := &Highway{Hub: hub}
	withRoles := map[string]bool{}
	for _, s := range props.Policy.Spokes() {
		stack, err := NewSpoke(scope, SpokeProps{
			Policy:    props.Policy,
			Spoke:     s,
			WithRoles: !withRoles[s.Account],
		})
		if err != nil {
			return nil, err
		}
		h.Spokes = append(h.Spokes, stack)
		withRoles[s.Account] = true
	}
	checkCompliance(scope)
	return h, nil
}
