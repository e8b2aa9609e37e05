// Package gitopsfake is a wire-level fake of one CodeCommit branch, for
// tests of GitOps promotion: GetBranch, GetFile and CreateCommit answer in
// CodeCommit's JSON, and a commit whose parent is not the head is refused
// with ParentCommitIdOutdatedException, as CodeCommit does.
package gitopsfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codecommit"

	"github.com/highwayhq/highway/shared/awsfake"
)

// Repo is a CodeCommit branch behind the wire-level fake: GetBranch,
// GetFile and CreateCommit answer in CodeCommit's JSON (the shapes of the
// AWS CLI's examples for get-branch, get-file and create-commit), and a
// commit whose parent is not the head is refused with
// ParentCommitIdOutdatedException, as CodeCommit does.
type Repo struct {
	mu sync.Mutex
	// Head is the branch's head commit.
	Head string
	// Files holds each commit's files, by path.
	Files map[string]map[string][]byte
	// Commits are the CreateCommit inputs accepted, as JSON objects.
	Commits []map[string]any
	// Before, when set, runs as a CreateCommit arrives, before it is judged:
	// someone else's commit landing first. It runs under the fake's lock.
	Before func(r *Repo)
}

// New starts a repository whose branch main holds one file, and returns it
// with a CodeCommit client that reaches it.
func New(t testing.TB, file string, content []byte) (*Repo, *codecommit.Client) {
	r := &Repo{Head: "c0ffee0000000000000000000000000000000001", Files: map[string]map[string][]byte{}}
	r.Files[r.Head] = map[string][]byte{file: content}
	fake := awsfake.New(t)
	fake.OnFunc("GetBranch", func(awsfake.Request) awsfake.Response {
		r.mu.Lock()
		defer r.mu.Unlock()
		return awsfake.JSON(200, fmt.Sprintf(`{"branch":{"branchName":"main","commitId":%q}}`, r.Head))
	})
	fake.OnFunc("GetFile", func(req awsfake.Request) awsfake.Response {
		var in struct{ CommitSpecifier, FilePath string }
		if err := req.DecodeJSON(&in); err != nil {
			t.Error(err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		b, ok := r.Files[in.CommitSpecifier][in.FilePath]
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
		if r.Before != nil {
			r.Before(r)
		}
		if in.ParentCommitID != r.Head {
			return awsfake.APIError(400, "ParentCommitIdOutdatedException", "The parent commit ID is not the most recent commit in the branch.")
		}
		next := fmt.Sprintf("c0ffee%034d", len(r.Commits)+2)
		files := map[string][]byte{}
		for p, b := range r.Files[r.Head] {
			files[p] = b
		}
		for _, f := range in.PutFiles {
			files[f.FilePath] = f.FileContent
		}
		r.Files[next], r.Head = files, next
		r.Commits = append(r.Commits, raw)
		return awsfake.JSON(200, fmt.Sprintf(`{"commitId":%q,"treeId":"8e9e3d3bEXAMPLE","filesAdded":[],"filesUpdated":[{"absolutePath":%q,"blobId":"5c2e8d1bEXAMPLE","fileMode":"NORMAL"}],"filesDeleted":[]}`,
			next, in.PutFiles[0].FilePath))
	})
	return r, codecommit.NewFromConfig(fake.Config())
}

// File returns the file at path on the branch's head.
func (r *Repo) File(path string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Files[r.Head][path]
}

// Commit makes a commit of someone else's on the branch: path gets content.
func (r *Repo) Commit(path string, content []byte) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := fmt.Sprintf("0ther%035d", len(r.Files))
	files := map[string][]byte{}
	for p, b := range r.Files[r.Head] {
		files[p] = b
	}
	files[path] = content
	r.Files[next], r.Head = files, next
	return next
}
