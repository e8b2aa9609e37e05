package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/tasktoken"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

var approveCommand = command{
	name:     "approve",
	synopsis: "approve APPROVAL-ID --as EMAIL [--reason TEXT]",
	about: `decide a production approval as its signed links do (on a deployed hub
also $HIGHWAY_TOPIC); the local hub's requests were decided in the demo`,
	minArgs: 1, maxArgs: 1,
	define: decideFlags(approval.ActionApprove),
}

var rejectCommand = command{
	name:     "reject",
	synopsis: "reject APPROVAL-ID --as EMAIL --reason TEXT",
	about:    "reject a production approval, saying why (as approve)",
	minArgs:  1, maxArgs: 1,
	define: decideFlags(approval.ActionReject),
}

// envApprover is the approver deciding, when --as does not say.
const envApprover = "HIGHWAY_APPROVER"

// decider decides an approval request, as the approval links do.
type decider func(ctx context.Context, approvalID, approver string, action approval.Action, reason string) (approval.Result, error)

// decideFlags defines the flags of approve and reject: an operator's
// decision, recorded and acted on like a link's, without the link (the
// operator holds AWS credentials already).
func decideFlags(act approval.Action) func(*flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		as := fs.String("as", "", "the approver deciding, as the policy lists them (default $"+envApprover+")")
		reason := fs.String("reason", "", "why (required to reject)")
		return func(ctx context.Context, c *cli, args []string) error {
			approver := cmp.Or(*as, os.Getenv(envApprover))
			if approver == "" {
				return badInput("who decides? give --as EMAIL (or set %s)", envApprover)
			}
			if act == approval.ActionReject && strings.TrimSpace(*reason) == "" {
				return badInput("a rejection needs --reason")
			}
			d, err := c.decider(ctx)
			if err != nil {
				return err
			}
			return decide(ctx, c.out, d, args[0], approver, act, *reason)
		}
	}
}

// decide has approver decide on the request approvalID with d, and prints
// where its promotion stands. An id that names no request is bad input.
func decide(ctx context.Context, out io.Writer, d decider, approvalID, approver string, act approval.Action, reason string) error {
	res, err := d(ctx, approvalID, approver, act, reason)
	if errors.Is(err, approval.ErrUnknownRequest) {
		return badInput("%v", err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s/%s promotion %s: %s (%d of %d approvals: %s)\n", res.App, res.Env, res.PromotionID, res.Status,
		len(res.Approved), res.Quorum, strings.Join(res.Approved, ", "))
	return err
}

// decider decides on the hub: on a deployed one, through its ledger table,
// Step Functions and the notification topic $HIGHWAY_TOPIC names; on the
// local one, through its ledger, printing what it would notify.
func (c *cli) decider(ctx context.Context) (decider, error) {
	topicARN := os.Getenv(function.EnvTopic)
	if os.Getenv(function.EnvTable) != "" && topicARN == "" {
		return nil, badInput("set %s to the hub's notification topic, beside %s", function.EnvTopic, function.EnvTable)
	}
	h, err := c.openHub(ctx)
	if err != nil {
		return nil, err
	}
	if h.local == "" {
		return approval.New(h.ledger, tasktoken.Sender{API: sfn.NewFromConfig(h.cfg)}, sns.NewFromConfig(h.cfg), topicARN).Decide, nil
	}
	// The demo's workflows ended with it: a request decided there is
	// answered as decided, and none can be left waiting, since nothing
	// starts a workflow on the local hub; the tasks are never resumed.
	a := approval.New(h.ledger, nil, topic{c.out}, localTopic, approval.WithClock(h.now))
	return func(ctx context.Context, id, approver string, act approval.Action, reason string) (approval.Result, error) {
		if rec, err := h.ledger.Latest(ctx, ledger.KindApprovalRequest, id); err == nil {
			if req, ok := rec.(*ledger.ApprovalRequest); ok && req.Status == ledger.ApprovalWaiting {
				return approval.Result{}, fmt.Errorf("approval %s waits for a workflow the local hub does not run: decide it on the deployed hub", id)
			}
		}
		return a.Decide(ctx, id, approver, act, reason)
	}, nil
}
