package localaws

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/awsfake"
)

// signed is a request as an SDK signs it with key, in region, for service.
func signed(p awsfake.Protocol, op, service, region, body string) awsfake.Request {
	h := http.Header{}
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential=ASIASPOKE000001/20261117/"+region+"/"+service+"/aws4_request, SignedHeaders=host;x-amz-date, Signature=0f")
	r := awsfake.Request{Operation: op, Protocol: p, Method: http.MethodPost, URL: &url.URL{Path: "/"}, Header: h, Body: []byte(body)}
	if p == awsfake.ProtocolQuery {
		r.Form, _ = url.ParseQuery(body)
	}
	return r
}

func TestCallsOfNameTheActionsResourcesAndConditionKeysIAMDecides(t *testing.T) {
	getObject := signed(awsfake.ProtocolREST, "GET /artifacts/checkout/build.zip", "s3", "eu-west-1", "")
	getObject.Method, getObject.URL = http.MethodGet, &url.URL{Path: "/artifacts/checkout/build.zip", RawQuery: "versionId=3"}
	tests := []struct {
		name string
		give awsfake.Request
		want []Call
	}{
		{
			name: "a query of an index binds the index's partition key",
			give: signed(awsfake.ProtocolJSON, "Query", "dynamodb", "eu-west-1", `{"TableName":"ledger","IndexName":"byEnv",
				"KeyConditionExpression":"#0 = :0 AND begins_with (#1, :1)","ExpressionAttributeNames":{"#0":"gsi2pk","#1":"gsi2sk"},
				"ExpressionAttributeValues":{":0":{"S":"env#checkout#dev#deployment"},":1":{"S":"2026"}}}`),
			want: []Call{{Operation: "dynamodb:Query", Resources: []string{"arn:aws:dynamodb:eu-west-1:111111111111:table/ledger/index/byEnv"},
				Context: map[string]any{"dynamodb:LeadingKeys": []string{"env#checkout#dev#deployment"}}}},
		},
		{
			name: "a transaction is each of its items",
			give: signed(awsfake.ProtocolJSON, "TransactWriteItems", "dynamodb", "eu-west-1", `{"TransactItems":[
				{"Put":{"TableName":"ledger","Item":{"pk":{"S":"once#a"},"sk":{"S":"x"}}}},
				{"ConditionCheck":{"TableName":"ledger","Key":{"pk":{"S":"lock#b"},"sk":{"S":"y"}}}}]}`),
			want: []Call{
				{Operation: "dynamodb:PutItem", Resources: []string{"arn:aws:dynamodb:eu-west-1:111111111111:table/ledger"},
					Context: map[string]any{"dynamodb:LeadingKeys": []string{"once#a"}, "dynamodb:EnclosingOperation": "TransactWriteItems"}},
				{Operation: "dynamodb:ConditionCheckItem", Resources: []string{"arn:aws:dynamodb:eu-west-1:111111111111:table/ledger"},
					Context: map[string]any{"dynamodb:LeadingKeys": []string{"lock#b"}, "dynamodb:EnclosingOperation": "TransactWriteItems"}},
			},
		},
		{
			name: "an SQS batch is authorized as its single form, on the queue of the URL",
			give: signed(awsfake.ProtocolJSON, "SendMessageBatch", "sqs", "us-east-1", `{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/111111111111/drift","Entries":[]}`),
			want: []Call{{Operation: "sqs:SendMessage", Resources: []string{"arn:aws:sqs:eu-west-1:111111111111:drift"}}},
		},
		{
			name: "an AssumeRole with session tags needs sts:TagSession too",
			give: signed(awsfake.ProtocolQuery, "AssumeRole", "sts", "eu-west-1",
				"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fhighway-access-deploy&Tags.member.1.Key=highway%3Aapp&Tags.member.1.Value=checkout"),
			want: []Call{
				{Operation: "sts:AssumeRole", Resources: []string{"arn:aws:iam::222222222222:role/highway-access-deploy"},
					Context: map[string]any{"aws:TagKeys": []string{"highway:app"}, "aws:RequestTag/highway:app": "checkout"}},
				{Operation: "sts:TagSession", Resources: []string{"arn:aws:iam::222222222222:role/highway-access-deploy"},
					Context: map[string]any{"aws:TagKeys": []string{"highway:app"}, "aws:RequestTag/highway:app": "checkout"}},
			},
		},
		{
			name: "events on one bus are one call with every source and detail type",
			give: signed(awsfake.ProtocolJSON, "PutEvents", "events", "eu-west-1", `{"Entries":[
				{"EventBusName":"highway","Source":"highway","DetailType":"Gate Decided"},
				{"EventBusName":"highway","Source":"highway","DetailType":"Artifact Promoted"}]}`),
			want: []Call{{Operation: "events:PutEvents", Resources: []string{"arn:aws:events:eu-west-1:111111111111:event-bus/highway"},
				Context: map[string]any{"events:source": []string{"highway"}, "events:detail-type": []string{"Gate Decided", "Artifact Promoted"}}}},
		},
		{
			name: "a read of an object's version is s3:GetObjectVersion",
			give: getObject,
			want: []Call{{Operation: "s3:GetObjectVersion", Resources: []string{"arn:aws:s3:::artifacts/checkout/build.zip"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callsOf(tt.give, "eu-west-1", "111111111111")
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].API = "" // the wire's name, not IAM's
			}
			for i, c := range tt.want {
				tt.want[i].Service, _, _ = strings.Cut(c.Operation, ":")
				tt.want[i].Region = "eu-west-1"
			}
			if g, w := asJSON(t, got), asJSON(t, tt.want); g != w {
				t.Errorf("callsOf(%s) =\n%s\nwant\n%s", tt.give.Operation, g, w)
			}
		})
	}
}

func TestCallsOfRefusesAnOperationItDoesNotKnow(t *testing.T) {
	if _, err := callsOf(signed(awsfake.ProtocolJSON, "DeleteTable", "dynamodb", "eu-west-1", `{"TableName":"ledger"}`), "eu-west-1", "111111111111"); err == nil {
		t.Error("callsOf(DeleteTable) = nil error, want one asking for its IAM action")
	}
}

// asJSON renders v as the recording carries it.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
