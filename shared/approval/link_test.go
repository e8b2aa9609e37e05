package approval_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/approval"
)

func newSigner(t *testing.T, current string, previous ...string) approval.Signer {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, []byte(p))
	}
	s, err := approval.NewSigner([]byte(current), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func query(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestVerify(t *testing.T) {
	current := newSigner(t, secret)
	rotated := newSigner(t, secret, oldSecret)
	exp := t0.Add(time.Hour)
	valid := current.Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, exp)
	signedBefore := newSigner(t, oldSecret).Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, exp)
	with := func(field, value string) string { return tamper(valid, field, value) }
	without := func(field string) string {
		u, _ := url.Parse(valid)
		q := u.Query()
		q.Del(field)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tests := []struct {
		name   string
		signer approval.Signer
		give   string
		now    time.Time
		want   error
	}{
		{name: "valid", signer: current, give: valid, now: t0},
		{name: "valid a second before expiry", signer: current, give: valid, now: exp.Add(-time.Second)},
		{name: "expired at expiry", signer: current, give: valid, now: exp, want: approval.ErrExpired},
		{name: "expired", signer: current, give: valid, now: exp.Add(time.Hour), want: approval.ErrExpired},
		{name: "forged", signer: current, give: newSigner(t, otherKey).Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, exp), now: t0, want: approval.ErrBadSignature},
		{name: "forged and expired is forged", signer: current, give: newSigner(t, otherKey).Link(baseURL, approvalID, "ana@example.com", approval.ActionApprove, t0), now: exp, want: approval.ErrBadSignature},
		{name: "tampered id", signer: current, give: with("id", "apr-7f3cq2xk5mzd4wrn6t2ybhvj3f"), now: t0, want: approval.ErrBadSignature},
		{name: "tampered approver", signer: current, give: with("approver", "Ana@example.com"), now: t0, want: approval.ErrBadSignature},
		{name: "tampered action", signer: current, give: with("action", "reject"), now: t0, want: approval.ErrBadSignature},
		{name: "tampered expires", signer: current, give: with("expires", fmt.Sprint(exp.Unix()+1)), now: t0, want: approval.ErrBadSignature},
		{name: "signature cut short", signer: current, give: with("sig", query(t, valid).Get("sig")[:20]), now: t0, want: approval.ErrBadSignature},
		{name: "signature not base64url", signer: current, give: with("sig", "!!!"), now: t0, want: approval.ErrBadSignature},
		{name: "unknown action", signer: current, give: with("action", "promote"), now: t0, want: approval.ErrUnknownAction},
		{name: "expires not a number", signer: current, give: with("expires", "tomorrow"), now: t0, want: approval.ErrMalformed},
		{name: "repeated field", signer: current, give: valid + "&approver=lee%40example.com", now: t0, want: approval.ErrMalformed},
		{name: "no id", signer: current, give: without("id"), now: t0, want: approval.ErrMissingField},
		{name: "no approver", signer: current, give: without("approver"), now: t0, want: approval.ErrMissingField},
		{name: "no action", signer: current, give: without("action"), now: t0, want: approval.ErrMissingField},
		{name: "no expires", signer: current, give: without("expires"), now: t0, want: approval.ErrMissingField},
		{name: "no sig", signer: current, give: without("sig"), now: t0, want: approval.ErrMissingField},
		{name: "previous secret while rotating", signer: rotated, give: signedBefore, now: t0},
		{name: "previous secret after rotation", signer: current, give: signedBefore, now: t0, want: approval.ErrBadSignature},
		{name: "zero signer", signer: approval.Signer{}, give: valid, now: t0, want: approval.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claim, err := tt.signer.Verify(query(t, tt.give), tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%s) error = %v, want %v", tt.give, err, tt.want)
			}
			want := approval.Claim{ApprovalID: approvalID, Approver: "ana@example.com", Action: approval.ActionApprove, Expires: exp}
			if err == nil && claim != want {
				t.Errorf("Verify(%s) = %+v, want %+v", tt.give, claim, want)
			}
		})
	}
}

func TestSignatureCoversFieldBoundaries(t *testing.T) {
	s := newSigner(t, secret)
	exp := t0.Add(time.Hour)
	// Fields that concatenate to the same bytes must not share a signature.
	a := query(t, s.Link(baseURL, "apr-1", "2ana@example.com", approval.ActionApprove, exp))
	b := query(t, s.Link(baseURL, "apr-12", "ana@example.com", approval.ActionApprove, exp))
	if a.Get("sig") == b.Get("sig") {
		t.Fatalf("links for (apr-1, 2ana) and (apr-12, ana) share the signature %s", a.Get("sig"))
	}
	a.Set("sig", b.Get("sig"))
	if _, err := s.Verify(a, t0); !errors.Is(err, approval.ErrBadSignature) {
		t.Errorf("Verify(fields of one link, signature of the other) error = %v, want ErrBadSignature", err)
	}
}

func TestLinkEscapesFields(t *testing.T) {
	s := newSigner(t, secret)
	exp := t0.Add(time.Hour)
	approver := "o'brien+ops&co=1@example.com"
	link := s.Link("https://example.lambda-url.eu-west-1.on.aws/?stage=x", approvalID, approver, approval.ActionReject, exp)
	if !strings.HasPrefix(link, "https://example.lambda-url.eu-west-1.on.aws/?stage=x&id="+approvalID+"&approver=") {
		t.Errorf("Link() = %s, want the fields appended to the base's query in order", link)
	}
	claim, err := s.Verify(query(t, link), t0)
	if err != nil || claim.Approver != approver || claim.Action != approval.ActionReject {
		t.Errorf("Verify(Link(%q)) = %+v, %v; want the approver back", approver, claim, err)
	}
}

func TestNewSignerRejectsShortSecrets(t *testing.T) {
	tests := []struct {
		name     string
		current  string
		previous []string
		wantErr  bool
	}{
		{name: "32 bytes", current: strings.Repeat("k", 32)},
		{name: "31 bytes", current: strings.Repeat("k", 31), wantErr: true},
		{name: "empty", current: "", wantErr: true},
		{name: "short previous", current: secret, previous: []string{"short"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev [][]byte
			for _, p := range tt.previous {
				prev = append(prev, []byte(p))
			}
			_, err := approval.NewSigner([]byte(tt.current), prev...)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewSigner(%d bytes, %v) error = %v, want error %v", len(tt.current), tt.previous, err, tt.wantErr)
			}
		})
	}
}

// A link names one approver's action on one request; anyone who changes any
// of it holds a link that no longer verifies.
func ExampleSigner() {
	signer, err := approval.NewSigner([]byte("an-example-secret-of-at-least-32-bytes"))
	if err != nil {
		fmt.Println(err)
		return
	}
	expires := time.Date(2026, 11, 18, 8, 0, 0, 0, time.UTC)
	link := signer.Link("https://abcdefgh.lambda-url.eu-west-1.on.aws/", "apr-7f3c", "ana@example.com", approval.ActionApprove, expires)
	u, _ := url.Parse(link)

	claim, err := signer.Verify(u.Query(), expires.Add(-time.Hour))
	fmt.Println(claim.ApprovalID, claim.Approver, claim.Action, err)

	q := u.Query()
	q.Set("action", "reject")
	_, err = signer.Verify(q, expires.Add(-time.Hour))
	fmt.Println(err)

	_, err = signer.Verify(u.Query(), expires)
	fmt.Println(errors.Is(err, approval.ErrExpired))
	// Output:
	// apr-7f3c ana@example.com approve <nil>
	// approval link: bad signature
	// true
}
