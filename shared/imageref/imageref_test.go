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

// Repository drops the tag and digest and spells the registry one way; a
// port other than 443 and the path are kept.
func TestRepository(t *testing.T) {
	const ecr = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/checkout"
	for ref, want := range map[string]string{
		ecr + "@sha256:" + hex64:    ecr,
		ecr + ":v1.4.2":             ecr,
		ecr + ":v1@sha256:" + hex64: ecr,
		"111111111111.DKR.ECR.eu-west-1.amazonaws.com/checkout:v1":  ecr,
		"111111111111.dkr.ecr.eu-west-1.amazonaws.com:443/checkout": ecr,
		"registry:5000/team/checkout:v1":                            "registry:5000/team/checkout",
		"localhost/checkout":                                        "localhost/checkout",
		"checkout:v1":                                               "checkout",
		"library/Checkout":                                          "library/Checkout",
	} {
		if got := Repository(ref); got != want {
			t.Errorf("Repository(%q) = %q, want %q", ref, got, want)
		}
	}
}
