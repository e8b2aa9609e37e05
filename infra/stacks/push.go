package stacks

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/route"
)

// newPushRecording records every CodeCommit branch push in the ledger, where build
// gating and lead time start: the push function, its rules, read/write access to
// the ledger, and the right to announce each commit on the bus. It reads each
// commit (author, time) from the app's repository through the commits access
// role of its delivery account. The pushes of apps built from GitHub arrive
// through the webhook function's URL (newGitHubWebhook).
func newPushRecording(hub *Hub) error {
	scope := constructs.NewConstruct(hub.Stack, jsii.String("PushRecording"))
	fn, err := hub.Function(scope, route.FunctionPush, FunctionProps{
		Description: "Highway: records CodeCommit branch pushes in the ledger.",
	})
	if err != nil {
		return err
	}
	hub.GrantLedgerReadWrite(fn)
	hub.Bus.GrantPutEventsTo(fn, nil)
	if err := hub.actsThrough(scope, accessCommits, fn); err != nil {
		return err
	}
	if err := newGitHubWebhook(scope, hub); err != nil {
		return err
	}
	return hub.Route(scope, route.FunctionPush, fn)
}
