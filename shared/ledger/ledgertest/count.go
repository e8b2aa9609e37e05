package ledgertest

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Counted is a DynamoDB client for ledger.NewDynamo that counts what the
// ledger reads and writes through it, as DynamoDB answers: the queries and
// the items they return, the items written, and the capacity units DynamoDB
// says each consumed. It is safe for concurrent use.
type Counted struct {
	client *dynamodb.Client

	queries, items, writes atomic.Int64
	readMilli, writeMilli  atomic.Int64 // thousandths of a capacity unit
}

// Count wraps client.
func Count(client *dynamodb.Client) *Counted {
	return &Counted{client: client}
}

// Traffic is what a Counted client has seen.
type Traffic struct {
	// Queries is how many Query calls (pages) the ledger made, and Items how
	// many items they returned.
	Queries, Items int64
	// Writes is how many items were put, in one PutItem or a transaction.
	Writes int64
	// ReadUnits and WriteUnits are the capacity units DynamoDB says were
	// consumed.
	ReadUnits, WriteUnits float64
}

// Sub is what t counts beyond before.
func (t Traffic) Sub(before Traffic) Traffic {
	return Traffic{
		Queries: t.Queries - before.Queries, Items: t.Items - before.Items, Writes: t.Writes - before.Writes,
		ReadUnits: t.ReadUnits - before.ReadUnits, WriteUnits: t.WriteUnits - before.WriteUnits,
	}
}

// Traffic returns what has been counted so far.
func (c *Counted) Traffic() Traffic {
	return Traffic{
		Queries: c.queries.Load(), Items: c.items.Load(), Writes: c.writes.Load(),
		ReadUnits: float64(c.readMilli.Load()) / 1000, WriteUnits: float64(c.writeMilli.Load()) / 1000,
	}
}

// Query counts one page of a ledger read.
func (c *Counted) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.client.Query(ctx, in, optFns...)
	if err == nil {
		c.queries.Add(1)
		c.items.Add(int64(out.Count))
		c.readMilli.Add(milli(out.ConsumedCapacity))
	}
	return out, err
}

// PutItem counts one item written.
func (c *Counted) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.client.PutItem(ctx, in, optFns...)
	if err == nil {
		c.writes.Add(1)
		c.writeMilli.Add(milli(out.ConsumedCapacity))
	}
	return out, err
}

// TransactWriteItems counts the items of one transaction.
func (c *Counted) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.client.TransactWriteItems(ctx, in, optFns...)
	if err == nil {
		c.writes.Add(int64(len(in.TransactItems)))
		for _, cc := range out.ConsumedCapacity {
			c.writeMilli.Add(milli(&cc))
		}
	}
	return out, err
}

// milli is a consumed capacity in thousandths of a unit; 0 when DynamoDB
// said nothing.
func milli(cc *types.ConsumedCapacity) int64 {
	if cc == nil {
		return 0
	}
	return int64(math.Round(aws.ToFloat64(cc.CapacityUnits) * 1000))
}
