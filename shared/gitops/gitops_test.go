package gitops

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/highwayhq/highway/shared/awsfake"
)

// repo is a CodeCommit branch behind the wire-level fake: GetBranch,
// GetFile and CreateCommit answer in CodeCommit's JSON (the shapes of the
// AWS CLI's examples for get-branch, get-file and create-commit), and a
// commit whose parent is not the head is refused with
// ParentCommitIdOutdatedException, as CodeCommit does.
type repo struct {
	mu      sync.Mutex
	head    string
	files   map[string]map[string][]byte // by commit, by path
	commits []map[string]any             // CreateCommit inputs accepted
	// before, when set, runs as a CreateCommit arrives, before it is judged:
	// someone else's commit landing first.
	before func(r *repo)
}

func newRepo(t *testing.T, file string, content []byte) (*repo, *codecommit.Client) {
	r := &repo{head: "c0ffee0000000000000000000000000000000001", files: map[string]map[string][]byte{}}
	r.files[r.head] = map[string][]byte{file: content}
	fake := awsfake.New(t)
	fake.OnFunc("GetBranch", func(awsfake.Request) awsfake.Response {
		r.mu.Lock()
		defer r.mu.Unlock()
		return awsfake.JSON(200, fmt.Sprintf(`{"branch":{"branchName":"main","commitId":%q}}`, r.head))
	})
	fake.OnFunc("GetFile", func(req awsfake.Request) awsfake.Response {
		var in struct{ CommitSpecifier, FilePath string }
		if err := req.DecodeJSON(&in); err != nil {
			t.Error(err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		b, ok := r.files[in.CommitSpecifier][in.FilePath]
		if !ok {
			return awsfake.APIError(400, "FileDoesNotExistException", "The specified file does not exist.")
		}
		return awsfake.JSON(200, fmt.Sprintf(`{"blobId":"2eb4af3bEXAMPLE","commitId":%q,"fileContent":%q,"fileMode":"NORMAL","filePath":%q,"fileSize":%d}`,
			in.CommitSpecifier, base64.StdEncoding.EncodeToString(b), in.FilePath, len(b)))
	})
	fake.OnFunc("CreateCommit", func(req awsfake.Request) awsfake.Response {
		var in struct {
			ParentCommitID string `json:"parentCommitId"`
			PutFiles       []struct {
				FilePath, FileMode string
				FileContent        []byte
			} `json:"putFiles"`
		}
		var raw map[string]any
		if err := req.DecodeJSON(&in); err != nil {
			t.Error(err)
		}
		if err := json.Unmarshal(req.Body, &raw); err != nil {
			t.Error(err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.before != nil {
			r.before(r)
		}
		if in.ParentCommitID != r.head {
			return awsfake.APIError(400, "ParentCommitIdOutdatedException", "The parent commit ID is not the most recent commit in the branch.")
		}
		next := fmt.Sprintf("c0ffee%034d", len(r.commits)+2)
		files := map[string][]byte{}
		for p, b := range r.files[r.head] {
			files[p] = b
		}
		for _, f := range in.PutFiles {
			files[f.FilePath] = f.FileContent
		}
		r.files[next], r.head = files, next
		r.commits = append(r.commits, raw)
		return awsfake.JSON(200, fmt.Sprintf(`{"commitId":%q,"treeId":"8e9e3d3bEXAMPLE","filesAdded":[],"filesUpdated":[{"absolutePath":%q,"blobId":"5c2e8d1bEXAMPLE","fileMode":"NORMAL"}],"filesDeleted":[]}`,
			next, in.PutFiles[0].FilePath))
	})
	cfg := fake.Config()
	return r, codecommit.NewFromConfig(cfg)
}

func change(file, key string) Change {
	return Change{Repository: "checkout-deploy", Branch: "main", File: file, Key: key, Image: ecr, Digest: digest,
		Message: "highway: checkout/prod runs " + digest, Author: "Highway", Email: "highway@example.com"}
}

// A commit's parent is the head it read, and the file it writes is the one
// read there with the image set; a second promotion of the same digest
// commits nothing.
func TestCommitWritesTheImageOnTheHead(t *testing.T) {
	r, c := newRepo(t, "apps/checkout/values.yaml", fixture(t, "values.yaml"))
	parent := r.head
	res, err := Commit(t.Context(), c, change("apps/checkout/values.yaml", "image.digest"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || res.Commit != r.head || res.Attempts != 1 || len(r.commits) != 1 {
		t.Fatalf("result %+v, head %s, %d commits", res, r.head, len(r.commits))
	}
	in := r.commits[0]
	if in["parentCommitId"] != parent || in["branchName"] != "main" || in["repositoryName"] != "checkout-deploy" || in["authorName"] != "Highway" {
		t.Errorf("CreateCommit input %v", in)
	}
	if got := string(r.files[r.head]["apps/checkout/values.yaml"]); !strings.Contains(got, `  digest: "`+digest+`"`) {
		t.Errorf("committed file lacks the digest:\n%s", got)
	}
	again, err := Commit(t.Context(), c, change("apps/checkout/values.yaml", "image.digest"))
	if err != nil || again.Committed || again.Commit != r.head || len(r.commits) != 1 {
		t.Errorf("again: %+v, %v; %d commits", again, err, len(r.commits))
	}
}

// Someone commits to the branch between Highway's read and its commit:
// CodeCommit refuses Highway's (ParentCommitIdOutdatedException), Highway
// reads the new head and commits on top, and the other commit's change to the
// same file survives.
func TestCommitRetriesWhenTheHeadMovedDuringTheCommit(t *testing.T) {
	const file = "overlays/prod/kustomization.yaml"
	r, c := newRepo(t, file, fixture(t, "kustomize/image/kustomization.yaml"))
	first := r.head
	r.before = func(r *repo) {
		r.before = nil // once
		other := "c0ffee00000000000000000000000000000000ff"
		r.files[other] = map[string][]byte{file: []byte(strings.Replace(string(r.files[r.head][file]), "- pod.yaml", "- pod.yaml\n- service.yaml", 1))}
		r.head = other
	}
	res, err := Commit(t.Context(), c, change(file, "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || !res.Committed || len(r.commits) != 1 {
		t.Fatalf("result %+v, %d commits", res, len(r.commits))
	}
	if p := r.commits[0]["parentCommitId"]; p == first || p != "c0ffee00000000000000000000000000000000ff" {
		t.Errorf("the accepted commit's parent is %v, want the other commit", p)
	}
	got := string(r.files[r.head][file])
	if !strings.Contains(got, "- service.yaml") || !strings.Contains(got, "  digest: "+digest) {
		t.Errorf("the head's file lost a change:\n%s", got)
	}
}

// A branch that moves on every read gives up after MaxAttempts with
// ErrBusy, and a file without a place for the image is refused before any
// commit.
func TestCommitGivesUp(t *testing.T) {
	r, c := newRepo(t, "values.yaml", fixture(t, "values.yaml"))
	n := 0
	r.before = func(r *repo) {
		n++
		other := fmt.Sprintf("beef%036d", n)
		r.files[other] = r.files[r.head]
		r.head = other
	}
	if _, err := Commit(t.Context(), c, change("values.yaml", "image.digest")); !errors.Is(err, ErrBusy) || n != MaxAttempts {
		t.Errorf("err %v after %d commits refused, want ErrBusy after %d", err, n, MaxAttempts)
	}

	r2, c2 := newRepo(t, "values.yaml", fixture(t, "guestbook-values.yaml"))
	if _, err := Commit(t.Context(), c2, change("values.yaml", "image.digest")); !errors.Is(err, ErrNoPlace) || len(r2.commits) != 0 {
		t.Errorf("err %v, %d commits; want ErrNoPlace and none", err, len(r2.commits))
	}
}

// Someone changes the image itself between Highway's read and its commit (a
// revert by hand, a newer promotion): Highway does not write over it, and
// says so.
func TestCommitDoesNotWriteOverAnotherChangeToTheImage(t *testing.T) {
	const file = "overlays/prod/kustomization.yaml"
	r, c := newRepo(t, file, fixture(t, "kustomize/image/kustomization.yaml"))
	r.before = func(r *repo) {
		r.before = nil
		other := "c0ffee00000000000000000000000000000000ee"
		r.files[other] = map[string][]byte{file: []byte(strings.Replace(string(r.files[r.head][file]), "newTag: 3.6", "newTag: 3.5", 1))}
		r.head = other
	}
	if _, err := Commit(t.Context(), c, change(file, "busybox")); !errors.Is(err, ErrConflict) || len(r.commits) != 0 {
		t.Errorf("err %v, %d commits; want ErrConflict and none", err, len(r.commits))
	}
	if got := string(r.files[r.head][file]); !strings.Contains(got, "newTag: 3.5") {
		t.Errorf("the other change was lost:\n%s", got)
	}
}

// A file the branch does not have cannot be promoted into on a retry.
func TestCommitToAMissingFile(t *testing.T) {
	_, c := newRepo(t, "values.yaml", fixture(t, "values.yaml"))
	if _, err := Commit(t.Context(), c, change("charts/checkout/values.yaml", "image.digest")); !errors.Is(err, ErrNoPlace) {
		t.Errorf("err %v, want ErrNoPlace", err)
	}
}
