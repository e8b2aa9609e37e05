package ledger

// Schema is the single-table layout of the ledger in DynamoDB. The CDK app builds
// the table from it and the DynamoDB implementation (and its tests, against
// DynamoDB Local) use the same names, so the two can never disagree.
var Schema = TableSchema{
	PartitionKey: "pk",
	SortKey:      "sk",
	TTLAttribute: "expiresAt",
	Indexes: []IndexSchema{
		// Everything recorded about one artifact digest, in time order.
		{Name: "byDigest", PartitionKey: "gsi1pk", SortKey: "gsi1sk"},
		// An app+env's records of one kind (deployments, incidents) by time.
		{Name: "byEnv", PartitionKey: "gsi2pk", SortKey: "gsi2sk"},
		// Sparse: only open incidents carry these attributes.
		{Name: "open", PartitionKey: "gsi3pk", SortKey: "gsi3sk"},
	},
}

// TableSchema names the key attributes, the TTL attribute and the global secondary
// indexes of the ledger table. Every key attribute is a string.
type TableSchema struct {
	// PartitionKey is the table's hash key attribute.
	PartitionKey string
	// SortKey is the table's range key attribute.
	SortKey string
	// TTLAttribute holds the epoch second after which DynamoDB may delete an item.
	TTLAttribute string
	// Indexes are the global secondary indexes, all projecting every attribute.
	Indexes []IndexSchema
}

// IndexSchema is one global secondary index of the ledger table.
type IndexSchema struct {
	// Name is the index name used in Query.
	Name string
	// PartitionKey is the index's hash key attribute.
	PartitionKey string
	// SortKey is the index's range key attribute.
	SortKey string
}
