package gitops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
	"go.yaml.in/yaml/v3"
)

const (
	ecr    = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/checkout"
	digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diff returns the lines of b that differ from a's, by position, and fails
// when the two do not have the same number of lines plus delta.
func diff(t *testing.T, a, b []byte, delta int) (removed, added []string) {
	t.Helper()
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(bl) != len(al)+delta {
		t.Fatalf("%d lines became %d, want %d", len(al), len(bl), len(al)+delta)
	}
	seen := map[string]int{}
	for _, l := range al {
		seen[l]++
	}
	for _, l := range bl {
		if seen[l] > 0 {
			seen[l]--
			continue
		}
		added = append(added, l)
	}
	for l, n := range seen {
		for range n {
			removed = append(removed, l)
		}
	}
	return removed, added
}

// The chart's image.digest, an empty double-quoted string among comments,
// takes the digest in its quotes; every other line, comments included, stays.
func TestSetImageWritesAHelmDigest(t *testing.T) {
	in := fixture(t, "values.yaml")
	out, changed, err := SetImage("charts/checkout/values.yaml", in, "image.digest", ecr, digest)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	removed, added := diff(t, in, out, 0)
	if len(removed) != 1 || removed[0] != `  digest: ""` || len(added) != 1 || added[0] != `  digest: "`+digest+`"` {
		t.Errorf("removed %q, added %q", removed, added)
	}
	var v struct {
		Image struct{ Digest, Repository string }
	}
	if err := yaml.Unmarshal(out, &v); err != nil || v.Image.Digest != digest || v.Image.Repository != "bitnami/nginx" {
		t.Errorf("decoded %+v, %v", v, err)
	}
	again, changed, err := SetImage("values.yaml", out, "image.digest", ecr, digest)
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("a second write changed %v (err %v)", changed, err)
	}
}

// A key whose last part is not "digest" takes the whole reference; a key the
// file lacks is refused, and nothing is written.
func TestSetImageHelmKeys(t *testing.T) {
	in := fixture(t, "guestbook-values.yaml")
	out, changed, err := SetImage("values.yaml", in, "image.repository", ecr, digest)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if removed, added := diff(t, in, out, 0); len(added) != 1 || added[0] != "  repository: "+ecr+"@"+digest || removed[0] != "  repository: nginx" {
		t.Errorf("removed %q, added %q", removed, added)
	}
	for _, key := range []string{"image.digest", "image.repository.name", "images.repository", ""} {
		if _, _, err := SetImage("values.yaml", in, key, ecr, digest); !errors.Is(err, ErrNoPlace) {
			t.Errorf("key %q: err %v, want ErrNoPlace", key, err)
		}
	}
}

// The kustomization `kustomize edit set image busybox=alpine:3.6` wrote gets
// what `kustomize edit set image busybox=<repo>@<digest>` would leave: the
// new name and the digest, and no tag.
func TestSetImageWritesAKustomizeDigest(t *testing.T) {
	in := fixture(t, "kustomize/image/kustomization.yaml")
	out, changed, err := SetImage("overlays/prod/kustomization.yaml", in, "busybox", ecr, digest)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	want := "resources:\n- pod.yaml\nimages:\n- name: busybox\n  digest: " + digest + "\n  newName: " + ecr + "\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	var k struct {
		Images []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
			NewTag  string `yaml:"newTag"`
			Digest  string `yaml:"digest"`
		} `yaml:"images"`
	}
	if err := yaml.Unmarshal(out, &k); err != nil || len(k.Images) != 1 || k.Images[0].Digest != digest || k.Images[0].NewName != ecr || k.Images[0].NewTag != "" {
		t.Errorf("decoded %+v, %v", k, err)
	}
}

// An entry whose first key is its digest, on the list item's line, is
// rewritten there; the other entry is left alone; the name defaults to the
// repository.
func TestSetImageKustomizeEntries(t *testing.T) {
	in := fixture(t, "kustomize/setimage/kustomization.yaml")
	out, _, err := SetImage("kustomization.yaml", in, "my-app", "my-registry/my-app", digest)
	if err != nil {
		t.Fatal(err)
	}
	if removed, added := diff(t, in, out, 0); len(added) != 1 || added[0] != "- digest: "+digest || len(removed) != 1 {
		t.Errorf("removed %q, added %q", removed, added)
	}
	if _, _, err := SetImage("kustomization.yaml", in, "", ecr, digest); !errors.Is(err, ErrNoPlace) {
		t.Errorf("no entry named the repository: err %v, want ErrNoPlace", err)
	}
	flow := []byte("images:\n- {name: checkout, newTag: v1}\n")
	if _, _, err := SetImage("kustomization.yaml", flow, "checkout", ecr, digest); !errors.Is(err, ErrNoPlace) {
		t.Errorf("a flow entry: err %v, want ErrNoPlace", err)
	}
	if _, _, err := SetImage("kustomization.yaml", []byte("images: [\n"), "checkout", ecr, digest); !errors.Is(err, ErrNoPlace) || !strings.Contains(err.Error(), "did not find") {
		t.Errorf("bad YAML: err %v, want ErrNoPlace with the parser's reason", err)
	}
}

// Files a person wrote in ways a line editor could get wrong are either
// edited exactly (the value empty, CRLF line ends) or refused with nothing
// written: line breaks YAML counts and the editor does not, a key written
// twice, a value that goes on over the next line, a digest or repository
// that is not one.
func TestSetImageOnAwkwardFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, in, want string
	}{
		{"empty value", "values.yaml", "image:\n  digest:\n  tag: v1\n", "image:\n  digest: " + digest + "\n  tag: v1\n"},
		{"empty value with a comment", "values.yaml", "image:\n  digest:  # none yet\n", "image:\n  digest: " + digest + "  # none yet\n"},
		{"CRLF", "kustomization.yaml", "images:\r\n- name: checkout\r\n  newTag: v1\r\n", "images:\r\n- name: checkout\r\n  digest: " + digest + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := SetImage(tc.file, []byte(tc.in), map[bool]string{true: "checkout", false: "image.digest"}[policy.IsKustomization(tc.file)], map[bool]string{true: "checkout", false: ecr}[policy.IsKustomization(tc.file)], digest)
			if err != nil || !changed || string(out) != tc.want {
				t.Errorf("got %q, %v, %v; want %q", out, changed, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, file, in, key, repo, digest string
	}{
		{"a line separator in a comment", "values.yaml", "#\u2028\u2028\nimage:\n  digest: \"\"\nsidecar:\n  digest: \"\"\n", "image.digest", ecr, digest},
		{"a lone carriage return", "values.yaml", "# a\rb\nimage:\n  digest: \"\"\n", "image.digest", ecr, digest},
		{"a key written twice", "values.yaml", "image:\n  digest: \"\"\n  digest: \"\"\n", "image.digest", ecr, digest},
		{"two entries of one name", "kustomization.yaml", "images:\n- name: checkout\n- name: checkout\n", "checkout", ecr, digest},
		{"a tag that goes on", "kustomization.yaml", "images:\n- name: checkout\n  newTag: v1\n    x\n", "checkout", ecr, digest},
		{"a quoted tag over two lines", "kustomization.yaml", "images:\n- name: checkout\n  newTag: \"v1\n    x\"\n", "checkout", ecr, digest},
		{"a digest with a line in it", "values.yaml", "image:\n  digest: \"\"\n", "image.digest", ecr, "sha256:x\"\nevil: \"1"},
		{"a repository with a comment in it", "values.yaml", "image:\n  ref: a\n", "image.ref", "a #b", digest},
		{"no repository", "values.yaml", "image:\n  ref: a\n", "image.ref", "", digest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := SetImage(tc.file, []byte(tc.in), tc.key, tc.repo, tc.digest)
			if !errors.Is(err, ErrNoPlace) || out != nil {
				t.Errorf("got %q, err %v; want ErrNoPlace and nothing", out, err)
			}
		})
	}
}

// A values key spelled Digest holds a digest as digest does: writing a
// whole reference there would break the chart's image line.
func TestSetImageDigestKeyInAnyCase(t *testing.T) {
	in := "image:\n  repository: " + ecr + "\n  Digest: \"\"\n"
	out, changed, err := SetImage("values.yaml", []byte(in), "image.Digest", ecr, digest)
	if err != nil || !changed || string(out) != "image:\n  repository: "+ecr+"\n  Digest: \""+digest+"\"\n" {
		t.Errorf("SetImage = %q, %v, %v", out, changed, err)
	}
}
