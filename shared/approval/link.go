package approval

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MinSecretLen is the shortest secret a Signer accepts: 32 bytes, the size of
// the HMAC-SHA256 output, so the key is never the weaker half.
const MinSecretLen = 32

// The query parameters of an approval link.
const (
	paramID       = "id"
	paramApprover = "approver"
	paramAction   = "action"
	paramExpires  = "expires"
	paramSig      = "sig"
)

// linkDomain separates approval link signatures from any other use of the same
// secret, and versions the canonical encoding.
const linkDomain = "highway approval link v1"

// Link verification errors. Verify wraps exactly one of them; test with errors.Is.
var (
	// ErrMissingField means a link lacks one of id, approver, action, expires, sig.
	ErrMissingField = errors.New("approval link: missing field")
	// ErrMalformed means a field is repeated or unreadable (expires not a number).
	ErrMalformed = errors.New("approval link: malformed")
	// ErrBadSignature means the signature is not one of Highway's for these
	// fields: the link was forged or one of its fields changed.
	ErrBadSignature = errors.New("approval link: bad signature")
	// ErrUnknownAction means the action is neither approve nor reject.
	ErrUnknownAction = errors.New("approval link: unknown action")
)

// Signer signs and verifies approval links with HMAC-SHA256. It holds the
// current secret, which signs, and the previous ones, which still verify while
// a rotation completes. Build it with NewSigner; the zero Signer verifies
// nothing.
type Signer struct {
	keys [][]byte
}

// NewSigner returns a Signer that signs with current and also accepts links
// signed with any of previous. Every secret must be at least MinSecretLen bytes.
func NewSigner(current []byte, previous ...[]byte) (Signer, error) {
	keys := make([][]byte, 0, 1+len(previous))
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) < MinSecretLen {
			return Signer{}, fmt.Errorf("approval secret %d is %d bytes, want at least %d", i, len(k), MinSecretLen)
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	return Signer{keys: keys}, nil
}

// Claim is what a verified link says: who may take which action on which
// request, until when.
type Claim struct {
	ApprovalID string
	Approver   string
	Action     Action
	Expires    time.Time
}

// Link returns base with the signed query of one approver's action on one
// request: ?id=..&approver=..&action=..&expires=<unix>&sig=<base64url>. The
// expiry is kept to the second. Link panics on the zero Signer.
func (s Signer) Link(base, approvalID, approver string, action Action, expires time.Time) string {
	if len(s.keys) == 0 {
		panic("approval: Link on a Signer without a secret; build it with NewSigner")
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	sig := base64.RawURLEncoding.EncodeToString(mac(s.keys[0], approvalID, approver, string(action), exp))
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep +
		paramID + "=" + url.QueryEscape(approvalID) +
		"&" + paramApprover + "=" + url.QueryEscape(approver) +
		"&" + paramAction + "=" + url.QueryEscape(string(action)) +
		"&" + paramExpires + "=" + exp +
		"&" + paramSig + "=" + sig
}

// Verify checks a link's query and returns its claim. The signature is
// compared in constant time against every secret the Signer holds; a link
// whose signature holds but whose expiry is not after now fails with ErrExpired.
func (s Signer) Verify(values url.Values, now time.Time) (Claim, error) {
	fields := map[string]string{}
	for _, name := range []string{paramID, paramApprover, paramAction, paramExpires, paramSig} {
		v := values[name]
		switch {
		case len(v) == 0 || v[0] == "":
			return Claim{}, fmt.Errorf("%w: %s", ErrMissingField, name)
		case len(v) > 1:
			return Claim{}, fmt.Errorf("%w: %s given %d times", ErrMalformed, name, len(v))
		}
		fields[name] = v[0]
	}
	action := Action(fields[paramAction])
	if !action.valid() {
		return Claim{}, fmt.Errorf("%w: %q", ErrUnknownAction, clip(string(action)))
	}
	exp, err := strconv.ParseInt(fields[paramExpires], 10, 64)
	if err != nil {
		return Claim{}, fmt.Errorf("%w: expires %q is not a unix time", ErrMalformed, clip(fields[paramExpires]))
	}
	sig, err := base64.RawURLEncoding.DecodeString(fields[paramSig])
	if err != nil {
		return Claim{}, fmt.Errorf("%w: not base64url", ErrBadSignature)
	}
	ok := false
	for _, k := range s.keys {
		want := mac(k, fields[paramID], fields[paramApprover], fields[paramAction], fields[paramExpires])
		if hmac.Equal(sig, want) {
			ok = true
			break
		}
	}
	if !ok {
		return Claim{}, ErrBadSignature
	}
	claim := Claim{ApprovalID: fields[paramID], Approver: fields[paramApprover], Action: action, Expires: time.Unix(exp, 0).UTC()}
	if !now.Before(claim.Expires) {
		return Claim{}, fmt.Errorf("%w: link at %s", ErrExpired, claim.Expires.Format(time.RFC3339))
	}
	return claim, nil
}

// query is the signed query of claim c alone, "?id=..&sig=..", as Link makes
// it: what the confirmation form posts back, whatever else the opened link
// carried.
func (s Signer) query(c Claim) string {
	return s.Link("", c.ApprovalID, c.Approver, c.Action, c.Expires)
}

// mac is HMAC-SHA256 over the canonical encoding of a link's fields: the
// domain, then each field as its byte length, a colon and its bytes. Lengths
// make the encoding unambiguous whatever the fields contain.
func mac(key []byte, fields ...string) []byte {
	h := hmac.New(sha256.New, key)
	buf := []byte(linkDomain)
	for _, f := range fields {
		buf = append(buf, '\n')
		buf = strconv.AppendInt(buf, int64(len(f)), 10)
		buf = append(buf, ':')
		buf = append(buf, f...)
	}
	h.Write(buf)
	return h.Sum(nil)
}
