package gitops

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/gitops/gitopsfake"
)

func change(file, key string) Change {
	return Change{Repository: "checkout-deploy", Branch: "main", File: file, Key: key, Image: ecr, Digest: digest,
		Message: "highway: checkout/prod runs " + digest, Author: "Highway", Email: "highway@example.com"}
}

// A commit's parent is the head it read, and the file it writes is the one
// read there with the image set; a second promotion of the same digest
// commits nothing.
func TestCommitWritesTheImageOnTheHead(t *testing.T) {
	r, c := gitopsfake.New(t, "apps/checkout/values.yaml", fixture(t, "values.yaml"))
	parent := r.Head
	res, err := Commit(t.Context(), c, change("apps/checkout/values.yaml", "image.digest"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || res.Commit != r.Head || res.Attempts != 1 || len(r.Commits) != 1 {
		t.Fatalf("result %+v, head %s, %d commits", res, r.Head, len(r.Commits))
	}
	in := r.Commits[0]
	if in["parentCommitId"] != parent || in["branchName"] != "main" || in["repositoryName"] != "checkout-deploy" || in["authorName"] != "Highway" {
		t.Errorf("CreateCommit input %v", in)
	}
	if got := string(r.Files[r.Head]["apps/checkout/values.yaml"]); !strings.Contains(got, `  digest: "`+digest+`"`) {
		t.Errorf("committed file lacks the digest:\n%s", got)
	}
	again, err := Commit(t.Context(), c, change("apps/checkout/values.yaml", "image.digest"))
	if err != nil || again.Committed || again.Commit != r.Head || len(r.Commits) != 1 {
		t.Errorf("again: %+v, %v; %d commits", again, err, len(r.Commits))
	}
}

// Someone commits to the branch between Highway's read and its commit:
// CodeCommit refuses Highway's (ParentCommitIdOutdatedException), Highway
// reads the new head and commits on top, and the other commit's change to the
// same file survives.
func TestCommitRetriesWhenTheHeadMovedDuringTheCommit(t *testing.T) {
	const file = "overlays/prod/kustomization.yaml"
	r, c := gitopsfake.New(t, file, fixture(t, "kustomize/image/kustomization.yaml"))
	first := r.Head
	r.Before = func(r *gitopsfake.Repo) {
		r.Before = nil // once
		other := "c0ffee00000000000000000000000000000000ff"
		r.Files[other] = map[string][]byte{file: []byte(strings.Replace(string(r.Files[r.Head][file]), "- pod.yaml", "- pod.yaml\n- service.yaml", 1))}
		r.Head = other
	}
	res, err := Commit(t.Context(), c, change(file, "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || !res.Committed || len(r.Commits) != 1 {
		t.Fatalf("result %+v, %d commits", res, len(r.Commits))
	}
	if p := r.Commits[0]["parentCommitId"]; p == first || p != "c0ffee00000000000000000000000000000000ff" {
		t.Errorf("the accepted commit's parent is %v, want the other commit", p)
	}
	got := string(r.Files[r.Head][file])
	if !strings.Contains(got, "- service.yaml") || !strings.Contains(got, "  digest: "+digest) {
		t.Errorf("the head's file lost a change:\n%s", got)
	}
}

// A branch that moves on every read gives up after MaxAttempts with
// ErrBusy, and a file without a place for the image is refused before any
// commit.
func TestCommitGivesUp(t *testing.T) {
	r, c := gitopsfake.New(t, "values.yaml", fixture(t, "values.yaml"))
	n := 0
	r.Before = func(r *gitopsfake.Repo) {
		n++
		other := fmt.Sprintf("beef%036d", n)
		r.Files[other] = r.Files[r.Head]
		r.Head = other
	}
	if _, err := Commit(t.Context(), c, change("values.yaml", "image.digest")); !errors.Is(err, ErrBusy) || n != MaxAttempts {
		t.Errorf("err %v after %d commits refused, want ErrBusy after %d", err, n, MaxAttempts)
	}

	r2, c2 := gitopsfake.New(t, "values.yaml", fixture(t, "guestbook-values.yaml"))
	if _, err := Commit(t.Context(), c2, change("values.yaml", "image.digest")); !errors.Is(err, ErrNoPlace) || len(r2.Commits) != 0 {
		t.Errorf("err %v, %d commits; want ErrNoPlace and none", err, len(r2.Commits))
	}
}

// Someone changes the image itself between Highway's read and its commit (a
// revert by hand, a newer promotion): Highway does not write over it, and
// says so.
func TestCommitDoesNotWriteOverAnotherChangeToTheImage(t *testing.T) {
	const file = "overlays/prod/kustomization.yaml"
	r, c := gitopsfake.New(t, file, fixture(t, "kustomize/image/kustomization.yaml"))
	r.Before = func(r *gitopsfake.Repo) {
		r.Before = nil
		other := "c0ffee00000000000000000000000000000000ee"
		r.Files[other] = map[string][]byte{file: []byte(strings.Replace(string(r.Files[r.Head][file]), "newTag: 3.6", "newTag: 3.5", 1))}
		r.Head = other
	}
	if _, err := Commit(t.Context(), c, change(file, "busybox")); !errors.Is(err, ErrConflict) || len(r.Commits) != 0 {
		t.Errorf("err %v, %d commits; want ErrConflict and none", err, len(r.Commits))
	}
	if got := string(r.Files[r.Head][file]); !strings.Contains(got, "newTag: 3.5") {
		t.Errorf("the other change was lost:\n%s", got)
	}
}

// A file the branch does not have cannot be promoted into on a retry.
func TestCommitToAMissingFile(t *testing.T) {
	_, c := gitopsfake.New(t, "values.yaml", fixture(t, "values.yaml"))
	if _, err := Commit(t.Context(), c, change("charts/checkout/values.yaml", "image.digest")); !errors.Is(err, ErrNoPlace) {
		t.Errorf("err %v, want ErrNoPlace", err)
	}
}
