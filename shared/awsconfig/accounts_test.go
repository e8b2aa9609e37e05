package awsconfig_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/highwayhq/highway/shared/awsconfig"
	"github.com/highwayhq/highway/shared/awsfake"
)

const assumeRoleResponse = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIASPOKE</AccessKeyId>
      <SecretAccessKey>spoke-secret</SecretAccessKey>
      <SessionToken>spoke-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::222222222222:assumed-role/highway-spoke/highway-push</Arn>
      <AssumedRoleId>AROA:highway-push</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`

// A call in a spoke account is signed with credentials from the spoke role,
// assumed once; a call in the hub account uses the hub's own.
func TestAccountsAssumeTheSpokeRoleOnce(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("AssumeRole", awsfake.XML(200, assumeRoleResponse))
	srv.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[]}`))
	accounts := awsconfig.NewAccounts(srv.Config(), "111111111111", "highway-spoke", "highway-push")

	put := func(account string) {
		t.Helper()
		client := eventbridge.NewFromConfig(accounts.Config(account, "eu-west-1"))
		if _, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("222222222222")
	put("222222222222")
	put("111111111111")

	assumes := srv.Calls("AssumeRole")
	if len(assumes) != 1 {
		t.Fatalf("AssumeRole calls = %d, want 1 (credentials are cached)", len(assumes))
	}
	form := assumes[0].Form
	if got, want := form.Get("RoleArn"), "arn:aws:iam::222222222222:role/highway-spoke"; got != want {
		t.Errorf("RoleArn = %q, want %q", got, want)
	}
	if got := form.Get("RoleSessionName"); got != "highway-push" {
		t.Errorf("RoleSessionName = %q, want highway-push", got)
	}
	calls := srv.Calls("PutEvents")
	wantKeys := []string{"ASIASPOKE", "ASIASPOKE", awsfake.AccessKeyID}
	for i, c := range calls {
		auth := c.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential="+wantKeys[i]+"/") {
			t.Errorf("call %d signed with %q, want access key %s", i+1, auth, wantKeys[i])
		}
		if !strings.Contains(auth, "/eu-west-1/") {
			t.Errorf("call %d not signed for eu-west-1: %q", i+1, auth)
		}
	}
	if len(calls) > 0 && calls[0].Header.Get("X-Amz-Security-Token") != "spoke-token" {
		t.Errorf("spoke call carries token %q, want the assumed session's", calls[0].Header.Get("X-Amz-Security-Token"))
	}
}
