package awsconfig_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// Every call goes through the access role, the hub account's included: one
// session per app and account, assumed once and tagged with the app; a call
// for no app gets an untagged session of its own.
func TestAccountsAssumeTheAccessRoleOncePerAppAndAccount(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("AssumeRole", awsfake.XML(200, assumeRoleResponse))
	srv.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[]}`))
	accounts := awsconfig.NewAccounts(srv.Config(), "highway-access-commits", "highway:app", "highway-push")

	put := func(cfg aws.Config) {
		t.Helper()
		client := eventbridge.NewFromConfig(cfg)
		if _, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{}}}); err != nil {
			t.Fatal(err)
		}
	}
	put(accounts.ForApp("checkout", "222222222222", "eu-west-1"))
	put(accounts.ForApp("checkout", "222222222222", "eu-west-1"))
	put(accounts.ForApp("checkout", "111111111111", "eu-west-1"))
	put(accounts.ForApp("payments", "222222222222", "eu-west-1"))
	put(accounts.Config("222222222222", "eu-west-1"))

	type session struct{ role, app string }
	var got []session
	for _, c := range srv.Invocations("AssumeRole") {
		if name := c.Form.Get("RoleSessionName"); name != "highway-push" {
			t.Errorf("RoleSessionName = %q, want highway-push", name)
		}
		s := session{role: c.Form.Get("RoleArn")}
		if c.Form.Get("Tags.member.1.Key") != "" {
			if k := c.Form.Get("Tags.member.1.Key"); k != "highway:app" {
				t.Errorf("session tag key = %q, want highway:app", k)
			}
			s.app = c.Form.Get("Tags.member.1.Value")
		}
		got = append(got, s)
	}
	want := []session{
		{"arn:aws:iam::222222222222:role/highway-access-commits", "checkout"},
		{"arn:aws:iam::111111111111:role/highway-access-commits", "checkout"},
		{"arn:aws:iam::222222222222:role/highway-access-commits", "payments"},
		{"arn:aws:iam::222222222222:role/highway-access-commits", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("AssumeRole sessions = %v, want %v (one per app and account, cached)", got, want)
	}
	for i, c := range srv.Invocations("PutEvents") {
		auth := c.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential=ASIASPOKE/") || !strings.Contains(auth, "/eu-west-1/") {
			t.Errorf("call %d signed with %q, want the access role's session in eu-west-1", i+1, auth)
		}
		if c.Header.Get("X-Amz-Security-Token") != "spoke-token" {
			t.Errorf("call %d carries token %q, want the assumed session's", i+1, c.Header.Get("X-Amz-Security-Token"))
		}
	}
}

// A function given no access role makes no call through Accounts, and says why.
func TestAccountsWithoutRoleRefuse(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[]}`))
	accounts := awsconfig.NewAccounts(srv.Config(), "", "highway:app", "highway-approval")

	client := eventbridge.NewFromConfig(accounts.ForApp("checkout", "222222222222", "eu-west-1"))
	_, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{}}})
	if !errors.Is(err, awsconfig.ErrNoAccessRole) {
		t.Errorf("PutEvents without an access role = %v, want ErrNoAccessRole", err)
	}
	if n := len(srv.Invocations("PutEvents")) + len(srv.Invocations("AssumeRole")); n != 0 {
		t.Errorf("%d calls reached AWS, want none", n)
	}
}
