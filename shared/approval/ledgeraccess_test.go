package approval_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
)

// recordingDynamo passes the ledger's calls to DynamoDB Local and, while on,
// records each item access: the IAM action DynamoDB authorizes it as, and the
// partition key it names (dynamodb:LeadingKeys).
type recordingDynamo struct {
	*dynamodb.Client
	mu       sync.Mutex
	on       bool
	accesses []string // "dynamodb:PutItem approvalRequest#apr-..."
}

func (r *recordingDynamo) record(action string, key types.AttributeValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	s, _ := key.(*types.AttributeValueMemberS)
	if s == nil {
		r.accesses = append(r.accesses, action+" <no partition key>")
		return
	}
	r.accesses = append(r.accesses, action+" "+s.Value)
}

func (r *recordingDynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.record("dynamodb:PutItem", in.Item[ledger.Schema.PartitionKey])
	return r.Client.PutItem(ctx, in, opts...)
}

// TransactWriteItems is authorized item by item, as the action of each.
func (r *recordingDynamo) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.record("dynamodb:PutItem", it.Put.Item[ledger.Schema.PartitionKey])
		case it.Update != nil:
			r.record("dynamodb:UpdateItem", it.Update.Key[ledger.Schema.PartitionKey])
		case it.Delete != nil:
			r.record("dynamodb:DeleteItem", it.Delete.Key[ledger.Schema.PartitionKey])
		case it.ConditionCheck != nil:
			r.record("dynamodb:ConditionCheckItem", it.ConditionCheck.Key[ledger.Schema.PartitionKey])
		}
	}
	return r.Client.TransactWriteItems(ctx, in, opts...)
}

// Query names its partition in the key condition: <name> = <value>.
func (r *recordingDynamo) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	action := "dynamodb:Query"
	if in.IndexName != nil {
		action += " on index " + *in.IndexName
	}
	var key types.AttributeValue
	for alias, name := range in.ExpressionAttributeNames {
		if name != ledger.Schema.PartitionKey && !strings.HasPrefix(name, "gsi") {
			continue
		}
		if m := regexp.MustCompile(regexp.QuoteMeta(alias) + ` = (:\w+)`).FindStringSubmatch(*in.KeyConditionExpression); m != nil {
			key = in.ExpressionAttributeValues[m[1]]
		}
	}
	r.record(action, key)
	return r.Client.Query(ctx, in, opts...)
}

// TestDecidingStaysWithinItsLedgerAccess runs what the approval function does
// (confirmation pages, approvals towards a quorum, a reused link, a rejection,
// a decision that finds the workflow gone, concurrent decisions) against
// DynamoDB Local, and checks every item access against LedgerActions and
// LedgerPartitions, from which the CDK app writes the function's IAM policy.
func TestDecidingStaysWithinItsLedgerAccess(t *testing.T) {
	db := &recordingDynamo{Client: localaws.DynamoDB(t)}

	// Each scenario runs on its own table and request, filed before recording
	// starts.
	scenarios := []struct {
		name      string
		approvers []string
		quorum    int
		run       func(t *testing.T, f *fixture)
	}{
		{name: "quorum of two, a reused link, a late third", approvers: []string{"ana@example.com", "lee@example.com", "kim@example.com"}, quorum: 2,
			run: func(t *testing.T, f *fixture) {
				ana := f.link("ana@example.com", approval.ActionApprove)
				f.open(t, "GET", ana, "")
				f.open(t, "POST", ana, "")
				f.open(t, "POST", ana, "")
				f.open(t, "POST", f.link("lee@example.com", approval.ActionApprove), "")
				f.open(t, "POST", f.link("kim@example.com", approval.ActionReject), "too late")
			}},
		{name: "rejection", approvers: []string{"ana@example.com"}, quorum: 1,
			run: func(t *testing.T, f *fixture) {
				f.open(t, "POST", f.link("ana@example.com", approval.ActionReject), "freeze")
			}},
		{name: "workflow gone", approvers: []string{"ana@example.com"}, quorum: 1,
			run: func(t *testing.T, f *fixture) {
				f.aws.On("SendTaskSuccess", awsfake.APIError(400, "TaskTimedOut", "Task Timed Out"))
				f.aws.On("DescribeExecution", describeExecution("TIMED_OUT"))
				f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
			}},
		{name: "a failed answer tried again", approvers: []string{"ana@example.com"}, quorum: 1,
			run: func(t *testing.T, f *fixture) {
				f.aws.On("SendTaskSuccess", awsfake.APIError(500, "InternalFailure", "later"))
				f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
				f.aws.On("SendTaskSuccess", awsfake.JSON(200, `{}`))
				f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
			}},
		{name: "expired by the clock", approvers: []string{"ana@example.com"}, quorum: 1,
			run: func(t *testing.T, f *fixture) {
				f.clock.Advance(25 * time.Hour)
				f.open(t, "POST", f.link("ana@example.com", approval.ActionApprove), "")
				if _, err := f.approvals.Expire(context.Background(), approvalID); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			f := newFixtureOn(t, ledger.NewDynamo(db, localaws.LedgerTable(t, db.Client)), sc.approvers, sc.quorum)
			db.mu.Lock()
			db.on, db.accesses = true, nil
			db.mu.Unlock()
			sc.run(t, f)
			db.mu.Lock()
			accesses := db.accesses
			db.on = false
			db.mu.Unlock()

			if len(accesses) == 0 {
				t.Fatal("deciding touched no item")
			}
			for _, a := range accesses {
				action, key, _ := strings.Cut(a, " ")
				if !slices.Contains(approval.LedgerActions(), action) {
					t.Errorf("%s: action %s is not among LedgerActions %v", a, action, approval.LedgerActions())
				}
				if !slices.ContainsFunc(approval.LedgerPartitions(), func(p string) bool { return like(p, key) }) {
					t.Errorf("%s: partition key is not among LedgerPartitions %v", a, approval.LedgerPartitions())
				}
			}
		})
	}
}

// like is IAM's StringLike for the patterns LedgerPartitions uses: '*'
// matches any run of characters, '?' any one.
func like(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}
