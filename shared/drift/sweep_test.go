package drift

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/highwayhq/highway/shared/awsfake"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/111111111111/highway-drift"

// fakeQueue answers SendMessageBatch like SQS and keeps the bodies it
// accepted. fail decides, per call (from 1) and entry id, whether SQS fails
// that entry: "" accepts it, "sender" refuses it as the sender's fault, any
// other value fails it on SQS's side.
type fakeQueue struct {
	mu      sync.Mutex
	bodies  []string
	batches []int
	fail    func(call int, id string) string
}

func (q *fakeQueue) serve(srv *awsfake.Server) {
	srv.OnFunc("SendMessageBatch", func(r awsfake.Request) awsfake.Response {
		var in struct {
			QueueURL string `json:"QueueUrl"`
			Entries  []struct {
				ID          string `json:"Id"`
				MessageBody string `json:"MessageBody"`
			} `json:"Entries"`
		}
		if err := r.DecodeJSON(&in); err != nil || in.QueueURL != queueURL {
			return awsfake.APIError(400, "InvalidAddress", fmt.Sprintf("bad request: %v %q", err, in.QueueURL))
		}
		type ok struct {
			ID        string `json:"Id"`
			MessageID string `json:"MessageId"`
			MD5       string `json:"MD5OfMessageBody"`
		}
		type failed struct {
			ID          string `json:"Id"`
			SenderFault bool   `json:"SenderFault"`
			Code        string `json:"Code"`
			Message     string `json:"Message"`
		}
		out := struct {
			Successful []ok     `json:"Successful"`
			Failed     []failed `json:"Failed"`
		}{Successful: []ok{}, Failed: []failed{}}
		q.mu.Lock()
		defer q.mu.Unlock()
		q.batches = append(q.batches, len(in.Entries))
		for _, e := range in.Entries {
			switch how := q.failure(r.Call, e.ID); how {
			case "":
				sum := md5.Sum([]byte(e.MessageBody))
				q.bodies = append(q.bodies, e.MessageBody)
				out.Successful = append(out.Successful, ok{ID: e.ID, MessageID: fmt.Sprintf("m-%d-%s", r.Call, e.ID), MD5: hex.EncodeToString(sum[:])})
			case "sender":
				out.Failed = append(out.Failed, failed{ID: e.ID, SenderFault: true, Code: "InvalidMessageContents", Message: "Invalid characters found."})
			default:
				out.Failed = append(out.Failed, failed{ID: e.ID, Code: how, Message: "please retry"})
			}
		}
		b, _ := json.Marshal(out)
		return awsfake.JSON(200, string(b))
	})
}

func (q *fakeQueue) failure(call int, id string) string {
	if q.fail == nil {
		return ""
	}
	return q.fail(call, id)
}

// sweepFixture is a fixture whose hub and prod accounts list stacks, and whose
// queue is q.
func sweepFixture(t *testing.T, hub, prod []fakeStack, q *fakeQueue) *fixture {
	f := newFixture(t, testPolicy)
	onDescribeStacks(f.hub, hub, 100)
	onDescribeStacks(f.aws, prod, 7)
	q.serve(f.aws)
	f.h.queue, f.h.queueURL = sqs.NewFromConfig(f.aws.Config()), queueURL
	return f
}

func TestSweepQueuesEverySelectedStackOnce(t *testing.T) {
	hub := []fakeStack{managed(hubAccount, "checkout-tooling"), managed(hubAccount, "checkout-ci"),
		{account: hubAccount, name: "checkout-sandbox", status: "CREATE_COMPLETE"}}
	var prod []fakeStack
	for i := range 21 {
		prod = append(prod, managed(prodAccount, fmt.Sprintf("checkout-prod-%02d", i)))
	}
	prod = append(prod, managed(prodAccount, "search-prod"))
	// SQS fails entry 3 of the first batch on its side; the retry succeeds.
	q := &fakeQueue{fail: func(call int, id string) string {
		if call == 1 && id == "3" {
			return "InternalError"
		}
		return ""
	}}
	f := sweepFixture(t, hub, prod, q)

	res, err := f.h.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Accounts != 2 || res.Stacks != 23 || len(res.Failed) != 0 {
		t.Errorf("Sweep() = %+v, want 2 accounts, 23 stacks, none failed", res)
	}
	want := map[string]fakeStack{}
	for _, s := range append(hub[:2:2], prod[:21]...) {
		want[s.arn()] = s
	}
	seen := map[string]int{}
	for _, body := range q.bodies {
		var raw map[string]string
		if err := json.Unmarshal([]byte(body), &raw); err != nil {
			t.Fatalf("message %q is not a JSON object of strings: %v", body, err)
		}
		s, ok := want[raw["stackId"]]
		if !ok {
			t.Errorf("queued %s, which the policy does not select", body)
			continue
		}
		seen[raw["stackId"]]++
		wantRaw := map[string]string{"account": s.account, "region": testRegion, "stackName": s.name, "stackId": s.arn()}
		if fmt.Sprint(raw) != fmt.Sprint(wantRaw) {
			t.Errorf("message = %v, want %v", raw, wantRaw)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("stack %s queued %d times, want once", id, seen[id])
		}
	}
	for i, n := range q.batches {
		if n > 10 {
			t.Errorf("batch %d holds %d entries, SQS takes at most 10", i, n)
		}
	}
}

func TestSweepReportsRefusedMessages(t *testing.T) {
	prod := []fakeStack{managed(prodAccount, "checkout-prod-a"), managed(prodAccount, "checkout-prod-b"), managed(prodAccount, "checkout-prod-c")}
	tests := []struct {
		name     string
		fail     func(call int, id string) string
		wantSent int
		wantErr  string
	}{
		{"refused as the sender's fault", func(_ int, id string) string {
			if id == "1" {
				return "sender"
			}
			return ""
		}, 2, "checkout-prod-b: InvalidMessageContents"},
		{"failing on every retry", func(_ int, id string) string {
			if id == "2" {
				return "ServiceUnavailable"
			}
			return ""
		}, 2, "checkout-prod-c: still failing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{fail: tt.fail}
			f := sweepFixture(t, nil, prod, q)
			_, err := f.h.Sweep(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Sweep() error = %v, want one naming %q", err, tt.wantErr)
			}
			if len(q.bodies) != tt.wantSent {
				t.Errorf("queued %d messages, want %d", len(q.bodies), tt.wantSent)
			}
		})
	}
}

func TestSweepKeepsGoingWhenAnAccountFails(t *testing.T) {
	q := &fakeQueue{}
	f := sweepFixture(t, []fakeStack{managed(hubAccount, "checkout-ci")}, nil, q)
	f.aws.On("DescribeStacks", awsfake.APIError(403, "AccessDenied", "User is not authorized to perform: cloudformation:DescribeStacks"))

	res, err := f.h.Sweep(context.Background())
	if err == nil || !strings.Contains(err.Error(), prodAccount) {
		t.Errorf("Sweep() error = %v, want one naming account %s", err, prodAccount)
	}
	if res.Stacks != 1 || len(q.bodies) != 1 || strings.Join(res.Failed, ",") != prodAccount+"/"+testRegion {
		t.Errorf("Sweep() = %+v with %d messages, want the hub's stack queued and prod failed", res, len(q.bodies))
	}
}
