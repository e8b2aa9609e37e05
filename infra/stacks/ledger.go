package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// newLedger creates the ledger table from ledger.Schema, so the table and the code
// that reads it share one definition. It holds Highway's history: it is retained
// when the stack goes and cannot be deleted by accident.
func newLedger(scope constructs.Construct, hub policy.Hub) awsdynamodb.Table {
	s := ledger.Schema
	table := awsdynamodb.NewTable(scope, jsii.String("Ledger"), &awsdynamodb.TableProps{
		TableName:    jsii.String(TableName(hub)),
		PartitionKey: stringKey(s.PartitionKey),
		SortKey:      optionalKey(s.SortKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(s.TTLAttribute),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:  jsii.Bool(true),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})
	for _, ix := range s.Indexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   stringKey(ix.PartitionKey),
			SortKey:        optionalKey(ix.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return table
}

// stringKey is a key attribute of the ledger; all of them are strings.
func stringKey(name string) *awsdynamodb.Attribute {
	return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
}

// optionalKey is a sort key, or none when the schema names none.
func optionalKey(name string) *awsdynamodb.Attribute {
	if name == "" {
		return nil
	}
	return stringKey(name)
}

// GrantLedgerReadWrite lets fn put the ledger's items, query them and query
// its indexes: the actions the ledger's code takes (ledger.WriteActions), and
// no Scan, Get, Update, Delete or batch write of an append-only history.
func (h *Hub) GrantLedgerReadWrite(fn awslambda.IFunction) {
	h.grantLedger(fn, ledger.WriteActions())
}

// GrantLedgerRead lets fn query the ledger and its indexes, not write it
// (ledger.ReadActions).
func (h *Hub) GrantLedgerRead(fn awslambda.IFunction) {
	h.grantLedger(fn, ledger.ReadActions())
}

// grantLedger lets fn take actions on the ledger's table, and query its
// indexes.
func (h *Hub) grantLedger(fn awslambda.IFunction, actions []string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Ledger"),
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(*h.Table.TableArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("LedgerIndexes"),
		Actions:   jsii.Strings("dynamodb:Query"),
		Resources: jsii.Strings(*h.Table.TableArn() + "/index/*"),
	}))
	h.allowIndexQueries(fn)
}

// allowIndexQueries accepts the one wildcard a table grant makes: the ARN of the
// ledger's own indexes, <table ARN>/index/*.
func (h *Hub) allowIndexQueries(fn awslambda.IFunction) {
	cfn := h.Table.Node().DefaultChild().(awsdynamodb.CfnTable)
	logicalID, _ := h.Stack.Resolve(cfn.LogicalId()).(string)
	suppress(fn.Role(), true, rule("AwsSolutions-IAM5",
		"The ledger's functions query its global secondary indexes; <table ARN>/index/* names only this table's indexes.",
		"Resource::<"+logicalID+".Arn>/index/*"))
}
