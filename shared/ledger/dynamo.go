package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dynamoAPI is the part of the DynamoDB client the ledger uses.
type dynamoAPI interface {
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	TransactWriteItems(ctx context.Context, params *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(ctx context.Context, params *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ dynamoAPI = (*dynamodb.Client)(nil)

// WriteActions are the IAM actions a function that writes the ledger needs
// on its table: the DynamoDB ledger writes items with PutItem (alone, or in
// TransactWriteItems, which IAM authorizes as the PutItems it holds) and reads
// them with Query, on the table and its indexes.
func WriteActions() []string { return []string{"dynamodb:PutItem", "dynamodb:Query"} }

// ReadActions are the IAM actions a function that only reads the ledger
// needs: Query, on the table and its indexes.
func ReadActions() []string { return []string{"dynamodb:Query"} }

// NewDynamo returns a ledger stored in the DynamoDB table named table, which must
// have the layout of Schema (see CreateTableInput). client is usually a
// *dynamodb.Client built once in main.
func NewDynamo(client dynamoAPI, table string, opts ...Option) Ledger {
	return newBook(&dynamoStore{api: client, table: table}, opts)
}

// CreateTableInput returns the request that creates an on-demand ledger table
// named name, built from Schema, for tests and local runs (the CDK app builds the
// deployed table from Schema too). DynamoDB sets TTL with a separate
// UpdateTimeToLive call on Schema.TTLAttribute; the ledger does not depend on it.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(Schema.PartitionKey, Schema.SortKey),
	}
	seen := map[string]bool{}
	define := func(names ...string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
					AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS,
				})
			}
		}
	}
	define(Schema.PartitionKey, Schema.SortKey)
	for _, idx := range Schema.Indexes {
		define(idx.PartitionKey, idx.SortKey)
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(idx.Name),
			KeySchema:  keySchema(idx.PartitionKey, idx.SortKey),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	return in
}

func keySchema(pk, sk string) []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
	}
}

// dynamoStore keeps items in a DynamoDB table.
type dynamoStore struct {
	api   dynamoAPI
	table string
}

// Transactions that collide with another on the same item are cancelled with
// TransactionConflict; they are retried this many times, backing off.
const (
	conflictRetries = 10
	conflictBackoff = 5 * time.Millisecond
)

func (d *dynamoStore) write(ctx context.Context, ws ...write) error {
	if len(ws) == 1 {
		return d.put(ctx, ws[0])
	}
	in := &dynamodb.TransactWriteItemsInput{}
	for _, w := range ws {
		expr, err := dynamoCondition(w)
		if err != nil {
			return err
		}
		in.TransactItems = append(in.TransactItems, types.TransactWriteItem{Put: &types.Put{
			TableName:                           aws.String(d.table),
			Item:                                w.item,
			ConditionExpression:                 expr.Condition(),
			ExpressionAttributeNames:            expr.Names(),
			ExpressionAttributeValues:           expr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
	}
	for attempt := 0; ; attempt++ {
		_, err := d.api.TransactWriteItems(ctx, in)
		cancelled, ok := errors.AsType[*types.TransactionCanceledException](err)
		if !ok {
			return err
		}
		conflict := false
		for i, r := range cancelled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				return &conditionFailed{index: i, old: nonEmpty(r.Item)}
			case "TransactionConflict":
				conflict = true
			}
		}
		if !conflict || attempt == conflictRetries {
			return err
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
}

// put writes a single item, which needs no transaction.
func (d *dynamoStore) put(ctx context.Context, w write) error {
	expr, err := dynamoCondition(w)
	if err != nil {
		return err
	}
	_, err = d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(d.table),
		Item:                                w.item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failed, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return &conditionFailed{index: 0, old: nonEmpty(failed.Item)}
	}
	return err
}

// dynamoCondition is w's condition as a DynamoDB condition expression; holds in
// memory.go evaluates the same conditions.
func dynamoCondition(w write) (expression.Expression, error) {
	var c expression.ConditionBuilder
	switch w.cond {
	case absent:
		c = expression.AttributeNotExists(expression.Name(Schema.PartitionKey))
	case absentOrExpired:
		c = expression.AttributeNotExists(expression.Name(Schema.PartitionKey)).
			Or(expression.Name(Schema.TTLAttribute).LessThan(expression.Value(w.now)))
	case versionIs:
		c = expression.Name(attrVersion).Equal(expression.Value(w.version))
	default:
		return expression.Expression{}, fmt.Errorf("unknown condition %d", w.cond)
	}
	return expression.NewBuilder().WithCondition(c).Build()
}

func (d *dynamoStore) query(ctx context.Context, q query) ([]item, error) {
	key := expression.Key(q.pkName).Equal(expression.Value(q.pk))
	if q.from != "" {
		key = key.And(expression.Key(q.skName).Between(expression.Value(q.from), expression.Value(q.to)))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(d.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if q.index != "" {
		in.IndexName = aws.String(q.index)
	} else {
		in.ConsistentRead = aws.Bool(true) // indexes cannot read consistently
	}
	if q.newestFirst {
		in.ScanIndexForward = aws.Bool(false)
		in.Limit = aws.Int32(newestPage)
	}
	var items []item
	for pages := dynamodb.NewQueryPaginator(d.api, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			items = append(items, it)
			if q.stop != nil && q.stop(it) {
				return items, nil
			}
		}
	}
	return items, nil
}

// nonEmpty maps the empty item DynamoDB returns for "no item" to nil.
func nonEmpty(it item) item {
	if len(it) == 0 {
		return nil
	}
	return it
}

// backoff is the jittered wait before retry attempt+1.
func backoff(attempt int) time.Duration {
	d := conflictBackoff << min(attempt, 6)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
