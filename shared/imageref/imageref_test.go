package imageref

import "testing"

const hex64 = "e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"

// A reference pins a digest only with @sha256: and 64 hex digits; a tag, a
// short or non-hex digest, or another algorithm pins none, with a reason.
func TestDigest(t *testing.T) {
	for ref, want := range map[string]string{
		"111111111111.dkr.ecr.eu-west-1.amazonaws.com/checkout@sha256:" + hex64:                 "sha256:" + hex64,
		"registry:5000/checkout:v1@sha256:" + hex64:                                             "sha256:" + hex64,
		"checkout@sha256:" + "E648CABF48D6A5984C1D5B81CCBEEE918AF76B27563B8FC615F1749EBD4B33C6": "sha256:" + hex64,
		"checkout:v1.4.2":                     "",
		"checkout@sha256:abc":                 "",
		"checkout@sha512:" + hex64 + hex64:    "",
		"checkout@sha256:" + hex64[:63] + "z": "",
	} {
		got, note := Digest(ref)
		if got != want || (want == "") == (note == "") {
			t.Errorf("Digest(%q) = %q, %q; want %q and a note only when none", ref, got, note, want)
		}
	}
}
