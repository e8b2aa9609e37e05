package approval

import (
	"context"
	"encoding/json"
	"fmt"
)

// Invoker is the approval request function's handler: the workflow invokes it
// to request an approval (a payload with a task token) and, when the request
// times out, to expire it (a payload with the caught error).
type Invoker struct {
	// Requests files and announces approval requests.
	Requests *Requester
	// Approvals expires them.
	Approvals *Approvals
}

// Invoke dispatches on the payload's shape.
func (i Invoker) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		TaskToken string `json:"taskToken"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, &InputError{Reason: "the payload is not a JSON object: " + err.Error()}
	}
	if probe.TaskToken != "" {
		var in Request
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, &InputError{Reason: fmt.Sprintf("undecodable request: %v", err)}
		}
		return i.Requests.Handle(ctx, in)
	}
	var in Timeout
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, &InputError{Reason: fmt.Sprintf("undecodable timeout: %v", err)}
	}
	return i.Approvals.HandleTimeout(ctx, in)
}
