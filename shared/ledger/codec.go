package ledger

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// item is a stored item, the same shape in memory as in DynamoDB.
type item = map[string]types.AttributeValue

// Attribute names the ledger adds besides the record's own fields and keys.
const (
	attrKind    = "kind"
	attrVersion = "version"
	attrRecord  = "record"
)

// encodeOptions store records under their json field names, every time in UTC (so
// a read returns what was written), and leave unset times out.
func encodeOptions(o *attributevalue.EncoderOptions) {
	o.TagKey = "json"
	o.OmitEmptyTime = true
	o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}, nil
	}
}

// decodeOptions read what encodeOptions wrote.
func decodeOptions(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// encode renders rec as a stored item: its fields plus its key attributes.
func encode(rec Record) (item, error) {
	keys, err := keyAttributes(rec)
	if err != nil {
		return nil, err
	}
	it, err := attributevalue.MarshalMapWithOptions(rec, encodeOptions)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", rec.kind(), rec.RecordHeader().ID, err)
	}
	for name, v := range keys {
		it[name] = &types.AttributeValueMemberS{Value: v}
	}
	return it, nil
}

// decode turns a stored item back into its concrete record type.
func decode(it item) (Record, error) {
	kv, ok := it[attrKind].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("decode item: no %s attribute", attrKind)
	}
	rec, ok := newRecord(Kind(kv.Value))
	if !ok {
		return nil, fmt.Errorf("decode item: unknown kind %q", kv.Value)
	}
	if err := attributevalue.UnmarshalMapWithOptions(it, rec, decodeOptions); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kv.Value, err)
	}
	return rec, nil
}

// decodeAll decodes items in order.
func decodeAll(items []item) ([]Record, error) {
	recs := make([]Record, 0, len(items))
	for _, it := range items {
		rec, err := decode(it)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// onceItem is the idempotency marker for key: a copy of the first record stored
// under it, nested so that none of its key attributes reach an index, and the
// expiry as epoch seconds (none when expires is zero).
func onceItem(key string, rec item, expires time.Time) item {
	it := item{
		Schema.PartitionKey: &types.AttributeValueMemberS{Value: oncePartition(key)},
		Schema.SortKey:      &types.AttributeValueMemberS{Value: onceSortKey},
		attrRecord:          &types.AttributeValueMemberM{Value: rec},
	}
	if !expires.IsZero() {
		it[Schema.TTLAttribute] = &types.AttributeValueMemberN{Value: fmt.Sprint(expires.Unix())}
	}
	return it
}

// stringAttr returns the string attribute name of it, or "".
func stringAttr(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// numberAttr returns the integer attribute name of it, and whether it holds one.
func numberAttr(it item, name string) (int64, bool) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}
