// Package imageref reads the digest a container image reference pins. It
// imports no AWS client, so every package that reads what a target runs
// (ECS, SSM, App Runner, Kubernetes, GitOps files) can share it.
package imageref

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// SHA256 returns s as "sha256:<lowercase hex>" when it is "sha256:"
// followed by 64 hex digits, and false otherwise.
func SHA256(s string) (string, bool) {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	return "sha256:" + strings.ToLower(h), true
}

// Digest returns the digest an image reference pins
// (<repository>[:tag]@sha256:<hex>), or "" and why it pins none: a tag can
// be moved under what runs, so a reference by tag is drift.
func Digest(ref string) (digest, note string) {
	i := strings.LastIndex(ref, "@")
	if i < 0 {
		return "", "image referenced by tag, not by digest: what it runs cannot be verified"
	}
	d, ok := SHA256(ref[i+1:])
	if !ok {
		return "", fmt.Sprintf("image digest %q is not sha256:<64 hex>", ref[i+1:])
	}
	return d, ""
}

// Repository returns the repository an image reference names, without its
// tag or digest, in one spelling: the registry host lowercased (DNS names
// are case-insensitive) and its default HTTPS port dropped, so that two
// containers of one repository written differently compare equal. The path
// is kept as written.
func Repository(ref string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i] // a tag, not a registry port
	}
	host, path, ok := strings.Cut(ref, "/")
	// The first part is a registry host when it has a dot or a port, or is
	// localhost, as Docker reads a reference.
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return ref
	}
	host = strings.TrimSuffix(strings.ToLower(host), ":443")
	return host + "/" + path
}
