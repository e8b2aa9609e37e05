package stacks

import (
	"slices"
	"testing"
)

func TestTopicIsEncryptedAndDeniesInsecureTransport(t *testing.T) {
	// GIVEN the example policy, which subscribes e-mails
	p := examplePolicy(t)
	h := synth(t, p)

	// WHEN the hub is synthesized
	tpl := templateOf(t, h.Hub.Stack)

	// THEN the topic uses a rotating customer-managed key, its policy denies
	// publishing without TLS, and each policy e-mail is subscribed
	topics := tpl.ofType("AWS::SNS::Topic")
	if len(topics) != 1 {
		t.Fatalf("topics = %d, want 1", len(topics))
	}
	for id, topic := range topics {
		key := tpl.Resources[refTo(topic.Properties["KmsMasterKeyId"])]
		if key.Type != "AWS::KMS::Key" || key.Properties["EnableKeyRotation"] != true {
			t.Errorf("topic key = %v %v, want a KMS key with rotation", key.Type, key.Properties["EnableKeyRotation"])
		}
		denied := false
		for _, tp := range tpl.ofType("AWS::SNS::TopicPolicy") {
			if !slices.Contains(refs(tp.Properties["Topics"]), id) {
				continue
			}
			for _, st := range list(path(tp.Properties, "PolicyDocument", "Statement")) {
				if path(st, "Effect") == "Deny" && flat(path(st, "Principal")) == "*" &&
					slices.Contains(strs(path(st, "Action")), "sns:Publish") &&
					path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
					denied = true
				}
			}
		}
		if !denied {
			t.Errorf("topic %s policy does not deny sns:Publish without TLS", id)
		}
		var emails []string
		for _, s := range tpl.ofType("AWS::SNS::Subscription") {
			if refTo(s.Properties["TopicArn"]) == id && s.Properties["Protocol"] == "email" {
				emails = append(emails, flat(s.Properties["Endpoint"]))
			}
		}
		slices.Sort(emails)
		want := slices.Sorted(slices.Values(p.Hub.NotifyEmails))
		if !slices.Equal(emails, want) {
			t.Errorf("e-mail subscriptions = %v, want %v", emails, want)
		}
	}
}

// refs returns the logical ids a list of references names.
func refs(v any) []string {
	var out []string
	for _, r := range list(v) {
		out = append(out, refTo(r))
	}
	return out
}
