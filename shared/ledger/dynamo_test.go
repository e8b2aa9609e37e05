package ledger

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeDynamo is a dynamoAPI whose calls are the given funcs.
type fakeDynamo struct {
	PutItemFn            func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	TransactWriteItemsFn func(*dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error)
	QueryFn              func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error)
}

func (f *fakeDynamo) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f.PutItemFn(in)
}

func (f *fakeDynamo) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return f.TransactWriteItemsFn(in)
}

func (f *fakeDynamo) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return f.QueryFn(in)
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func mustEncode(t *testing.T, rec Record) item {
	t.Helper()
	prepare(rec)
	it, err := encode(rec)
	if err != nil {
		t.Fatalf("encode(%+v) = %v", rec, err)
	}
	return it
}

func TestDynamoQueryFollowsPages(t *testing.T) {
	const sha = "4f2a9c1e"
	page1 := []item{mustEncode(t, &Commit{Header: Header{ID: sha, Commit: sha, At: start}})}
	page2 := []item{mustEncode(t, &Build{Header: Header{ID: "b-1", Commit: sha, At: start.Add(time.Minute)}})}
	last := item{"pk": &types.AttributeValueMemberS{Value: "commit#" + sha}}
	var starts []item
	fake := &fakeDynamo{QueryFn: func(in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
		starts = append(starts, in.ExclusiveStartKey)
		if in.ExclusiveStartKey == nil {
			return &dynamodb.QueryOutput{Items: page1, LastEvaluatedKey: last}, nil
		}
		return &dynamodb.QueryOutput{Items: page2}, nil
	}}
	recs, err := NewDynamo(fake, "ledger").ByCommit(context.Background(), sha)
	if err != nil {
		t.Fatalf("ByCommit(%s) = %v", sha, err)
	}
	if got, want := []Kind{recs[0].RecordHeader().Kind, recs[1].RecordHeader().Kind}, []Kind{KindCommit, KindBuild}; len(recs) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("ByCommit(%s) = %d records %v, want %v", sha, len(recs), got, want)
	}
	if want := []item{nil, last}; !reflect.DeepEqual(starts, want) {
		t.Errorf("ExclusiveStartKey per call = %v, want %v", starts, want)
	}
}

func TestDynamoRecordOnceCancellations(t *testing.T) {
	first := &Incident{Header: Header{ID: "i-1", App: "shop", Env: "prod", At: start}, Alarm: "shop-5xx"}
	marker := onceItem("k", mustEncode(t, first), time.Time{})
	cancelled := func(reasons ...types.CancellationReason) error {
		return &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
	}
	code := func(c string) types.CancellationReason { return types.CancellationReason{Code: aws.String(c)} }
	markerFound := types.CancellationReason{Code: aws.String("ConditionalCheckFailed"), Item: marker}
	failure := &types.InternalServerError{Message: aws.String("boom")}

	tests := []struct {
		name        string
		give        []error // TransactWriteItems results, one per call
		wantCreated bool
		wantID      string
		wantErr     error
		wantCalls   int
	}{
		{"stored", []error{nil}, true, "i-2", nil, 1},
		{"conflict, then stored", []error{cancelled(code("None"), code("TransactionConflict")), nil}, true, "i-2", nil, 2},
		{"redelivered", []error{cancelled(markerFound, code("None"))}, false, "i-1", nil, 1},
		{"conflict, then redelivered", []error{cancelled(code("TransactionConflict"), code("None")), cancelled(markerFound, code("None"))}, false, "i-1", nil, 2},
		{"other failure", []error{failure}, false, "", failure, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			fake := &fakeDynamo{TransactWriteItemsFn: func(*dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
				calls++
				return &dynamodb.TransactWriteItemsOutput{}, tt.give[calls-1]
			}, QueryFn: func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
				// The redelivery's read of the current record finds none: the
				// marker's copy is the answer.
				return &dynamodb.QueryOutput{}, nil
			}}
			rec := &Incident{Header: Header{ID: "i-2", App: "shop", Env: "prod", At: start}}
			got, created, err := NewDynamo(fake, "ledger").RecordOnce(context.Background(), "k", time.Hour, rec)
			if !errors.Is(err, tt.wantErr) || created != tt.wantCreated || calls != tt.wantCalls {
				t.Fatalf("RecordOnce = created %v, %v after %d calls, want created %v, %v after %d", created, err, calls, tt.wantCreated, tt.wantErr, tt.wantCalls)
			}
			if err == nil && got.RecordHeader().ID != tt.wantID {
				t.Errorf("RecordOnce returned %s, want %s", got.RecordHeader().ID, tt.wantID)
			}
		})
	}
}

func TestDynamoConflictRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	fake := &fakeDynamo{TransactWriteItemsFn: func(*dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
		calls++
		cancel()
		return nil, &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
			{Code: aws.String("TransactionConflict")}, {Code: aws.String("None")},
		}}
	}}
	rec := &Incident{Header: Header{ID: "i-1", App: "shop", Env: "prod", At: start}}
	if _, _, err := NewDynamo(fake, "ledger").RecordOnce(ctx, "k", time.Hour, rec); !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("RecordOnce with conflicts and a cancelled context = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

func TestDynamoUpdateConditionFailure(t *testing.T) {
	stored := mustEncode(t, &Deployment{Header: Header{ID: "d-1", App: "shop", Env: "prod", At: start}})
	tests := []struct {
		name string
		give item // the item DynamoDB returns with the failed condition
		want error
	}{
		{"stale", stored, ErrStale},
		{"missing", nil, ErrNotFound},
		{"missing, empty item", item{}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCond string
			fake := &fakeDynamo{PutItemFn: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
				gotCond = aws.ToString(in.ConditionExpression)
				return nil, &types.ConditionalCheckFailedException{Item: tt.give}
			}}
			rec := &Deployment{Header: Header{ID: "d-1", App: "shop", Env: "prod", At: start, Version: 3}}
			err := NewDynamo(fake, "ledger").Update(context.Background(), rec)
			if !errors.Is(err, tt.want) || rec.Version != 3 {
				t.Errorf("Update = %v, version %d, want %v, version 3", err, rec.Version, tt.want)
			}
			if gotCond == "" {
				t.Errorf("Update sent no condition expression")
			}
		})
	}
}
